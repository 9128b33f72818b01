"""Reference solvers: ``problems/<key>/reference.py``, imported in the grader only.

A problems folder is registered as a uniquely named package, so references
can import each other (``from ..q2a.reference import fc_layer_params``)
without a generic name like ``problems`` ever reaching ``sys.path``.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
import types
from pathlib import Path
from typing import Any

from autograder.engine.errors import SpecError


def problems_package(folder: Path) -> str:
    """The package name under which the references of ``folder`` are imported."""
    name = f"_autograder_problems_{abs(hash(str(folder.resolve()))):x}"
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(folder.resolve())]
        sys.modules[name] = package
    return name


def reference_module(problem_folder: Path) -> types.ModuleType | None:
    """``problem_folder/reference.py`` imported, or None when there is none."""
    if not (problem_folder / "reference.py").is_file():
        return None
    package = problems_package(problem_folder.parent)
    try:
        return importlib.import_module(f"{package}.{problem_folder.name}.reference")
    except Exception as error:  # noqa: BLE001 - report any failure of the instructor's file
        path, line = _where_it_failed(error, problem_folder)
        own = problem_folder / "reference.py"
        through = "" if path.resolve() == own.resolve() else f" (importing {problem_folder.name}/reference.py, which imports it)"
        raise SpecError(path, line, f"cannot import: {type(error).__name__}: {error}{through}") from None


def _where_it_failed(error: Exception, problem_folder: Path) -> tuple[Path, int]:
    """The file and line of the problems folder where importing a reference failed: a syntax error's own, else the
    innermost frame in that folder (the reference, or another problem's it imports), else line 1 of the reference."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return Path(error.filename), error.lineno
    folder = str(problem_folder.parent.resolve())
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.lineno and os.path.realpath(frame.filename).startswith(folder + os.sep):
            return Path(frame.filename), frame.lineno
    return problem_folder / "reference.py", 1


def copies(values: Any) -> Any:
    """Fresh copies, so a solver that mutates its inputs cannot change a case."""
    import numpy as np

    if isinstance(values, dict):
        return {k: copies(v) for k, v in values.items()}
    if isinstance(values, (list, tuple)):
        return type(values)(copies(v) for v in values)
    if isinstance(values, np.ndarray):
        return values.copy()
    return values
