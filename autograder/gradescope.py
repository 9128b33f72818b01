"""Gradescope's side: find the submission, grade it, always write a valid results.json.

``run_autograder`` calls :func:`run`. The root (``/autograder`` on Gradescope)
can be moved with ``AUTOGRADER_ROOT`` so tests run this exact entry point in a
temporary folder.
"""

from __future__ import annotations

import os
import stat
import time
import traceback
from pathlib import Path

from autograder.sandbox import Sandbox

SUBMISSION_NAMES = ("ps3.py", "ps3.ipynb")
MAX_SUBMISSION_BYTES = 2_000_000
SKIPPED_FOLDERS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}


class NoSubmission(Exception):
    """The submission folder has nothing gradable; the message tells the student what to upload."""


def run(root: Path | None = None) -> dict:
    """Grade ``root/submission`` against ``root/source/problems`` into ``root/results/results.json``."""
    root = Path(root or os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    started = time.monotonic()
    sandbox = None
    try:
        _protect(root)
        submission, note = find_submission(root / "submission")
        sandbox = Sandbox(submission)
        sandbox.start()  # before the heavy imports below, so the worker loads while they do
        from autograder import results, runner

        data = results.gradescope_json(runner.grade(submission, root / "source" / "problems", sandbox=sandbox))
        data["output"] = f"{note}\n\n{data['output']}"
    except NoSubmission as problem:
        from autograder import results

        data = results.error_json(str(problem), time.monotonic() - started)
    except Exception:  # noqa: BLE001 - the student still gets a valid result, staff the traceback
        from autograder import results

        data = results.grader_failure_json(traceback.format_exc(), time.monotonic() - started)
    finally:
        if sandbox is not None:
            sandbox.stop()  # every process of the worker's user, daemons too, before the result is written
    results.write_json(root / "results" / "results.json", data)
    return data


def find_submission(folder: Path) -> tuple[Path, str]:
    """The student's ps3.py (or ps3.ipynb), at the top or in a subfolder; never through a symlink."""
    if not folder.is_dir():
        raise NoSubmission(f"No submission folder at {folder}: upload ps3.py.")
    found: dict[str, list[Path]] = {name: [] for name in SUBMISSION_NAMES}
    other_python: list[Path] = []
    for directory, subfolders, files in os.walk(folder, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_FOLDERS and not d.startswith("."))
        for name in sorted(files):
            path = Path(directory) / name
            if not stat.S_ISREG(path.lstat().st_mode):
                continue
            if name in found:
                found[name].append(path)
            elif name.endswith(".py") and not name.startswith("test_"):
                other_python.append(path)
    for name in SUBMISSION_NAMES:
        if found[name]:
            chosen = min(found[name], key=lambda p: (len(p.parts), str(p)))
            relative = chosen.relative_to(folder)
            note = f"Graded `{relative}`."
            if len(found[name]) > 1:
                others = ", ".join(f"`{p.relative_to(folder)}`" for p in found[name] if p != chosen)
                note += f" (Also found {others}; the one nearest the top was graded.)"
            return _checked(chosen), note
    if len(other_python) == 1:
        chosen = other_python[0]
        return _checked(chosen), f"No ps3.py was found, so the only Python file, `{chosen.relative_to(folder)}`, was graded. Name it ps3.py next time."
    listing = ", ".join(f"`{p.relative_to(folder)}`" for p in other_python[:10]) or "no Python files"
    raise NoSubmission(f"No ps3.py (or ps3.ipynb) was found in your submission (it has {listing}). Upload your file named ps3.py.")


def _checked(path: Path) -> Path:
    size = path.lstat().st_size
    if size > MAX_SUBMISSION_BYTES:
        raise NoSubmission(f"{path.name} is {size:,} bytes; the limit is {MAX_SUBMISSION_BYTES:,}. Upload only your code.")
    return path


def _protect(root: Path) -> None:
    """As root, make the autograder's files and the results folder root's alone.

    The worker runs as another user; with these modes it can neither read the
    specs and reference solvers nor write a results.json of its own.
    """
    if os.geteuid() != 0:
        return
    (root / "results").mkdir(parents=True, exist_ok=True)
    for folder in (root / "source", root / "results"):
        if folder.is_dir():
            folder.chmod(0o700)
    submission = root / "submission"
    if submission.is_dir():
        submission.chmod(0o700)
