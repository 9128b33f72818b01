"""The hidden-feedback budget: before grades are published, a hidden case shows one of at most four things for
its function (2 bits), and nothing shown for a visible case depends on how the hidden phase was answered.

The budget is checked three ways: by enumerating, for every function of every problem set in the repository,
every outcome a hidden case can come to and what it then shows; by grading a submission that picks which known
mistake to imitate from the bits of each hidden input; and by grading, twice, a submission whose parts answer
differently once they have seen a hidden input, comparing what its visible cases show.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any, get_args

import pytest

from autograder.boundary import ErrorReport
from autograder.engine import runner, scoring
from autograder.engine.outcomes import (
    CREDITED,
    HIDDEN_FEEDBACK_BITS,
    LIKELY_MISTAKE,
    MAX_HIDDEN_OUTCOMES,
    NO_ANSWER,
    PASSED,
    RAISED,
    TIMED_OUT_OR_NOT_RUN,
    WRONG,
    HiddenAlphabet,
    hidden_alphabet,
    hidden_alphabets,
)
from autograder.engine.problemset import load
from autograder.engine.runner import check, grade, load_problem_set, publish_hidden
from autograder.model import Case, CaseResult, Comparison, Expected, FollowThrough, Outcome, Report, SkipReason
from autograder.output.results import gradescope_json
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox
from autograder.sandbox.worker import Unsupported

REPO = Path(__file__).resolve().parent.parent
ATTACKS = Path(__file__).resolve().parent / "attacks"
PROBLEM_SETS = [REPO / "problems", *sorted(REPO.glob("assignments/*/problems")), *sorted(REPO.glob("tests/fixtures/*/problems"))]
SOLUTION = REPO / "solutions" / "ps3.py"


# --------------------------------------------------------------------------- every outcome a hidden case can come to


def _error(name: str) -> ErrorReport:
    return {
        "type": name,
        "mro": [name, "Exception", "BaseException", "object"],
        "message": f"{name} spelling a hidden input",
        "traceback": "Traceback: the student's own",
    }


def _possible_outcomes(case: Case) -> list[Outcome]:
    """What one call can come to: the right answer, each known mistake's, other answers, errors, no answer at all."""
    returned = [] if case.expected.raises else [case.expected.value]
    returned += [wrong for wrong, _ in case.known_mistakes]
    returned += [Unsupported("Leak_1_2_3"), "leak", None, 10**6 + 7, -1.5, [[1.5, 2.5]], [3, 4, 5]]
    errors = [_error("ValueError"), _error("NotImplementedError"), _error("Leak_4_5_6")]
    if case.expected.raises:
        errors.append(_error(case.expected.raises))
    return (
        [Outcome("returned", value) for value in returned]
        + [Outcome("raised", error=error) for error in errors]
        + [
            Outcome("timeout", seconds=5.0),
            Outcome("crashed", detail="killed by signal 9 (SIGKILL)"),
            Outcome("broken", detail="the reply was malformed"),
        ]
        + [Outcome("skipped", reason=reason, detail="2") for reason in get_args(SkipReason)]
    )


def _shown(result: CaseResult, alphabets: dict[str, HiddenAlphabet]) -> tuple[bool, str, float]:
    """What a hidden case shows before publication: passed or not, its summary, and its score."""
    publish_hidden([result], alphabets)
    scoring.score_case(result)
    return result.verdict.passed, result.verdict.summary, result.score


def _everything_shown(case: Case, alphabets: dict[str, HiddenAlphabet]) -> set[tuple[bool, str, float]]:
    """Everything one hidden case can show, whatever the student's code does."""
    shown = set()
    for outcome in _possible_outcomes(case):
        judged = check(case, outcome)
        credits = [0.0]
        if case.follow_through and outcome.kind == "returned" and not judged.verdict.passed:
            credits.append(case.follow_through.share)  # whether the student's own parts add up to it
        for credit in credits:
            reason = "Follow-through credit: your own `a`, `b` add up to it" if credit else ""
            shown.add(_shown(dataclasses.replace(judged, credit=credit, credit_reason=reason), alphabets))
    return shown


def _functions_with_hidden_cases() -> list[tuple[Path, str]]:
    found = []
    for folder in PROBLEM_SETS:
        cases = [case for problem in load(folder) for case in problem.cases]
        found += [(folder, function) for function in dict.fromkeys(case.function for case in cases if case.hidden)]
    return found


def test_every_problem_set_is_enumerated() -> None:
    folders = {folder for folder, _ in _functions_with_hidden_cases()}
    assert REPO / "problems" in folders and REPO / "tests" / "fixtures" / "lab1" / "problems" in folders


