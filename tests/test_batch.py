"""``python -m autograder batch``: a realistic Gradescope export graded, resumed, summarised, and refused when broken."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import IDS, METADATA, make_export, run_batch, wait_until

from autograder.apps.batch import export as batch_export
from autograder.apps.batch import grading as batch
from autograder.apps.batch.markdown import render as render_markdown
from autograder.apps.batch.progress import Progress
from autograder.apps.batch.records import Record
from autograder.model import Problem

from conftest import REPO, SOLUTION, Results, check_results, course_config, hears_ctrl_c, spec_problems, submission_with, total_points

# Its material is Problem Set 3's (ps3.py, its known mistakes); the batch totals of any course: test_batch_totals.py.
pytestmark = pytest.mark.ps3

TOTAL = total_points()  # the autograded total assignment.yaml sets: the solution's score
SHOWN = f"{TOTAL:g}"  # as a grades.csv cell shows it


def read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def results(out: Path, submission: str) -> Results:
    raw = (out / submission / "results.json").read_bytes()
    data: Results = json.loads(raw)
    check_results(data, raw)
    return data


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The export graded once (with two slots), shared by the tests that only read the outputs."""
    root = tmp_path_factory.mktemp("graded")
    export = make_export(root / "export")
    assert run_batch(export, "--out", root / "out", "--jobs", "2") == 0
    return export, root / "out"


# --------------------------------------------------------------------------- grading


def test_every_submission_gets_a_valid_results_json(graded: tuple[Path, Path]) -> None:
    _, out = graded
    scores = {submission: results(out, submission)["score"] for submission in IDS}
    assert scores["101"] == scores["105"] == TOTAL
    assert 0 < scores["102"] < TOTAL
    assert scores["103"] == scores["104"] == scores["106"] == 0
    assert "could not be loaded" in results(out, "103")["output"]
    assert "No ps3.py" in results(out, "104")["output"] and "`scratch.py`" in results(out, "104")["output"]
    assert "my work/ps3.py" in results(out, "105")["output"]


def test_results_match_the_single_submission_grader(graded: tuple[Path, Path], tmp_path: Path) -> None:
    """The batch grades exactly as ``grade`` does on Gradescope (same cases, same scores)."""
    from autograder.engine.runner import grade, load_problem_set
    from autograder.output.results import gradescope_json
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox

    _, out = graded
    alone = gradescope_json(grade(CallGate.started(Sandbox(SOLUTION, worker_user=None)), load_problem_set(REPO / "problems")))
    batched = results(out, "101")
    assert [(t["name"], t["score"]) for t in batched["tests"] if t.get("max_score")] == [
        (t["name"], t["score"]) for t in alone["tests"] if t.get("max_score")
    ]
    # Both name the specs and engine they were graded with, so a regrade can be traced to a change of either.
    assert batched["extra_data"]["spec_fingerprint"] == alone["extra_data"]["spec_fingerprint"] != ""


@pytest.mark.needs_root(reason="slot users exist only when the grader runs as root")
def test_parallel_slots_run_as_their_own_users(graded: tuple[Path, Path]) -> None:
    _, out = graded
    users = set()
    for submission in ["101", "102", "103", "105"]:
        environment = [t for t in results(out, submission)["tests"] if t["name"].startswith("Grading environment")]
        users |= {line.split(": ")[1] for line in environment[0]["output"].splitlines() if line.startswith("- separate user")}
    assert users and all(user.startswith(batch.WORKER_USER_PREFIX) for user in users), users
    assert len(users) <= 2


# --------------------------------------------------------------------------- grades.csv and report.html


def question_column(problem: Problem) -> str:
    """A problem's grades.csv column: its label and its points (tests/test_ps3.py pins PS3's)."""
    return f"{problem.label} (/{problem.points:g})"


