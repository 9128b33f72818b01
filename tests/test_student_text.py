"""Student text is a type, and every output path escapes it: hostile strings through every renderer.

What a student controls (file and folder names, the export's metadata, an
exception's type and message, a traceback, printed output, a returned value, a
check's report) is pushed, as hostile strings, through every way it is shown:

- results.json's Markdown, rendered by markdown-it as a permissive renderer would
  (raw HTML on, every link allowed): no element but the grader's own, no link or
  image, and the student's text only ever inside code; no control character;
- the terminal (``grade``'s table, verbose or not, ``check``'s, the pytest
  plugin's failure report): no escape sequence, no C0 or C1 control character
  but newline and tab;
- report.html and feedback.html, parsed: every element and attribute is the
  page's own, no link leaves the page;
- grades.csv: no text cell a spreadsheet would run as a formula.

The property tests build reports from the model's own types with the engine's
own code (``runner.check`` turns the worker's outcome into a verdict, as in a
grade); the end-to-end tests run real hostile submissions, with hostile file
and folder names, through run_autograder, ``grade``, ``batch`` and the pytest plugin.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import shared_tmpdir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from autograder.apps.batch.csvfile import write_csv
from autograder.apps.batch.export import Submission
from autograder.apps.batch.grading import summarize
from autograder.apps.batch.records import Record
from autograder.apps.batch.report import feedback_page
from autograder.apps.batch.report import render as render_report
from autograder.apps.submission import NoSubmission, find_submission
from autograder.engine import scoring
from autograder.engine.problemset import load
from autograder.engine.runner import check, import_notices
from autograder.model import CheckResult, ImportReport, Outcome, Problem, Report
from autograder.output.describe import failed_case_text
from autograder.output.files import write_json
from autograder.output.results import MAX_RESULTS_BYTES, bounded, gradescope_json
from autograder.output.table import table
from autograder.text import Message, StudentText, Trusted, to_html, to_markdown, to_terminal

from conftest import REPO, SOLUTION, course_config

if TYPE_CHECKING:
    from helpers import Harness

LAB1 = REPO / "tests" / "fixtures" / "lab1"
MARK = "ZQX"  # follows every hostile piece: a piece that left its code span would take a mark out with it
PIECES = [
    "<img src=x onerror=alert(1)>",
    "<h1>H</h1>",
    "</code></pre><script>alert(1)</script>",
    "<a href=javascript:alert(1)>a</a>",
    "[link](javascript:alert(1))",
    "![image](https://evil.example/x.png)",
    "<https://evil.example>",
    "<!--",
    "-->",
    "`",
    "``",
    "```",
    "````text",
    "~~~",
    "**",
    "_",
    "*",
    "\\",
    "|",
    "# ",
    "\n# ",
    "\n- ",
    "\n1. ",
    "\n> ",
    "\n---\n",
    "\n===\n",
    "\n    four spaces",
    "&lt;b&gt;",
    "&#x1b;",
    "&#x202e;",
    "&amp;",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\x1b]52;c;cHduZWQ=\x07",
    "\x9b31m",
    "\x07",
    "\x08",
    "\r",
    "\r\n",
    "\x00",
    "\x7f",
    "\x85",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ud800",
    "\udfff",
    '=HYPERLINK("http://evil.example","x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "\t",
    '"',
    "'",
]
# Characters no output may keep: C0 but newline and tab, DEL, C1, and the invisible and reordering ones.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN_ELEMENTS = {"p", "strong", "code", "pre", "ul", "li", "hr"}  # all the grader's own Markdown makes
PAGE_ELEMENTS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "script",
    "h1",
    "h2",
    "h3",
    "p",
    "a",
    "strong",
    "em",
    "div",
    "ul",
    "li",
    "pre",
    "code",
    "section",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
    "br",
    "hr",
    "svg",
    "line",
    "rect",
    "text",
}
PAGE_ATTRIBUTES = {
    "charset",
    "http-equiv",
    "content",
    "lang",
    "class",
    "href",
    "id",
    "data-id",
    "data-key",
    "data-type",
    "data-v",
    "title",
    "style",
    "xmlns",
    "width",
    "height",
    "role",
    "aria-label",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "stroke",
    "fill",
    "text-anchor",
    "font-size",
}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _hostile_texts() -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(PIECES), st.text(max_size=4))
    short = st.lists(piece, min_size=1, max_size=6).map(lambda pieces: "".join(p + MARK for p in pieces))
    long = st.tuples(st.sampled_from(PIECES), st.integers(1000, 9000)).map(lambda t: (t[0] + MARK) * (t[1] // (len(t[0]) + 3) + 1))
    return st.one_of(short, short, short, long)


hostile_texts = _hostile_texts()


@functools.cache
def problems() -> tuple[Problem, ...]:
    return tuple(load(LAB1 / "problems"))


# --------------------------------------------------------------------------- what each medium must hold to


class _Elements(HTMLParser):
    """Every element with its attributes, and the text found outside ``<code>``, of an HTML text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.outside_code: list[str] = []
        self.raw: list[str] = []  # inside <script> and <style>
        self._code = 0
        self._raw = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))
        self._code += tag == "code"
        self._raw += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._code -= tag == "code" and self._code > 0
        self._raw -= tag in ("script", "style") and self._raw > 0

    def handle_data(self, data: str) -> None:
        (self.raw if self._raw else self.outside_code if not self._code else []).append(data)


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def assert_safe_markdown(markdown: str) -> None:
    """Rendered as a permissive renderer would, only the grader's own elements, and the student's text only in code."""
    assert not FORBIDDEN.search(markdown), repr(FORBIDDEN.search(markdown))
    renderer = MarkdownIt("commonmark")  # raw HTML on
    setattr(renderer, "validateLink", lambda url: True)  # noqa: B010 - every link that was formed is shown, javascript: too (a method mypy would not let be replaced)
    found = elements(renderer.render(markdown))
    assert {tag for tag, _ in found.elements} <= MARKDOWN_ELEMENTS, found.elements
    assert all(attrs in ([], [("class", "language-text")]) for _, attrs in found.elements), found.elements
    assert MARK not in "".join(found.outside_code), "".join(found.outside_code)[:500]


