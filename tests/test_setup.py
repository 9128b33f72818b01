"""Gradescope's own sequence: unzip autograder.zip, run setup.sh, then run_autograder per submission.

`python3` is a fresh virtual environment here (setup.sh installs into whatever `python3` is), so
this installs the engine the way Gradescope does, not editable, and grades with that install only.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.apps import paths
from autograder.apps.kit import build
from autograder.sandbox import isolation as sandbox

from conftest import SOLUTION, check_results, spec_problems, total_points

pytestmark = pytest.mark.needs_root(reason="setup.sh creates a user: it runs as root, as on Gradescope")


@pytest.mark.slow  # installs the engine and the student packages into a fresh environment
def test_setup_then_run_autograder_grades_with_the_installed_engine(traversable_tmp: Path) -> None:
    """In a folder every user can traverse, as Gradescope's / is."""
    tmp_path = traversable_tmp
    root = tmp_path / "autograder"
    source = root / "source"
    source.mkdir(parents=True)
    archive = tmp_path / "autograder.zip"
    build.write_zip(archive, build.gradescope_files(paths.default_problems()))
    with zipfile.ZipFile(archive) as unzipped:
        unzipped.extractall(source)
    for script in ("setup.sh", "run_autograder"):
        os.chmod(source / script, 0o755)
    venv = tmp_path / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"

    setup = subprocess.run(["bash", "setup.sh"], cwd=source, env=env, capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stderr[-2000:]
    pwd.getpwnam("autograder-worker")  # the user student code runs as

    (root / "submission").mkdir()
    (root / "submission" / SOLUTION.name).write_text(SOLUTION.read_text())  # solutions/<the course's file name>
    env["AUTOGRADER_ROOT"] = str(root)
    subprocess.run(["bash", str(source / "run_autograder")], cwd="/", env=env, check=True, timeout=120)
    raw = (root / "results" / "results.json").read_bytes()
    data = json.loads(raw)
    check_results(data, raw)
    assert data["score"] == total_points(), json.dumps(data)[:3000]
    # Graded from the compiled cache in the zip: every problem's line shows full marks (its Python checks' too).
    for problem in spec_problems():
        if not problem.graded_by_hand:
            line = re.search(rf"^- {re.escape(problem.title)}: (\S+) / (\S+) \(", data["output"], flags=re.M)
            assert line and line.group(1) == line.group(2) and float(line.group(2)) >= problem.points, data["output"]
    environment = next(t["output"] for t in data["tests"] if t["name"].startswith("Grading environment"))
    assert "separate user: autograder-worker" in environment
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import autograder; print(autograder.__file__)"],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in installed  # graded by the installed engine, not a checkout


def test_a_python_the_worker_user_cannot_read_is_reported_not_a_silent_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NumPy in a root-only folder: the worker's user could run Python but not import NumPy, and would
    fail every submission. The probe must see that and fall back (saying so), not hand it the job."""
    private_numpy = tmp_path / "site-packages" / "numpy"  # pytest's tmp_path is inside a folder of root's alone
    private_numpy.mkdir(parents=True)
    monkeypatch.setattr(sandbox, "_worker_needs", lambda: [Path(sys.executable).resolve(), private_numpy])
    isolation = sandbox.Isolation.detect("autograder-worker")
    assert isolation.user is None
    assert any("is not readable by 'autograder-worker'" in reason for reason in isolation.missing)
    monkeypatch.setattr(sandbox, "_worker_needs", lambda: [Path(sys.executable).resolve()])
    assert sandbox.Isolation.detect("autograder-worker").user is not None