def test_csv_columns_and_values(graded: tuple[Path, Path]) -> None:
    _, out = graded
    rows = read_csv(out / "grades.csv")
    questions = {problem.key: problem for problem in spec_problems() if not problem.graded_by_hand}
    assert list(rows[0]) == [
        "submission_id",
        "names",
        "sids",
        "emails",
        "submitted_at",
        "status",
        "file",
        *map(question_column, questions.values()),
        "total",
        "max_score",
        "gradescope_score",
        "difference",
        "note",
    ]
    by_id = {row["submission_id"]: row for row in rows}
    assert list(by_id) == IDS
    first = by_id["101"]
    assert (first["names"], first["sids"], first["emails"]) == ("Zoë Ångström", "0001", "zoe@example.edu")
    assert first["submitted_at"].startswith("2024-02-01 10:00:00")
    assert (first["total"], first["max_score"], first["gradescope_score"], first["difference"]) == (SHOWN, SHOWN, SHOWN, "0")
    group = by_id["102"]
    assert group["names"].startswith("'=HYPERLINK(") and "; <script>" in group["names"]  # quoted: never a formula
    assert group["sids"] == "1002; 1003"
    assert float(group["total"]) < TOTAL and float(group["difference"]) == pytest.approx(float(group["total"]) - TOTAL)
    q2b, q3a = questions["q2b"], questions["q3a"]  # off_by_one loses points on Q2b's layer count, none on Q3a
    assert float(group[question_column(q2b)]) < q2b.points and group[question_column(q3a)] == f"{q3a.points:g}"
    assert by_id["105"]["names"] == "'@Bob" and by_id["105"]["file"] == "my work/ps3.py"
    assert by_id["105"]["difference"] == "10"
    assert by_id["103"]["status"] == "graded" and "could not be loaded" in by_id["103"]["note"]
    assert by_id["104"]["status"] == "no submission" and by_id["104"]["gradescope_score"] == ""
    assert by_id["104"]["difference"] == "" and by_id["104"]["total"] == "0"
    assert by_id["106"]["status"] == "no submission"


def test_report_has_every_section_and_escapes_student_text(graded: tuple[Path, Path]) -> None:
    _, out = graded
    page = (out / "report.html").read_text(encoding="utf-8")
    for section in ["overview", "students", "loading", "slow", "distribution", "problems", "tests", "mistakes", "differences", "ungraded"]:
        assert f'<section id="{section}">' in page
    title = html.escape(course_config().title)  # the course's own, not only the path it graded (an adopter)
    assert re.search(rf"<title>{re.escape(title)}: autograder batch report of [^<]+</title>", page), page[:600]
    assert "<svg" in page and "<rect" in page
    assert "One layer too many" in page  # off_by_one's diagnosis, counted
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    differences = page.split('<section id="differences">')[1].split("</section>")[0]
    assert 'href="102/feedback.html"' in differences and 'href="105/feedback.html"' in differences
    assert "101/feedback.html" not in differences
    students = page.split('<section id="students">')[1].split("</section>")[0]
    assert all(f'data-id="{i}"' in students for i in IDS) and "0001" in students and "1002, 1003" in students
    loading = page.split('<section id="loading">')[1].split("</section>")[0]
    assert "103" in loading and "did not load" in loading and "101/" not in loading
    mistakes = page.split('<section id="mistakes">')[1].split("</section>")[0]
    assert 'href="102/feedback.html"' in mistakes  # who made the mistake, linked
    feedback = (out / "102" / "feedback.html").read_text(encoding="utf-8")
    assert "<strong>Autograded score:" in feedback and "Staff only" in feedback and "Grading environment" in feedback
    assert "<script" not in feedback and "&lt;script&gt;" in feedback
    ungraded = page.split('<section id="ungraded">')[1].split("</section>")[0]
    assert "104" in ungraded and "106" in ungraded and "O&#x27;Neil" in ungraded
    assert "<link" not in page and " src=" not in page  # self-contained: readable offline


# --------------------------------------------------------------------------- resuming


def modified_times(out: Path) -> dict[str, int]:
    return {submission: (out / submission / "results.json").stat().st_mtime_ns for submission in IDS}


def test_rerun_grades_only_what_changed_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export, out = make_export(tmp_path / "export"), tmp_path / "out"
    assert run_batch(export, "--out", out) == 0
    first = modified_times(out)
    capsys.readouterr()

    assert run_batch(export, "--out", out) == 0
    assert "0 to grade, 6 unchanged" in capsys.readouterr().err
    assert modified_times(out) == first
    assert len(read_csv(out / "grades.csv")) == 6  # rebuilt from the stored records

    (export / "submission_102" / "ps3.py").write_text(SOLUTION.read_text() + "\n# fixed\n", encoding="utf-8")
    assert run_batch(export, "--out", out) == 0
    assert "1 to grade, 5 unchanged" in capsys.readouterr().err
    second = modified_times(out)
    assert [s for s in IDS if second[s] != first[s]] == ["102"]
    assert results(out, "102")["score"] == TOTAL

    assert run_batch(export, "--out", out, "--force") == 0
    assert "6 to grade, 0 unchanged" in capsys.readouterr().err
    assert all(modified_times(out)[s] != second[s] for s in IDS)


