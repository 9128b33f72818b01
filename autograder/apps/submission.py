"""Finding the file to grade in what a student uploaded, as Gradescope, grade, check and batch all do.

The names of the student's files and folders are student text: the notes and
messages here are ``text.Message`` objects, which keep them apart from the
grader's words until a renderer escapes them.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

from autograder.apps.course import LOADABLE_SUFFIXES, Course, load
from autograder.apps.paths import default_problems
from autograder.text import Message, StudentText, Text, Trusted

IGNORED_NAMES = frozenset({"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"})
MAX_FOLDER_DEPTH = 32  # folders below the submission's looked into: a student's file is never deeper


class NoSubmission(Exception):
    """The submission folder has nothing gradable; ``message`` tells the student what to upload (its ``str``: for a terminal)."""

    def __init__(self, message: Text) -> None:
        super().__init__(message)
        self.message = message


@functools.cache
def default_course() -> Course:
    """The configuration beside the engine's own problems/ (a checkout), for callers that name none."""
    return load(default_problems())


def find_submission(folder: Path, course: Course | None = None) -> tuple[Path, Message]:
    """The student's file (the course's submission names, in order), at the top or in a subfolder; never through a symlink."""
    course = course or default_course()
    wanted, names = course.starter_name, course.submission_names
    if not folder.is_dir():
        raise NoSubmission(Message(Trusted("No submission folder at "), StudentText(str(folder)), Trusted(f": upload {wanted}.")))
    found: dict[str, list[Path]] = {name: [] for name in names}
    by_case = {name.lower(): name for name in names}  # PS3.PY and Ps3.py are ps3.py: Windows and phones keep whatever case was typed
    other_python: list[Path] = []
    links: list[Path] = []  # what would have been graded, were it not a symbolic link
    linked_folders: list[Path] = []  # what would have been looked into, were it not a symbolic link
    archives: list[Path] = []  # zips: a TA's folder may hold the upload as it was downloaded
    for directory, subfolders, files in os.walk(folder, followlinks=False):
        deep = len(Path(directory).relative_to(folder).parts) >= MAX_FOLDER_DEPTH  # os.walk recurses: 1,000 levels end it
        subfolders[:] = [] if deep else sorted(d for d in subfolders if d not in IGNORED_NAMES and not d.startswith("."))
        linked_folders += [Path(directory) / name for name in subfolders if (Path(directory) / name).is_symlink()]  # never entered
        for name in sorted(files):
            path = Path(directory) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode) and (name.lower() in by_case or name.lower().endswith(".py")):
                links.append(path)
            if not stat.S_ISREG(mode):
                continue
            if name.lower().endswith(".zip"):
                archives.append(path)
            if name.lower() in by_case:
                found[by_case[name.lower()]].append(path)
            elif name.lower().endswith(".py") and not name.lower().startswith("test_"):
                other_python.append(path)
    for name in names:
        if found[name]:
            chosen = min(found[name], key=lambda p: (len(p.parts), str(p)))
            others = [p for p in found[name] if p != chosen]
            also = (
                (Trusted(" (Also found "), *_listing(others, folder), Trusted("; the one nearest the top was graded.)")) if others else ()
            )
            return checked(chosen, course), Message(Trusted("Graded "), *_listing([chosen], folder), Trusted("."), *also)
    if len(other_python) == 1:
        return checked(other_python[0], course), Message(
            Trusted(f"No {wanted} was found, so the only Python file, "),
            *_listing(other_python, folder),
            Trusted(f", was graded. Name it {wanted} next time."),
        )
    if (links or linked_folders) and not other_python:
        checked([*links, *linked_folders][0], course)  # raises, saying why a link is not graded: a file's first
    has = _listing(other_python[:10], folder) or (
        (Trusted("no Python files, only "), *_listing(archives[:3], folder), Trusted(": unzip it, or upload the file itself"))
        if archives
        else (Trusted("no Python files"),)
    )
    raise NoSubmission(
        Message(
            Trusted(f"No {' (or '.join(names)}{')' * (len(names) - 1)} was found in your submission (it has "),
            *has,
            Trusted(f"). Upload your file named {wanted}."),
        )
    )


def _listing(paths: list[Path], folder: Path) -> tuple[Trusted | StudentText, ...]:
    """The paths relative to ``folder``, as student text, separated by commas."""
    parts: list[Trusted | StudentText] = []
    for path in paths:
        parts += [Trusted(", ")] if parts else []
        parts.append(StudentText(str(path.relative_to(folder))))
    return tuple(parts)


def checked(path: Path, course: Course | None = None) -> Path:
    """``path`` if it is a file of its own small enough to be code, else NoSubmission saying why not.

    Never a symbolic link, whoever names it (Gradescope's folder, batch, a TA's ``grade FILE``): a student's zip
    unpacks its links as they are, and one may point at any file the grading user can read, a course's
    reference.py included (it would score full marks), or /etc/shadow as root.
    """
    if path.is_symlink():
        raise NoSubmission(
            Message(
                StudentText(path.name),
                Trusted(
                    " is a symbolic link, which is not graded (it could point at any file of the grading machine): upload the file itself."
                ),
            )
        )
    limit = (course or default_course()).submission_max_bytes
    size = path.lstat().st_size
    if size > limit:
        raise NoSubmission(Message(StudentText(path.name), Trusted(f" is {size:,} bytes; the limit is {limit:,}. Upload only your code.")))
    return path


def named_file(path: Path, course: Course, instead: str) -> Path:
    """A file named on the command line (``grade FILE``, ``check FILE``): :func:`checked`, and code the worker can
    load. Gradescope's folder is searched by name instead, and a file found there is graded whatever its suffix;
    named here, a zip or a text file was read as Python: 670 syntax errors and a 0 (adopter). ``instead`` says
    what to do."""
    if path.suffix.lower() not in LOADABLE_SUFFIXES:
        raise NoSubmission(Message(StudentText(path.name), Trusted(f" is not a Python file (.py) or a notebook (.ipynb): {instead}")))
    return checked(path, course)
