"""What a student and a TA see in the terminal: progress while waiting, Ctrl-C, --only, one-line errors, the kit's
help, and docs/students.md's account of check's output, replayed.

Everything runs on the fixture assignment tests/fixtures/lab1 (square and running_sum, one Python check), so
none of it depends on the course at the repository's root. Following a kit's README in a fresh virtual
environment, pip install included, is tests/test_kit_fresh_venv.py (slow).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, hears_ctrl_c

LAB1 = FIXTURES / "lab1"
PROBLEMS = LAB1 / "problems"
HANGS = (LAB1 / "lab1.py").read_text() + "\n\ndef running_sum(values):\n    while True:\n        pass\n"
STUDENT_GUIDE = REPO / "docs" / "students.md"


def _cli(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120, env=env
    )


def test_check_shows_each_function_as_it_is_known_and_which_one_it_waits_on(tmp_path: Path) -> None:
    student = tmp_path / "lab1.py"
    student.write_text(HANGS)
    env = dict(os.environ, AUTOGRADER_CALL_TIMEOUT="2")
    done = _cli("check", str(student), "--problems", str(PROBLEMS), env=env)
    assert re.search(r"ok +square: 1 of 1 cases passed", done.stderr)
    assert re.search(r"FAIL running_sum: 0 of 1 cases passed", done.stderr)
    assert "... waiting on running_sum (case 2.1)" in done.stderr
    assert "did not return within 2.0 s" in done.stdout
    assert done.returncode == 1


def test_ctrl_c_stops_check_with_one_line_and_exit_130(tmp_path: Path) -> None:
    student = tmp_path / "lab1.py"
    student.write_text(HANGS)
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder", "check", str(student), "--problems", str(PROBLEMS)],
        preexec_fn=hears_ctrl_c,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + 60
    while "waiting on running_sum" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 130
    assert rest.strip() == "Interrupted."  # no traceback


def test_check_only_reruns_one_function(tmp_path: Path) -> None:
    student = tmp_path / "lab1.py"
    student.write_text((LAB1 / "lab1.py").read_text())
    done = _cli("check", str(student), "--problems", str(PROBLEMS), "--only", "running_sum")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^running_sum +1/1 ", done.stdout, flags=re.M) and not re.search(r"^square ", done.stdout, flags=re.M)
    wrong = _cli("check", str(student), "--problems", str(PROBLEMS), "--only", "cube")
    assert wrong.returncode == 1 and "no visible case calls 'cube'; the functions are: running_sum, square" in wrong.stderr


def test_a_missing_numpy_is_one_line_saying_what_to_run(tmp_path: Path) -> None:
    # -S: no site-packages, so neither NumPy nor PyYAML can be found; the engine comes from PYTHONPATH.
    done = subprocess.run(
        [sys.executable, "-S", "-m", "autograder", "check", "lab1.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "lacks numpy pyyaml" in done.stderr and "python3 -m venv .venv" in done.stderr


def _unzipped_kit(tmp_path: Path) -> Path:
    """The fixture assignment's student kit, built and unzipped."""
    dist = tmp_path / "dist"
    built = _cli("build", "--problems", str(PROBLEMS), "--out", str(dist))
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(dist / "student_kit.zip") as archive:
        archive.extractall(tmp_path)
    return tmp_path / "student_kit"


def test_the_kit_help_lists_only_what_works_in_the_kit(tmp_path: Path) -> None:
    kit = _unzipped_kit(tmp_path)
    shown = _cli("--help", cwd=kit, env=dict(os.environ, PYTHONPATH=str(kit)))
    commands = set(re.findall(r"^    (\w+) ", shown.stdout, flags=re.M))
    assert commands == {"check"}, shown.stdout
    options = _cli("check", "--help", cwd=kit, env=dict(os.environ, PYTHONPATH=str(kit))).stdout
    assert "--only FUNCTION" in options and "--all" in options


