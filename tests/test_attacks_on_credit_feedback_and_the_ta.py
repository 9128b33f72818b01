"""Hostile submissions against what a grade is made of, each run end to end through the real run_autograder.

Same harness as test_attacks.py (tests/helpers.py): follow-through credit farmed with constants and
stateful parts, hidden inputs leaking through errors, replies the grader might fail on, reply memory
amplification, the TA's own process and terminal, and student text rendered as Markdown.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    ALL_FUNCTIONS,
    Harness,
    Results,
    as_root,
    assert_clean,
    assert_scores,
    attack,
    cases_of,
    hostile,
    printed,
    shared_tmpdir,
)
from markdown_it import MarkdownIt

from autograder.model import Case

from conftest import REPO, SOLUTION, scores_by_function, spec_problems, total_points

pytestmark = [pytest.mark.slow, pytest.mark.ps3]  # hostile submissions against PS3, through run_autograder: `make test-slow`

GRADER_PEAK_MB = 200
TOTAL = total_points()


# --------------------------------------------------------------------------- what a pure function earns


def _cases(function: str) -> list[Case]:
    return [case for problem in spec_problems() for case in problem.cases if case.function == function]


def earns(function: str, solver: Callable[..., Any]) -> float:
    """The points ``solver`` earns on ``function``'s cases, as the grader judges them, with no follow-through credit."""
    from autograder.engine.references import copies
    from autograder.engine.runner import check
    from autograder.model import Outcome

    total = 0.0
    for case in _cases(function):
        try:
            outcome = Outcome("returned", solver(*copies(case.args), **copies(case.kwargs)))
        except Exception as error:  # noqa: BLE001 - the solver's own exception is the outcome
            outcome = Outcome("raised", error={"type": type(error).__name__, "mro": [c.__name__ for c in type(error).__mro__]})
        if check(case, outcome).verdict.passed:
            total += case.max_score
    return round(total, 4)


def possible(function: str) -> float:
    return round(sum(case.max_score for case in _cases(function)), 4)


def assert_no_follow_through(data: Results) -> None:
    """No case earns a part of its share, and no text mentions follow-through credit."""
    partial = [
        (t["name"], t["score"], t["max_score"]) for t in data["tests"] if t.get("max_score") and t["score"] not in (0, t["max_score"])
    ]
    assert partial == [], f"cases with partial (follow-through) credit: {partial}"
    texts = [data["output"]] + [t.get("output", "") for t in data["tests"]]
    assert not any("Follow-through credit" in text for text in texts)
    assert all(not t.get("extra_data", {}).get("credit") for t in data["tests"])


def _honest_solution() -> dict[str, Any]:
    """The solution's functions, to compute what a lying part's total adds up to (the instructor's file, not a student's)."""
    namespace: dict[str, Any] = {}
    exec(compile(SOLUTION.read_text(), str(SOLUTION), "exec"), namespace)
    return namespace


# --------------------------------------------------------------------------- 1. follow-through farming


def test_constant_parts_farm_no_follow_through_credit(harness: Harness) -> None:
    harness.submit({"ps3.py": attack("follow_through_constant_farming")})
    data = harness.run()
    assert_no_follow_through(data)
    constants: dict[str, Callable[..., Any]] = {
        "fc_layer_params": lambda *a, **k: 7,
        "mlp_layer_params": lambda dims: [7] * (len(dims) - 1),
        "conv_layer_params": lambda *a, **k: 7,
        "conv_output_size": lambda *a, **k: 7,
        "num_conv_layers": lambda *a, **k: 1,
        "conv_classifier_params": lambda *a, **k: 14,
        "conv2d": lambda *a: np.zeros((2, 2)),
        "conv_transpose2d": lambda *a: np.zeros((2, 2)),
        "num_downsampling_layers": lambda *a: 1,
        "downsampling_params": lambda *a: 7,
    }
    expected = {name: (earns(name, solver), possible(name)) for name, solver in constants.items()}
    expected |= {name: (0, possible(name)) for name in ALL_FUNCTIONS - set(constants)}  # problems added since: undefined
    assert scores_by_function(data) == expected
    assert data["score"] == pytest.approx(sum(earned for earned, _ in expected.values()), abs=1e-3)
    assert_clean(harness)