def test_a_rerun_after_a_crash_grades_again_what_did_not_reach_the_disk_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Files are not flushed to disk, so after the machine crashed a record or a results file may be empty: the
    rerun keeps only submissions whose record and results both read back, and grades the others again."""
    export, out = make_export(tmp_path / "export"), tmp_path / "out"
    assert run_batch(export, "--out", out) == 0
    first = modified_times(out)
    (out / IDS[0] / "results.json").write_bytes(b"")
    (out / IDS[1] / "summary.json").write_bytes(b"")
    capsys.readouterr()
    assert run_batch(export, "--out", out) == 0
    assert "2 to grade, 4 unchanged" in capsys.readouterr().err
    second = modified_times(out)
    assert sorted(s for s in IDS if second[s] != first[s]) == sorted(IDS[:2])
    assert results(out, IDS[0])["tests"]  # whole again, and valid
    assert json.loads((out / IDS[1] / "summary.json").read_text(encoding="utf-8"))["status"]


def test_hangs_do_not_hold_up_the_class_and_ctrl_c_stops_cleanly(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Two submissions hang at import (30 s deadline) ahead of two right ones, with one slot: the right ones are
    graded meanwhile. Then SIGINT: exit 130, finished results kept, nothing left running or on disk, and a rerun
    grades only the two that were cut short."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a.py").write_text("import time\ntime.sleep(120)\n")
    (folder / "b.py").write_text("while True:\n    pass\n")
    for name in ["c", "d"]:
        (folder / f"{name}.py").write_text(SOLUTION.read_text())
    out = tmp_path / "out"
    # A temporary folder of its own, to see what is left in it; one the sandbox users can reach (tmp_path is 0700).
    private_tmp = Path(tempfile.mkdtemp(prefix="batch-test-"))
    private_tmp.chmod(0o1777)
    request.addfinalizer(lambda: shutil.rmtree(private_tmp, ignore_errors=True))
    env = dict(os.environ, TMPDIR=str(private_tmp), PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "autograder", "batch", str(folder), "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--jobs", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=hears_ctrl_c
    )
    assert wait_until(lambda: all((out / name / "summary.json").exists() for name in "cd"), timeout=300)
    # Graded while a and b still hang (their imports' 30 s deadline not reached): not held up by them.
    assert not any((out / name / "summary.json").exists() for name in "ab"), "the hanging submissions held up the others"
    assert process.poll() is None  # a and b are still hanging in their sandboxes
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Interrupted: 2 not graded (a, b)" in stderr
    assert results(out, "c")["score"] == results(out, "d")["score"] == TOTAL
    assert not (out / "a").exists() and not (out / "b").exists()
    rows = {row["submission_id"]: row for row in read_csv(out / "grades.csv")}
    assert rows["a"]["status"] == "not graded" and rows["c"]["total"] == SHOWN
    assert not list(private_tmp.glob("ag-*")), "a sandbox folder was left behind"
    for entry in Path("/proc").iterdir():
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        assert not cwd.startswith(str(private_tmp)), f"process {entry.name} still runs in a sandbox folder"

    (folder / "a.py").write_text(SOLUTION.read_text())
    (folder / "b.py").write_text(SOLUTION.read_text())
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "2 to grade, 2 unchanged" in done.stderr


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_a_batch_as_ctrl_c_does(tmp_path: Path, request: pytest.FixtureRequest, number: int) -> None:
    """``timeout``, systemd or a closed terminal: exit 130, the graded kept and written, and the unpacked export (every
    student's files) removed from the temporary folder."""
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("a.py", "import time\ntime.sleep(120)\n")
        zipped.writestr("b.py", SOLUTION.read_text())
    out = tmp_path / "out"
    private_tmp = Path(tempfile.mkdtemp(prefix="batch-test-"))
    private_tmp.chmod(0o1777)
    request.addfinalizer(lambda: shutil.rmtree(private_tmp, ignore_errors=True))
    env = dict(os.environ, TMPDIR=str(private_tmp), PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "autograder", "batch", str(archive), "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(  # as a terminal starts it: a run under nohup (CI's, say) would pass SIGHUP on ignored
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(number, signal.SIG_DFL),
    )
    assert wait_until(lambda: (out / "b" / "summary.json").exists(), timeout=300)
    assert process.poll() is None and list(private_tmp.glob("ag-batch-*"))  # a still hangs; the export is unpacked
    process.send_signal(number)
    _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Interrupted: 1 not graded (a)" in stderr
    rows = {row["submission_id"]: row for row in read_csv(out / "grades.csv")}
    assert rows["a"]["status"] == "not graded" and rows["b"]["total"] == SHOWN
    assert not list(private_tmp.glob("ag-*")), "the unpacked export or a sandbox folder was left behind"


def test_a_grade_whose_record_reached_the_disk_as_the_interrupt_came_counts_as_graded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slot writes a submission's record, then the main thread learns of it: an interrupt between the two left a
    finished submission listed as not graded in that run's grades.csv, though a rerun found it done (CI saw it
    once, after the files stopped waiting for fsync). What the disk holds whole counts."""
    export, out = make_export(tmp_path / "export"), tmp_path / "out"
    finishes = batch.ParallelGrading.run

    def interrupted_after_the_last_record(self: batch.ParallelGrading, progress: Progress) -> tuple[dict[str, Record], bool]:
        records, _ = finishes(self, progress)
        records.pop(IDS[-1])  # written to disk by its slot, not yet known to the main thread
        return records, True

    monkeypatch.setattr(batch.ParallelGrading, "run", interrupted_after_the_last_record)
    assert run_batch(export, "--out", out) == 130
    assert "Interrupted: 0 not graded" in capsys.readouterr().err
    assert read_csv(out / "grades.csv")[-1]["status"] != "not graded"


def test_under_nohup_sighup_stays_ignored(tmp_path: Path) -> None:
    """``nohup python -m autograder batch ...``: closing the terminal must not stop the class."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a.py").write_text("import time\ntime.sleep(3)\n")
    (folder / "b.py").write_text(SOLUTION.read_text())
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "batch", str(folder), "--out", str(out), "--jobs", "2"]
    ignoring = lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)  # noqa: E731 - what nohup does before exec
    process = subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=str(REPO)), stderr=subprocess.PIPE, text=True, preexec_fn=ignoring)
    assert wait_until(lambda: (out / "b" / "summary.json").exists(), timeout=300)
    process.send_signal(signal.SIGHUP)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert {row["submission_id"]: row["status"] for row in read_csv(out / "grades.csv")}["a"] != "not graded"


