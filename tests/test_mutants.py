"""Mutation adequacy: PS3's cases catch every plausible one-token slip in its references."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.engine.mutants import analyse, survivors
from autograder.engine.specs import load_problem

REPO = Path(__file__).resolve().parent.parent
KEYS = ("q2a", "q2b", "q3a", "q3b", "q4")


@pytest.mark.parametrize("key", KEYS)
def test_no_mutant_of_ps3_survives_its_cases(key):
    folder = REPO / "problems" / key
    report = analyse(folder, load_problem(folder / "spec.yaml"))
    assert report.generated > 0 and report.killed > 0
    assert not report.survivors, "\n".join(map(str, report.survivors))


def test_a_weak_spec_reports_a_survivor_with_its_distinguishing_input(tmp_path):
    """One case, fc_layer_params(1, 1) == 2, cannot tell d_in * d_out + d_out from d_in + d_out: a survivor."""
    problems = tmp_path / "problems"
    (problems / "q9").mkdir(parents=True)
    shutil.copy(REPO / "problems" / "q2a" / "reference.py", problems / "q9" / "reference.py")
    (problems / "q9" / "spec.yaml").write_text(
        'title: "Q9: weak"\npoints: 1\ncases:\n  - name: "one case"\n    call: fc_layer_params\n    args: [1, 1]\n',
        encoding="utf-8")
    found = survivors(problems / "q9", load_problem(problems / "q9" / "spec.yaml"), tries=50)
    assert found
    first = found[0]
    assert first.function == "fc_layer_params" and "q9/reference.py:" in first.mutation
    assert len(first.args) == 2 and first.reference != first.mutant
    assert "fc_layer_params(" in str(first)
