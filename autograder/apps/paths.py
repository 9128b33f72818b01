"""Where a front end finds what it was not told: only beside the engine, never in the current folder.

The current folder may be a student's, holding a ``problems/`` or a
``numpy.py`` of their own; nothing is taken from it unless it is named.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # a checkout's root, or site-packages when installed


def default_problems() -> Path:
    """The ``problems/`` beside the engine (a checkout); pass --problems for any other."""
    return PACKAGE_ROOT / "problems"


def course_left_behind(folder: Path) -> str:
    """Why a command told no ``--problems`` must not run from ``folder``: it holds a course (an assignment.yaml, or a
    problems/ of specs) other than the engine's own, which the command would grade, validate or build instead,
    silently. "" when there is none. Only looked at, never loaded: the folder may be a student's."""
    own = folder / "problems"
    holds_course = (folder / "assignment.yaml").is_file() or (own.is_dir() and any(own.glob("*/spec.yaml")))
    if not holds_course or (own.exists() and own.resolve() == default_problems().resolve()):
        return ""
    return (
        f"this folder holds a course of its own ({folder}), but without --problems the engine's own is used "
        f"({default_problems()}). Pass --problems problems to use this folder's, or run from another folder to use the engine's."
    )
