"""``report.html`` for reading and acting on, and one ``<id>/feedback.html`` per submission.

Rebuilt on every run from the per-submission records (and results.json), so
they always cover the whole export. Student-written text (names, ids, file
names, messages quoting their code's output) is hostile: every text goes
through ``text.to_html`` (feedback Markdown through markdown.py, which escapes
all it does not render), and what was read back from disk counts as the
student's. The points are the records' (engine/scoring.py, as results.json's
score): the maxima, the histogram's scale and each problem's figures include
its Python checks. The score histogram is inline SVG drawn here; the
one script, which sorts the students' table, is inline and allowed by its hash
in the page's Content-Security-Policy, which allows nothing else: no network,
no other script even if some text escaped the escaping.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from statistics import mean, median
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from autograder.apps.batch import markdown
from autograder.apps.batch.csvfile import note, score_difference
from autograder.apps.batch.records import NOT_GRADED, Record, points_possible
from autograder.output.files import write_text
from autograder.text import Message, StudentText, Trusted, to_html

if TYPE_CHECKING:
    from autograder.apps.batch.export import Submission
    from autograder.model import Problem

Rows = list[tuple["Submission", "Record | None"]]
Scored = list[tuple["Submission", "Record"]]  # rows with a record
TOP_MISTAKES = 20
LISTED = 40  # submissions named per mistake before "and N more"
SLOW_SECONDS = 10.0  # a grade this long is listed with its time (a right one takes about a second)
FEEDBACK_NAME = "feedback.html"

# Sorts the students' table when a header is clicked (and at load for "#sort=<column>[-desc]"); marks <body> once
# it has run, so a test can tell it ran. Numbers sort as numbers (a cell's data-v), the rest as text.
SCRIPT = """
(function () {
  var table = document.getElementById("students-table");
  if (!table) { document.body.setAttribute("data-sort-ready", "no-table"); return; }
  var heads = table.tHead.rows[0].cells;
  function key(row, column, numeric) {
    var cell = row.cells[column], value = cell.getAttribute("data-v");
    if (value === null) { value = cell.textContent; }
    if (numeric) { var n = parseFloat(value); return isNaN(n) ? -Infinity : n; }
    return value.toLowerCase();
  }
  function sort(column, descending) {
    var numeric = heads[column].getAttribute("data-type") === "num";
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, column, numeric), y = key(b, column, numeric);
      return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    heads[column].setAttribute("aria-sort", descending ? "descending" : "ascending");
    document.body.setAttribute("data-sorted-by", heads[column].getAttribute("data-key") + (descending ? "-desc" : ""));
  }
  Array.prototype.forEach.call(heads, function (head, column) {
    head.addEventListener("click", function () { sort(column, head.getAttribute("aria-sort") === "ascending"); });
  });
  var wanted = /^#sort=([a-z0-9_-]+?)(-desc)?$/.exec(window.location.hash);
  if (wanted) {
    for (var i = 0; i < heads.length; i++) {
      if (heads[i].getAttribute("data-key") === wanted[1]) { sort(i, !!wanted[2]); }
    }
  }
  document.body.setAttribute("data-sort-ready", "yes");
})();
"""

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
th[data-key] { cursor: pointer; } th[aria-sort=ascending]::after { content: " \\25B2"; } th[aria-sort=descending]::after { content: " \\25BC"; }
.staff { border-left: 4px solid #c4503b; padding-left: 1em; } pre { background: #f5f5f5; padding: .5em; overflow-x: auto; white-space: pre-wrap; }
.test { border-top: 1px solid #ddd; margin-top: 1em; } .passed { color: #2a7a2a; } .failed { color: #b03a2e; }
table { border-collapse: collapse; width: 100%; } th, td { padding: .25em .5em; text-align: left; vertical-align: top; }
tr:nth-child(even) { background: #f5f6f8; } th { background: #e8eaef; } td.n { text-align: right; white-space: nowrap; }
.bar { background: #dde3ee; height: .8em; width: 10em; display: inline-block; vertical-align: middle; }
.bar span { background: #3b6fc4; height: 100%; display: block; } .low span { background: #c4503b; }
.muted { color: #666; } code { background: #f0f0f0; padding: 0 .2em; }
"""


