"""Finding the file to grade in what a student uploaded, as Gradescope, grade, check and batch all do."""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

from autograder.apps.course import Course, load
from autograder.apps.paths import default_problems

IGNORED_NAMES = frozenset({"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"})


class NoSubmission(Exception):
    """The submission folder has nothing gradable; the message tells the student what to upload."""


@functools.cache
def default_course() -> Course:
    """The configuration beside the engine's own problems/ (a checkout), for callers that name none."""
    return load(default_problems())


def find_submission(folder: Path, course: Course | None = None) -> tuple[Path, str]:
    """The student's file (the course's submission names, in order), at the top or in a subfolder; never through a symlink."""
    course = course or default_course()
    wanted, names = course.starter_name, course.submission_names
    if not folder.is_dir():
        raise NoSubmission(f"No submission folder at {folder}: upload {wanted}.")
    found: dict[str, list[Path]] = {name: [] for name in names}
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
    for name in names:
        if found[name]:
            chosen = min(found[name], key=lambda p: (len(p.parts), str(p)))
            relative = chosen.relative_to(folder)
            note = f"Graded `{relative}`."
            if len(found[name]) > 1:
                others = ", ".join(f"`{p.relative_to(folder)}`" for p in found[name] if p != chosen)
                note += f" (Also found {others}; the one nearest the top was graded.)"
            return checked(chosen, course), note
    if len(other_python) == 1:
        chosen = other_python[0]
        return checked(chosen, course), (f"No {wanted} was found, so the only Python file, `{chosen.relative_to(folder)}`, "
                                         f"was graded. Name it {wanted} next time.")
    listing = ", ".join(f"`{p.relative_to(folder)}`" for p in other_python[:10]) or "no Python files"
    raise NoSubmission(f"No {' (or '.join(names)}{')' * (len(names) - 1)} was found in your submission (it has {listing}). "
                       f"Upload your file named {wanted}.")


def checked(path: Path, course: Course | None = None) -> Path:
    """``path`` if it is small enough to be code, else NoSubmission saying so."""
    limit = (course or default_course()).submission_max_bytes
    size = path.lstat().st_size
    if size > limit:
        raise NoSubmission(f"{path.name} is {size:,} bytes; the limit is {limit:,}. Upload only your code.")
    return path
