"""What a student and a TA see in the terminal: progress while waiting, Ctrl-C, --only, one-line errors, the kit's help."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import yaml

from conftest import REPO, SOLUTION, hears_ctrl_c

HANGS = SOLUTION.read_text() + "\n\ndef conv2d(x, kernel):\n    while True:\n        pass\n"


def _cli(*args: str, cwd: Path = REPO, **options: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=120, **options)


def test_check_shows_each_function_as_it_is_known_and_which_one_it_waits_on(tmp_path: Path) -> None:
    student = tmp_path / "ps3.py"
    student.write_text(HANGS)
    env = dict(os.environ, AUTOGRADER_CALL_TIMEOUT="2")
    done = _cli("check", str(student), "--problems", str(REPO / "problems"), env=env)
    assert re.search(r"ok +fc_layer_params: \d+ of \d+ cases passed", done.stderr)
    assert re.search(r"FAIL conv2d: 0 of \d+ cases passed", done.stderr)
    assert "... waiting on conv2d (case 3a.1)" in done.stderr
    assert done.returncode == 1


def test_ctrl_c_stops_check_with_one_line_and_exit_130(tmp_path: Path) -> None:
    student = tmp_path / "ps3.py"
    student.write_text(HANGS)
    process = subprocess.Popen([sys.executable, "-m", "autograder", "check", str(student), "--problems", str(REPO / "problems")],
                               preexec_fn=hears_ctrl_c,
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    deadline = time.monotonic() + 60
    while "waiting on conv2d" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 130
    assert rest.strip() == "Interrupted."  # no traceback


def test_check_only_reruns_one_function(tmp_path: Path) -> None:
    student = tmp_path / "ps3.py"
    student.write_text(SOLUTION.read_text())
    done = _cli("check", str(student), "--problems", str(REPO / "problems"), "--only", "conv_transpose2d")
    assert done.returncode == 0, done.stderr
    assert "conv_transpose2d" in done.stdout and "conv2d " not in done.stdout and "fc_layer_params" not in done.stdout
    wrong = _cli("check", str(student), "--problems", str(REPO / "problems"), "--only", "conv3d")
    assert wrong.returncode == 1 and "no visible case calls 'conv3d'; the functions are:" in wrong.stderr


def test_a_missing_numpy_is_one_line_saying_what_to_run(tmp_path: Path) -> None:
    # -S: no site-packages, so neither NumPy nor PyYAML can be found; the engine comes from PYTHONPATH.
    done = subprocess.run([sys.executable, "-S", "-m", "autograder", "check", "ps3.py"], cwd=tmp_path, capture_output=True,
                          text=True, check=False, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "lacks numpy pyyaml" in done.stderr and "python3 -m venv .venv" in done.stderr


def test_the_kit_help_lists_only_what_works_in_the_kit(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    assert _cli("build", "--out", str(dist)).returncode == 0
    with zipfile.ZipFile(dist / "student_kit.zip") as archive:
        archive.extractall(tmp_path)
    kit = tmp_path / "student_kit"
    shown = _cli("--help", cwd=kit, env=dict(os.environ, PYTHONPATH=str(kit)))
    commands = set(re.findall(r"^    (\w+) ", shown.stdout, flags=re.M))
    assert commands == {"check"}, shown.stdout


def test_the_student_guide_lists_every_student_package_with_its_gradescope_version() -> None:
    config = yaml.safe_load((REPO / "assignment.yaml").read_text())
    guide = (REPO / "docs" / "students.md").read_text()
    for requirement in config["student_packages"]:
        name, _, rest = requirement.partition("==")
        version, _, marker = rest.partition(";")
        if "< '3.11'" in marker or not marker:  # Gradescope's Python is 3.10
            assert re.search(rf"`{name}`\) \| {re.escape(version.strip())} \|", guide), requirement


def test_the_table_reads_cleanly(tmp_path: Path) -> None:
    """One number format, one line number for a syntax error, no 'Expected' for a call never made, no blank runs."""
    student = tmp_path / "ps3.py"
    student.write_text("import numpy as np\n\ndef fc_layer_params(d_in, d_out)\n    return 1\n\n"
                       "def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):\n    return 35176\n\n"
                       "def conv_output_size(size_in, kernel_size, stride=1, padding=0):\n    raise ValueError('boom')\n")
    out = _cli("grade", str(student), "--verbose").stdout
    assert "expected 35,284, received 35,176" in out
    assert "SyntaxError at line 3: expected ':' (affects fc_layer_params)" in out
    assert "\n\n\n" not in out
    not_run = out.split("--- 2b.1 ")[1].split("---")[0]
    assert "was not run" in not_run and "Expected" not in not_run
    traceback = out.split("raised ValueError: boom")[1].split("---")[0]
    assert 'File "ps3.py", line 10, in conv_output_size' in traceback and "<string>" not in traceback and "ag-worker" not in traceback


def test_a_student_follows_the_kit_readme_from_unzip_to_a_check_result(tmp_path: Path) -> None:
    """The guide's own commands, run as written in a fresh folder (the venv recipe that works on PEP 668 systems)."""
    import shutil

    dist = tmp_path / "dist"
    assert _cli("build", "--out", str(dist)).returncode == 0
    home = Path(tempfile.mkdtemp(prefix="kit-student-"))  # readable by the worker's user when the tests run as root
    try:
        home.chmod(0o755)
        with zipfile.ZipFile(dist / "student_kit.zip") as archive:
            archive.extractall(home)
        kit = home / "student_kit"
        guide = (kit / "README.md").read_text()
        block = guide.split("On Linux and macOS:", 1)[1].split("\n\n", 2)[1]
        commands = [line.strip() for line in block.splitlines() if line.strip()]
        assert commands[0] == "python3 -m venv .venv" and commands[-1].endswith("-m autograder check ps3.py"), commands
        bin_dir = home / "bin"  # `python3` is this test's interpreter, as on the student's PATH
        bin_dir.mkdir()
        (bin_dir / "python3").symlink_to(sys.executable)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        for command in commands:
            done = subprocess.run(command, shell=True, cwd=kit, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 1, done.stdout + done.stderr  # the untouched starter: nothing implemented yet
        assert "not implemented yet (it raises NotImplementedError)" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)
