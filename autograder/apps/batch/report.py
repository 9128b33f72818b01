"""The class outputs of ``batch``: ``grades.csv`` for a spreadsheet, ``report.html`` for reading.

Both are rebuilt on every run from the per-submission records, so they always
cover the whole export. Student-written text (names, ids, file names, messages
quoting their code's output) is treated as hostile in both: in the CSV a cell
a spreadsheet would run as a formula gets a leading quote; in the page
everything goes through ``html.escape``. The score histogram is inline SVG
drawn here: no script, no network, no plotting library.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from html import escape
from pathlib import Path
from statistics import mean, median
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from autograder.output.files import write_text

if TYPE_CHECKING:
    from autograder.apps.batch.grading import Submission
    from autograder.model import Problem

Rows = list[tuple["Submission", "dict | None"]]
TOP_MISTAKES = 20

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; } th, td { padding: .25em .5em; text-align: left; vertical-align: top; }
tr:nth-child(even) { background: #f5f6f8; } th { background: #e8eaef; } td.n { text-align: right; white-space: nowrap; }
.bar { background: #dde3ee; height: .8em; width: 10em; display: inline-block; vertical-align: middle; }
.bar span { background: #3b6fc4; height: 100%; display: block; } .low span { background: #c4503b; }
.muted { color: #666; } code { background: #f0f0f0; padding: 0 .2em; }
"""


# --------------------------------------------------------------------------- grades.csv


def write_csv(path: Path, rows: Rows, problems: list[Problem]) -> None:
    """One row per submission, for a spreadsheet: UTF-8 with a BOM (Excel needs it), no formula injection."""
    questions = [problem for problem in problems if not problem.graded_by_hand]
    header = ["submission_id", "names", "sids", "emails", "submitted_at", "status", "file",
              *[f"{problem.label} (/{problem.points:g})" for problem in questions],
              "total", "max_score", "gradescope_score", "difference", "note"]
    maximum = sum(problem.points for problem in questions)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for submission, record in rows:
        record = record or {"status": "not graded", "message": "not graded yet: the run was interrupted"}
        scored = record["status"] != "not graded"
        per_question = [record.get("problems", {}).get(problem.key, 0.0) if scored else None for problem in questions]
        writer.writerow([_cell(value) for value in [
            submission.id,
            *["; ".join(person[key] for person in submission.submitters) for key in ("name", "sid", "email")],
            submission.created_at, record["status"], record.get("file", ""), *per_question,
            record["score"] if scored else None, maximum, submission.recorded_score, score_difference(submission, record),
            record.get("message", ""),
        ]])
    write_text(path, buffer.getvalue(), encoding="utf-8-sig")


def score_difference(submission: Submission, record: dict | None) -> float | None:
    """New score minus Gradescope's, or None when either is unknown."""
    if not record or record["status"] == "not graded" or submission.recorded_score is None:
        return None
    difference = round(record["score"] - submission.recorded_score, 4)
    return difference if abs(difference) >= 1e-4 else 0.0


def _cell(value: Any) -> Any:
    """Numbers as numbers; text that a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


# --------------------------------------------------------------------------- report.html


def write_report(path: Path, rows: Rows, problems: list[Problem], source: str = "") -> None:
    """Write the report for ``rows`` (each a submission and its record, or None if not graded yet)."""
    write_text(path, render(rows, problems, source))


def render(rows: Rows, problems: list[Problem], source: str = "") -> str:
    scored = [(s, r) for s, r in rows if r]
    graded = [r for _, r in scored if r["status"] == "graded"]
    maximum = sum(problem.points for problem in problems if not problem.graded_by_hand)
    sections = [
        _overview(rows, scored, maximum),
        _section("distribution", "Score distribution", _histogram([r["score"] for _, r in scored], maximum)),
        _section("problems", "Points per problem", _problem_table(graded, problems)),
        _section("tests", "Pass rate per test", _test_table(graded, problems)),
        _section("mistakes", "Most common mistakes", _mistakes(graded, problems)),
        _section("differences", "Scores that differ from Gradescope's", _differences(scored)),
        _section("ungraded", "Submissions not graded", _ungraded(rows)),
    ]
    title = "Autograder batch report" + (f": {source}" if source else "")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n<h1>{escape(title)}</h1>\n"
            f"<p class=\"muted\">Written {escape(time.strftime('%Y-%m-%d %H:%M'))}. Each submission's full feedback is in "
            f"<code>&lt;id&gt;/results.json</code> beside this file.</p>\n" + "\n".join(sections) + "\n</body></html>\n")


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>\n{body}\n</section>'


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A table of already-escaped cells; ``numeric`` columns align right."""
    if not rows:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{cell}</td>' for i, cell in enumerate(row)) + "</tr>"
                     for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _bar(fraction: float) -> str:
    return f'<span class="bar{" low" if fraction < 0.5 else ""}"><span style="width:{100 * fraction:.0f}%"></span></span>'


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _names(submission: Submission) -> str:
    return escape(", ".join(person["name"] for person in submission.submitters if person["name"]))


def _link(submission: Submission) -> str:
    return f'<a href="{escape(quote(submission.id))}/results.json">{escape(submission.id)}</a>'


# --------------------------------------------------------------------------- sections


