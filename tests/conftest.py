"""Shared fixtures: the assignments in this repository, a Gradescope layout in a temporary folder, and the real
entry point run in it.

The tests follow the assignment: the repository's root assignment (problems/, assignment.yaml and
solutions/ at the root) is whatever course is there, and each assignments/*/ is another. Engine, sandbox
and front-end tests grade fixture assignments of their own (tests/fixtures/*); what is specific to an
assignment (its solution's full marks, its known mistakes, its totals) is parametrized over ASSIGNMENTS.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from autograder.apps.course import Course
from autograder.apps.course import load as load_course

if TYPE_CHECKING:
    from helpers import Harness

    from autograder.model import Problem, Report
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())
MAX_RESULTS_BYTES = 1_000_000
Results = dict[str, Any]  # a parsed results.json: JSON, whose values may be of any JSON type


@functools.cache
def course_config(folder: Path = REPO / "problems") -> Course:
    """The course configuration beside ``folder`` (assignment.yaml): total_points, submission_names, ..."""
    return load_course(folder)


@dataclass(frozen=True)
class Assignment:
    """One assignment: a problems/ folder, the course configuration beside it, and solutions/ holding the
    instructor's full-marks file (named as students name theirs) and mistakes/*.py (known-wrong functions)."""

    root: Path

    @property
    def name(self) -> str:
        """``root`` for the repository's own root assignment, else its folder (``assignments/lab2``)."""
        return "root" if self.root == REPO else self.root.relative_to(REPO).as_posix()

    @property
    def problems(self) -> Path:
        return self.root / "problems"

    @property
    def config(self) -> Path:
        return self.root / "assignment.yaml"

    @property
    def course(self) -> Course:
        return course_config(self.problems)

    @property
    def solution(self) -> Path:
        """solutions/<the first submission name>: what a student should have submitted."""
        return self.root / "solutions" / self.course.starter_name

    @property
    def mistakes(self) -> list[Path]:
        return sorted((self.root / "solutions" / "mistakes").glob("*.py"))

    def with_mistake(self, mistake: Path) -> str:
        """The solution with one known-wrong file's functions appended (they win)."""
        return self.solution.read_text() + "\n\n" + mistake.read_text()

    def __str__(self) -> str:  # the id of a test parametrized over assignments
        return self.name


def _assignments() -> list[Assignment]:
    """The root assignment, then each assignments/*/ holding an assignment.yaml beside a problems/ folder."""
    roots = [REPO, *sorted(config.parent for config in (REPO / "assignments").glob("*/assignment.yaml"))]
    return [Assignment(root) for root in roots if (root / "problems").is_dir()]


ASSIGNMENTS = _assignments()
ROOT_ASSIGNMENT = Assignment(REPO)
# PS3's own tests pin Problem Set 3's numbers and reference solvers: they are collected only where PS3 is the
# root assignment, recognized by its problems (not by a title another course could share).
PS3_PROBLEMS = {
    "q1": None,
    "q2a": "fc_layer_params",
    "q2b": "conv_layer_params",
    "q3a": "conv2d",
    "q3b": "conv_transpose2d",
    "q4": "downsampling_params",
}
PS3_OWN_TESTS = ["test_ps3.py", "test_references.py"]


def is_ps3(assignment: Assignment) -> bool:
    """Whether ``assignment`` is Problem Set 3: its six problem folders, each reference defining PS3's function."""
    folders = {path.name for path in assignment.problems.iterdir() if path.is_dir() and not path.name.startswith(("_", "."))}
    if folders != set(PS3_PROBLEMS):
        return False
    return all(
        function is None or f"def {function}(" in (assignment.problems / key / "reference.py").read_text()
        for key, function in PS3_PROBLEMS.items()
    )


collect_ignore = ["fixtures"]  # assignments the tests grade; their checks run only inside those gradings
if not is_ps3(ROOT_ASSIGNMENT):
    collect_ignore += PS3_OWN_TESTS


# Root-only tests (``@pytest.mark.needs_root(reason=...)``) switch users, make the worker's user or its cgroups:
# as Gradescope and CI run the grader, as root. Under an ordinary user they are deselected and named at the end of
# the run, never skipped one by one, where a skip would read as a pass; CI must run them (it runs as root).
NEEDS_ROOT = "needs_root"
_DESELECTED_FOR_ROOT = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{NEEDS_ROOT}(reason): runs as root (switches to the worker's user, as Gradescope does); deselected under an ordinary user",
    )


