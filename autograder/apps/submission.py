"""Finding the file to grade in what a student uploaded, as Gradescope and batch both do."""

from __future__ import annotations

import os
import stat
from pathlib import Path

SUBMISSION_NAMES = ("ps3.py", "ps3.ipynb")
MAX_SUBMISSION_BYTES = 2_000_000
IGNORED_NAMES = frozenset({"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"})


class NoSubmission(Exception):
    """The submission folder has nothing gradable; the message tells the student what to upload."""


def find_submission(folder: Path) -> tuple[Path, str]:
    """The student's ps3.py (or ps3.ipynb), at the top or in a subfolder; never through a symlink."""
    if not folder.is_dir():
        raise NoSubmission(f"No submission folder at {folder}: upload ps3.py.")
    found: dict[str, list[Path]] = {name: [] for name in SUBMISSION_NAMES}
    other_python: list[Path] = []
    for directory, subfolders, files in os.walk(folder, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if d not in IGNORED_NAMES and not d.startswith("."))
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