# --------------------------------------------------------------------------- other inputs


def test_zip_export_grades_like_the_folder(graded: tuple[Path, Path], tmp_path: Path) -> None:
    export, out = graded
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:  # Gradescope wraps everything in one folder
        for path in sorted(export.rglob("*")):
            zipped.write(path, "assignment_42_export/" + str(path.relative_to(export)))
    assert run_batch(archive, "--out", tmp_path / "out") == 0
    columns = ["submission_id", "names", "total", "status"]
    folder_rows = [[row[c] for c in columns] for row in read_csv(out / "grades.csv")]
    assert [[row[c] for c in columns] for row in read_csv(tmp_path / "out" / "grades.csv")] == folder_rows


def test_plain_folder_of_files_and_folders_with_unicode_and_spaces(tmp_path: Path) -> None:
    folder = tmp_path / "my class"
    (folder / "Zoë Müller").mkdir(parents=True)
    (folder / "Zoë Müller" / "ps3.py").write_text(SOLUTION.read_text())
    (folder / "bob smith.py").write_text(submission_with("no_bias"))
    (folder / "empty one").mkdir()
    (folder / "readme.txt").write_text("not a submission")
    out = tmp_path / "out"
    assert run_batch(folder, "--out", out) == 0
    rows = {row["submission_id"]: row for row in read_csv(out / "grades.csv")}
    assert set(rows) == {"Zoë Müller", "bob smith", "empty one"}
    assert rows["Zoë Müller"]["total"] == SHOWN and float(rows["bob smith"]["total"]) < TOTAL
    assert rows["empty one"]["status"] == "no submission"
    assert results(out, "bob smith")["score"] < TOTAL


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "metadata, message",
    [
        ("submission_101: [unclosed\n", "not valid YAML (line"),
        ("- just\n- a list\n", "should map each submission_<id>"),
        ("", "holds nothing"),
        ("submission_101:\n  :score: 10\n", "needs a :submitters list"),
        ("submission_101:\n  :submitters: [{':name': A}]\n  :score: ten\n", "is not a number"),
        ("student_101:\n  :submitters: [{':name': A}]\n", "is not of the form submission_<id>"),
        (None, "no submission_metadata.yml"),
    ],
)
def test_malformed_metadata_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], metadata: str | None, message: str
) -> None:
    export, out = make_export(tmp_path / "export", metadata), tmp_path / "out"
    assert run_batch(export, "--out", out) == 2
    error = capsys.readouterr().err
    assert message in error and error.startswith("error: ")
    assert not out.exists()


def test_unsafe_zip_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(batch.METADATA_NAME, METADATA)
        zipped.writestr("submission_101/ps3.py", SOLUTION.read_text())
        zipped.writestr("../../escaped.py", "print('out')")
    assert run_batch(archive, "--out", tmp_path / "out") == 2
    assert "unsafe path" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not list(tmp_path.parent.glob("escaped.py"))


