"""``python -m autograder batch``: a realistic Gradescope export graded, resumed, summarised, and refused when broken."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, SOLUTION, check_results, submission_with

from autograder.apps.batch import grading as batch
from autograder.apps.cli import main

# A class of six: right, partly wrong, crashing (in the middle), no ps3.py, ps3.py in a subfolder, nothing at all.
FILES = {
    "submission_101/ps3.py": SOLUTION.read_text(),
    "submission_102/ps3.py": submission_with("off_by_one"),
    "submission_103/ps3.py": "import os\nprint('bye')\nos._exit(3)\n",
    "submission_104/notes.txt": "I ran out of time",
    "submission_104/scratch.py": "x = 1\n",
    "submission_104/more.py": "y = 2\n",
    "submission_105/my work/ps3.py": SOLUTION.read_text(),
    "submission_106/": "",
}

METADATA = """\
submission_101:
  :submitters:
  - :name: Zoë Ångström
    :sid: '0001'
    :email: zoe@example.edu
  :created_at: 2024-02-01 10:00:00.000000000 -08:00
  :score: 100.0
  :results:
    score: 100.0
submission_102:
  :submitters:
  - :name: =HYPERLINK("http://evil.example","click")
    :sid: 1002
    :email: a@example.edu
  - :name: <script>alert(1)</script> Núñez
    :sid: '1003'
    :email: b@example.edu
  :created_at: 2024-02-02 11:30:00.000000000 -08:00
  :score: 100.0
submission_103:
  :submitters:
  - :name: 李小龙
    :sid: '1004'
    :email: li@example.edu
  :score: 0.0
submission_104:
  :submitters:
  - :name: Mary Ann O'Neil
    :sid: '1005'
    :email: mary@example.edu
  :score:
submission_105:
  :submitters:
  - :name: "@Bob"
    :sid: '1006'
    :email: bob@example.edu
  :score: 90.0
submission_106:
  :submitters:
  - :name: Empty Folder
    :sid: '1007'
    :email: empty@example.edu
  :score: 0.0
