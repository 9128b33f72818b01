"""Gradescope's results.json for a graded submission.

A hidden case's test never shows its inputs, expected value or the student's
printed output: only a fixed phrase (engine/outcomes.py). Its full details go
into one ``after_published`` entry that students see only once grades are
published. Staff get a ``hidden`` entry: the protections in force and where
every case comes from (spec file and line). Every text the student controls
is escaped or fenced, so it shows as text and never as Markdown or HTML.
"""

from __future__ import annotations

import json
import os
import platform
from typing import Any

from autograder import __version__
from autograder.engine import scoring
from autograder.engine.compare import short_repr
from autograder.model import CaseResult, CheckResult, Report
from autograder.text import clip, code_span, fenced, markdown_escape, valid_unicode

MAX_OUTPUT_CHARS = 6000
MAX_RESULTS_BYTES = 1_000_000


def gradescope_json(report: Report) -> dict[str, Any]:
    """The report in Gradescope's results.json schema.

    Informational entries (a problem graded by hand, the full hidden cases, the
    staff notes) carry no score, so Gradescope does not show them as "0/0
    passed". ``extra_data`` says, for tools, where each verdict comes from.
    """
    tests: list[dict[str, Any]] = []
    for problem in report.problems:
        if problem.graded_by_hand:
            tests.append({"name": problem.title, "number": problem.number, "status": "passed",
                          "output": problem.graded_by_hand, "visibility": "visible", "tags": ["graded by hand"]})
    labels = {problem.key: problem.label for problem in report.problems}
    for result in report.results:
        case = result.case
        tests.append({
            "name": f"{labels.get(case.problem, case.problem)} · {case.function}: {case.name}"
                    + (" (hidden case)" if case.hidden else ""),
            "number": case.number,
            "score": result.score,
            "max_score": case.max_score,
            "status": "passed" if result.verdict.passed else "failed",
            "output": clip(hidden_output(result) if case.hidden else visible_output(result), MAX_OUTPUT_CHARS),
            "visibility": "visible",
            "tags": [case.function, "hidden" if case.hidden else "visible"],
            "extra_data": {"case": case.number, "problem": case.problem, "function": case.function, "where": case.where,
                           "outcome": result.outcome.kind if result.outcome else "none",
                           "verdict": "passed" if result.verdict.passed else result.verdict.summary,
                           "diagnosis": result.diagnosis, "credit": result.credit},
        })
    tests += [check_test(check, labels) for check in report.checks]
    hidden_failures = [r for r in report.results if r.case.hidden and not r.verdict.passed]
    if hidden_failures:
        tests.append({"name": "Hidden cases in full (shown once grades are published)", "number": "99.1", "status": "passed",
                      "visibility": "after_published",
                      "output": clip("\n\n---\n\n".join(visible_output(r) for r in hidden_failures), 4 * MAX_OUTPUT_CHARS)})
    tests.append({"name": "Grading environment (staff only)", "number": "99.2", "status": "passed", "visibility": "hidden",
                  "output": fenced(clip(staff_notes(report), MAX_OUTPUT_CHARS))})
    data = {
        "score": scoring.total(report),
        "execution_time": round(report.seconds, 3),
        "output": clip(summary(report), MAX_OUTPUT_CHARS),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"engine_version": __version__, "spec_fingerprint": report.fingerprint},
    }
    leaderboard = [entry for check in report.checks for entry in check.leaderboard]
    if leaderboard:
        data["leaderboard"] = leaderboard
    return bounded(data)


def error_json(message: str, seconds: float = 0.0) -> dict[str, Any]:
    """A valid results.json for a run that could not grade at all."""
    return bounded({"score": 0, "execution_time": round(seconds, 3), "output": clip(message, MAX_OUTPUT_CHARS),
                    "visibility": "visible", "stdout_visibility": "hidden", "tests": [],
                    "extra_data": {"engine_version": __version__}})


def grader_failure_json(trace: str, seconds: float = 0.0) -> dict[str, Any]:
    """A valid results.json for a grade the engine itself failed: the student is told, staff get the traceback."""
    data = error_json("The autograder itself failed on this submission; the course staff can see why. "
                      "Your score is 0 for now: please tell the staff.", seconds)
    data["tests"] = [{"name": "Autograder error (staff only)", "status": "failed", "visibility": "hidden",
                      "output": valid_unicode(trace[-5000:]), "output_format": "text"}]
    return data