# --------------------------------------------------------------------------- report.html


def write_report(path: Path, rows: Rows, problems: list[Problem], source: str = "", title: str = "") -> None:
    """Write the report for ``rows`` (each a submission and its record, or None if not graded yet), headed with the
    course's ``title`` and the ``source`` graded (a folder or an export)."""
    write_text(path, render(rows, problems, source, title))


def render(rows: Rows, problems: list[Problem], source: str = "", title: str = "") -> str:
    scored: Scored = [(s, r) for s, r in rows if r]
    graded: Scored = [(s, r) for s, r in scored if r["status"] == "graded"]
    worth, maximum = points_possible((r for _, r in rows), problems)
    sections = [
        _overview(rows, scored, maximum),
        _section("students", "Students", _students(rows, problems, worth)),
        _section("loading", "Submissions that did not load cleanly", _loading(scored)),
        _section("slow", "Slow submissions and timeouts", _slow(scored)),
        _section("mistakes", "Most common mistakes", _mistakes(graded, problems)),
        _section("distribution", "Score distribution", _histogram([r["score"] for _, r in scored], maximum)),
        _section("problems", "Points per problem", _problem_table([r for _, r in graded], problems, worth)),
        _section("tests", "Pass rate per test", _test_table([r for _, r in graded], problems)),
        _section("differences", "Scores that differ from Gradescope's", _differences(scored)),
        _section("ungraded", "Submissions not graded", _ungraded(rows)),
    ]
    heading = Trusted(f"{title}: autograder batch report" if title else "Autograder batch report")
    html_title = to_html(Message(heading, Trusted(" of "), StudentText(source)) if source else heading)
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    policy = (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{script_hash}'; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}"><title>{html_title}</title>'
        f"<style>{STYLE}</style></head><body>\n<h1>{html_title}</h1>\n"
        f'<p class="muted">Written {time.strftime("%Y-%m-%d %H:%M")}. Each submission\'s feedback, as the student '
        f"sees it on Gradescope plus the staff-only entries, is in <code>&lt;id&gt;/{FEEDBACK_NAME}</code> (linked below); "
        f"the raw results in <code>&lt;id&gt;/results.json</code>.</p>\n"
        + "\n".join(sections)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{to_html(Trusted(title))}</h2>\n{body}\n</section>'


def _table(header: list[str], rows: list[list[str]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    """A table of already-escaped cells; ``numeric`` columns align right."""
    if not rows:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{to_html(Trusted(h))}</th>" for h in header)
    body = "\n".join(
        "<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _bar(fraction: float) -> str:
    return f'<span class="bar{" low" if fraction < 0.5 else ""}"><span style="width:{100 * fraction:.0f}%"></span></span>'


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _student(text: str) -> str:
    """Text from the export, a record or results.json, as HTML: the student's, escaped."""
    return to_html(StudentText(text))


def _names(submission: Submission) -> str:
    return _student(", ".join(person["name"] for person in submission.submitters if person["name"]))


def _link(submission: Submission) -> str:
    try:
        folder = quote(submission.id, errors="surrogateescape")  # a folder name that is not UTF-8: its own bytes
    except UnicodeEncodeError:
        folder = quote(submission.id, errors="replace")
    return f'<a href="{to_html(StudentText(folder))}/{FEEDBACK_NAME}">{_student(submission.id)}</a>'


def _sids(submission: Submission) -> str:
    return _student(", ".join(person["sid"] for person in submission.submitters if person["sid"]))


def _more(links: list[str]) -> str:
    return ", ".join(links[:LISTED]) + (f" and {len(links) - LISTED} more" if len(links) > LISTED else "")


# --------------------------------------------------------------------------- sections


def _overview(rows: Rows, scored: Scored, maximum: float) -> str:
    counts = Counter(r["status"] if r else "not graded" for _, r in rows)
    scores = [r["score"] for _, r in scored]
    items = [f"{len(rows)} submissions: " + ", ".join(f"{count} {to_html(Trusted(status))}" for status, count in sorted(counts.items()))]
    if scores:
        items.append(
            f"Score out of {_number(maximum)}: mean {_number(mean(scores))}, median {_number(median(scores))}, "
            f"lowest {_number(min(scores))}, highest {_number(max(scores))}"
        )
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
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Histogram of {len(scores)} scores out of {_number(maximum)}">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#444"/>',
    ]
    for index, count in enumerate(counts):
        low, high = maximum * index / bins, maximum * (index + 1) / bins
        bar = (height - bottom - top) * count / tallest
        x, y = left + index * step, height - bottom - bar
        label = f"{_number(low)} to {_number(high)}{'' if index == bins - 1 else ' (not included)'}: {count}"
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{step - 4:.1f}" height="{bar:.1f}" fill="#3b6fc4">'
            f"<title>{to_html(Trusted(label))}</title></rect>"
        )
        if count:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="12">{count}</text>')
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="12">{_number(low)}</text>')
    parts.append(f'<text x="{width - 10}" y="{height - bottom + 16}" text-anchor="end" font-size="12">{_number(maximum)}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 6}" text-anchor="middle" font-size="12">score</text></svg>')
    return "\n".join(parts)


def _problem_table(graded: list[Record], problems: list[Problem], worth: dict[str, float]) -> str:
    """Each problem's mean points out of what it is worth (its Python checks included), and who got full marks."""
    rows = []
    for problem in problems:
        title = to_html(Trusted(problem.title))
        if problem.key not in worth:
            rows.append([title, "graded by hand", "", ""])
            continue
        points = worth[problem.key]
        earned = [r["problems"].get(problem.key, 0.0) for r in graded]
        average = mean(earned) if earned else 0.0
        full = sum(e >= points - 1e-6 for e in earned)
        rows.append(
            [title, f"{_number(average)} / {_number(points)} {_bar(average / points if points else 0.0)}", str(full), str(len(earned))]
        )
    return _table(["problem", "mean points", "full marks", "graded"], rows, {2, 3})


def _test_table(graded: list[Record], problems: list[Problem]) -> str:
    """Every case's pass rate, then each problem's Python checks' (as the records name them: the specs do not)."""
    passes = Counter(number for r in graded for number in r["passed"])
    checks = {number: entry for r in graded for number, entry in r.get("checks", {}).items()}
    check_passes = Counter(number for r in graded for number, entry in r.get("checks", {}).items() if entry["passed"])
    rows = []

    def row(number: str, function: str, name: str, hidden: bool, passed: int) -> list[str]:
        rate = passed / len(graded) if graded else 0.0
        return [
            to_html(Trusted(number)),
            function,
            to_html(Trusted(name)) + (' <span class="muted">(hidden)</span>' if hidden else ""),
            f"{passed} / {len(graded)}",
            f"{100 * rate:.0f}% {_bar(rate)}",
        ]

    for problem in problems:
        for case in problem.cases:
            rows.append(row(case.number, f"<code>{to_html(Trusted(case.function))}</code>", case.name, case.hidden, passes[case.number]))
        for number, entry in checks.items():
            if entry["problem"] == problem.key:
                rows.append(row(number, "(Python check)", entry["name"], entry["hidden"], check_passes[number]))
    return _table(["#", "function", "case", "passed", "pass rate"], rows, {3})


def _mistakes(graded: Scored, problems: list[Problem]) -> str:
    """Diagnoses and failure summaries, each counted once per submission that shows it, with the submissions."""
    functions = {case.number: case.function for problem in problems for case in problem.cases}
    diagnosed: dict[tuple[str, str], list[Submission]] = {}
    failed: dict[tuple[str, str], list[Submission]] = {}
    for submission, record in graded:
        failures = record["failures"].items()
        for key in dict.fromkeys((functions.get(n, "?"), f["diagnosis"]) for n, f in failures if f["diagnosis"]):
            diagnosed.setdefault(key, []).append(submission)
        for key in dict.fromkeys((functions.get(n, "?"), f["summary"]) for n, f in failures):
            failed.setdefault(key, []).append(submission)
    explained = (
        "<p>Counted once per submission. A <em>likely mistake</em> is a known wrong solution whose answers "
        "the submission's answers match.</p>"
    )

    def table(found: dict[tuple[str, str], list[Submission]], heading: str) -> str:
        ranked = sorted(found.items(), key=lambda item: -len(item[1]))[:TOP_MISTAKES]
        rows = [
            [
                str(len(who)),
                f"{100 * len(who) / len(graded):.0f}%",
                f"<code>{_student(function)}</code>",
                _student(message),
                _more([_link(s) for s in who]),
            ]
            for (function, message), who in ranked
        ]
        return _table(["submissions", "share", "function", heading, "who"], rows, {0, 1})

    return (
        explained
        + "<h3>Likely mistakes</h3>\n"
        + table(diagnosed, "likely mistake")
        + "\n<h3>How tests failed</h3>\n"
        + table(failed, "failure")
    )


def _differences(scored: Scored) -> str:
    rows = []
    for submission, record in scored:
        difference = score_difference(submission, record)
        if difference:
            rows.append(
                (
                    abs(difference),
                    [
                        _link(submission),
                        _names(submission),
                        _number(submission.recorded_score or 0.0),
                        _number(record["score"]),
                        f"{difference:+.2f}",
                    ],
                )
            )
    rows.sort(key=lambda item: -item[0])
    intro = "<p>Largest differences first. Gradescope's score includes any manual adjustments made there.</p>"
    return intro + _table(["submission", "names", "Gradescope", "now", "difference"], [row for _, row in rows], {2, 3, 4})


def _ungraded(rows: Rows) -> str:
    listed = [
        [
            _link(s) if r else _student(s.id),
            _names(s),
            to_html(Trusted(r["status"] if r else "not graded (interrupted)")),
            _student((r or {}).get("message", "")),
        ]
        for s, r in rows
        if not r or r["status"] != "graded"
    ]
    return _table(["submission", "names", "status", "why"], listed)


def _students(rows: Rows, problems: list[Problem], worth: dict[str, float]) -> str:
    """Everyone, one row each, sortable by any column (click its header)."""
    questions = [problem for problem in problems if problem.key in worth]
    header = [
        ("id", "submission", ""),
        ("name", "names", ""),
        ("sid", "SIDs", ""),
        ("score", "score", "num"),
        *[(f"p-{problem.key}", f"{problem.label} (/{_number(worth[problem.key])})", "num") for problem in questions],
        ("status", "status", ""),
        ("seconds", "seconds", "num"),
        ("notes", "notes", ""),
    ]
    head = "".join(
        f'<th data-key="{to_html(Trusted(key))}"{f" data-type={kind}" if kind else ""} title="sort">{to_html(Trusted(label))}</th>'
        for key, label, kind in header
    )
    body = []
    for submission, record in rows:
        record = record or NOT_GRADED
        scored = record["status"] != "not graded"

        def number(value: float | None) -> str:
            return f'<td class=n data-v="{value!r}">{_number(value)}</td>' if value is not None else '<td class=n data-v=""></td>'

        points = [number(record.get("problems", {}).get(problem.key, 0.0) if scored else None) for problem in questions]
        seconds = record.get("seconds")
        cells = [
            f"<td>{_link(submission) if scored else _student(submission.id)}</td>",
            f"<td>{_names(submission)}</td>",
            f"<td>{_sids(submission)}</td>",
            number(record["score"] if scored else None),
            *points,
            f"<td>{to_html(Trusted(record['status']))}</td>",
            number(seconds if isinstance(seconds, (int, float)) else None),
            f"<td>{_student(note(record))}</td>",
        ]
        body.append(f'<tr data-id="{_student(submission.id)}">' + "".join(cells) + "</tr>")
    return f'<table id="students-table"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table>"


def _loading(scored: Scored) -> str:
    """Submissions whose file did not load (a syntax error, a binary file, an import that hangs), or loaded in part."""
    rows = []
    for submission, record in scored:
        notices = record.get("notices") or []
        if record["status"] != "graded" or not (notices or record.get("load_failed")):
            continue
        what = "did not load" if record.get("load_failed") else "loaded in part"
        rows.append(
            (
                not record.get("load_failed"),
                [
                    _link(submission),
                    _names(submission),
                    to_html(Trusted(what)),
                    "<br>".join(_student(n) for n in notices) or _student(record.get("message", "")),
                ],
            )
        )
    rows.sort(key=lambda item: item[0])
    return _table(["submission", "names", "file", "what went wrong"], [row for _, row in rows])


def _slow(scored: Scored) -> str:
    """Grades that took long, and cases that ran out of time, slowest first."""
    rows = []
    for submission, record in scored:
        seconds = record.get("seconds") or 0.0
        timeouts = record.get("timeouts") or []
        if seconds < SLOW_SECONDS and not timeouts:
            continue
        rows.append(
            (-seconds, [_link(submission), _names(submission), _number(seconds), str(len(timeouts)), _student(", ".join(timeouts))])
        )
    rows.sort(key=lambda item: item[0])
    intro = f"<p>Grades that took {_number(SLOW_SECONDS)} s or more, or had a case run out of time.</p>"
    return intro + _table(["submission", "names", "seconds", "timeouts", "cases that timed out"], [row for _, row in rows], {2, 3})


# --------------------------------------------------------------------------- <id>/feedback.html


def write_feedback_pages(out: Path, rows: Rows) -> None:
    """The page of each submission with a results.json and no page yet (graded by an older version; a grade
    writes its own page as it ends): what the student sees, rendered, and the staff-only entries."""
    for submission, record in rows:
        if (out / submission.id / FEEDBACK_NAME).exists():
            continue
        try:
            data = json.loads((out / submission.id / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            write_text(out / submission.id / FEEDBACK_NAME, feedback_page(submission, record, data))


def feedback_page(submission: Submission, record: Record | None, data: dict[str, Any]) -> str:
    tests = [test for test in data.get("tests") or [] if isinstance(test, dict)]
    visible = [t for t in tests if t.get("visibility", "visible") == "visible"]
    published = [t for t in tests if t.get("visibility") == "after_published"]
    staff = [t for t in tests if t.get("visibility") not in ("visible", "after_published")]
    names = _names(submission) or _student(submission.id)
    score, possible = data.get("score"), sum(t.get("max_score") or 0 for t in tests)
    parts = [
        f"<h1>{names}</h1>",
        f'<p class="muted">Submission {_student(submission.id)}; SIDs {_sids(submission) or "none"}; '
        f'<a href="../report.html">class report</a>; <a href="results.json">results.json</a>.</p>',
        f"<p><strong>Score: {_student(_number(score) if isinstance(score, (int, float)) else str(score))}"
        f"{f' / {_number(possible)}' if possible else ''}</strong></p>",
        "<h2>What the student sees</h2>",
        _markdown(data.get("output", ""), data.get("output_format", "md")),
    ]
    parts += [_test(t) for t in visible]
    if published:
        parts.append("<h2>Shown to the student once grades are published</h2>")
        parts += [_test(t) for t in published]
    staff_notes = (record or {}).get("notes") or []
    parts.append('<div class="staff"><h2>Staff only</h2>')
    if staff_notes:
        parts.append("<ul>" + "".join(f"<li>{_student(n)}</li>" for n in staff_notes) + "</ul>")
    parts += [_test(t) for t in staff] or ['<p class="muted">No staff-only entries.</p>']
    parts.append("</div>")
    title = to_html(Message(Trusted("Feedback: "), StudentText(submission.id)))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{title}</title><style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def _test(test: dict[str, Any]) -> str:
    score, maximum = test.get("score"), test.get("max_score")
    points = (
        f" ({_number(score)} / {_number(maximum)})"
        if isinstance(score, (int, float)) and isinstance(maximum, (int, float)) and maximum
        else ""
    )
    status = str(test.get("status", ""))
    mark = f' <span class="{status}">{status}</span>' if status in ("passed", "failed") else ""  # one of two words of ours
    return (
        f'<div class="test"><h3>{_student(str(test.get("name", "")))}{points}{mark}</h3>\n'
        f"{_markdown(test.get('output', ''), test.get('output_format', 'text'))}</div>"
    )


def _markdown(text: object, kind: object) -> str:
    text = str(text or "")
    if not text:
        return ""
    return markdown.render(text) if kind == "md" else f"<pre>{_student(text)}</pre>"