def test_parts_that_answer_only_follow_through_calls_earn_no_credit(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("follow_through_only_for_part_calls")})
    data = harness.run()
    assert_no_follow_through(data)
    honest = _honest_solution()

    def downsampling(in_channels: int, channels: list[int], size_in: int, size_latent: int, kernel_size: int) -> int:
        layers = honest["num_downsampling_layers"](size_in, size_latent, kernel_size) + 1
        sizes = [in_channels] + [channels[min(i, len(channels) - 1)] for i in range(layers)]
        return sum(honest["conv_layer_params"](sizes[i], sizes[i + 1], kernel_size) for i in range(layers))

    scores = scores_by_function(data)
    assert scores["fc_layer_params"] == (0, possible("fc_layer_params"))
    assert scores["num_downsampling_layers"] == (0, possible("num_downsampling_layers"))
    assert scores["mlp_layer_params"] == (
        earns("mlp_layer_params", lambda dims: [a * b for a, b in itertools.pairwise(dims)]),
        possible("mlp_layer_params"),
    )
    assert scores["downsampling_params"] == (earns("downsampling_params", downsampling), possible("downsampling_params"))
    assert {name: earned == full for name, (earned, full) in scores.items()} == {
        name: name not in {"fc_layer_params", "num_downsampling_layers", "mlp_layer_params", "downsampling_params"}
        for name in ALL_FUNCTIONS
    }
    assert_clean(harness)


def test_parts_that_lie_on_their_second_sighting_earn_no_credit(harness: Harness) -> None:
    from autograder.engine.follow_through import call_key

    harness.submit({"ps3.py": hostile("follow_through_liars_on_second_sighting")})
    data = harness.run()
    assert_no_follow_through(data)
    honest = _honest_solution()

    def classifier(image_shape: tuple[int, int, int], kernel_size: int, size_out: int, n_classes: int) -> int:
        channels, height, _ = image_shape
        layers = honest["num_conv_layers"](height, size_out, kernel_size) + 1
        convolutions: int = layers * honest["conv_layer_params"](channels, channels, kernel_size)
        head: int = honest["fc_layer_params"](channels * size_out * size_out, n_classes)
        return convolutions + head

    totals: dict[str, Callable[..., Any]] = {
        "mlp_layer_params": lambda dims: [a * b for a, b in itertools.pairwise(dims)],
        "conv_classifier_params": classifier,
    }

    def part_calls_of_failed_totals(hidden: bool) -> set[str]:
        """The keys of the part calls the grader makes after a phase: those of the totals that failed in it."""
        from autograder.engine.runner import check
        from autograder.model import Outcome

        def outcome(total: Callable[..., Any], case: Case) -> Outcome:
            try:
                return Outcome("returned", total(*case.args, **case.kwargs))
            except ValueError as error:  # the honest part refusing sizes it cannot reach, as a case may expect
                return Outcome("raised", error={"type": "ValueError", "mro": [c.__name__ for c in type(error).__mro__]})

        failed = [
            case
            for function, total in totals.items()
            for case in _cases(function)
            if case.hidden == hidden and case.follow_through and not check(case, outcome(total, case)).verdict.passed
        ]
        assert failed, "no total failed: the grader would make no part calls, and the attack would test nothing"
        return {call_key(p.function, p.args, p.kwargs) for case in failed for p in case.follow_through.calls}  # type: ignore[union-attr]

    # The order the worker sees each phase in: its cases, then (a part having lost points on its first
    # call, which raises and is no sighting) the part calls of the totals that failed in it, twice. The
    # parts' own answers are genuine and one of them lost points, so only the lie in the second round
    # stands between the totals and their credit.
    answered: list[tuple[Case, str]] = []  # each own case, and how the attack answers it: raises, honest or lies
    seen: set[str] = set()
    called: set[str] = set()
    for hidden in (False, True):
        for case in [c for c in _cases("fc_layer_params") + _cases("num_conv_layers") if c.hidden == hidden]:
            key = call_key(case.function, case.args, case.kwargs)
            if case.function not in called:
                called.add(case.function)
                answered.append((case, "raises"))
            else:
                answered.append((case, "honest" if key not in seen else "lies"))
                seen.add(key)
        seen |= part_calls_of_failed_totals(hidden)

    def own_cases_earn(function: str) -> float:
        from autograder.engine.runner import check
        from autograder.model import Outcome

        total = 0.0
        for case, how in answered:
            if case.function != function:
                continue
            try:
                if how == "raises":
                    raise RuntimeError("a part that loses points on its first case")
                value = honest[function](*case.args, **case.kwargs)
                value = value if how == "honest" else (case.args[0] * case.args[1] if function == "fc_layer_params" else value + 1)
                outcome = Outcome("returned", value)
            except (ValueError, RuntimeError) as error:
                outcome = Outcome("raised", error={"type": type(error).__name__, "mro": [type(error).__name__, "Exception"]})
            total += case.max_score if check(case, outcome).verdict.passed else 0
        return round(total, 4)

    scores = scores_by_function(data)
    assert scores["fc_layer_params"] == (own_cases_earn("fc_layer_params"), possible("fc_layer_params"))
    assert scores["num_conv_layers"] == (own_cases_earn("num_conv_layers"), possible("num_conv_layers"))
    for function, total in totals.items():
        assert scores[function] == (earns(function, total), possible(function))
    touched = {"fc_layer_params", "num_conv_layers", "mlp_layer_params", "conv_classifier_params"}
    assert all(earned == full for name, (earned, full) in scores.items() if name not in touched), scores
    assert_clean(harness)