"""

IDS = ["101", "102", "103", "104", "105", "106"]


def make_export(folder: Path, metadata: str | None = METADATA) -> Path:
    for name, content in FILES.items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir(parents=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    if metadata is not None:
        (folder / batch.METADATA_NAME).write_text(metadata, encoding="utf-8")
    return folder


def run_batch(*arguments: str | Path) -> int:
    return main(["batch", *map(str, arguments)])


def read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def results(out: Path, submission: str) -> dict:
    raw = (out / submission / "results.json").read_bytes()
    data = json.loads(raw)
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


def test_every_submission_gets_a_valid_results_json(graded):
    _, out = graded
    scores = {submission: results(out, submission)["score"] for submission in IDS}
    assert scores["101"] == scores["105"] == 100
    assert 0 < scores["102"] < 100
    assert scores["103"] == scores["104"] == scores["106"] == 0
    assert "could not be loaded" in results(out, "103")["output"]
    assert "No ps3.py" in results(out, "104")["output"] and "`scratch.py`" in results(out, "104")["output"]
    assert "my work/ps3.py" in results(out, "105")["output"]


def test_results_match_the_single_submission_grader(graded, tmp_path):
    """The batch grades exactly as ``grade`` does on Gradescope (same cases, same scores)."""
    from autograder.engine.runner import grade
    from autograder.output.results import gradescope_json

    _, out = graded
    alone = gradescope_json(grade(SOLUTION, REPO / "problems", worker_user=None))
    batched = results(out, "101")
    assert [(t["name"], t["score"]) for t in batched["tests"] if t.get("max_score")] == \
           [(t["name"], t["score"]) for t in alone["tests"] if t.get("max_score")]


@pytest.mark.skipif(os.geteuid() != 0, reason="slot users exist only when the grader runs as root")
def test_parallel_slots_run_as_their_own_users(graded):
    _, out = graded
    users = set()
    for submission in ["101", "102", "103", "105"]:
        environment = [t for t in results(out, submission)["tests"] if t["name"].startswith("Grading environment")]
        users |= {line.split(": ")[1] for line in environment[0]["output"].splitlines() if line.startswith("- separate user")}
    assert users and all(user.startswith(batch.WORKER_USER_PREFIX) for user in users), users
    assert len(users) <= 2


# --------------------------------------------------------------------------- grades.csv and report.html


def test_csv_columns_and_values(graded):
    _, out = graded
    rows = read_csv(out / "grades.csv")
    assert list(rows[0]) == ["submission_id", "names", "sids", "emails", "submitted_at", "status", "file",
                             "Q2a (/15)", "Q2b (/30)", "Q3a (/20)", "Q3b (/20)", "Q4 (/15)",
                             "total", "max_score", "gradescope_score", "difference", "note"]
    by_id = {row["submission_id"]: row for row in rows}
    assert list(by_id) == IDS
    first = by_id["101"]
    assert (first["names"], first["sids"], first["emails"]) == ("Zoë Ångström", "0001", "zoe@example.edu")
    assert first["submitted_at"].startswith("2024-02-01 10:00:00")
    assert (first["total"], first["max_score"], first["gradescope_score"], first["difference"]) == ("100", "100", "100", "0")
    group = by_id["102"]
    assert group["names"].startswith("'=HYPERLINK(") and "; <script>" in group["names"]  # quoted: never a formula
    assert group["sids"] == "1002; 1003"
    assert float(group["total"]) < 100 and float(group["difference"]) == pytest.approx(float(group["total"]) - 100)
    assert float(group["Q2b (/30)"]) < 30 and group["Q3a (/20)"] == "20"
    assert by_id["105"]["names"] == "'@Bob" and by_id["105"]["file"] == "my work/ps3.py"
    assert by_id["105"]["difference"] == "10"
    assert by_id["103"]["status"] == "graded" and "could not be loaded" in by_id["103"]["note"]
    assert by_id["104"]["status"] == "no submission" and by_id["104"]["gradescope_score"] == ""
    assert by_id["104"]["difference"] == "" and by_id["104"]["total"] == "0"
    assert by_id["106"]["status"] == "no submission"


def test_report_has_every_section_and_escapes_student_text(graded):
    _, out = graded
    page = (out / "report.html").read_text(encoding="utf-8")
    for section in ["overview", "distribution", "problems", "tests", "mistakes", "differences", "ungraded"]:
        assert f'<section id="{section}">' in page
    assert "<svg" in page and "<rect" in page
    assert "One layer too many" in page  # off_by_one's diagnosis, counted
    assert "<script>" not in page and "&lt;script&gt;" in page
    differences = page.split('<section id="differences">')[1].split("</section>")[0]
    assert 'href="102/results.json"' in differences and 'href="105/results.json"' in differences
    assert "101/results.json" not in differences
    ungraded = page.split('<section id="ungraded">')[1].split("</section>")[0]
    assert "104" in ungraded and "106" in ungraded and "O&#x27;Neil" in ungraded
    assert "<link" not in page and " src=" not in page  # self-contained: readable offline


# --------------------------------------------------------------------------- resuming


def modified_times(out: Path) -> dict[str, int]:
    return {submission: (out / submission / "results.json").stat().st_mtime_ns for submission in IDS}


def test_rerun_grades_only_what_changed_unless_forced(tmp_path, capsys):
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
    assert results(out, "102")["score"] == 100

    assert run_batch(export, "--out", out, "--force") == 0
    assert "6 to grade, 0 unchanged" in capsys.readouterr().err
    assert all(modified_times(out)[s] != second[s] for s in IDS)


def test_hangs_do_not_hold_up_the_class_and_ctrl_c_stops_cleanly(tmp_path, request):
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
    started = time.monotonic()
    process = subprocess.Popen([*command, "--jobs", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not all((out / name / "summary.json").exists() for name in "cd") and time.monotonic() < started + 25:
        time.sleep(0.1)
    assert time.monotonic() - started < 25, "the hanging submissions held up the others"
    assert process.poll() is None  # a and b are still hanging in their sandboxes
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Interrupted: 2 not graded (a, b)" in stderr
    assert results(out, "c")["score"] == results(out, "d")["score"] == 100
    assert not (out / "a").exists() and not (out / "b").exists()
    rows = {row["submission_id"]: row for row in read_csv(out / "grades.csv")}
    assert rows["a"]["status"] == "not graded" and rows["c"]["total"] == "100"
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


# --------------------------------------------------------------------------- other inputs


def test_zip_export_grades_like_the_folder(graded, tmp_path):
    export, out = graded
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:  # Gradescope wraps everything in one folder
        for path in sorted(export.rglob("*")):
            zipped.write(path, "assignment_42_export/" + str(path.relative_to(export)))
    assert run_batch(archive, "--out", tmp_path / "out") == 0
    columns = ["submission_id", "names", "total", "status"]
    folder_rows = [[row[c] for c in columns] for row in read_csv(out / "grades.csv")]
    assert [[row[c] for c in columns] for row in read_csv(tmp_path / "out" / "grades.csv")] == folder_rows


def test_plain_folder_of_files_and_folders_with_unicode_and_spaces(tmp_path):
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
    assert rows["Zoë Müller"]["total"] == "100" and float(rows["bob smith"]["total"]) < 100
    assert rows["empty one"]["status"] == "no submission"
    assert results(out, "bob smith")["score"] < 100


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("metadata, message", [
    ("submission_101: [unclosed\n", "not valid YAML (line"),
    ("- just\n- a list\n", "should map each submission_<id>"),
    ("", "holds nothing"),
    ("submission_101:\n  :score: 10\n", "needs a :submitters list"),
    ("submission_101:\n  :submitters: [{':name': A}]\n  :score: ten\n", "is not a number"),
    ("student_101:\n  :submitters: [{':name': A}]\n", "is not of the form submission_<id>"),
    (None, "no submission_metadata.yml"),
])
def test_malformed_metadata_is_a_clear_error_and_writes_nothing(tmp_path, capsys, metadata, message):
    export, out = make_export(tmp_path / "export", metadata), tmp_path / "out"
    assert run_batch(export, "--out", out) == 2
    error = capsys.readouterr().err
    assert message in error and error.startswith("error: ")
    assert not out.exists()


def test_unsafe_zip_is_refused(tmp_path, capsys):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(batch.METADATA_NAME, METADATA)
        zipped.writestr("submission_101/ps3.py", SOLUTION.read_text())
        zipped.writestr("../../escaped.py", "print('out')")
    assert run_batch(archive, "--out", tmp_path / "out") == 2
    assert "unsafe path" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not list(tmp_path.parent.glob("escaped.py"))


def test_zip_bomb_stops_at_the_cap(tmp_path, monkeypatch):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("submission_1/ps3.py", b"#" * 5_000_000)
    monkeypatch.setattr(batch, "MAX_ZIP_TOTAL_BYTES", 1_000_000)
    with pytest.raises(batch.BatchError, match="unpacks to more than the limit"):
        batch.extract_zip(archive, tmp_path / "unpacked")


def test_symlinks_in_a_zip_are_not_followed(tmp_path):
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        link = zipfile.ZipInfo("submission_1/ps3.py")
        link.external_attr = 0o120777 << 16
        zipped.writestr(link, "/etc/passwd")
        zipped.writestr("submission_2/ps3.py", "x = 1\n")
    batch.extract_zip(archive, tmp_path / "unpacked")
    assert not (tmp_path / "unpacked" / "submission_1" / "ps3.py").exists()
    assert (tmp_path / "unpacked" / "submission_2" / "ps3.py").read_text() == "x = 1\n"


def test_missing_export_and_foreign_output_folder_are_refused(tmp_path, capsys):
    assert run_batch(tmp_path / "nowhere", "--out", tmp_path / "out") == 2
    assert "does not exist" in capsys.readouterr().err
    export = make_export(tmp_path / "export")
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    assert run_batch(export, "--out", foreign) == 2
    assert "was not made by this command" in capsys.readouterr().err
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.tex"]


def test_output_folder_inside_the_export_is_not_a_submission(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(SOLUTION.read_text())
    out = folder / "batch_results"
    assert run_batch(folder, "--out", out) == 0
    assert run_batch(folder, "--out", out) == 0
    assert [row["submission_id"] for row in read_csv(out / "grades.csv")] == ["alice"]
    shutil.rmtree(out)


def test_per_question_scores_include_the_problems_own_python_checks(tmp_path):
    """The CSV's question columns must add up to the total, checks included."""
    from test_end_to_end import LINEARITY_CHECK

    from autograder.apps.batch.grading import summarize
    from autograder.engine.runner import grade

    problems = tmp_path / "problems"
    shutil.copytree(REPO / "problems", problems, ignore=shutil.ignore_patterns("__pycache__", "compiled.json"))
    (problems / "q3a" / "test_linearity.py").write_text(LINEARITY_CHECK)
    record = summarize(grade(SOLUTION, problems, worker_user=None))
    assert record["problems"]["q3a"] == 22 and record["score"] == 102
    assert sum(record["problems"].values()) == record["score"]