def test_zip_bomb_stops_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("submission_1/ps3.py", b"#" * 5_000_000)
    monkeypatch.setattr(batch_export, "MAX_ZIP_TOTAL_BYTES", 1_000_000)
    with pytest.raises(batch.BatchError, match="unpacks to more than the limit"):
        batch.extract_zip(archive, tmp_path / "unpacked")


def test_symlinks_in_a_zip_are_not_followed(tmp_path: Path) -> None:
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        link = zipfile.ZipInfo("submission_1/ps3.py")
        link.external_attr = 0o120777 << 16
        zipped.writestr(link, "/etc/passwd")
        zipped.writestr("submission_2/ps3.py", "x = 1\n")
    batch.extract_zip(archive, tmp_path / "unpacked")
    assert not (tmp_path / "unpacked" / "submission_1" / "ps3.py").exists()
    assert (tmp_path / "unpacked" / "submission_2" / "ps3.py").read_text() == "x = 1\n"


def test_a_member_that_cannot_be_unpacked_costs_only_its_owner(tmp_path: Path) -> None:
    """A file name longer than the file system allows (or any other unwritable member) skips that file, with a note."""
    archive = tmp_path / "export.zip"
    too_long = "submission_102/" + "n" * 303 + ".py"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(batch.METADATA_NAME, METADATA)
        zipped.writestr("submission_101/ps3.py", SOLUTION.read_text())
        zipped.writestr(too_long, "x = 1\n")
        zipped.writestr("submission_103/ps3.py", "x = 1\n")
        zipped.writestr("submission_103/ps3.py/inside.py", "a file where a folder is")
    out = tmp_path / "out"
    assert run_batch(archive, "--out", out) == 0
    rows = {row["submission_id"]: row for row in read_csv(out / "grades.csv")}
    assert rows["101"]["total"] == SHOWN
    assert "could not be unpacked" in rows["102"]["note"] and "could not be unpacked" in rows["103"]["note"]
    assert rows["103"]["status"] == "graded"


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    "metadata, message",
    [
        (BILLION_LAUGHS, "uses a YAML alias"),
        ("submission_101: " + "[" * 50_000 + "]" * 50_000 + "\n", "nests more than"),
    ],
)
def test_metadata_that_would_cost_more_than_its_size_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], metadata: str, message: str
) -> None:
    export, out = make_export(tmp_path / "export", metadata), tmp_path / "out"
    assert run_batch(export, "--out", out) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_metadata_is_read_as_plain_text(tmp_path: Path) -> None:
    (tmp_path / batch.METADATA_NAME).write_text(
        "submission_7:\n  :submitters:\n  - :name: !!python/object/apply:os.system [touch pwned]\n"
        "    :sid: 2024-01-01\n    :email: [not, a, text]\n  :created_at: 2024-02-01 10:00:00.000000000 -08:00\n  :score: '3.5'\n"
    )
    (tmp_path / "submission_7").mkdir()
    [submission] = batch_export.read_submissions(tmp_path)
    assert submission.submitters == [{"name": "", "sid": "2024-01-01", "email": ""}]
    assert submission.created_at == "2024-02-01 10:00:00.000000000 -08:00" and submission.recorded_score == 3.5


@pytest.mark.needs_root(reason="the slot locks are root's (a batch as another user needs none)")
def test_slot_locks_never_follow_a_planted_link(tmp_path: Path) -> None:
    from autograder.sandbox.isolation import lock_folder

    victim = tmp_path / "victim"
    victim.write_text("precious")
    planted = lock_folder() / f"batch-{batch.WORKER_USER_PREFIX}1.lock"
    planted.unlink(missing_ok=True)
    planted.symlink_to(victim)
    try:
        with batch.worker_users(1) as users:
            assert users and users[0] != f"{batch.WORKER_USER_PREFIX}1"  # that slot is passed over, not followed
        assert victim.read_text() == "precious"
    finally:
        planted.unlink()


def test_missing_export_and_foreign_output_folder_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_batch(tmp_path / "nowhere", "--out", tmp_path / "out") == 2
    assert "does not exist" in capsys.readouterr().err
    export = make_export(tmp_path / "export")
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    assert run_batch(export, "--out", foreign) == 2
    assert "was not made by this command" in capsys.readouterr().err
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.tex"]


