"""The course configuration (``assignment.yaml`` beside ``problems/``): what the front ends know of an assignment.

Nothing here reaches the engine except through arguments: the submission
names to look for, the total the points must add up to, the packages students
may import, and default limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from autograder.engine.compiled import COURSE_NAME, stored_course
from autograder.sandbox.limits import Limits

CONFIG_NAME = COURSE_NAME  # named in engine/compiled.py, which stores the file's parse in the problems' cache


class CourseError(Exception):
    """The course configuration cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class Course:
    title: str = "Assignment"
    submission_names: tuple[str, ...] = ("submission.py", "submission.ipynb")
    submission_max_bytes: int = 2_000_000
    total_points: float | None = None
    student_packages: tuple[str, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def starter_name(self) -> str:
        return self.submission_names[0]

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
    known = {f.name for f in fields(Course)} - {"path"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CourseError(f"{path}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(known))}")
    limit_names = {f.name for f in fields(Limits)}
    bad = sorted(set(data.get("limits") or {}) - limit_names)
    if bad:
        raise CourseError(f"{path}: unknown limit {bad[0]!r}; allowed: {', '.join(sorted(limit_names))}")
    names = data.get("submission_names") or []
    if not names or not all(isinstance(name, str) and name for name in names):
        raise CourseError(f"{path}: submission_names must list at least one file name, e.g. [ps3.py, ps3.ipynb]")
    return Course(
        title=str(data.get("title", "Assignment")),
        submission_names=tuple(names),
        submission_max_bytes=int(data.get("submission_max_bytes", 2_000_000)),
        total_points=None if data.get("total_points") is None else float(data["total_points"]),
        student_packages=tuple(str(p) for p in data.get("student_packages") or ()),
        limits=dict(data.get("limits") or {}),
        path=path,
    )


def _parse(path: Path, problems: Path) -> Any:
    """The file's YAML: as the compiled cache beside the problems stored it, when it holds this very text
    (so a grade never imports PyYAML, which costs more than the rest of this module); else parsed here."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path}: cannot read the course configuration: {error}") from None
    stored = stored_course(problems, text)
    if stored is not None:
        return stored
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CourseError(f"{path}: cannot read the course configuration: {error}") from None