def _root_reason(item: pytest.Item) -> str:
    marker = item.get_closest_marker(NEEDS_ROOT)
    assert marker is not None
    return str(marker.kwargs.get("reason", "needs root"))


@pytest.hookimpl(trylast=True)  # after -m and -k, so only what would have run is named
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (and count as deselected, never skipped) what cannot run here.

    Tests marked ``ps3`` use Problem Set 3's own functions as their material: like PS3_OWN_TESTS, they are not
    collected where another course is the root assignment. Tests marked ``needs_root`` are not run by an
    ordinary user; in CI (``CI`` set) that is an error, so a CI image that lost root cannot pass them silently.
    """
    if not is_ps3(ROOT_ASSIGNMENT):
        _deselect(config, items, [item for item in items if item.get_closest_marker("ps3")])
    if os.geteuid() != 0:
        for_root = [item for item in items if item.get_closest_marker(NEEDS_ROOT)]
        if for_root and os.environ.get("CI"):
            raise pytest.UsageError(f"CI runs as root: {len(for_root)} selected tests need it ({for_root[0].nodeid}, ...)")
        config.stash[_DESELECTED_FOR_ROOT] = [f"{item.nodeid}: {_root_reason(item)}" for item in for_root]
        _deselect(config, items, for_root)


def _deselect(config: pytest.Config, items: list[pytest.Item], unwanted: list[pytest.Item]) -> None:
    if unwanted:
        config.hook.pytest_deselected(items=unwanted)
        left_out = set(unwanted)
        items[:] = [item for item in items if item not in left_out]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Name the root-only tests this run left out, so a pass here is not read as theirs."""
    left_out = config.stash.get(_DESELECTED_FOR_ROOT, [])
    if left_out:
        terminalreporter.section(f"{len(left_out)} tests deselected: they need root (CI runs them as root)")
        for line in left_out:
            terminalreporter.write_line(line)


SOLUTION = ROOT_ASSIGNMENT.solution
MISTAKES = REPO / "solutions" / "mistakes"


@functools.cache
def spec_problems(folder: Path = REPO / "problems") -> tuple[Problem, ...]:
    """The problems the specs under ``folder`` define (loaded once per folder)."""
    from autograder.engine.problemset import load

    return tuple(load(folder))


def graded_functions(folder: Path = REPO / "problems") -> set[str]:
    """Every student function the specs' cases call: what a submission is graded on."""
    return {case.function for problem in spec_problems(folder) for case in problem.cases}


def total_points(folder: Path = REPO / "problems") -> float:
    """The autograded total assignment.yaml sets (validate holds the problems to it)."""
    total = course_config(folder).total_points
    assert total is not None, "assignment.yaml sets no total_points"
    return total


def submission_with(mistake: str) -> str:
    """The root assignment's solution with one of its known-wrong files' functions appended (they win)."""
    return ROOT_ASSIGNMENT.with_mistake(MISTAKES / f"{mistake}.py")


def check_results(data: Results, raw: bytes) -> None:
    """What every results.json must be: schema-valid, bounded, scores within their maxima."""
    jsonschema.validate(data, SCHEMA)
    assert len(raw) < MAX_RESULTS_BYTES
    for test in data["tests"]:
        assert 0 <= test.get("score", 0) <= test.get("max_score", 0) + 1e-9, test["name"]


class GradescopeLayout:
    """``/autograder`` laid out as Gradescope lays it out, under a temporary root."""

    def __init__(self, root: Path, assignment: Path = REPO) -> None:
        """``assignment`` holds the problems/ and assignment.yaml to grade with (PS3's by default)."""
        self.root = root
        self.submission = root / "submission"
        self.results_file = root / "results" / "results.json"
        source = root / "source"
        source.mkdir(parents=True)
        shutil.copytree(assignment / "problems", source / "problems", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO / "run_autograder", source / "run_autograder")
        shutil.copy(assignment / "assignment.yaml", source / "assignment.yaml")
        self.submission.mkdir()
        (root / "results").mkdir()
        os.chmod(root, 0o755)

    def submit(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            path = self.submission / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)

    def run(self, timeout: float = 600) -> Results:
        """Run the real run_autograder; return the parsed, validated results.json."""
        env = dict(os.environ, AUTOGRADER_ROOT=str(self.root), AUTOGRADER_PYTHON=sys.executable)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        self.process = subprocess.run(
            ["bash", str(self.root / "source" / "run_autograder")], env=env, capture_output=True, timeout=timeout, check=False
        )
        raw = self.results_file.read_bytes()
        data: Results = json.loads(raw)
        check_results(data, raw)
        return data