# --------------------------------------------------------------------------- 2. hidden inputs through feedback


def test_errors_cannot_carry_hidden_inputs_into_feedback(harness: Harness) -> None:
    from autograder.engine import outcomes

    harness.submit({"ps3.py": hostile("hidden_inputs_in_errors")})
    data = harness.run()
    # num_downsampling_layers and downsampling_params are the solution's, which call the raising parts.
    assert_scores(
        data,
        zero={
            "conv_layer_params",
            "num_conv_layers",
            "mlp_layer_params",
            "conv_classifier_params",
            "num_downsampling_layers",
            "downsampling_params",
        },
        imports_cleanly=False,
    )
    mistakes = {message for problem in spec_problems() for case in problem.cases for _, message in case.known_mistakes}
    failures = "|".join(re.escape(s) for s in outcomes.SUMMARIES if s != "passed")
    fixed = re.compile(
        r"\*\*Passed\*\* \(hidden case: inputs and answer are not shown\)\."
        rf"|\*\*Wrong\*\* \(hidden case: inputs and answer are not shown\): (?:{failures})\."
        r"(?:\n\n\*\*Likely mistake:\*\* (?P<mistake>.+))?",
        re.S,
    )
    hidden = [t for t in data["tests"] if "hidden" in t.get("tags", []) and t["visibility"] == "visible"]
    assert len(hidden) > 20
    for test in hidden:
        match = fixed.fullmatch(test["output"])
        assert match, f"{test['name']}: {test['output'][:300]!r}"
        mistake = match.group("mistake")
        assert mistake is None or mistake in mistakes or mistake.startswith("One of these"), mistake
        assert "LEAK" not in test["name"] and "LEAK" not in json.dumps(test.get("extra_data", {}))
    # What the functions printed and raised is shown on visible cases only.
    visible_text = printed(data, "conv_layer_params") + printed(data, "num_conv_layers")
    assert "PRINTEDLEAK" in visible_text and "MESSAGELEAK" in visible_text
    before_publication = [t for t in data["tests"] if t["visibility"] == "visible" and "hidden" in t.get("tags", [])]
    assert not any("LEAK" in t["output"] for t in before_publication)
    # The import's own error: once, at the top, nowhere else.
    assert data["output"].count("IMPORTLEAK") == 1, data["output"]
    assert not any("IMPORTLEAK" in t.get("output", "") for t in data["tests"] if t["visibility"] != "hidden")
    assert_clean(harness)


# --------------------------------------------------------------------------- 3. no reply fails the grading