def assert_safe_terminal(text: str) -> None:
    assert not FORBIDDEN.search(text), repr(text[max(FORBIDDEN.search(text).start() - 40, 0) :][:120])  # type: ignore[union-attr]


def assert_safe_page(page: str, scripts: int) -> None:
    """Every element and attribute is the page's own; no link leaves it; the page's one script is its own."""
    assert not FORBIDDEN.search(page)
    found = elements(page)
    assert {tag for tag, _ in found.elements} <= PAGE_ELEMENTS, {tag for tag, _ in found.elements} - PAGE_ELEMENTS
    assert {name for _, attrs in found.elements for name, _ in attrs} <= PAGE_ATTRIBUTES
    for tag, attrs in found.elements:
        for name, value in attrs:
            assert MARK not in (value or "") or name in ("data-id", "href"), (tag, name, value)  # the student's id, escaped
            assert name != "href" or (":" not in (value or "") and (value or "").endswith((".html", ".json"))), value
    assert sum(tag == "script" for tag, _ in found.elements) == scripts
    assert MARK not in "".join(found.raw)


def assert_safe_csv(path: Path) -> None:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        for row in csv.reader(stream):
            for cell in row:
                assert not FORBIDDEN.search(cell), repr(cell)
                try:
                    float(cell)
                except ValueError:
                    assert not cell.startswith(FORMULA_STARTS), repr(cell)


def markdown_outputs(data: dict[str, Any]) -> list[str]:
    default = data.get("test_output_format", "text")
    texts = [data["output"]] if data.get("output_format", "text") == "md" else []
    return texts + [test.get("output", "") for test in data["tests"] if test.get("output_format", default) == "md"]


# --------------------------------------------------------------------------- a report full of hostile text


def hostile_report(texts: list[str]) -> Report:
    """Every case of lab1 answered with hostile text in each way a worker can answer, a check that failed
    quoting it, and a file that loaded with a hostile error: as runner.grade would put them together."""
    kind, message, trace, output, value, where, name = texts
    outcomes = [
        Outcome("raised", error={"type": kind, "message": message, "traceback": trace, "mro": [kind, "Exception"]}, output=output),
        Outcome("returned", value=value, output=output),
        Outcome("crashed", detail=message, output=output),
        Outcome("skipped", reason="not defined", detail=f"{kind} at {where}: {message}"),
        Outcome("broken", detail=message, output=output),
    ]
    report = Report(submission=name, problems=list(problems()), protections={"separate user": name})
    cases = [case for problem in report.problems for case in problem.cases]
    for index, case in enumerate(cases):
        result = check(case, outcomes[index % len(outcomes)])
        scoring.score_case(result)
        report.results.append(result)
    report.checks = [
        CheckResult(
            problem="p2",
            name="the last running sum is the total",
            number="2.5",
            score=0.0,
            max_score=2.0,
            passed=False,
            output=f"E   AssertionError: {message}\n{output}",
        )
    ]
    report.notices = import_notices(
        ImportReport(functions=[], problems=[{"type": kind, "where": where, "message": message, "names": [name], "mro": [kind]}])
    )
    return report