@pytest.mark.parametrize(
    "folder, function",
    _functions_with_hidden_cases(),
    ids=lambda value: value if isinstance(value, str) else value.relative_to(REPO).as_posix(),
)
def test_a_hidden_case_shows_at_most_two_bits(folder: Path, function: str) -> None:
    cases = [case for problem in load(folder) for case in problem.cases]
    alphabets = hidden_alphabets(cases)
    phrases = set()
    for case in (case for case in cases if case.hidden and case.function == function):
        shown = _everything_shown(case, alphabets)
        assert len(shown) <= MAX_HIDDEN_OUTCOMES and math.log2(len(shown)) <= HIDDEN_FEEDBACK_BITS, (case.name, sorted(shown))
        # Each phrase comes with one score: the score adds nothing to what the phrase says.
        assert len({summary for _, summary, _ in shown}) == len(shown), sorted(shown)
        phrases |= {summary for _, summary, _ in shown}
    # Over all its hidden cases the function shows its alphabet, no more: the enumeration reaches every phrase of it.
    assert phrases == set(alphabets[function].phrases)
    assert len(phrases) <= MAX_HIDDEN_OUTCOMES


# --------------------------------------------------------------------------- how the room is spent


def _case(hidden: bool = True, mistakes: tuple[str, ...] = (), credit: bool = False) -> Case:
    follow = FollowThrough(share=0.5, compose=lambda parts: 0) if credit else None
    return Case(
        "p",
        "1.1",
        "f",
        "a case",
        (),
        {},
        Expected(6),
        Comparison("int"),
        hidden=hidden,
        known_mistakes=[(5 - index, message) for index, message in enumerate(mistakes)],
        follow_through=follow,
    )


@pytest.mark.parametrize(
    "cases, phrases",
    [
        ([_case()], (PASSED, WRONG, RAISED, TIMED_OUT_OR_NOT_RUN)),
        ([_case(mistakes=("m.",))], (PASSED, WRONG, LIKELY_MISTAKE + "m", NO_ANSWER)),
        ([_case(mistakes=("m",)), _case(mistakes=("n",))], (PASSED, WRONG, RAISED, TIMED_OUT_OR_NOT_RUN)),
        ([_case(mistakes=("m", "n"))], (PASSED, WRONG, RAISED, TIMED_OUT_OR_NOT_RUN)),
        ([_case(mistakes=("m",)), _case(hidden=False, mistakes=("n",))], (PASSED, WRONG, LIKELY_MISTAKE + "m", NO_ANSWER)),
        ([_case(credit=True)], (PASSED, WRONG, CREDITED, NO_ANSWER)),
        ([_case(credit=True, mistakes=("m",))], (PASSED, WRONG, CREDITED, NO_ANSWER)),
        ([_case(hidden=False, credit=True), _case()], (PASSED, WRONG, RAISED, TIMED_OUT_OR_NOT_RUN)),
    ],
    ids=[
        "nothing else",
        "one mistake",
        "two mistakes",
        "two on one case",
        "a visible mistake",
        "credit",
        "credit and a mistake",
        "credit on visible cases only",
    ],
)
def test_the_room_goes_to_credit_then_the_one_mistake_then_telling_failures_apart(cases: list[Case], phrases: tuple[str, ...]) -> None:
    assert hidden_alphabet(cases).phrases == phrases


def test_an_alphabet_over_the_budget_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="over the budget of 4"):
        HiddenAlphabet(credit=True, mistake="m", failures_apart=True)


def test_a_hidden_case_names_its_mistake_only_within_the_budget() -> None:
    one, two = hidden_alphabet([_case(mistakes=("m",))]), hidden_alphabet([_case(mistakes=("m", "n"))])
    named = CaseResult(_case(mistakes=("m",)), check(_case(mistakes=("m",)), Outcome("returned", 5)).verdict, diagnosis="m")
    assert one.summary(named) == LIKELY_MISTAKE + "m" and two.summary(named) == WRONG
    assert one.summary(dataclasses.replace(named, diagnosis="One of these (this case cannot tell them apart): m / n")) == WRONG


# --------------------------------------------------------------------------- the attacks, graded


def _attack(name: str, **values: object) -> str:
    """The solution with tests/attacks/<name>.py appended, its __PLACEHOLDERS__ filled in."""
    text = (ATTACKS / f"{name}.py").read_text()
    for key, value in values.items():
        text = text.replace(f"__{key.upper()}__", str(value))
    assert not re.search(r"__[A-Z_]+__", text), f"{name}: a placeholder is left"
    return SOLUTION.read_text() + "\n\n" + text


def _grade(folder: Path, source: str) -> Report:
    folder.mkdir()
    path = folder / "ps3.py"
    path.write_text(source)
    return grade(CallGate.started(Sandbox(path)), load_problem_set(REPO / "problems"))


