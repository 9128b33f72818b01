"""The terminal view of a report, for TAs (``grade``) and students (``check``).

One line per function by default (cases passed, points, the first failure's
reason); ``verbose`` adds every case with its spec line and every failure in
full. Student text is stripped of control characters: it cannot move the
cursor, retitle the terminal or forge a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from autograder.model import CaseResult, Report
from autograder.output.results import hidden_output, summary, visible_output
from autograder.text import FENCE, for_terminal, markdown_unescape


def table(report: Report, show_hidden: bool = True, verbose: bool = False) -> str:
    """A readable summary for the command line."""
    if report.error:
        return for_terminal(report.error)
    shown = [r for r in report.results if show_hidden or not r.case.hidden]
    lines = _per_case(shown, report) if verbose else _per_function(shown)
    failures = [r for r in shown if not r.verdict.passed]
    for result in failures if verbose else _first_failure_per_function(failures):
        case = result.case
        text = visible_output(result) if show_hidden or not case.hidden else hidden_output(result)
        lines += ["", f"--- {case.number} {case.function}: {case.name}" + (f"  [{case.where}]" if verbose else ""), _plain(text)]
    for check in report.checks:
        if not check.passed:
            lines += ["", f"--- {check.number} check: {check.name}" + (f"  [{check.where}]" if verbose else ""), check.output]
    lines += ["", _plain(summary(report))]
    return for_terminal("\n".join(lines))


def _per_function(results: list[CaseResult]) -> list[str]:
    rows: dict[str, list[CaseResult]] = {}
    for result in results:
        rows.setdefault(result.case.function, []).append(result)
    header = ("function", "passed", "points", "first failure")
    body = []
    for function, own in rows.items():
        passed = sum(r.verdict.passed for r in own)
        earned, possible = sum(r.score for r in own), sum(r.case.max_score for r in own)
        first = next((r for r in own if not r.verdict.passed), None)
        reason = "" if first is None else f"{first.case.number}: {first.diagnosis or first.verdict.summary}"
        body.append((function, f"{passed}/{len(own)}", f"{earned:g}/{possible:g}", reason.splitlines()[0] if reason else ""))
    return _columns(header, body)


def _per_case(results: list[CaseResult], report: Report) -> list[str]:
    header = ("#", "", "points", "function", "case", "spec")
    body = [(r.case.number, "PASS" if r.verdict.passed else "FAIL", f"{r.score:g}/{r.case.max_score:g}", r.case.function,
             r.case.name + (" (hidden)" if r.case.hidden else ""), r.case.where) for r in results]
    body += [(c.number, "PASS" if c.passed else "FAIL", f"{c.score:g}/{c.max_score:g}", "(check)", c.name, c.where)
             for c in report.checks]
    return _columns(header, body)


def _columns(header: tuple[str, ...], body: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header) - 1)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
            for row in [header, *body]]


def _first_failure_per_function(failures: list[CaseResult]) -> list[CaseResult]:
    seen: dict[str, CaseResult] = {}
    for result in failures:
        seen.setdefault(result.case.function, result)
    return list(seen.values())


def _plain(markdown: str) -> str:
    """Markdown as a terminal shows it: no emphasis marks, no fences, no escapes."""
    lines = [line for line in markdown.splitlines() if not re.fullmatch(FENCE, line)]
    return markdown_unescape("\n".join(lines).replace("**", ""))
