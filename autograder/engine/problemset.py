"""Load a problem set: the compiled cache when it still matches the specs, else the specs themselves.

The one way every front end gets its problems, with their points assigned.
"""

from __future__ import annotations

from pathlib import Path

from autograder.engine.compiled import fingerprint, load_cache
from autograder.engine.scoring import assign_max_scores
from autograder.model import Problem


def load(folder: Path, use_cache: bool = True) -> list[Problem]:
    """Every problem under ``folder``, cases numbered and points assigned. Raises SpecError."""
    return load_with_fingerprint(folder, use_cache)[0]


def load_with_fingerprint(folder: Path, use_cache: bool = True) -> tuple[list[Problem], str]:
    """The problems and the fingerprint of what decides their grades, computed once for both."""
    stamp = fingerprint(Path(folder))
    problems = load_cache(Path(folder), stamp) if use_cache else None
    if not problems:
        from autograder.engine.specs import load_specs  # PyYAML, difflib, the references: only when the cache cannot stand in

        problems = load_specs(Path(folder))
    for problem in problems:
        assign_max_scores(problem)
    return problems, stamp


def find_checks(problems_dir: Path) -> list[Path]:
    """The check files, ``problems/*/test_*.py`` (engine/checks.py runs them).

    It only lists files, so that grading a problem set without checks never
    pays for importing pytest, or even engine/checks.py.
    """
    return sorted(path for path in Path(problems_dir).glob("*/test_*.py") if path.is_file())
