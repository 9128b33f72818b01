"""Writers: Gradescope's results.json, and the terminal table for people.

A hidden case's test never shows its inputs, expected value or the student's
printed output; its full details go into one ``after_published`` entry that
students see only once grades are published. What protections were in force
goes into a ``hidden`` entry, for staff.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

from autograder.checks import gradescope_tests
from autograder.compare import short_repr
from autograder.runner import CaseResult, Report

MAX_OUTPUT_CHARS = 6000
MAX_RESULTS_BYTES = 1_000_000


def gradescope_json(report: Report) -> dict:
    """The report in Gradescope's results.json schema."""
    tests: list[dict] = []
    for problem in report.problems:
        if problem.graded_by_hand:
            tests.append({"name": problem.title, "number": problem.number, "score": 0, "max_score": 0,
                          "output": problem.graded_by_hand, "visibility": "visible", "tags": ["graded by hand"]})
    for result in report.results:
        case = result.case
        tests.append({
            "name": f"{case.problem.split(':')[0]} · {case.function}: {case.name}" + (" (hidden case)" if case.hidden else ""),
            "number": case.number,
            "score": result.score,
            "max_score": case.max_score,
            "status": "passed" if result.verdict.passed else "failed",
            "output": _clip(hidden_output(result) if case.hidden else visible_output(result)),
            "output_format": "md",
            "visibility": "visible",
            "tags": [case.function, "hidden" if case.hidden else "visible"],
        })
    tests += gradescope_tests(report.checks)
    hidden_failures = [r for r in report.results if r.case.hidden and not r.verdict.passed]
    if hidden_failures:
        tests.append({"name": "Hidden cases in full (shown once grades are published)", "number": "99.1",
                      "score": 0, "max_score": 0, "output_format": "md", "visibility": "after_published",
                      "output": _clip("\n\n---\n\n".join(visible_output(r) for r in hidden_failures), 4 * MAX_OUTPUT_CHARS)})
    tests.append({"name": "Grading environment (staff only)", "number": "99.2", "score": 0, "max_score": 0,
                  "visibility": "hidden", "output": _clip(_environment(report))})
    data = {
        "score": report.score,
        "execution_time": round(report.seconds, 3),
        "output": _clip(_summary(report)),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return _bounded(data)


def error_json(message: str, seconds: float = 0.0) -> dict:
    """A valid results.json for a run that could not grade at all."""
    return {"score": 0, "execution_time": round(seconds, 3), "output": _clip(message), "visibility": "visible",
            "stdout_visibility": "hidden", "tests": []}


def grader_failure_json(trace: str, seconds: float = 0.0) -> dict:
    """A valid results.json for a grade the engine itself failed: the student is told, staff get the traceback."""
    data = error_json("The autograder itself failed on this submission; the course staff can see why. "
                      "Your score is 0 for now: please tell the staff.", seconds)
    data["tests"] = [{"name": "Autograder error (staff only)", "score": 0, "max_score": 0,
                      "visibility": "hidden", "output": trace[-5000:]}]
    return data


def write_json(path: Path, data: dict) -> None:
    """Write atomically: a temporary file in the same folder, then a rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=1, ensure_ascii=False, allow_nan=False)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def visible_output(result: CaseResult) -> str:
    case, verdict = result.case, result.verdict
    call = f"{case.function}({', '.join([short_repr(a, 120) for a in case.args] + [f'{k}={short_repr(v, 60)}' for k, v in case.kwargs.items()])})"
    lines = [f"**{'Passed' if verdict.passed else 'Wrong'}.** `{call}`"]
    if case.note:
        lines.append(case.note)
    if not verdict.passed:
        if case.expected.raises:
            lines.append(f"Expected: raises `{case.expected.raises}`")
        elif "\n" not in verdict.detail:
            lines.append(f"Expected: `{short_repr(case.expected.value, 300)}`")
        lines.append(_block(verdict.detail) if "\n" in verdict.detail else verdict.detail)
    if result.diagnosis:
        lines.append(f"**Likely mistake:** {result.diagnosis}")
    if result.credit_reason:
        lines.append(result.credit_reason)
    if result.outcome is not None and result.outcome.output.strip():
        lines.append("Your function printed:\n" + _block(_clip(result.outcome.output, 2000)))
    return "\n\n".join(lines)


def hidden_output(result: CaseResult) -> str:
    """What a student sees of a hidden case before grades are published: no value, no input."""
    verdict = result.verdict
    if verdict.passed:
        return "**Passed** (hidden case: inputs and answer are not shown)."
    text = f"**Wrong** (hidden case: inputs and answer are not shown): {verdict.summary}."
    if result.diagnosis:
        text += f"\n\n**Likely mistake:** {result.diagnosis}"
    if result.credit_reason:
        text += f"\n\n{result.credit_reason}"
    return text


def _summary(report: Report) -> str:
    if report.error:
        return report.error
    lines = [f"**Autograded score: {report.score:g} / {report.max_score:g}**", ""]
    for problem in report.problems:
        if problem.graded_by_hand:
            lines.append(f"- {problem.title}: graded by hand")
            continue
        results = [r for r in report.results if r.case.problem == problem.title]
        checks = [c for c in report.checks if c.problem == problem.title]
        earned, possible = report.earned(problem)
        passed = sum(r.verdict.passed for r in results) + sum(c.passed for c in checks)
        lines.append(f"- {problem.title}: {earned:g} / {possible:g} ({passed} of {len(results) + len(checks)} tests passed)")
    if report.notices:
        lines += ["", "**Problems loading your file** (only the functions named lose points):"]
        lines += [f"- {notice}" for notice in report.notices]
    return "\n".join(lines)


def _environment(report: Report) -> str:
    lines = [f"Python {platform.python_version()} on {platform.platform()}", f"grading took {report.seconds:.2f} s",
             "Protections in force for the student's code:"]
    for name, value in report.protections.items():
        lines.append(f"- {name}: {value}")
    return "\n".join(lines)


def _block(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}\n{text}\n{fence}"


def _clip(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n\n... ({len(text) - limit} more characters not shown)"


def _bounded(data: dict) -> dict:
    """Keep results.json under Gradescope-friendly size, whatever a submission printed."""
    limit = MAX_OUTPUT_CHARS
    while len(json.dumps(data)) > MAX_RESULTS_BYTES and limit > 100:
        limit //= 4
        for test in data["tests"]:
            test["output"] = _clip(test.get("output", ""), limit)
    return data


# --------------------------------------------------------------------------- terminal


def table(report: Report, show_hidden: bool = True) -> str:
    """A readable summary for the command line."""
    if report.error:
        return report.error
    rows = []
    for result in report.results:
        case = result.case
        if case.hidden and not show_hidden:
            continue
        mark = "PASS" if result.verdict.passed else "FAIL"
        rows.append((case.number, mark, f"{result.score:g}/{case.max_score:g}", case.function, case.name + (" (hidden)" if case.hidden else "")))
    for check in report.checks:
        rows.append((check.number, "PASS" if check.passed else "FAIL", f"{check.score:g}/{check.max_score:g}", "(check)", check.name))
    widths = [max(len(row[i]) for row in rows + [("#", "", "points", "function", "")]) for i in range(4)]
    lines = [f"{'#':<{widths[0]}}  {'':<{widths[1]}}  {'points':>{widths[2]}}  {'function':<{widths[3]}}  case"]
    for row in rows:
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:<{widths[3]}}  {row[4]}")
    failures = [r for r in report.results if not r.verdict.passed and (show_hidden or not r.case.hidden)]
    for result in failures:
        lines += ["", f"--- {result.case.number} {result.case.function}: {result.case.name}",
                  _plain(visible_output(result) if show_hidden or not result.case.hidden else hidden_output(result))]
    for check in report.checks:
        if not check.passed:
            lines += ["", f"--- {check.number} check: {check.name}", check.output]
    lines += ["", _plain(_summary(report))]
    return "\n".join(lines)


def _plain(markdown: str) -> str:
    return markdown.replace("**", "").replace("````", "").replace("```", "")