def _overview(rows: Rows, scored: Rows, maximum: float) -> str:
    counts = Counter(r["status"] if r else "not graded" for _, r in rows)
    scores = [r["score"] for _, r in scored]
    items = [f"{len(rows)} submissions: " + ", ".join(f"{count} {escape(status)}" for status, count in sorted(counts.items()))]
    if scores:
        items.append(f"Score out of {_number(maximum)}: mean {_number(mean(scores))}, median {_number(median(scores))}, "
                     f"lowest {_number(min(scores))}, highest {_number(max(scores))}")
    return _section("overview", "Overview", "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")


def _histogram(scores: list[float], maximum: float, bins: int = 10) -> str:
    """Counts of scores in ``bins`` equal slices of [0, maximum], as an SVG bar chart."""
    if not scores or maximum <= 0:
        return '<p class="muted">No scores yet.</p>'
    counts = [0] * bins
    for score in scores:
        counts[min(max(int(score / maximum * bins), 0), bins - 1)] += 1
    width, height, left, bottom, top = 640, 260, 40, 40, 20
    step = (width - left - 10) / bins
    tallest = max(counts)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Histogram of {len(scores)} scores out of {_number(maximum)}">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#444"/>']
    for index, count in enumerate(counts):
        low, high = maximum * index / bins, maximum * (index + 1) / bins
        bar = (height - bottom - top) * count / tallest
        x, y = left + index * step, height - bottom - bar
        label = f"{_number(low)} to {_number(high)}{'' if index == bins - 1 else ' (not included)'}: {count}"
        parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{step - 4:.1f}" height="{bar:.1f}" fill="#3b6fc4">'
                     f"<title>{escape(label)}</title></rect>")
        if count:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="12">{count}</text>')
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="12">{_number(low)}</text>')
    parts.append(f'<text x="{width - 10}" y="{height - bottom + 16}" text-anchor="end" font-size="12">{_number(maximum)}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 6}" text-anchor="middle" font-size="12">score</text></svg>')
    return "\n".join(parts)


def _problem_table(graded: list[dict], problems: list[Problem]) -> str:
    rows = []
    for problem in problems:
        if problem.graded_by_hand:
            rows.append([escape(problem.title), "graded by hand", "", ""])
            continue
        earned = [r["problems"].get(problem.key, 0.0) for r in graded]
        average = mean(earned) if earned else 0.0
        full = sum(e >= problem.points - 1e-6 for e in earned)
        rows.append([escape(problem.title), f"{_number(average)} / {_number(problem.points)} {_bar(average / problem.points)}",
                     str(full), str(len(earned))])
    return _table(["problem", "mean points", "full marks", "graded"], rows, {2, 3})


def _test_table(graded: list[dict], problems: list[Problem]) -> str:
    passes = Counter(number for r in graded for number in r["passed"])
    rows = []
    for problem in problems:
        for case in problem.cases:
            rate = passes[case.number] / len(graded) if graded else 0.0
            rows.append([escape(case.number), f"<code>{escape(case.function)}</code>",
                         escape(case.name) + (' <span class="muted">(hidden)</span>' if case.hidden else ""),
                         f"{passes[case.number]} / {len(graded)}", f"{100 * rate:.0f}% {_bar(rate)}"])
    return _table(["#", "function", "case", "passed", "pass rate"], rows, {3})


def _mistakes(graded: list[dict], problems: list[Problem]) -> str:
    """Diagnoses and failure summaries, each counted once per submission that shows it."""
    functions = {case.number: case.function for problem in problems for case in problem.cases}
    diagnosed: Counter = Counter()
    failed: Counter = Counter()
    for record in graded:
        seen = {(functions.get(n, "?"), f["diagnosis"]) for n, f in record["failures"].items() if f["diagnosis"]}
        diagnosed.update(seen)
        failed.update({(functions.get(n, "?"), f["summary"]) for n, f in record["failures"].items()})
    explained = ("<p>Counted once per submission. A <em>likely mistake</em> is a known wrong solution whose answers "
                 "the submission's answers match.</p>")

    def table(counter: Counter, heading: str) -> str:
        rows = [[str(count), f"{100 * count / len(graded):.0f}%", f"<code>{escape(function)}</code>", escape(message)]
                for (function, message), count in counter.most_common(TOP_MISTAKES)]
        return _table(["submissions", "share", "function", heading], rows, {0, 1})

    return (explained + "<h3>Likely mistakes</h3>\n" + table(diagnosed, "likely mistake") +
            "\n<h3>How tests failed</h3>\n" + table(failed, "failure"))


def _differences(scored: Rows) -> str:
    rows = []
    for submission, record in scored:
        difference = score_difference(submission, record)
        if difference:
            rows.append((abs(difference), [_link(submission), _names(submission), _number(submission.recorded_score),
                                           _number(record["score"]), f"{difference:+.2f}"]))
    rows.sort(key=lambda item: -item[0])
    intro = "<p>Largest differences first. Gradescope's score includes any manual adjustments made there.</p>"
    return intro + _table(["submission", "names", "Gradescope", "now", "difference"], [row for _, row in rows], {2, 3, 4})


def _ungraded(rows: Rows) -> str:
    listed = [[_link(s) if r else escape(s.id), _names(s), escape(r["status"] if r else "not graded (interrupted)"),
               escape((r or {}).get("message", ""))]
              for s, r in rows if not r or r["status"] != "graded"]
    return _table(["submission", "names", "status", "why"], listed)
