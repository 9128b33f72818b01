"""The README's quick start on a fresh machine: `make grade` as root needs the worker's user, which
only setup.sh makes on Gradescope; `make worker-user` makes it the same way, and only when needed.

The real `useradd` would change this machine, so `id` and `useradd` are stand-ins on PATH that
answer as a fresh machine would and record what they were asked.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from autograder.sandbox.isolation import DEFAULT_WORKER_USER

REPO = Path(__file__).resolve().parent.parent


def _make_worker_user(tmp_path: Path, uid: int, user_exists: bool) -> list[str]:
    """Run `make worker-user` as if its user were ``uid``; the arguments `useradd` was called with, if it was."""
    bin_folder, calls = tmp_path / "bin", tmp_path / "useradd-calls"
    bin_folder.mkdir()
    (bin_folder / "id").write_text(f'#!/bin/sh\n[ "$1" = -u ] && {{ echo {uid}; exit 0; }}\nexit {0 if user_exists else 1}\n')
    (bin_folder / "useradd").write_text(f'#!/bin/sh\necho "$@" >> {shlex.quote(str(calls))}\n')
    for stand_in in bin_folder.iterdir():
        stand_in.chmod(0o755)
    environment = {**os.environ, "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["make", "--no-print-directory", "-C", str(REPO), "worker-user"], env=environment, check=True, capture_output=True)
    return calls.read_text().split() if calls.exists() else []


def test_as_root_on_a_fresh_machine_the_worker_user_is_made_as_setup_sh_makes_it(tmp_path: Path) -> None:
    setup_call = re.search(r"^\s*useradd (.*)$", (REPO / "setup.sh").read_text(), re.MULTILINE)
    assert setup_call is not None
    made = _make_worker_user(tmp_path, uid=0, user_exists=False)
    assert made == shlex.split(setup_call.group(1)) and made[-1] == DEFAULT_WORKER_USER


@pytest.mark.parametrize(("uid", "user_exists"), [(0, True), (1000, False)], ids=["root, user already made", "an ordinary user"])
def test_nothing_is_made_when_the_user_exists_or_make_is_not_root(tmp_path: Path, uid: int, user_exists: bool) -> None:
    assert _make_worker_user(tmp_path, uid, user_exists) == []
