"""results.json's execution_time is the whole run: from the process's start (the kernel's stamp) to the write."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SOLUTION, GradescopeLayout

STALL = 1.5  # seconds that a slow start-up spends before the engine's first line runs


@pytest.fixture
def slow_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Python started from here first sleeps, as on an image whose disk is cold: site runs sitecustomize first."""
    stall = tmp_path / "stall"
    stall.mkdir()
    (stall / "sitecustomize.py").write_text(f"import time\ntime.sleep({STALL})\n")
    monkeypatch.setenv("PYTHONPATH", str(stall))


def test_gradescope_counts_the_start_up(slow_start: None, tmp_path: Path) -> None:
    layout = GradescopeLayout(tmp_path / "autograder")
    layout.submit({SOLUTION.name: SOLUTION.read_text()})
    assert layout.run()["execution_time"] >= STALL


def test_grade_json_counts_the_start_up(slow_start: None, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env_path = f"{REPO}:{tmp_path / 'stall'}"
    subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(SOLUTION), "--json", str(out)],
        cwd=tmp_path,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
        timeout=300,
    )
    assert json.loads(out.read_text())["execution_time"] >= STALL