def _indented_block(text: str, after: str) -> list[str]:
    """The indented block that follows the paragraph ending with ``after``, unindented."""
    rest = text.split(after, 1)[1]
    lines = []
    for line in rest.split("\n")[2:]:
        if line and not line.startswith("    "):
            break
        lines.append(line.removeprefix("    "))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_the_student_guide_shows_what_check_prints_today(tmp_path: Path) -> None:
    """docs/students.md's two examples, replayed: its lab1.py checked in the kit, with and without --all, prints
    exactly the lines the guide shows (but the kit's folder, which is the reader's own)."""
    guide = STUDENT_GUIDE.read_text(encoding="utf-8")
    home = Path(tempfile.mkdtemp(prefix="kit-guide-"))  # readable by the worker's user when the tests run as root
    try:
        home.chmod(0o755)
        kit = _unzipped_kit(home)
        submission = re.search(r"Say your `lab1.py` is:\n\n```python\n(.*?)```", guide, flags=re.S)
        assert submission, "docs/students.md no longer shows the file its example checks"
        (kit / "lab1.py").write_text(submission[1])
        env = dict(os.environ, PYTHONPATH=str(kit))
        for shown, arguments in [
            (_indented_block(guide, "`check lab1.py` prints:"), ["lab1.py"]),
            (_indented_block(guide, "the message of every\nfailing case:"), ["lab1.py", "--all"]),
        ]:
            done = _cli("check", *arguments, cwd=kit, env=env)
            assert done.returncode == 1, done.stderr
            printed = [line.rstrip() for line in done.stdout.rstrip("\n").split("\n")]
            assert shown[0] == "Checking lab1.py on the 2 visible cases from /home/you/student_kit/cases.json."
            assert printed[0] == f"Checking lab1.py on the 2 visible cases from {kit / 'cases.json'}."
            assert printed[1:] == shown[1:], "\n".join(printed)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_the_table_reads_cleanly(tmp_path: Path) -> None:
    """One number format, one line number for a syntax error, no 'Expected' for a call never made, no blank runs."""
    student = tmp_path / "lab1.py"
    student.write_text("import numpy as np\n\ndef square(x)\n    return 1\n\ndef running_sum(values):\n    raise ValueError('boom')\n")
    out = _cli("grade", str(student), "--verbose", "--problems", str(PROBLEMS)).stdout
    assert "SyntaxError at line 3: expected ':' (affects square)" in out
    assert "\n\n\n" not in out
    not_run = out.split("--- 1.1 ")[1].split("---")[0]
    assert "was not run" in not_run and "Expected" not in not_run
    traceback = out.split("raised ValueError: boom")[1].split("---")[0]
    assert 'File "lab1.py", line 7, in running_sum' in traceback and "<string>" not in traceback and "ag-worker" not in traceback
    wrong = tmp_path / "big.py"
    wrong.write_text("import numpy as np\n\ndef square(x):\n    return 35176\n\ndef running_sum(values):\n    return np.cumsum(values)\n")
    assert "expected 9, received 35,176" in _cli("grade", str(wrong), "--problems", str(PROBLEMS)).stdout


@pytest.mark.parametrize("name", ["export.zip", "ps3.txt", "notes"])
@pytest.mark.parametrize("command", ["grade", "check"])
def test_a_file_that_is_no_python_file_or_notebook_is_refused_by_name(tmp_path: Path, command: str, name: str) -> None:
    """``grade ../class/export.zip`` (meant for batch) was read as Python: 670 syntax errors, a 0 and exit code 0
    (adopter). A file named on the command line must be a .py or an .ipynb; grade says where a class goes."""
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04" if name.endswith(".zip") else b"def f():\n    return 1\n")
    done = _cli(command, str(path))
    said = done.stdout + done.stderr
    assert done.returncode == (2 if command == "grade" else 1) and f"{name} is not a Python file (.py) or a notebook (.ipynb)" in said, said
    assert ("batch" in said) == (command == "grade") and "Autograded" not in said, said


def test_grade_json_records_a_file_that_cannot_be_graded_as_gradescope_does(tmp_path: Path) -> None:
    """A file over the course's size limit: Gradescope's results.json says why and gives 0; ``grade --json``,
    "the JSON Gradescope gets", wrote nothing at all (adopter round 7)."""
    big = tmp_path / "lab1.py"
    big.write_text("def square(x):\n    return x * x\n" + "#" * 100 + "\n" * 3_000_000)
    out = tmp_path / "results.json"
    done = _cli("grade", str(big), "--problems", str(PROBLEMS), "--json", str(out))
    assert done.returncode == 2 and "the limit is" in done.stderr, done.stderr
    data = json.loads(out.read_text())
    assert data["score"] == 0 and data["tests"] == [] and "the limit is" in data["output"], data
