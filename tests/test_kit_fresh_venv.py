"""A student follows the kit's README exactly: unzip, a fresh virtual environment made and filled by the README's
own commands (pip installs from the package index), then ``check`` on the solution, as a Python file and as a
notebook where the course accepts one.

This is the only test that runs the README's ``pip install`` itself: the kit must have everything it needs to load
a submission the way Gradescope loads it, notebooks included, and nothing may be missing from the command; and a
file importing one of the engine's own packages (PyYAML, which the kit installs) is told what Gradescope tells it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from autograder.apps.cli import main

from conftest import FIXTURES, ROOT_ASSIGNMENT, Assignment

LAB1 = Assignment(FIXTURES / "lab1")  # a course that is not the root's, whose solution sits beside its problems
COURSES = [(ROOT_ASSIGNMENT, ROOT_ASSIGNMENT.solution), (LAB1, LAB1.root / "lab1.py")]


@pytest.fixture
def home() -> Iterator[Path]:
    """A student's folder, readable by the worker's user when the tests run as root."""
    folder = Path(tempfile.mkdtemp(prefix="kit-student-"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def readme_commands(readme: str) -> list[str]:
    """The README's set-up commands, as a shell reads them: its block under "On Linux and macOS:", continued lines joined."""
    block = readme.split("On Linux and macOS:", 1)[1].split("\n\n", 2)[1]
    return [line.strip() for line in re.sub(r"\\\n\s*", " ", block).splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.parametrize("assignment, solution", COURSES, ids=[str(a) if a is ROOT_ASSIGNMENT else "fixtures/lab1" for a, _ in COURSES])
def test_a_student_follows_the_kit_readme_in_a_fresh_venv(assignment: Assignment, solution: Path, home: Path) -> None:
    assert main(["build", "--problems", str(assignment.problems), "--out", str(home / "dist")]) == 0
    with zipfile.ZipFile(home / "dist" / "student_kit.zip") as archive:
        archive.extractall(home)
    kit = home / "student_kit"
    course = assignment.course
    readme = (kit / "README.md").read_text(encoding="utf-8")
    commands = readme_commands(readme)
    assert commands[0] == "python3 -m venv .venv" and commands[-1] == f".venv/bin/python -m autograder check {course.starter_name}"

    bin_dir = home / "bin"  # `python3` on the student's PATH is this test's interpreter
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AUTOGRADER_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    def shell(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", command], cwd=kit, env=env, capture_output=True, text=True, timeout=900, check=False)

    for command in commands[:-1]:  # the venv, and the pip install of exactly what the README lists
        done = shell(command)
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    engine = shell(".venv/bin/python -c 'import autograder; print(autograder.__file__)'").stdout.strip()
    assert Path(engine).parent == kit / "autograder"  # the kit's own engine, nothing of this checkout

    starter = shell(commands[-1])  # the README's last command: the untouched starter
    assert starter.returncode == 1, starter.stdout + starter.stderr
    assert "not implemented yet (it raises NotImplementedError)" in starter.stdout
    assert "Traceback" not in starter.stdout + starter.stderr

    shutil.copy(solution, kit / course.starter_name)
    right = shell(f".venv/bin/python -m autograder check {course.starter_name}")
    assert right.returncode == 0, right.stdout + right.stderr
    assert "All visible cases pass." in right.stdout and "FAIL" not in right.stdout

    notebooks = [name for name in course.submission_names if name.endswith(".ipynb")]
    if notebooks:  # the course accepts a notebook: the kit, set up as its README says, reads one as Gradescope does
        notebook = nbformat.v4.new_notebook()
        notebook.cells.append(nbformat.v4.new_code_cell(solution.read_text()))
        nbformat.write(notebook, str(kit / notebooks[0]))
        (kit / course.starter_name).unlink()
        checked = shell(f".venv/bin/python -m autograder check {notebooks[0]}")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "All visible cases pass." in checked.stdout and "FAIL" not in checked.stdout
        assert "not a notebook" not in checked.stdout and "lacks" not in checked.stdout
    else:
        assert "nbformat" not in readme and "ipython" not in readme.lower()
        # The engine's own packages are hidden from a submission, here as on Gradescope (sandbox/importable.py):
        # the lines importing them are named, the functions keep their marks.
        (kit / course.starter_name).write_text(solution.read_text() + "\n\nimport IPython  # noqa: E402\nimport yaml  # noqa: E402\n")
        importing = shell(f".venv/bin/python -m autograder check {course.starter_name}")
        assert importing.returncode == 0, importing.stdout + importing.stderr
        assert "All visible cases pass." in importing.stdout and "FAIL" not in importing.stdout
        assert "No module named 'IPython'" in importing.stdout and "No module named 'yaml'" in importing.stdout

    if assignment is LAB1:  # another course's kit carries nothing of Problem Set 3, the root's course here
        for foreign in ("Problem Set 3", "ps3", "conv2d"):
            assert foreign not in readme, foreign
