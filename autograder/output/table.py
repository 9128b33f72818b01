"""The terminal view of a report, for TAs (``grade``) and students (``check``).

One line per function by default (cases passed, points, the first failure's
reason); ``verbose`` adds every case and check with its spec line and every
failure in full. Failures are the same descriptions results.json shows
(output/describe.py), rendered as plain text: student text has no control
character left, so it cannot move the cursor, retitle the terminal or forge a line.
"""

from __future__ import annotations

from collections.abc import Sequence

from autograder.engine.scoring import case_share, exactly
from autograder.model import CaseResult, CheckResult, Report
from autograder.output.describe import describe, plain
from autograder.output.results import summary_sections
from autograder.text import Text, Trusted, to_terminal


def table(report: Report, show_hidden: bool = True, verbose: bool = False, notes: Sequence[Text] = ()) -> str:
    """A readable summary for the command line; ``notes`` (which file was graded) come first."""
    shown = [r for r in report.results if show_hidden or not r.case.hidden]
    lines = [] if report.error else _per_case(report, shown) if verbose else _per_function(shown)
    labels = {problem.key: problem.label for problem in report.problems}
    failures = [r for r in shown if not r.verdict.passed]
    listed: list[CaseResult | CheckResult] = [*(failures if verbose else _first_failure_per_function(failures))]
    for test in listed + [check for check in report.checks if not check.passed]:
        description = describe(test, labels, reveal=show_hidden)
        heading = f"--- {description.number} {description.name}" + (f"  [{test.where}]" if verbose else "")
        body = plain(description.sections)
        lines += ["", to_terminal(Trusted(heading)), *([body] if body else [])]
    lines += ["", plain(summary_sections(report, notes))]
    return "\n".join(lines).strip("\n")


def _per_function(results: list[CaseResult]) -> list[str]:
    rows: dict[str, list[CaseResult]] = {}
    for result in results:
        rows.setdefault(result.case.function, []).append(result)
    header = ("function", "passed", "points", "first failure")
    body = []
    for function, own in rows.items():
        passed = sum(r.verdict.passed for r in own)
        earned, possible = exactly(own), round(sum(case_share(r.case) for r in own), 4)
        first = next((r for r in own if not r.verdict.passed), None)
        reason = "" if first is None else f"{first.case.number}: {first.diagnosis or first.verdict.summary}"
        body.append((function, f"{passed}/{len(own)}", f"{earned:g}/{possible:g}", reason.splitlines()[0] if reason else ""))
    return _columns(header, body)


def _per_case(report: Report, results: list[CaseResult]) -> list[str]:
    """Every case shown and every check: number, verdict, points, what it calls, its name, its spec or check line."""
    header = ("#", "", "points", "function", "case", "spec")
    body = [
        (
            r.case.number,
            "PASS" if r.passed else "FAIL",
            f"{r.score:g}/{r.max_score:g}",
            r.case.function,
            r.case.name + (" (hidden)" if r.case.hidden else ""),
            r.where,
        )
        for r in results
    ]
    body += [(c.number, "PASS" if c.passed else "FAIL", f"{c.score:g}/{c.max_score:g}", "(check)", c.name, c.where) for c in report.checks]
    return _columns(header, body)


def _columns(header: tuple[str, ...], body: Sequence[tuple[str, ...]]) -> list[str]:
    """Aligned rows of the grader's and the spec's words (made terminal-safe all the same)."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header) - 1)]
    return [
        to_terminal(Trusted("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]))
        for row in [header, *body]
    ]


def _first_failure_per_function(failures: list[CaseResult]) -> list[CaseResult]:
    seen: dict[str, CaseResult] = {}
    for result in failures:
        seen.setdefault(result.case.function, result)
    return list(seen.values())