def hostile_submission(texts: list[str]) -> Submission:
    kind, message, _, output, _, where, name = texts
    return Submission(
        id=StudentText(name),
        path=None,
        submitters=[{"name": StudentText(message), "sid": StudentText(kind), "email": StudentText(where)}],
        created_at=StudentText(output),
        recorded_score=1.0,
        notes=[Message(Trusted("The uploaded file "), StudentText(name), Trusted(" was skipped."))],
    )


def hostile_record(report: Report, texts: list[str]) -> Record:
    record = summarize(report)
    record.update({"file": texts[6], "notes": [texts[1], texts[3]], "seconds": 12.5, "timeouts": [texts[5]], "fingerprint": None})
    return record


@SETTINGS
@given(st.lists(hostile_texts, min_size=7, max_size=7))
def test_results_json_shows_student_text_only_as_code(texts: list[str]) -> None:
    report = hostile_report(texts)
    note = Message(Trusted("Graded "), StudentText(f"{texts[5]}/{texts[6]}"), Trusted("."))
    data = gradescope_json(report, notes=[note])
    outputs = markdown_outputs(data)
    assert len(outputs) > len(report.results)  # the summary and every case
    for markdown in outputs:
        assert_safe_markdown(markdown)
    for test in data["tests"]:
        if test.get("output_format") == "text":
            assert_safe_terminal(test["output"])
        if "hidden" in test.get("tags", []):
            assert MARK not in test["output"], test["output"]  # a hidden case shows a fixed phrase, nothing of the student's
    assert MARK in data["output"] and any(MARK in test["output"] for test in data["tests"])  # the text is shown, escaped


@SETTINGS
@given(st.lists(hostile_texts, min_size=7, max_size=7))
def test_the_terminal_gets_no_escape_or_control_character(texts: list[str]) -> None:
    report = hostile_report(texts)
    note = Message(Trusted("Graded "), StudentText(texts[6]), Trusted("."))
    shown = [
        table(report, verbose=True),
        table(report),
        table(report, show_hidden=False),
        to_terminal(note),
        *(failed_case_text(result) for result in report.results),
    ]
    for text in shown:
        assert_safe_terminal(text)
    assert MARK in shown[0] and MARK in shown[-1]


@SETTINGS
@given(st.lists(hostile_texts, min_size=7, max_size=7))
def test_report_and_feedback_pages_hold_no_element_or_attribute_of_the_students(tmp_path: Path, texts: list[str]) -> None:
    report = hostile_report(texts)
    submission, record = hostile_submission(texts), hostile_record(report, texts)
    absent = Submission(id=StudentText(texts[1]), path=None, submitters=[{"name": StudentText(texts[0]), "sid": "", "email": ""}])
    rows: list[tuple[Submission, Record | None]] = [
        (submission, record),
        (absent, {"status": "no submission", "message": texts[2], "score": 0.0}),
        (absent, None),
    ]
    page = render_report(rows, list(problems()), source=texts[4])
    assert_safe_page(page, scripts=1)
    assert MARK in page
    feedback = feedback_page(submission, record, gradescope_json(report, notes=submission.notes))
    assert_safe_page(feedback, scripts=0)
    assert MARK in feedback
    write_csv(tmp_path / "grades.csv", rows, list(problems()))
    assert_safe_csv(tmp_path / "grades.csv")


_NAME_PIECES = [piece for piece in PIECES if "/" not in piece and "\x00" not in piece and not re.search(r"[\ud800-\udfff]", piece)]
file_names = st.lists(st.sampled_from(_NAME_PIECES), min_size=1, max_size=4).map(lambda pieces: "".join(p + MARK for p in pieces)[:80])


@SETTINGS
@given(folder=file_names, name=file_names, other=file_names)
def test_file_and_folder_names_are_student_text_in_every_note(
    tmp_path_factory: pytest.TempPathFactory, folder: str, name: str, other: str
) -> None:
    upload = tmp_path_factory.mktemp("upload")
    (upload / folder).mkdir()
    (upload / folder / f"{name}.py").write_text("x = 1\n")
    course = course_config(LAB1 / "problems")
    _, note = find_submission(upload, course)  # no lab1.py: the only Python file is graded, and the note names it
    (upload / f"{other}.py").write_text("y = 2\n")
    with pytest.raises(NoSubmission) as refused:  # two Python files and no lab1.py: which to upload, naming both
        find_submission(upload, course)
    for text in (note, refused.value.message):
        assert_safe_markdown(to_markdown(text))
        assert_safe_terminal(to_terminal(text))
        assert_safe_terminal(str(refused.value))  # what `grade` and `check` print of it
        found = elements(f"<p>{to_html(text)}</p>")
        assert [tag for tag, _ in found.elements] == ["p"] and MARK in "".join(found.outside_code)


