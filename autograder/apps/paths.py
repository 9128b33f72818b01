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
