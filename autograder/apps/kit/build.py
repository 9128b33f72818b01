"""``build``: ``autograder.zip`` for Gradescope and ``student_kit.zip`` for students, only from specs that validate.

The student kit holds the engine, ``cases.json`` (the visible cases), a
starter file and its README.md, the student guide written for this course
(guide.py); no spec, no reference solver, no hidden case.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

from autograder.apps.course import load
from autograder.apps.kit.cases import KIT_CASES, KIT_FOLDER, KitError, from_specs, to_document
from autograder.apps.kit.guide import engine_requirements, kit_requirements, student_guide
from autograder.apps.kit.starter import check_starter, starter_source, student_functions
from autograder.apps.kit.validate import Validation, print_findings, solvers, total_of, validate
from autograder.apps.paths import PACKAGE_ROOT, default_problems
from autograder.output.files import write_atomic

ENGINE_SUFFIXES = (".py",)  # what pyproject.toml packages from autograder/


GRADESCOPE_FILES = ("setup.sh", "run_autograder", "pyproject.toml", "constraints.txt")


ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same sources always build the same bytes


def build_command(arguments: argparse.Namespace) -> int:
    """Validate (all but mutation adequacy: `validate` warns of missing cases), then write both zips; with any
    error, write nothing."""
    folder = Path(arguments.problems or default_problems())
    total, total_from = total_of(arguments, folder)
    found = validate(folder, total, mutants=False, total_from=total_from)
    print_findings(found.errors, found.warnings)
    if found.errors:
        print("Nothing was built: fix the errors above (python -m autograder validate lists them).", file=sys.stderr)
        return 1
    problems = found.problems
    archives = {"autograder.zip": gradescope_files(folder), "student_kit.zip": student_kit_files(folder, found)}
    out = arguments.out or folder.resolve().parent / "dist"
    out.mkdir(parents=True, exist_ok=True)
    for name, files in archives.items():
        write_zip(out / name, files)
    hidden = sum(case.hidden for problem in problems for case in problem.cases)
    print(f"wrote {out / 'autograder.zip'}: upload it in Gradescope (Configure Autograder, zip file upload)")
    print(f"wrote {out / 'student_kit.zip'}: give it to students (visible cases only; {hidden} hidden cases left out)")
    return 0


def gradescope_files(folder: Path) -> dict[str, Path | bytes]:
    """setup.sh and run_autograder at the root, with what they need: pyproject.toml, autograder/, problems/
    and the course configuration beside them.

    problems/ also gets the compiled cache, so each grade skips loading the specs.
    """
    from autograder.apps.course import CONFIG_NAME, cache_entry
    from autograder.engine import problemset
    from autograder.engine.compiled import CACHE_NAME, cache_bytes

    files: dict[str, Path | bytes] = {}
    for name in GRADESCOPE_FILES:
        if not (PACKAGE_ROOT / name).is_file():
            raise KitError(
                f"{PACKAGE_ROOT / name} is missing; the Gradescope zip needs it. build packs the engine from a copy of its "
                "repository (setup.sh, run_autograder, pyproject.toml beside autograder/), which an engine installed with "
                "pip does not keep: run build from a clone of the repository (its .venv/bin/python -m autograder build "
                "--problems <your course>/problems)"
            )
        files[name] = PACKAGE_ROOT / name
    files.update(_tree(PACKAGE_ROOT / "autograder", "autograder/", ENGINE_SUFFIXES))
    files.update(_tree(folder, "problems/"))
    files[f"problems/{CACHE_NAME}"] = cache_bytes(folder, problemset.load(folder, use_cache=False), cache_entry(folder))
    config = load(folder).path
    if config is not None:
        files[CONFIG_NAME] = config
    return files


def student_kit_files(folder: Path, found: Validation) -> dict[str, Path | bytes]:
    """The engine, cases.json, the starter file and the README written for this course, under one folder.

    ``found`` is what validate found in ``folder``: the problems, and the Python checks, whose points the
    kit reports (the checks themselves are not in it)."""
    course = load(folder)
    problems = found.problems
    cases = from_specs(problems, KIT_CASES, course, found.checks)
    starter = starter_source(problems, solvers(folder), course, found.checked_functions)
    check_starter(starter, set(student_functions(problems, found.checked_functions)), course.starter_name)
    requirements = kit_requirements(course, engine_requirements(PACKAGE_ROOT / "pyproject.toml"))
    files: dict[str, Path | bytes] = {
        f"{KIT_FOLDER}/README.md": student_guide(cases, problems, requirements, found.checked_functions).encode(),
        f"{KIT_FOLDER}/{course.starter_name}": starter_file(starter, course.starter_name),
        f"{KIT_FOLDER}/{KIT_CASES}": (json.dumps(to_document(cases), indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode(),
    }
    files.update(_tree(PACKAGE_ROOT / "autograder", f"{KIT_FOLDER}/autograder/", ENGINE_SUFFIXES))
    return files


def starter_file(source: str, name: str) -> bytes:
    """The starter's bytes: the source itself, or for a course whose first submission name is a notebook, a
    notebook (nbformat 4) holding it as one code cell, which Jupyter opens and ``check`` reads."""
    if not name.lower().endswith(".ipynb"):
        return source.encode()
    cell: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "id": "starter",  # nbformat 4.5 gives every cell an id
        "metadata": {},
        "outputs": [],
        "source": source.splitlines(keepends=True),
    }
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode()


def _tree(root: Path, prefix: str, suffixes: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Files under ``root`` by their name in the zip; no caches, no hidden files."""
    files = {}
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or any(p.startswith(".") or p == "__pycache__" for p in parts) or path.suffix == ".pyc":
            continue
        if suffixes is None or path.suffix in suffixes:
            files[prefix + "/".join(parts)] = path
    return files


def write_zip(path: Path, files: dict[str, Path | bytes]) -> None:
    """A reproducible zip (sorted names, fixed times, executable bits kept), renamed into place when complete."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            content = files[name]
            executable = isinstance(content, Path) and os.access(content, os.X_OK)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            archive.writestr(info, content.read_bytes() if isinstance(content, Path) else content)
    write_atomic(path, buffer.getvalue())