@SETTINGS
@given(names=st.lists(hostile_texts, min_size=1, max_size=3))
def test_batchs_progress_line_names_slow_submissions_without_an_escape(names: list[str]) -> None:
    """A plain export's submission ids are its folders' names: a slow one is named on the TA's progress line."""
    import io

    from autograder.apps.batch.progress import SLOW_SECONDS, Progress

    now = [0.0]
    progress = Progress(len(names) + 1, stream=io.StringIO(), clock=lambda: now[0])
    for name in names:
        progress.begin(name)
    now[0] = SLOW_SECONDS + 1
    line = progress.line()
    assert_safe_terminal(line)
    assert MARK in line


def test_a_plain_str_given_to_a_renderer_is_escaped_as_the_students() -> None:
    """The renderers accept only Trusted, StudentText and Message (mypy holds callers to it); at run time, any other
    text is treated as the student's, so a text whose origin was forgotten is escaped, never shown as markup."""
    assert to_markdown("<img src=x onerror=alert(1)>") == "`<img src=x onerror=alert(1)>`"  # type: ignore[arg-type]
    assert_safe_markdown(to_markdown("x" + MARK + "```\n<h1>x</h1>", block=True))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- end to end: real hostile submissions


def hostile(attack: str) -> str:
    """The instructor's solution with an attack of tests/attacks appended (its definitions win)."""
    solution: str = SOLUTION.read_text()
    appended: str = (REPO / "tests" / "attacks" / f"{attack}.py").read_text()
    return solution + "\n\n" + appended


HOSTILE_FOLDER = f"<h1>PWNED{MARK}</h1>`\x1b]0;pwned\x07\u202e"
HOSTILE_FILE = f"<img src=x onerror=alert(1)>``{MARK}\x1b[2J\x9b31m.py"


def test_a_hostile_file_name_folder_name_and_output_reach_results_json_as_code(harness: Harness) -> None:
    """The round-2 markup attack, uploaded under a hostile name in a hostile folder: the note naming it, its
    output and its errors are all shown, and all only as code."""
    harness.submit({f"{HOSTILE_FOLDER}/{HOSTILE_FILE}": hostile("markup_in_student_text")})
    data = harness.run()
    for markdown in markdown_outputs(data):
        assert_safe_markdown(markdown)
    assert MARK in data["output"] and "PWNED-HEADING" in json.dumps(data)  # the name and the attack's text are shown


