"""Gradescope's results.json for a graded submission.

A hidden case's test never shows its inputs, expected value or the student's
printed output: only a fixed phrase (output/describe.py). Its full details go
into one ``after_published`` entry that students see only once grades are
published. Staff get a ``hidden`` entry: the protections in force and where
every case comes from (spec file and line). Each test's output is its
description (output/describe.py) rendered as Markdown, or as plain text for a
Python check; the summary at the top is built the same way, so every text the
student controls is escaped by autograder/text.py, never written in as it came.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from autograder import __version__
from autograder.engine import scoring
from autograder.model import CaseResult, CheckResult, Report
from autograder.output.describe import Section, describe, markdown, plain
from autograder.text import StudentText, Text, Trusted, clip, to_markdown, valid_unicode

MAX_OUTPUT_CHARS = 6000
MAX_RESULTS_BYTES = 1_000_000


def gradescope_json(report: Report, notes: Sequence[Text] = ()) -> dict[str, Any]:
    """The report in Gradescope's results.json schema; ``notes`` come first in its summary (which file was graded).

    Informational entries (a problem graded by hand, the full hidden cases, the
    staff notes) carry no score, so Gradescope does not show them as "0/0
    passed". ``extra_data`` says, for tools, where each verdict comes from.
    """
    labels = {problem.key: problem.label for problem in report.problems}
    tests: list[dict[str, Any]] = [
        {
            "name": problem.title,
            "number": problem.number,
            "status": "passed",
            "output": to_markdown(Trusted(problem.graded_by_hand)),
            "visibility": "visible",
            "tags": ["graded by hand"],
        }
        for problem in report.problems
        if problem.graded_by_hand
    ]
    tests += [case_test(result, labels) for result in report.results]
    tests += [check_test(check, labels) for check in report.checks]
    hidden_failures = [r for r in report.results if r.case.hidden and not r.verdict.passed]
    if hidden_failures:
        tests.append(
            {
                "name": "Hidden cases in full (shown once grades are published)",
                "number": "99.1",
                "status": "passed",
                "visibility": "after_published",
                "output": _hidden_in_full(hidden_failures, labels),
            }
        )
    tests.append(
        {
            "name": "Grading environment (staff only)",
            "number": "99.2",
            "status": "passed",
            "visibility": "hidden",
            "output": to_markdown(StudentText(clip(staff_notes(report), MAX_OUTPUT_CHARS)), block=True),
        }
    )
    data = {
        "score": scoring.total(report),
        "execution_time": round(report.seconds, 3),
        "output": summary(report, notes),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"engine_version": __version__, "spec_fingerprint": report.fingerprint},
    }
    leaderboard = [_leaderboard_entry(entry) for check in report.checks for entry in check.leaderboard]
    if leaderboard:
        data["leaderboard"] = leaderboard
    return bounded(data)


def error_json(message: Text, seconds: float = 0.0, notes: Sequence[Text] = ()) -> dict[str, Any]:
    """A valid results.json for a run that could not grade at all: ``notes``, then ``message``."""
    output = markdown(tuple(Section(text) for text in (*notes, message) if text))
    return bounded(
        {
            "score": 0,
            "execution_time": round(seconds, 3),
            "output": _within(output, MAX_OUTPUT_CHARS),
            "output_format": "md",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [],
            "extra_data": {"engine_version": __version__},
        }
    )


def grader_failure_json(trace: str, seconds: float = 0.0) -> dict[str, Any]:
    """A valid results.json for a grade the engine itself failed: the student is told, staff get the traceback.

    The traceback may quote what the submission sent, so it is shown as student text.
    """
    data = error_json(
        Trusted(
            "The autograder itself failed on this submission; the course staff can see why. Your score is 0 for now: please tell the staff."
        ),
        seconds,
    )
    data["tests"] = [
        {
            "name": "Autograder error (staff only)",
            "status": "failed",
            "visibility": "hidden",
            "output": plain((Section(StudentText(trace[-5000:]), block=True),)),
            "output_format": "text",
        }
    ]
    return data


def case_test(result: CaseResult, labels: dict[str, str]) -> dict[str, Any]:
    """One case as a test of results.json: a hidden one shows its fixed phrase alone (see output/describe.py)."""
    case = result.case
    description = describe(result, labels, reveal=not case.hidden)
    return {
        "name": description.name,
        "number": description.number,
        "score": description.score,
        "max_score": description.max_score,
        "status": "passed" if description.passed else "failed",
        "output": markdown(description.sections),
        "visibility": "visible",
        "tags": [case.function, "hidden" if case.hidden else "visible"],
        "extra_data": {
            "case": case.number,
            "problem": case.problem,
            "function": case.function,
            "where": case.where,
            "outcome": result.outcome.kind if result.outcome else "none",
            "verdict": "passed" if result.verdict.passed else result.verdict.summary,
            "diagnosis": result.diagnosis,
            "credit": result.credit,
        },
    }


def check_test(check: CheckResult, labels: dict[str, str]) -> dict[str, Any]:
    """One Python check as a test of results.json, its output (pytest's report, which quotes the student) as plain text."""
    description = describe(check, labels)
    test: dict[str, Any] = {
        "name": description.name,
        "score": description.score,
        "max_score": description.max_score,
        "status": "passed" if description.passed else "failed",
        "output": plain(description.sections),
        "output_format": "text",
        "visibility": check.visibility,
        "tags": list(check.tags),
        "extra_data": {"problem": check.problem, "where": check.where, "check": check.name},
    }
    if check.number:
        test["number"] = check.number
    return test


def visible_output(result: CaseResult) -> str:
    """Everything about one case, as Markdown: what a visible case shows, and a hidden one once published."""
    return markdown(describe(result, {}).sections)


def _hidden_in_full(failures: list[CaseResult], labels: dict[str, str]) -> str:
    """The hidden cases that failed, in full, as many as fit; then how many more there are."""
    shown: list[str] = []
    size = 0
    for result in failures:
        text = markdown(describe(result, labels).sections)
        if shown and size + len(text) > 4 * MAX_OUTPUT_CHARS:
            shown.append(f"... and {len(failures) - len(shown)} more hidden cases not shown here.")
            break
        shown.append(_within(text, 4 * MAX_OUTPUT_CHARS))
        size += len(text)
    return "\n\n---\n\n".join(shown)


def summary(report: Report, notes: Sequence[Text] = ()) -> str:
    """The top of the page, as Markdown: ``notes``, the score, each problem's points, and what went wrong loading the file."""
    return _within(markdown(summary_sections(report, notes)), MAX_OUTPUT_CHARS)


def summary_sections(report: Report, notes: Sequence[Text] = ()) -> tuple[Section, ...]:
    """The summary's parts, for results.json (Markdown) and the terminal alike."""
    sections = [Section(note) for note in notes]
    if report.error:  # the specs or checks are broken: their loader's words, which may quote anything, as written
        return (*sections, Section(StudentText(report.error), block=True))
    lines = []
    for problem in report.problems:
        if problem.graded_by_hand:
            lines.append(f"- {problem.title}: graded by hand")
            continue
        own = [test for test in report.tests if test.problem == problem.key]
        if not own:  # graded by Python checks alone, which the student kit does not have
            lines.append(f"- {problem.title}: graded by its Python checks, on Gradescope")
            continue
        earned, possible = scoring.earned(report, problem)
        passed = sum(test.passed for test in own)
        lines.append(f"- {problem.title}: {earned:g} / {possible:g} ({passed} of {len(own)} tests passed)")
    sections += [
        Section(Trusted(f"**Autograded score: {scoring.total(report):g} / {scoring.possible(report):g}**")),
        Section(Trusted("\n".join(lines))),
    ]
    if report.notices:
        sections.append(
            Section(
                StudentText(clip("\n".join(report.notices), MAX_OUTPUT_CHARS // 2)),
                Trusted("Problems loading your file (only the functions named lose points)"),
                block=True,
            )
        )
    return tuple(sections)


def _leaderboard_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A leaderboard value a check took from the student's answers is student text: no control character."""
    value = entry.get("value")
    return {**entry, "value": plain((Section(StudentText(value)),))} if isinstance(value, str) else entry


def _within(markdown_text: str, limit: int) -> str:
    """Markdown of about ``limit`` characters at most. Markdown cut anywhere could leave a code span open and
    let the student's text out of it, so a text too long is shown, cut, as a code block."""
    return markdown_text if len(markdown_text) <= limit else to_markdown(StudentText(clip(markdown_text, limit)), block=True)


def _machine() -> str:
    """What platform.platform() says, without the `uname -p` process it starts to learn the processor's name, nor
    the 1.5 ms its import costs every grade: the C library's name and version are the ones platform.libc_ver()
    reads from the same place."""
    system, _, release, _, machine = os.uname()
    try:
        libc = (os.confstr("CS_GNU_LIBC_VERSION") or "").replace(" ", "")
    except (ValueError, OSError):  # not glibc (musl), or not a POSIX system
        libc = ""
    return f"{system}-{release}-{machine}" + (f"-with-{libc}" if libc else "")


def staff_notes(report: Report) -> str:
    """For staff: where grading ran, the protections in force, and each case's spec line and outcome."""
    lines = [
        f"Python {sys.version.split()[0]} on {_machine()}",
        f"grading took {report.seconds:.2f} s",
        "Protections in force for the student's code:",
    ]
    lines += [f"- {name}: {value}" for name, value in report.protections.items()]
    lines += ["", "Cases (number, outcome, spec line):"]
    for result in report.results:
        outcome = result.outcome.kind if result.outcome else "none"
        verdict = "passed" if result.verdict.passed else result.verdict.summary
        lines.append(f"- {result.case.number} {verdict} ({outcome}) {result.case.where}")
    lines += [f"- check {check.number or check.name}: {'passed' if check.passed else 'failed'} {check.where}" for check in report.checks]
    return "\n".join(lines)


def bounded(data: dict[str, Any]) -> dict[str, Any]:
    """Valid Unicode everywhere, and under Gradescope-friendly size whatever a submission printed.

    One encoding finds both: the JSON text (which keeps a lone surrogate as it is when not escaping) encoded
    to UTF-8, as write_json writes it, has the size; a lone surrogate is what UTF-8 cannot encode. Only a
    results.json that needs it is walked and encoded again.
    """
    try:
        size = _utf8_size(data)
    except (TypeError, ValueError):  # a lone surrogate (UnicodeEncodeError is a ValueError), or a value JSON cannot hold
        data = _valid(data)
        size = _utf8_size(data)
    limit = MAX_OUTPUT_CHARS
    while size > MAX_RESULTS_BYTES and limit > 100:
        limit //= 4
        for test in data["tests"]:
            text = test.get("output", "")
            test["output"] = _within(text, limit) if test.get("output_format", "md") == "md" else clip(text, limit)
        data["output"] = _within(data.get("output", ""), 4 * limit)
        size = _utf8_size(data)
    return data


def _utf8_size(data: dict[str, Any]) -> int:
    """The size of ``data`` as JSON in UTF-8, as write_json writes it."""
    return len(json.dumps(data, ensure_ascii=False).encode("utf-8"))


def _valid(value: Any) -> Any:
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {valid_unicode(str(k)): _valid(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid(item) for item in value]
    return value