@pytest.mark.ps3
def test_imitating_a_mistake_chosen_by_the_input_says_at_most_two_bits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    named_on_sight: list[tuple[str, bool, str]] = []  # each case's diagnosis as judged, before its function's are settled
    judged = runner._checked  # what the runner judges each answer with (runner.check, and the mistakes it matched)

    def seen(case: Case, outcome: Outcome) -> tuple[CaseResult, list[str]]:
        result, matched = judged(case, outcome)
        named_on_sight.append((case.function, case.hidden, result.diagnosis))
        return result, matched

    monkeypatch.setattr(runner, "_checked", seen)
    report = _grade(tmp_path / "graded", _attack("hidden_mistake_channel"))
    data = gradescope_json(report)
    alphabets = hidden_alphabets([case for problem in report.problems for case in problem.cases])
    for function in ("conv2d", "conv_transpose2d"):
        hidden = [r for r in report.results if r.case.function == function and r.case.hidden]
        # The attack imitates a different known mistake on different inputs, to spread its hidden cases over more
        # outcomes than the budget: case by case its answers match several. They fit no one mistake throughout,
        # so none is named on any case.
        imitated = {diagnosis for name, hidden_case, diagnosis in named_on_sight if name == function and hidden_case and diagnosis}
        assert len(imitated) >= 2 and not any(r.diagnosis for r in report.results if r.case.function == function), imitated
        shown = {(r.verdict.passed, r.verdict.summary) for r in hidden}
        assert len(shown) <= MAX_HIDDEN_OUTCOMES and {summary for _, summary in shown} <= set(alphabets[function].phrases), shown
        assert all(r.score == (r.case.max_score if r.verdict.passed else 0) for r in hidden)  # no credit: nothing more
        # Staff, and the student once grades are published, still get every hidden case in full.
        assert all(r.verdict.detail for r in hidden if not r.verdict.passed)
        # What results.json shows of these hidden cases before publication: as many texts as the alphabet, no more.
        texts = {
            (test["output"], test["score"] == test["max_score"], test["score"] == 0)
            for test in data["tests"]
            if test["visibility"] == "visible" and test.get("tags") == [function, "hidden"]
        }
        assert len(hidden) == len([t for t in data["tests"] if t.get("tags") == [function, "hidden"]])
        assert len(texts) <= MAX_HIDDEN_OUTCOMES, texts


def _fc_calls(hidden: bool) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """fc_layer_params's (d_in, d_out) on its own cases, and on every call its cases and composites make."""
    cases = [case for problem in load(REPO / "problems") for case in problem.cases if case.hidden == hidden]
    calls = [(case.function, case.args) for case in cases]
    own = {(int(args[0]), int(args[1])) for function, args in calls if function == "fc_layer_params"}
    calls += [(part.function, part.args) for case in cases if case.follow_through for part in case.follow_through.calls]
    return own, {(int(args[0]), int(args[1])) for function, args in calls if function == "fc_layer_params"}


def _visible_entries(report: Report) -> tuple[list[tuple[object, ...]], list[dict[str, Any]]]:
    """Everything a visible case shows: the results as the engine decided them, and their results.json tests."""
    results: list[tuple[object, ...]] = [
        (r.case.number, r.verdict, r.diagnosis, r.credit, r.credit_reason, r.score, r.outcome.output if r.outcome else "")
        for r in report.results
        if not r.case.hidden
    ]
    tests = [test for test in gradescope_json(report)["tests"] if "visible" in test.get("tags", [])]
    return results, tests


@pytest.mark.ps3
def test_visible_results_do_not_depend_on_the_hidden_phase(tmp_path: Path) -> None:
    own, visible = _fc_calls(hidden=False)
    assert visible - own, "no visible composite calls fc_layer_params beyond its own cases: the attack has no lever"
    reports = {
        mode: _grade(tmp_path / mode, _attack("follow_through_hidden_state", mode=mode, own=own, visible=visible))
        for mode in ("pass", "fail")
    }
    hidden_failures = {
        mode: sum(not r.verdict.passed for r in report.results if r.case.hidden and r.case.function == "fc_layer_params")
        for mode, report in reports.items()
    }
    assert hidden_failures["pass"] == 0 and hidden_failures["fail"] > 0, hidden_failures  # the hidden phases differed
    # Visible composites answered what the lying part adds up to: their credit was at stake.
    stake = [r for r in reports["fail"].results if not r.case.hidden and r.case.follow_through and not r.verdict.passed]
    assert stake, "no visible composite failed: nothing for the hidden phase to steer"
    assert _visible_entries(reports["pass"]) == _visible_entries(reports["fail"])
    # fc_layer_params passed every visible case of its own, so no visible composite earns follow-through credit.
    assert all(r.credit == 0 for r in stake)
