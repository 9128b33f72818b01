"""The course configuration (``assignment.yaml`` beside ``problems/``): what the front ends know of an assignment.

Nothing here reaches the engine except through arguments: the submission
names to look for (and the module names the Python checks import the
submission by), the total the points must add up to, the packages students
may import, and default limits. The engine's compiled cache only carries this
file's parse for us (:func:`cache_entry`), so that a grade never imports PyYAML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from autograder.engine.compiled import content_hash, stored_course
from autograder.sandbox.limits import Limits

CONFIG_NAME = "assignment.yaml"


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
        """The importable names students may use, e.g. ["numpy", "scipy"]."""
        names = [requirement.split(";")[0].split("=")[0].split("<")[0].split(">")[0].strip() for requirement in self.student_packages]
        return list(dict.fromkeys(name for name in names if name))

    def make_limits(self) -> Limits:
        """The configured defaults, then ``AUTOGRADER_*`` variables over them."""
        return Limits.from_environment(defaults=Limits(**self.limits))


def load(problems: Path) -> Course:
    """The configuration beside ``problems`` (its parent folder's assignment.yaml), or neutral defaults."""
    path = Path(problems).resolve().parent / CONFIG_NAME
    if not path.is_file():
        return Course()
    data = _parse(path, Path(problems))
    if not isinstance(data, dict):
        raise CourseError(f"{path}: must be a mapping of title, submission_names, total_points, student_packages, limits")
    known = set(Course._fields) - {"path"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CourseError(f"{path}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(known))}")
    limit_names = {f.name for f in fields(Limits)}
    bad = sorted(set(data.get("limits") or {}) - limit_names)
    if bad:
        raise CourseError(f"{path}: unknown limit {bad[0]!r}; allowed: {', '.join(sorted(limit_names))}")
    names = data.get("submission_names") or []
    if not names or not all(isinstance(name, str) and name for name in names):
        raise CourseError(f"{path}: submission_names must list at least one file name, e.g. [hw1.py, hw1.ipynb]")
    return Course(
        title=str(data.get("title", "Assignment")),
        submission_names=tuple(names),
        submission_max_bytes=int(data.get("submission_max_bytes", 2_000_000)),
        total_points=None if data.get("total_points") is None else float(data["total_points"]),
        student_packages=tuple(str(p) for p in data.get("student_packages") or ()),
        limits=MappingProxyType(dict(data.get("limits") or {})),
        path=path,
    )


def cache_entry(problems: Path) -> dict[str, Any] | None:
    """What ``build`` stores in the compiled cache of ``problems`` (engine/compiled.py's ``course``): the
    configuration beside them, parsed, keyed by a hash of its text. None when it cannot be read, or holds
    anything JSON would not bring back exactly (a date, a tuple, an int key): a grade then parses the file."""
    path = Path(problems).resolve().parent / CONFIG_NAME
    if not path.is_file():
        return None
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
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

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CourseError(f"{path}: cannot read the course configuration: {error}") from None


def _text_hash(text: str) -> str:
    return content_hash(text.encode("utf-8")).hexdigest()
