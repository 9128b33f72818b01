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


def holds_another_course(folder: Path) -> bool:
    """Whether ``folder`` holds a course (an assignment.yaml, or a problems/ of specs) other than the engine's own,
    which a command told no ``--problems`` passes over. Only looked at, never loaded: it may be a student's folder."""
    own = folder / "problems"
    holds_course = (folder / "assignment.yaml").is_file() or (own.is_dir() and any(own.glob("*/spec.yaml")))
    return holds_course and not (own.exists() and own.resolve() == default_problems().resolve())