def test_no_reply_can_fail_the_grading(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("unreadable_replies")})
    data = harness.run()
    zero = {"mlp_layer_params", "conv_transpose2d", "conv_output_size", "num_conv_layers", "fc_layer_params", "conv2d"}
    # downsampling_params answers [its right answer, 1j]; where the right answer is an error it raises it, and passes.
    must_raise = {
        case.name
        for problem in spec_problems()
        for case in problem.cases
        if case.function == "downsampling_params" and case.expected.raises
    }
    passed = {
        t["name"].split(": ", 1)[1].removesuffix(" (hidden case)") for t in cases_of(data, "downsampling_params") if t["status"] == "passed"
    }
    assert passed == must_raise
    assert_scores(data, zero=zero, ignore={"downsampling_params"})
    raw = harness.layout.results_file.read_bytes()
    raw.decode("utf-8")  # strict: a lone surrogate written through would fail here
    assert not any(re.search(r"[\ud800-\udfff]", text) for text in _strings(data)), "a lone surrogate in results.json"
    assert "raised Exception" in printed(data, "conv_output_size")
    assert "lone" in printed(data, "conv_layer_params") or all(t["status"] == "passed" for t in cases_of(data, "conv_layer_params"))
    assert_clean(harness)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *_strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


# --------------------------------------------------------------------------- 4. memory amplification


def test_one_blob_referenced_forty_times_keeps_the_grader_small(harness: Harness) -> None:
    """One 56 MB blob named 40 times in one reply: the grader decodes it once, without a copy, and each name after
    the first is charged the blob's bytes (each is an array the grader may hash or print in full), so this one
    reply spends the grading's budget for answers: its call fails, and no call is made after it."""
    harness.submit({"ps3.py": hostile("reply_amplification")})
    data = harness.run()
    assert harness.grader_peak_mb < GRADER_PEAK_MB, f"the grader grew to {harness.grader_peak_mb:.0f} MB"
    attacked = cases_of(data, "conv2d")[0]
    assert attacked["status"] == "failed" and "over 128 MB of JSON" in attacked["output"], attacked["output"]
    later = cases_of(data, "conv_transpose2d")[0]
    assert "was not run: the answers before it held over 128 MB of JSON in all" in later["output"], later["output"]
    assert all(
        t["status"] == "passed"
        for f in ("fc_layer_params", "conv_layer_params")
        for t in cases_of(data, f)
        if "hidden" not in t.get("tags", [])
    )
    assert harness.grader_peak_mb < GRADER_PEAK_MB, f"the grader grew to {harness.grader_peak_mb:.0f} MB"
    assert_clean(harness)


# --------------------------------------------------------------------------- 5. the TA's process


def _cli(folder: Path, *arguments: str, user: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO)
    env["TMPDIR"] = str(folder.parent / "tmp")
    command = [sys.executable, "-m", "autograder", *arguments]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def student_folder(traversable_tmp: Path) -> Path:
    """Where a student's folder is made (not yet), beside a tmp/ every user may write in (the commands' TMPDIR)."""
    shared_tmpdir(traversable_tmp)
    return traversable_tmp / "student"


def _plant(folder: Path, marks: Path) -> None:
    """ps3.py (the solution with conv2d not written), and files that must never run in the TA's process."""
    folder.mkdir()
    (folder / "ps3.py").write_text(SOLUTION.read_text() + "\n\ndef conv2d(x, kernel):\n    raise NotImplementedError\n")
    trap = (
        f"import pathlib\npathlib.Path({str(marks)!r} + '-' + __name__.replace('.', '-')).write_text('ran')\n"
        "raise ImportError('the student folder was imported')\n"
    )
    for name in ("numpy.py", "yaml.py", "scipy.py", "sitecustomize.py", "usercustomize.py", "jsonschema.py"):
        (folder / name).write_text(trap)
    fake = folder / "problems" / "q9"
    fake.mkdir(parents=True)
    (fake / "spec.yaml").write_text(
        'title: "FAKE PROBLEM: free points"\nnumber: "9"\npoints: 100\n'
        "functions:\n  conv2d: {compare: {kind: int}}\n"
        'cases:\n  - {name: "anything", call: conv2d, args: [1, 2], expected: 1}\n'
    )
    (fake / "reference.py").write_text(trap + "def conv2d(x, k):\n    return 1\n")
    (folder / "assignment.yaml").write_text("title: FAKE\ntotal_points: 100\n")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize(
    "user",
    [None, pytest.param(65534, marks=pytest.mark.needs_root(reason="setpriv to another user needs root"))],
    ids=["as-root-or-self", "as-nobody"],
)
@pytest.mark.parametrize("command", ["grade", "check"])
def test_the_tas_process_never_runs_the_students_files(student_folder: Path, command: str, user: int | None) -> None:
    marks = student_folder.parent / "tmp" / "pwned"
    _plant(student_folder, marks)
    result = _cli(student_folder, command, "ps3.py", user=user)
    output = result.stdout + result.stderr
    assert list(marks.parent.glob("pwned*")) == [], output
    assert "FAKE" not in output and "the student folder was imported" not in output, output
    titles = [problem.title for problem in spec_problems() if not problem.graded_by_hand]
    assert all(title in output for title in titles), output[-3000:]
    conv2d_points = possible("conv2d")
    if command == "grade":
        assert f"Autograded score: {TOTAL - conv2d_points:g} / {TOTAL:g}" in output, output[-2000:]
    else:
        assert result.returncode == 1 and "conv2d" in output and "not implemented yet" in output, output[-2000:]