def _cli(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO)
    env["TMPDIR"] = str(folder / "tmp")
    return subprocess.run(
        [sys.executable, "-m", "autograder", *arguments], cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def open_folder(traversable_tmp: Path) -> Path:
    """A folder the worker's user can read when the tests run as root, with a tmp/ every user may write in."""
    shared_tmpdir(traversable_tmp)
    return traversable_tmp


def _submit(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_grade_prints_a_hostile_name_and_output_without_an_escape(open_folder: Path) -> None:
    _submit(open_folder / "upload", {f"{HOSTILE_FOLDER}/{HOSTILE_FILE}": hostile("terminal_escapes")})
    ran = _cli(open_folder, "grade", "upload", "--verbose")
    for stream in (ran.stdout, ran.stderr):
        assert_safe_terminal(stream)
    assert MARK in ran.stdout and "pwned" in ran.stdout, ran.stdout[-2000:] + ran.stderr[-2000:]


def test_batch_shows_hostile_folders_names_and_output_safely_everywhere(open_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from autograder.apps.cli import main

    export = open_folder / "export"
    _submit(
        export,
        {
            f"submission_1/{HOSTILE_FOLDER}/{HOSTILE_FILE}": hostile("markup_in_student_text"),
            "submission_2/ps3.py": hostile("terminal_escapes"),
        },
    )
    people = [
        {
            ":name": f'=HYPERLINK("http://evil.example")<script>{MARK}\x1b[2J',
            ":sid": f"+1{MARK}\u202e",
            ":email": f"@x<img src=x onerror=alert(1)>{MARK}",
        }
    ]
    metadata = "".join(
        f"submission_{n}:\n  :submitters:\n  - :name: {json.dumps(people[0][':name'])}\n"
        f"    :sid: {json.dumps(people[0][':sid'])}\n    :email: {json.dumps(people[0][':email'])}\n"
        f"  :created_at: {json.dumps('-2 ' + MARK)}\n  :score: 1.0\n"
        for n in (1, 2)
    )
    (export / "submission_metadata.yml").write_text(metadata)
    out = open_folder / "out"
    assert main(["batch", str(export), "--out", str(out), "--jobs", "1"]) == 0
    printed = capsys.readouterr()
    assert_safe_terminal(printed.out + printed.err)
    for submission in ("1", "2"):
        data = json.loads((out / submission / "results.json").read_text())
        for markdown in markdown_outputs(data):
            assert_safe_markdown(markdown)
        feedback = (out / submission / "feedback.html").read_text()
        assert_safe_page(feedback, scripts=0)
        assert MARK in feedback
    report = (out / "report.html").read_text()
    assert_safe_page(report, scripts=1)
    assert MARK in report
    assert_safe_csv(out / "grades.csv")
    assert MARK in (out / "grades.csv").read_text(encoding="utf-8-sig")


def test_names_that_are_not_utf8_cost_nobody_their_grade(open_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plain export whose folder and file names are not UTF-8 (Python keeps such bytes as lone surrogates):
    graded, its record and results.json written, and every page, cell and line of the terminal safe."""
    from autograder.apps.cli import main

    export = open_folder / "export"
    folder = export / os.fsdecode(b"stud\xff\x1b[2J" + MARK.encode())
    folder.mkdir(parents=True)
    (folder / os.fsdecode(b"w\xfeork.py")).write_text(SOLUTION.read_text())
    _submit(export, {"right/ps3.py": SOLUTION.read_text()})
    out = open_folder / "out"
    assert main(["batch", str(export), "--out", str(out), "--jobs", "1"]) == 0
    printed = capsys.readouterr()
    assert_safe_terminal(printed.out + printed.err)
    with (out / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert sorted(row["status"] for row in rows) == ["graded", "graded"] and rows[0]["total"] == rows[1]["total"]
    assert_safe_csv(out / "grades.csv")
    assert_safe_page((out / "report.html").read_text(), scripts=1)
    assert_safe_page((out / folder.name / "feedback.html").read_text(), scripts=0)
    for markdown in markdown_outputs(json.loads((out / folder.name / "results.json").read_text())):
        assert_safe_markdown(markdown)


def test_the_pytest_plugin_prints_no_escape_of_the_submissions(open_folder: Path) -> None:
    """Cases and a Python check of lab1 against a submission that prints and raises terminal escapes."""
    course = open_folder / "lab1"
    shutil.copytree(LAB1, course, ignore=shutil.ignore_patterns("__pycache__"))
    payload = f"\\x1b]0;pwned{MARK}\\x07\\x1b[2K\\rscore: 100\\x9b31m\\u202e"
    (course / "lab1.py").write_text(
        "import numpy as np\n\n"
        f"def square(x):\n    print('{payload}')\n    raise ValueError('{payload}')\n\n"
        f"def running_sum(values):\n    raise ValueError('{payload}')\n"
    )
    for path in [course, *course.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_CURRENT_TEST")
    }
    env["TMPDIR"] = str(open_folder / "tmp")
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "problems/", "--submission", "lab1.py", "-p", "no:cacheprovider", "-rA"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 1, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "test_last_entry_is_the_total FAILED" in ran.stdout or "FAILED problems/p2/test_running_sum.py" in ran.stdout
    for stream in (ran.stdout, ran.stderr):
        assert_safe_terminal(stream)
    assert f"pwned{MARK}" in ran.stdout  # the submission's text is shown, made safe


@settings(max_examples=30, deadline=None)
@given(
    piece=st.text(alphabet=st.sampled_from(["a", "\u00e9", "\u20ac", "\U0001f600", "\ud800", "<", "`", "\n"]), min_size=1, max_size=8),
    outputs=st.integers(min_value=1, max_value=60),
    length=st.sampled_from([10, 10_000, 400_000]),
)
def test_a_results_file_of_any_text_is_written_under_gradescopes_limit(piece: str, outputs: int, length: int) -> None:
    """However much a submission printed, in whatever characters: the file as written is valid UTF-8 JSON under the
    limit, and a small one is written whole."""
    text = (piece * length)[:length]
    data = {"score": 0, "output": text, "tests": [{"name": "t", "status": "failed", "output": text} for _ in range(outputs)]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "results.json"
        write_json(path, bounded(data))
        raw = path.read_bytes()
    assert len(raw) < MAX_RESULTS_BYTES
    written = json.loads(raw.decode("utf-8"))
    if "\ud800" not in piece and len(json.dumps(data, ensure_ascii=False).encode("utf-8")) < MAX_RESULTS_BYTES // 2:
        assert written == data
