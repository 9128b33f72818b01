"""The course configuration (``assignment.yaml`` beside ``problems/``): what the front ends know of an assignment.

Nothing here reaches the engine except through arguments: the submission
names to look for (and the module names the Python checks import the
submission by), the total the points must add up to, the packages students
may import, and default limits. The engine's compiled cache only carries this
file's parse for us (:func:`cache_entry`), so that a grade never imports PyYAML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, NoReturn

from autograder.engine.compiled import content_hash, stored_course
from autograder.sandbox.importable import requirement_name
from autograder.sandbox.limits import Limits, limit_problem

CONFIG_NAME = "assignment.yaml"
LOADABLE_SUFFIXES = (".py", ".ipynb")  # what the worker loads: a module, or a notebook converted to one


class CourseError(Exception):
    """The course configuration cannot be used; the message names the file and what to fix."""


class Course(NamedTuple):  # a NamedTuple: a frozen dataclass compiles six methods at every grade's import (~1 ms)
    """A course's configuration (assignment.yaml), as :func:`load` reads it; neutral defaults without one."""

    title: str = "Assignment"
    submission_names: tuple[str, ...] = ("submission.py", "submission.ipynb")
    submission_max_bytes: int = 2_000_000
    total_points: float | None = None
    student_packages: tuple[str, ...] = ()
    limits: Mapping[str, Any] = MappingProxyType({})  # read-only: the default is shared by every Course
    path: Path | None = None
    problems: Path | None = None  # the problems folder it was loaded for: never readable by a student's code

    @property
    def private_folders(self) -> list[Path]:
        """What the worker may never read, wherever it lies (Sandbox's ``hidden``): the folder holding the problems,
        so its specs, references and cache, the solutions beside them, the git history of both, a built kit..."""
        return [self.problems.resolve().parent] if self.problems is not None else []

    @property
    def starter_name(self) -> str:
        return self.submission_names[0]

    @property
    def module_names(self) -> tuple[str, ...]:
        """The names the course's Python checks may import the submission by: the stems of the submission
        names that can be module names (``lab2`` for lab2.py and lab2.ipynb), whatever the upload is called."""
        stems = (Path(name).stem for name in self.submission_names)
        return tuple(dict.fromkeys(stem for stem in stems if stem.isidentifier()))

    @property
    def package_names(self) -> list[str]:
        """The distributions students may use, as pip names them, e.g. ["numpy", "scipy"] (their import names may
        differ: ``scikit-learn`` is imported as ``sklearn``)."""
        return list(dict.fromkeys(name for name in map(requirement_name, self.student_packages) if name))

    def make_limits(self) -> Limits:
        """The configured defaults, then ``AUTOGRADER_*`` variables over them."""
        return Limits.from_environment(defaults=Limits(**self.limits))


# What assignment.yaml may set: every field but where the course was read from.
CONFIG_KEYS = tuple(name for name in Course._fields if name not in ("path", "problems"))