def visible_output(result: CaseResult) -> str:
    """Everything about one case: the call, what was expected, what came back, and why it is wrong."""
    case, verdict = result.case, result.verdict
    call = f"{case.function}({', '.join([short_repr(a, 120) for a in case.args] + [f'{k}={short_repr(v, 60)}' for k, v in case.kwargs.items()])})"
    lines = [f"**{'Passed' if verdict.passed else 'Wrong'}.** {code_span(call)}"]
    if case.note:
        lines.append(case.note)
    if not verdict.passed:
        not_run = result.outcome is not None and result.outcome.kind == "skipped"
        detail = verdict.detail.rstrip()
        if case.expected.raises and not not_run:
            lines.append(f"Expected: raises `{case.expected.raises}`")
        elif "\n" not in detail and "expected" not in detail and not not_run:
            lines.append(f"Expected: {code_span(short_repr(case.expected.value, 300))}")
        lines.append(fenced(detail) if "\n" in detail else markdown_escape(detail))
    if result.diagnosis:
        lines.append(f"**Likely mistake:** {result.diagnosis}")
    if result.credit_reason:
        lines.append(result.credit_reason)
    if result.outcome is not None and result.outcome.output.strip():
        lines.append("Your function printed:\n\n" + fenced(clip(result.outcome.output, 2000)))
    return "\n\n".join(lines)


def hidden_output(result: CaseResult) -> str:
    """What a student sees of a hidden case before grades are published: a fixed phrase, no value, no input."""
    verdict = result.verdict
    if verdict.passed:
        return "**Passed** (hidden case: inputs and answer are not shown)."
    text = f"**Wrong** (hidden case: inputs and answer are not shown): {verdict.summary}."
    if result.diagnosis:
        text += f"\n\n**Likely mistake:** {result.diagnosis}"
    if result.credit_reason:
        text += f"\n\n{result.credit_reason}"
    return text


def summary(report: Report) -> str:
    """The top of the page: the score, each problem's points, and what went wrong loading the file."""
    if report.error:
        return markdown_escape(report.error)
    lines = [f"**Autograded score: {scoring.total(report):g} / {scoring.possible(report):g}**", ""]
    for problem in report.problems:
        if problem.graded_by_hand:
            lines.append(f"- {problem.title}: graded by hand")
            continue
        results = [r for r in report.results if r.case.problem == problem.key]
        checks = [c for c in report.checks if c.problem == problem.key]
        earned, possible = scoring.earned(report, problem)
        passed = sum(r.verdict.passed for r in results) + sum(c.passed for c in checks)
        lines.append(f"- {problem.title}: {earned:g} / {possible:g} ({passed} of {len(results) + len(checks)} tests passed)")
    if report.notices:
        lines += ["", "**Problems loading your file** (only the functions named lose points):", ""]
        lines += [fenced("\n".join(report.notices))]
    return "\n".join(lines)


def _machine() -> str:
    """What platform.platform() says, without the `uname -p` process it starts to learn the processor's name."""
    system, _, release, _, machine = os.uname()
    libc, version = platform.libc_ver()
    return f"{system}-{release}-{machine}" + (f"-with-{libc}{version}" if libc else "")


def staff_notes(report: Report) -> str:
    """For staff: where grading ran, the protections in force, and each case's spec line and outcome."""
    lines = [f"Python {platform.python_version()} on {_machine()}", f"grading took {report.seconds:.2f} s",
             "Protections in force for the student's code:"]
    lines += [f"- {name}: {value}" for name, value in report.protections.items()]
    lines += ["", "Cases (number, outcome, spec line):"]
    for result in report.results:
        outcome = result.outcome.kind if result.outcome else "none"
        verdict = "passed" if result.verdict.passed else result.verdict.summary
        lines.append(f"- {result.case.number} {verdict} ({outcome}) {result.case.where}")
    lines += [f"- check {check.number or check.name}: {'passed' if check.passed else 'failed'} {check.where}" for check in report.checks]
    return "\n".join(lines)


def check_test(check: CheckResult, labels: dict[str, str]) -> dict[str, Any]:
    """One Python check as a test of results.json; ``labels`` maps problem keys to their short names."""
    test: dict[str, Any] = {
        "name": f"{labels.get(check.problem, check.problem)} · {check.name}",
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if check.passed else "failed",
        "output": check.output,
        "output_format": "text",
        "visibility": check.visibility,
        "tags": list(check.tags),
        "extra_data": {"problem": check.problem, "where": check.where, "check": check.name},
    }
    if check.number:
        test["number"] = check.number
    return test


def bounded(data: dict[str, Any]) -> dict[str, Any]:
    """Valid Unicode everywhere, and under Gradescope-friendly size whatever a submission printed."""
    data = _valid(data)
    limit = MAX_OUTPUT_CHARS
    while len(json.dumps(data)) > MAX_RESULTS_BYTES and limit > 100:
        limit //= 4
        for test in data["tests"]:
            test["output"] = clip(test.get("output", ""), limit)
        data["output"] = clip(data.get("output", ""), 4 * limit)
    return data


def _valid(value: Any) -> Any:
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {valid_unicode(str(k)): _valid(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid(item) for item in value]
    return value