@pytest.fixture
def gradescope(tmp_path: Path) -> GradescopeLayout:
    return GradescopeLayout(tmp_path / "autograder")


def scores_by_function(data: Results) -> dict[str, tuple[float, float]]:
    """(earned, possible) per student function, from a results.json."""
    totals: dict[str, list[float]] = {}
    for test in data["tests"]:
        if test.get("max_score"):
            earned = totals.setdefault((test.get("tags") or ["(untagged check)"])[0], [0.0, 0.0])
            earned[0] += test["score"]
            earned[1] += test["max_score"]
    return {name: (round(a, 4), round(b, 4)) for name, (a, b) in totals.items()}


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The attack suites' harness (tests/helpers.py): a Gradescope layout in a world-traversable folder, its run,
    and what was left behind; the worker's folders go into a TMPDIR of its own."""
    from helpers import new_harness

    with new_harness() as made:
        monkeypatch.setenv("TMPDIR", str(made.workers))
        yield made


@pytest.fixture
def traversable_tmp() -> Iterator[Path]:
    """A temporary folder every user can traverse (pytest's tmp_path is root's alone): as root, the worker's user
    and the tests' ordinary users read what a test puts here."""
    from helpers import traversable_folder

    with traversable_folder("ag-test-") as folder:
        yield folder


@contextlib.contextmanager
def sandbox_running(folder: Path, source: str, name: str = "submission.py") -> Iterator[Sandbox]:
    """A started sandbox over ``source``, written as ``folder/name``, stopped on leaving.

    It runs as this user, not the worker's: the tests that use it are about what is graded, and the
    worker's user serves one sandbox at a time on a machine (isolation.py's lock).
    """
    from autograder.sandbox.process import Sandbox

    path = folder / name
    path.write_text(source)
    with Sandbox(path, worker_user=None) as sandbox:
        yield sandbox


def graded_against_one_problem(folder: Path, spec: str, reference: str, submission: str, name: str = "submission.py") -> Report:
    """``submission``, written as ``folder/name``, graded in full against one problem: ``spec`` beside ``reference``
    in ``folder/problems/p1``. The worker runs as this user (``sandbox_running`` says why)."""
    from autograder.engine.runner import grade, load_problem_set
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox

    problems = folder / "problems"
    for file, text in (("spec.yaml", spec), ("reference.py", reference)):
        (problems / "p1").mkdir(parents=True, exist_ok=True)
        (problems / "p1" / file).write_text(text)
    folder.chmod(0o755)
    (folder / name).write_text(submission)
    return grade(CallGate.started(Sandbox(folder / name, worker_user=None)), load_problem_set(problems))


def call_gate(sandbox: Sandbox, deadline: float | None = None) -> CallGate:
    """The one call gate over ``sandbox``, as runner.grade makes it; its deadline far off unless given."""
    from autograder.sandbox.gate import CallGate

    return CallGate(sandbox, time.monotonic() + 600 if deadline is None else deadline)


# What a checkout holds besides the repository's own files (.gitignore's, and tools' caches).
NOT_THE_REPOSITORY = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.pyc",
    "*.egg-info",
    "dist",
    "build",
    "out",
    "batch_results",
    "*.log",
    "compiled.json",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
)


def copy_repository(destination: Path, root_assignment: Assignment | None = None) -> Path:
    """The repository's files copied to ``destination``, with ``root_assignment``'s problems/, solutions/ and
    assignment.yaml in place of the root's when given: what an instructor starting another course has."""
    shutil.copytree(REPO, destination, ignore=NOT_THE_REPOSITORY)
    if root_assignment is not None:
        for name in ("problems", "solutions"):
            shutil.rmtree(destination / name)
            shutil.copytree(root_assignment.root / name, destination / name, ignore=NOT_THE_REPOSITORY)
        shutil.copy(root_assignment.config, destination / "assignment.yaml")
    return destination


def write_files(folder: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> source, dedented) under ``folder``; return the folder."""
    import textwrap

    for relative, source in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return folder


def hears_ctrl_c() -> None:
    """A Popen ``preexec_fn``: Ctrl-C acts on the child even when this run inherited it ignored.

    A shell starts background jobs (``make test &``) with SIGINT ignored, and
    Python then installs no KeyboardInterrupt handler; the tests that send
    SIGINT need the child to hear it as a user's Ctrl-C would.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