def load(problems: Path) -> Course:
    """The configuration beside ``problems`` (its parent folder's assignment.yaml), or neutral defaults."""
    path = Path(problems).resolve().parent / CONFIG_NAME
    if not path.is_file():
        return Course(problems=Path(problems))
    data = _parse(path, Path(problems))
    if not isinstance(data, dict):
        raise CourseError(
            f"{path}: must be a mapping of title, submission_names, submission_max_bytes, total_points, student_packages, limits"
        )

    def refuse(message: str, *keys: str) -> NoReturn:
        raise CourseError(f"{path}{_line(path, keys)}: {message}")

    known = set(CONFIG_KEYS)
    unknown = sorted(set(data) - known)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        refuse(f"unknown key {unknown[0]!r}; {hint}allowed: {', '.join(sorted(known))}", unknown[0])
    limits = data.get("limits") or {}
    if not isinstance(limits, dict):
        refuse("limits must be a mapping of limit names to values, e.g. {call_timeout: 5}", "limits")
    limit_names = {f.name for f in fields(Limits)}
    for name, value in limits.items():
        if name not in limit_names:
            refuse(f"unknown limit {name!r}; allowed: {', '.join(sorted(limit_names))}", "limits", name)
        if wrong := limit_problem(name, value):
            refuse(f"limit {name} {wrong}", "limits", name)
    names = data.get("submission_names") or []
    if not isinstance(names, list) or not names or not all(_plain_file_name(name) for name in names):
        refuse("submission_names must list at least one plain file name (no folder), e.g. [hw1.py, hw1.ipynb]", "submission_names")
    if unloadable := [name for name in names if Path(name).suffix.lower() not in LOADABLE_SUFFIXES]:
        refuse(
            f"submission_names: {', '.join(map(repr, unloadable))} {'is' if len(unloadable) == 1 else 'are'} neither a Python "
            "file (.py) nor a notebook (.ipynb), the two kinds of file the grader can load; e.g. [hw1.py, hw1.ipynb]",
            "submission_names",
        )
    max_bytes = data.get("submission_max_bytes", 2_000_000)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        refuse(f"submission_max_bytes must be a whole number of bytes, at least 1, not {max_bytes!r}", "submission_max_bytes")
    total = data.get("total_points")
    if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float)) or not 0 < total < math.inf):
        refuse(f"total_points must be a number more than 0, not {total!r}", "total_points")
    packages = data.get("student_packages") or []
    if not isinstance(packages, list) or not all(isinstance(package, str) for package in packages):
        refuse("student_packages must list pip requirements, e.g. ['numpy==2.2.6']", "student_packages")
    return Course(
        title=str(data.get("title", "Assignment")),
        submission_names=tuple(names),
        submission_max_bytes=max_bytes,
        total_points=None if total is None else float(total),
        student_packages=tuple(packages),
        limits=MappingProxyType(dict(limits)),
        path=path,
        problems=Path(problems),
    )


def _plain_file_name(name: object) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def _line(path: Path, keys: tuple[str, ...]) -> str:
    """``:line`` of the entry ``keys`` names in the YAML at ``path``, to put after its name; "" when it cannot be found.

    Only for an error: a grade reads the file's parse from the compiled cache, which keeps no lines.
    """
    import yaml

    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
        for key in keys:
            node = next(value for name, value in node.value if name.value == key)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, StopIteration, AttributeError, TypeError):
        return ""
    return f":{node.start_mark.line + 1}" if node is not None else ""


def cache_entry(problems: Path) -> dict[str, Any] | None:
    """What ``build`` stores in the compiled cache of ``problems`` (engine/compiled.py's ``course``): the
    configuration beside them, parsed, keyed by a hash of its text. None when it cannot be read, or holds
    anything JSON would not bring back exactly (a date, a tuple, an int key): a grade then parses the file."""
    path = Path(problems).resolve().parent / CONFIG_NAME
    if not path.is_file():
        return None
    import yaml

    from autograder.engine.specs import yaml_12_loader

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=yaml_12_loader())
        exact = json.loads(json.dumps(data, allow_nan=False)) == data
    except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError, ValueError):
        return None  # the grade then reads the file itself, and reports what is wrong with it
    return {"blake2b": _text_hash(text), "data": data} if exact else None


def _parse(path: Path, problems: Path) -> Any:
    """The file's YAML: as the compiled cache beside the problems stored it, when it holds this very text
    (so a grade never imports PyYAML, which costs more than the rest of this module); else parsed here."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path}: cannot read the course configuration: {error}") from None
    stored = stored_course(problems)
    if isinstance(stored, dict) and stored.get("blake2b") == _text_hash(text) and "data" in stored:
        return stored["data"]
    import yaml

    from autograder.engine.specs import yaml_12_loader, yaml_problem

    try:
        return yaml.load(text, Loader=yaml_12_loader())
    except yaml.YAMLError as error:
        line, problem = yaml_problem(error)
        raise CourseError(f"{path}:{line}: {problem}") from None


def _text_hash(text: str) -> str:
    return content_hash(text.encode("utf-8")).hexdigest()
