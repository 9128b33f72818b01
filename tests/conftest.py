"""Shared fixtures: a Gradescope layout in a temporary folder, and the real entry point run in it."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parent.parent
collect_ignore = ["fixtures"]  # assignments the tests grade; their checks run only inside those gradings
SOLUTION = REPO / "solutions" / "ps3.py"
MISTAKES = REPO / "solutions" / "mistakes"
SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())
MAX_RESULTS_BYTES = 1_000_000


@functools.cache
def spec_problems(folder: Path = REPO / "problems") -> tuple:
    """The problems the specs under ``folder`` define (loaded once per folder)."""
    from autograder.engine.problemset import load

    return tuple(load(folder))


def graded_functions(folder: Path = REPO / "problems") -> set[str]:
    """Every student function the specs' cases call: what a submission is graded on."""
    return {case.function for problem in spec_problems(folder) for case in problem.cases}


def course_config(folder: Path = REPO / "problems"):
    """The course configuration beside ``folder`` (assignment.yaml): total_points, submission_names, ..."""
    from autograder.apps import course as configuration

    return configuration.load(folder)


def total_points(folder: Path = REPO / "problems") -> float:
    """The autograded total assignment.yaml sets (validate holds the problems to it)."""
    total = course_config(folder).total_points
    assert total is not None, "assignment.yaml sets no total_points"
    return total


def submission_with(mistake: str) -> str:
    """The instructor's solution with one known-wrong file's functions appended (they win)."""
    return SOLUTION.read_text() + "\n\n" + (MISTAKES / f"{mistake}.py").read_text()


def check_results(data: dict, raw: bytes) -> None:
    """What every results.json must be: schema-valid, bounded, scores within their maxima."""
    jsonschema.validate(data, SCHEMA)
    assert len(raw) < MAX_RESULTS_BYTES
    for test in data["tests"]:
        assert 0 <= test.get("score", 0) <= test.get("max_score", 0) + 1e-9, test["name"]


class GradescopeLayout:
    """``/autograder`` laid out as Gradescope lays it out, under a temporary root."""

    def __init__(self, root: Path, assignment: Path = REPO) -> None:
        """``assignment`` holds the problems/ and assignment.yaml to grade with (PS3's by default)."""
        self.root = root
        self.submission = root / "submission"
        self.results_file = root / "results" / "results.json"
        source = root / "source"
        source.mkdir(parents=True)
        shutil.copytree(assignment / "problems", source / "problems", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO / "run_autograder", source / "run_autograder")
        shutil.copy(assignment / "assignment.yaml", source / "assignment.yaml")
        self.submission.mkdir()
        (root / "results").mkdir()
        os.chmod(root, 0o755)

    def submit(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            path = self.submission / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)

    def run(self, timeout: float = 600) -> dict:
        """Run the real run_autograder; return the parsed, validated results.json."""
        env = dict(os.environ, AUTOGRADER_ROOT=str(self.root), AUTOGRADER_PYTHON=sys.executable)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        self.process = subprocess.run(["bash", str(self.root / "source" / "run_autograder")], env=env,
                                      capture_output=True, timeout=timeout, check=False)
        raw = self.results_file.read_bytes()
        data = json.loads(raw)
        check_results(data, raw)
        return data


@pytest.fixture
def gradescope(tmp_path: Path) -> GradescopeLayout:
    return GradescopeLayout(tmp_path / "autograder")


def scores_by_function(data: dict) -> dict[str, tuple[float, float]]:
    """(earned, possible) per student function, from a results.json."""
    totals: dict[str, list[float]] = {}
    for test in data["tests"]:
        if test.get("max_score"):
            earned = totals.setdefault((test.get("tags") or ["(untagged check)"])[0], [0.0, 0.0])
            earned[0] += test["score"]
            earned[1] += test["max_score"]
    return {name: (round(a, 4), round(b, 4)) for name, (a, b) in totals.items()}


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch):
    """The attack suites' harness (tests/test_attacks.py): a Gradescope layout in a world-traversable folder, its
    run, and what was left behind; the worker's folders go into a TMPDIR of its own."""
    import tempfile

    from test_attacks import Harness

    base = Path(tempfile.mkdtemp(prefix="ag-attack-", dir="/tmp"))
    base.chmod(0o755)
    monkeypatch.setenv("TMPDIR", str(base / "tmp"))
    made = Harness(base)
    yield made
    made.cleanup()


def write_files(folder: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> source, dedented) under ``folder``; return the folder."""
    import textwrap

    for relative, source in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return folder


def hears_ctrl_c() -> None:
    """A Popen ``preexec_fn``: Ctrl-C acts on the child even when this run inherited it ignored.

    A shell starts background jobs (``make test &``) with SIGINT ignored, and
    Python then installs no KeyboardInterrupt handler; the tests that send
    SIGINT need the child to hear it as a user's Ctrl-C would.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)