def test_output_folder_inside_the_export_is_not_a_submission(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(SOLUTION.read_text())
    out = folder / "batch_results"
    assert run_batch(folder, "--out", out) == 0
    assert run_batch(folder, "--out", out) == 0
    assert [row["submission_id"] for row in read_csv(out / "grades.csv")] == ["alice"]
    shutil.rmtree(out)


# --------------------------------------------------------------------------- inputs people pass


def test_a_folder_wrapping_an_export_is_graded_whole_and_notes_reach_the_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wrapper = tmp_path / "download"
    export = wrapper / "assignment_42_export"
    export.mkdir(parents=True)
    (export / "submission_201").mkdir()
    (export / "submission_201" / "answers.py").write_text(SOLUTION.read_text())  # the wrong name: graded, with a note
    (export / batch.METADATA_NAME).write_text("submission_201:\n  :submitters: [{':name': Ann, ':sid': '9'}]\n  :score: 90.0\n")
    assert run_batch(wrapper, "--out", tmp_path / "out") == 0
    rows = read_csv(tmp_path / "out" / "grades.csv")
    assert [(r["submission_id"], r["names"], r["total"]) for r in rows] == [("201", "Ann", SHOWN)]
    assert "No ps3.py was found, so the only Python file" in rows[0]["note"]
    assert "1 differs from the score Gradescope recorded" in capsys.readouterr().out


def test_plain_folder_has_no_gradescope_comparison_and_other_exports_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, out = tmp_path / "first", tmp_path / "second", tmp_path / "out"
    for folder, name in [(first, "alice"), (second, "zed")]:
        folder.mkdir()
        (folder / f"{name}.py").write_text("x = 1\n")
    assert run_batch(first, "--out", out) == 0
    assert "differ from" not in capsys.readouterr().out
    assert json.loads((out / batch.MARKER_NAME).read_text())["submissions"] == ["alice"]
    assert run_batch(second, "--out", out) == 2
    assert "holds the results of another export" in capsys.readouterr().err
    assert run_batch(second, "--out", out, "--force") == 0
    assert json.loads((out / batch.MARKER_NAME).read_text())["submissions"] == ["zed"]


@pytest.mark.needs_root(reason="only root can give a folder away")
def test_output_made_under_sudo_goes_back_to_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text("x = 1\n")
    monkeypatch.setenv("SUDO_UID", "4242")
    monkeypatch.setenv("SUDO_GID", "4343")
    modes = []
    real = batch.ParallelGrading.run

    def spy(self: batch.ParallelGrading, progress: Progress) -> tuple[dict[str, Record], bool]:
        modes.append((self.out.stat().st_mode & 0o777, self.out.stat().st_uid))
        return real(self, progress)

    monkeypatch.setattr(batch.ParallelGrading, "run", spy)
    out = tmp_path / "out"
    assert run_batch(folder, "--out", out) == 0
    assert modes == [(0o700, 0)]  # root's alone while student code runs
    for path in [out, *out.rglob("*")]:
        assert (path.stat().st_uid, path.stat().st_gid) == (4242, 4343), path
    assert out.stat().st_mode & 0o777 == 0o700


# --------------------------------------------------------------------------- one bad upload


def _graded_class(
    tmp_path: Path, extras: dict[str, str | bytes], compression: int = zipfile.ZIP_DEFLATED, damage: Callable[[Path], None] | None = None
) -> tuple[dict[str, dict[str, str]], Path]:
    """Three right submissions (101, 102, 103) and ``extras`` (paths below the export folder: contents) in one
    export zip, ``damage``d if given, then graded: grades.csv's rows by id, and the output folder. Each of the three
    keeps full marks, whatever the extras are: one bad upload never costs the class."""
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=compression) as zipped:
        zipped.writestr("export/" + batch.METADATA_NAME, METADATA)
        for number in ("101", "102", "103"):
            zipped.writestr(f"export/submission_{number}/ps3.py", SOLUTION.read_text())
        for name, content in extras.items():
            zipped.writestr(f"export/{name}", content)
    if damage is not None:
        damage(archive)
    out = tmp_path / "out"
    assert run_batch(archive, "--out", out) == 0
    rows = {row["submission_id"]: row for row in read_csv(out / "grades.csv")}
    assert rows["101"]["total"] == rows["102"]["total"] == rows["103"]["total"] == SHOWN
    return rows, out


def test_a_bad_file_in_one_submission_skips_that_file_not_the_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_export, "MAX_ZIP_MEMBER_BYTES", 100_000)  # stands for 256 MB: a 300 MB upload, scaled down
    extras: dict[str, str | bytes] = {"submission_101/..\\..\\notes.txt": "escape attempt", "submission_102/video.mp4": b"\0" * 300_000}
    rows, out = _graded_class(tmp_path, extras)
    assert "notes.txt" in rows["101"]["note"] and "unsafe path" in rows["101"]["note"]
    assert "video.mp4" in rows["102"]["note"] and "over the limit" in rows["102"]["note"]
    assert rows["103"]["note"] == ""
    assert not list(tmp_path.glob("**/notes.txt"))
    assert "video.mp4" in (out / "report.html").read_text(encoding="utf-8")