# --------------------------------------------------------------------------- 6. escaping student text


def _markdown_outputs(data: Results) -> list[tuple[str, str]]:
    texts = [("output", data["output"])] if data.get("output_format", "text") == "md" else []
    default = data.get("test_output_format", "text")
    texts += [(t["name"], t.get("output", "")) for t in data["tests"] if t.get("output_format", default) == "md"]
    return texts


class _PermissiveMarkdown(MarkdownIt):
    """CommonMark with raw HTML on, as a permissive renderer has it, showing every link that was formed (javascript: too)."""

    def __init__(self) -> None:
        super().__init__("commonmark")

    def validateLink(self, url: str) -> bool:
        return True


def _render(markdown: str) -> str:
    html: str = _PermissiveMarkdown().render(markdown)
    return html


def test_student_text_never_renders_as_markdown_or_html(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("markup_in_student_text")})
    data = harness.run()
    assert_scores(data, zero={"conv2d"}, imports_cleanly=False)
    rendered = {name: _render(text) for name, text in _markdown_outputs(data)}
    assert "output" in rendered and any("conv2d" in name for name in rendered)
    assert any("PWNED-HEADING" in html for html in rendered.values()), "the attack's text is shown nowhere"
    for name, html in rendered.items():
        lowered = html.lower()
        assert (
            "<script" not in lowered
            and "<img" not in lowered
            and "javascript:" not in re.sub(r"<code[^>]*>.*?</code>", "", lowered, flags=re.S)
        ), f"{name}: {html[:2000]}"
        assert "<h1" not in lowered and "<a " not in lowered, f"{name}: {html[:2000]}"
        outside = re.sub(r"<pre><code[^>]*>.*?</code></pre>|<code>.*?</code>", "", html, flags=re.S)
        assert "PWNED" not in outside and "onerror" not in outside, f"{name}: the student's text left its code block: {outside[:2000]}"
    assert_clean(harness)


def _terminal_folder(base: Path, text: str) -> Path:
    folder = base / "student"
    folder.mkdir()
    (folder / "ps3.py").write_text(text)
    folder.chmod(0o755)
    (folder / "ps3.py").chmod(0o644)
    return folder


@pytest.mark.parametrize("command", ["grade", "check"])
def test_student_text_cannot_drive_the_terminal(student_folder: Path, command: str) -> None:
    folder = _terminal_folder(student_folder.parent, hostile("terminal_escapes"))
    result = _cli(folder, command, "ps3.py", *(["--verbose"] if command == "grade" else []))
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text, f"{stream}: {text[-1500:]!r}"
        assert "\r" not in text, f"{stream}: {text[-1500:]!r}"
        assert "\x08" not in text, f"{stream}: {text[-1500:]!r}"
    assert "pwned" in result.stdout, "the attack's text is shown nowhere: the test tested nothing"


@as_root
def test_escapes_are_harmless_in_results_json_too(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("terminal_escapes")})
    data = harness.run()
    assert_scores(data, zero={"conv2d"}, imports_cleanly=False)
    assert "pwned" in data["output"] and "pwned" in printed(data, "conv2d")
    assert_clean(harness)