def test_one_submissions_files_past_its_own_limit_are_skipped_not_the_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files each under the per-file limit, together past one submission's: only that student's are cut."""
    monkeypatch.setattr(batch_export, "MAX_SUBMISSION_BYTES", 250_000)  # stands for 512 MB
    rows, _ = _graded_class(tmp_path, {f"submission_101/zeros{number}.bin": b"\0" * 100_000 for number in range(17)})
    assert "zeros16.bin" in rows["101"]["note"] and "past this submission's limit" in rows["101"]["note"]
    assert rows["102"]["note"] == rows["103"]["note"] == ""


def test_files_nested_a_thousand_folders_deep_cost_their_student_only(tmp_path: Path) -> None:
    """os.walk and shutil.rmtree recurse: a path 1,300 folders deep ended the whole batch in a RecursionError."""
    rows, _ = _graded_class(tmp_path, {"submission_102/" + "d/" * 1300 + "deep.py": "x = 1\n"})
    assert "deep.py" in rows["102"]["note"] and "nested more than" in rows["102"]["note"]


def test_a_submission_folder_a_thousand_levels_deep_is_searched_to_a_sane_depth(tmp_path: Path) -> None:
    """A folder export (the TA's own folder): the search for the student's file stops going down, without error."""
    from autograder.apps.submission import find_submission

    folder = deep = tmp_path / "submission"
    folder.mkdir()
    for _ in range(1100):  # one at a time: Path.mkdir(parents=True) recurses too
        deep = deep / "d"
        deep.mkdir()
    (deep / "ps3.py").write_text("x = 1\n")
    (folder / "ps3.py").write_text(SOLUTION.read_text())
    try:
        assert find_submission(folder)[0] == folder / "ps3.py"
    finally:  # removed one folder at a time: pytest's own clean-up (shutil.rmtree) recurses
        (deep / "ps3.py").unlink()
        while deep != folder:
            deep.rmdir()
            deep = deep.parent


def test_submissions_named_as_the_class_outputs_are_graded_under_other_names(tmp_path: Path) -> None:
    """A student's ``report.html.py`` and ``Grades.CSV.py`` (a Mac's file system ignores case): the class outputs are
    written, and those two graded under ids of their own, said in their notes."""
    export = tmp_path / "plain"
    export.mkdir()
    for name in ("alice.py", "report.html.py", "Grades.CSV.py"):
        (export / name).write_text(SOLUTION.read_text())
    out = tmp_path / "out"
    assert run_batch(export, "--out", out) == 0
    assert (out / "report.html").is_file() and (out / "grades.csv").is_file()
    rows = {row["submission_id"]: row for row in read_csv(out / "grades.csv")}
    assert set(rows) == {"alice", "report.html-submission", "Grades.CSV-submission"}
    assert all(row["total"] == SHOWN for row in rows.values())
    assert "Graded as report.html-submission" in rows["report.html-submission"]["note"]
    assert run_batch(export, "--out", out) == 0  # and a rerun finds them graded
    assert len(read_csv(out / "grades.csv")) == 3


def _corrupted(archive: Path, member: str) -> None:
    """Flip bytes inside ``member``'s compressed data, leaving the zip's directory intact."""
    with zipfile.ZipFile(archive) as zipped:
        info = zipped.getinfo(member)
    data = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 2 : start + 12] = b"\xff" * 10
    archive.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["deflate", "bzip2", "lzma"])
def test_a_corrupt_member_is_skipped_for_its_student_whatever_its_compression(tmp_path: Path, compression: int) -> None:
    member = "submission_102/data.txt"
    rows, _ = _graded_class(
        tmp_path, {member: "noise " * 20_000}, compression=compression, damage=lambda archive: _corrupted(archive, "export/" + member)
    )
    assert "data.txt" in rows["102"]["note"] and "could not be unpacked" in rows["102"]["note"]


# --------------------------------------------------------------------------- progress and Markdown


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_estimates_from_work_per_slot_and_names_what_hangs() -> None:
    clock = FakeClock()
    progress = Progress(10, stream=io.StringIO(), slots=2, clock=clock)
    assert "time left unknown" in progress.line()
    for name in "abcdefgh":  # eight done, each took 2 s, two at a time
        progress.begin(name)
    for name in "abcdefgh":
        clock.now += 1
        progress.advance(name=name, seconds=2.0)
    assert "~0:02 left" in progress.line()  # two to go, one each per slot, 2 s each
    progress.begin("hang")
    clock.now += 1
    progress.begin("slow-one")
    clock.now += 40
    line = progress.line()
    assert "0:01 left" not in line and "0:00 left" not in line
    assert "time left unknown" in line and "still running: hang (0:41), slow-one (0:40)" in line
    progress.advance(name="slow-one", seconds=40.0)
    clock.now += 3
    line = progress.line()
    assert "still running: hang (0:44)" in line and "slow-one" not in line


def test_markdown_renders_the_subset_and_escapes_the_rest() -> None:
    html = render_markdown(
        "**Wrong.** ``f(`x`)`` &lt;b&gt; \\*x\\* <img src=x onerror=alert(1)>\n\n- one\n- two\n\n```text\n<script>alert(1)</script>\n```\n"
    )
    assert "<strong>Wrong.</strong> <code>f(`x`)</code> &lt;b&gt; *x* &lt;img src=x onerror=alert(1)&gt;" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>" in html
    assert "<img" not in html and "<script" not in html


def test_a_folder_holding_only_a_zip_says_to_unzip_it(tmp_path: Path) -> None:
    """A TA's folder may hold an upload as downloaded, zipped: "it has no Python files" was true but no help."""
    import zipfile

    from autograder.apps.submission import NoSubmission, find_submission

    folder = tmp_path / "ana"
    folder.mkdir()
    with zipfile.ZipFile(folder / "ps3.zip", "w") as archive:
        archive.writestr("ps3.py", SOLUTION.read_text())
    with pytest.raises(NoSubmission) as refused:
        find_submission(folder)
    assert "no Python files, only ps3.zip: unzip it, or upload the file itself" in str(refused.value)


def test_a_folder_whose_only_subfolder_is_a_link_says_so(tmp_path: Path) -> None:
    """A link to a folder is never entered (it could lead anywhere on the machine): the message says that, not that
    the submission holds no Python file."""
    from autograder.apps.submission import NoSubmission, find_submission

    elsewhere, folder = tmp_path / "elsewhere", tmp_path / "ana"
    elsewhere.mkdir()
    folder.mkdir()
    (elsewhere / "ps3.py").write_text(SOLUTION.read_text())
    (folder / "src").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(NoSubmission) as refused:
        find_submission(folder)
    assert str(refused.value).startswith("src is a symbolic link, which is not graded"), str(refused.value)


def test_a_class_folder_holding_a_zip_lists_its_student_and_says_what_it_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A student's upload left as frank.zip in a plain class folder got no row, no line and no warning: the student
    was lost (adopter). A zip is a row saying to unzip it; any other stray file is named on the way past."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ana.py").write_text(SOLUTION.read_text())
    with zipfile.ZipFile(folder / "frank.zip", "w") as zipped:
        zipped.writestr("ps3.py", SOLUTION.read_text())
    (folder / "notes.txt").write_text("grading notes\n")
    assert run_batch(folder, "--out", tmp_path / "out", "--jobs", "1") == 0
    rows = {row["submission_id"]: row for row in read_csv(tmp_path / "out" / "grades.csv")}
    assert set(rows) == {"ana", "frank"} and rows["ana"]["total"] == SHOWN
    assert rows["frank"]["status"] == "no submission" and "frank.zip is not a Python file" in str(rows["frank"]), rows["frank"]
    assert "unzip it into a folder of its own" in str(rows["frank"])
    assert re.search(r"skipping \S*notes\.txt: neither a folder, a \.py file, a notebook nor a zip", capsys.readouterr().err)


def test_a_zipped_class_keeps_its_empty_folders_and_its_utf8_names(tmp_path: Path) -> None:
    """Batching the class as a zip dropped the empty folder the folder run listed as "no submission", and read a
    UTF-8 name written without the zip's UTF-8 flag (as Windows and macOS write them) as cp437 (adopter)."""
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("judy/", "")
        zipped.writestr("ana.py", SOLUTION.read_text())
        named = zipfile.ZipInfo("ünïcode name.py")  # stored as UTF-8 bytes with the flag cleared, below
        zipped.writestr(named, SOLUTION.read_text())
    data = bytearray(archive.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # clear bit 11 (UTF-8 names) in every local and central header
        start = 0
        while (start := data.find(header, start)) >= 0:
            flags = start + (6 if header == b"PK\x03\x04" else 8)  # little-endian: bit 11 is bit 3 of the second byte
            data[flags + 1] &= ~0x08
            start += 4
    archive.write_bytes(bytes(data))
    assert run_batch(archive, "--out", tmp_path / "out", "--jobs", "1") == 0
    rows = {row["submission_id"]: row for row in read_csv(tmp_path / "out" / "grades.csv")}
    assert set(rows) == {"ana", "judy", "ünïcode name"}, set(rows)
    assert rows["judy"]["status"] == "no submission" and rows["ünïcode name"]["total"] == SHOWN
