"""Custom checks written in Python: ``problems/<key>/test_*.py``, run by pytest in the grader.

A check is an ordinary pytest test (or a gradescope-utils ``unittest`` test)
that reaches the submission only through the ``student`` fixture, which calls
its functions in the sandboxed worker::

    @pytest.mark.weight(2)
    def test_keeps_shape(student):
        assert student.conv2d(np.ones((5, 5)), np.ones((3, 3))).shape == (3, 3)

Points, visibility, number and tags come from markers (``@pytest.mark.weight(2)``)
or from gradescope-utils' decorators (``@weight(2)``, ``@partial_credit(2)``...),
so a suite written for gradescope-utils keeps its meaning. Two of that
runner's faults are not kept: a skipped or errored check still counts its
points (as lost), and a partial score never carries over to the next run.

Only the check files themselves are collected: never a conftest.py, an ini
file, an installed plugin, or anything in the submission's folder.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from autograder.sandbox import Sandbox

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
MARKERS = (
    "weight(points): the points this check is worth (gradescope-utils: @weight, @partial_credit)",
    "visibility(when): hidden, after_due_date, after_published or visible (gradescope-utils: @visibility)",
    "number(text): Gradescope's test number, which orders the tests (gradescope-utils: @number)",
    "tags(*names): Gradescope tags (gradescope-utils: @tags)",
)
MAX_OUTPUT_CHARS = 3000

# pytest keeps process-wide state (sys.modules, import hooks, sys.stdout while
# capturing), so batch grading's threads take turns to run their checks.
_ONE_SESSION_AT_A_TIME = threading.Lock()


class StudentError(Exception):
    """A call of a student's function that gave no value: it raised, hung, or crashed.

    ``kind`` is the sandbox's outcome (raised, timeout, crashed, broken);
    ``type`` is the exception's class name when it raised, else "".
    """

    def __init__(self, function: str, kind: str, type_name: str, message: str) -> None:
        self.function, self.kind, self.type, self.message = function, kind, type_name, message
        what = f"raised {type_name}: {message}" if kind == "raised" else message
        super().__init__(f"{function} {what}")


class CheckError(Exception):
    """The problems' own check files are broken (they do not import, or a marker is wrong)."""


@dataclass
class CheckResult:
    """One check's verdict, ready for results.json."""

    problem: str
    name: str
    number: str
    score: float
    max_score: float
    passed: bool
    output: str = ""
    visibility: str = "visible"
    tags: list[str] = field(default_factory=list)


def find_checks(problems_dir: Path) -> list[Path]:
    """The check files, ``problems/*/test_*.py``.

    It only lists files, so that grading a problem set without checks never
    pays for importing pytest.
    """
    return sorted(path for path in Path(problems_dir).glob("*/test_*.py") if path.is_file())


def run_checks(files: list[Path], sandbox: Sandbox, problem_titles: dict[str, str],
               deadline: float | None = None) -> list[CheckResult]:
    """Run the check ``files`` in one pytest session; one result per test, in the order run.

    ``problem_titles`` maps a problem's folder name to its title. After
    ``deadline`` (a ``time.monotonic()`` value) the student's functions are no
    longer called. Raises CheckError when the checks themselves are broken.
    """
    if not files:
        return []
    import pytest

    from autograder.runner import MAX_TIMEOUTS_PER_FUNCTION  # here, not at the top: runner imports this module

    files = [Path(path).resolve() for path in files]
    root = Path(os.path.commonpath([path.parent.parent for path in files]))
    plugin = _plugin(Student(sandbox, MAX_TIMEOUTS_PER_FUNCTION, deadline), problem_titles, root)
    arguments = [
        *map(str, files),
        "--rootdir", str(root),
        "-c", os.devnull,            # no ini file: not the grader's, not one in the current folder
        "--noconftest",              # the fixture comes from the plugin; no conftest.py anywhere is loaded
        "--import-mode=importlib",   # sys.path stays as it is; test_x.py may exist in two problems
        "--capture=sys",             # not fd: that would also swallow other threads' output
        "--strict-markers",          # a misspelt @pytest.mark.wieght must not silently make a check free
        "-p", "no:cacheprovider",
        "-q", "--tb=short",
    ]
    with _ONE_SESSION_AT_A_TIME, _isolated(problem_folders={path.parent.name for path in files}) as printed:
        exit_code = pytest.main(arguments, plugins=[plugin])
    if plugin.interrupted:
        raise KeyboardInterrupt
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise CheckError(f"The problems' checks could not be run (pytest exit code {int(exit_code)}):\n"
                         + _clip(_without_grader_paths(printed.getvalue(), root)))
    return plugin.results


def gradescope_tests(results: list[CheckResult]) -> list[dict]:
    """The results as tests of Gradescope's results.json."""
    tests = []
    for result in results:
        test = {
            "name": f"{result.problem.split(':')[0]} · {result.name}",
            "score": result.score,
            "max_score": result.max_score,
            "status": "passed" if result.passed else "failed",
            "output": result.output,
            "output_format": "text",
            "visibility": result.visibility,
            "tags": list(result.tags),
        }
        if result.number:
            test["number"] = result.number
        tests.append(test)
    return tests


class Student:
    """The submission's functions as attributes: ``student.conv2d(x, k)`` runs in the sandbox.

    It has no public attribute of its own, so any function name reaches the
    submission. Like the YAML cases, a function that has timed out
    ``max_timeouts`` times is not called again, so one infinite loop cannot
    use up the whole submission's time.
    """

    def __init__(self, sandbox: Sandbox, max_timeouts: int, deadline: float | None = None) -> None:
        self._sandbox = sandbox
        self._max_timeouts = max_timeouts
        self._deadline = deadline
        self._timeouts: dict[str, int] = {}

    def __getattr__(self, name: str) -> _StudentFunction:
        if name.startswith("_"):  # dunders and private helpers are looked up by Python and pytest, not by checks
            raise AttributeError(name)
        return _StudentFunction(self, name)

    def __repr__(self) -> str:
        return "student"

    def _call(self, function: str, args: tuple, kwargs: dict) -> Any:
        """The function's return value, or StudentError."""
        __tracebackhide__ = True  # a failing check's traceback ends in the check, not in the grader
        if self._timeouts.get(function, 0) >= self._max_timeouts:
            raise StudentError(function, "timeout", "", f"was not run: it already timed out {self._max_timeouts} times")
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise StudentError(function, "timeout", "", "was not run: the time limit for the whole submission was reached")
        outcome = self._sandbox.call(function, list(args), kwargs)
        if outcome.kind == "returned":
            return outcome.value
        if outcome.kind == "raised":
            raise StudentError(function, "raised", outcome.error.get("type", ""), outcome.error.get("message", ""))
        if outcome.kind == "timeout":
            self._timeouts[function] = self._timeouts.get(function, 0) + 1
            raise StudentError(function, "timeout", "", f"did not return within {outcome.seconds:.1f} s (an infinite loop?)")
        if outcome.kind == "crashed":
            raise StudentError(function, "crashed", "", f"stopped the Python process running it: {outcome.detail}")
        raise StudentError(function, outcome.kind, "", f"could not be called: {outcome.detail}")


@dataclass(frozen=True)
class _StudentFunction:
    """One student function; its repr keeps pytest's assertion messages readable (``student.f(1)``)."""

    student: Student
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self.student._call(self.name, args, kwargs)

    def __repr__(self) -> str:
        return f"student.{self.name}"


def _plugin(student: Student, problem_titles: dict[str, str], root: Path) -> Any:
    """The pytest plugin for one session: the ``student`` fixture, the markers, and the scoring.

    Built inside a function because its decorators need pytest, which is
    imported only when a problem has checks.
    """
    import unittest

    import pytest

    class CheckPlugin:
        def __init__(self) -> None:
            self.results: list[CheckResult] = []
            self.interrupted = False
            self._blanks: dict[Any, CheckResult] = {}  # per test: everything known before it runs
            self._reports: list[Any] = []

        def pytest_configure(self, config: Any) -> None:
            for line in MARKERS:
                config.addinivalue_line("markers", line)

        @pytest.fixture
        def student(self) -> Student:
            """The submission's functions, each call made in the sandbox."""
            return student

        @pytest.fixture(autouse=True)
        def _student_for_unittest(self, request: Any) -> None:
            """A unittest.TestCase method takes no fixtures: gradescope-utils suites use ``self.student``."""
            if isinstance(request.instance, unittest.TestCase):
                request.instance.student = student

        def pytest_collection_modifyitems(self, items: list) -> None:
            """Read every check's settings before any runs, so a broken marker stops the session at once."""
            for item in items:
                try:
                    self._blanks[item] = _blank_result(item, problem_titles)
                except (TypeError, ValueError) as error:
                    raise pytest.UsageError(f"{item.nodeid}: {error}") from None

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
            # gradescope-utils' @partial_credit keeps the score on the function itself, where it would
            # outlive this run (a parametrized check runs the same function several times).
            vars(item.function).pop("__score__", None)
            self._reports = []
            outcome = yield
            self.results.append(_finished(self._blanks[item], item, self._reports, root))
            return outcome

        def pytest_runtest_logreport(self, report: Any) -> None:
            self._reports.append(report)

        def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
            # A real Ctrl-C; pytest's own stop after a file fails to import is a subclass of it.
            self.interrupted = not excinfo.errisinstance(pytest.Session.Interrupted)

    return CheckPlugin()


def _blank_result(item: Any, problem_titles: dict[str, str]) -> CheckResult:
    """A check's result before it runs: its name and settings, no points yet."""
    weight = float(_setting(item, "weight", 0.0))
    visibility = str(_setting(item, "visibility", "visible"))
    if not (weight >= 0 and math.isfinite(weight)):
        raise ValueError(f"weight must be a number of points, not {weight}")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    doc = (item.function.__doc__ or "").strip()
    name = doc.splitlines()[0] if doc else item.name
    if doc and hasattr(item, "callspec"):
        name += f" [{item.callspec.id}]"
    folder = item.path.parent.name
    return CheckResult(problem=problem_titles.get(folder, folder), name=name, number=str(_setting(item, "number", "")),
                       score=0.0, max_score=weight, passed=False, visibility=visibility,
                       tags=[str(tag) for tag in _setting(item, "tags", ())])


def _setting(item: Any, name: str, default: Any) -> Any:
    """A gradescope-utils decorator's attribute on the test function, else the closest marker.

    The decorator comes first because it always sits on the function itself,
    while a marker may come from the class or the module.
    """
    if hasattr(item.function, f"__{name}__"):
        return getattr(item.function, f"__{name}__")
    marker = item.get_closest_marker(name)
    if marker is None:
        return default
    if name == "tags":
        return marker.args
    if len(marker.args) != 1:
        raise ValueError(f"@pytest.mark.{name} takes one value")
    return marker.args[0]


def _finished(blank: CheckResult, item: Any, reports: list, root: Path) -> CheckResult:
    """Score a check from its setup, call and teardown reports.

    Anything but a clean pass earns nothing, except the score a
    ``@partial_credit`` check set before it failed (as in gradescope-utils);
    a skipped or xfail check earns nothing whatever it set.
    """
    call = next((report for report in reports if report.when == "call"), None)
    ran = call is not None and not call.skipped and not hasattr(call, "wasxfail")
    clean = ran and all(report.passed for report in reports)
    chosen = getattr(item.function, "__score__", None) if ran else None
    if chosen is not None:
        score = _points(chosen, blank.max_score)
    else:
        score = blank.max_score if clean else 0.0
    captured = reports[-1].capstdout + reports[-1].capstderr if reports else ""
    explanation = "" if clean else _explanation(item, reports, root)
    return replace(blank, score=score, passed=clean and score >= blank.max_score,
                   output=_clip("\n\n".join(text for text in (captured.strip(), explanation) if text)))


def _points(chosen: Any, most: float) -> float:
    """A score set by the check, within [0, most]; nonsense (text, NaN) is 0."""
    try:
        value = float(chosen)
    except (TypeError, ValueError):
        return 0.0
    return min(max(value, 0.0), most) if math.isfinite(value) else 0.0


def _explanation(item: Any, reports: list, root: Path) -> str:
    """Why a check did not pass cleanly, for the student: the failure, or why it did not run."""
    for report in reports:
        if hasattr(report, "wasxfail"):
            return "Marked as expected to fail (xfail), so it earns no points." + (f" {report.wasxfail}" if report.wasxfail else "")
        if report.skipped:
            return f"{report.longrepr[2]} (a skipped check earns no points)"
        if report.failed:
            hidden = getattr(item.function, "__hide_errors__", None)  # gradescope-utils' @hide_errors
            return hidden or _without_grader_paths(report.longreprtext, root)
    return ""


def _without_grader_paths(text: str, root: Path) -> str:
    """Name a check file as ``q2a/test_x.py``: where the grader keeps it is not the student's business.

    pytest prints a path relative to the current folder when that is shorter,
    else absolute; both forms are removed, the longer first, as it may contain the other.
    """
    for prefix in sorted({str(root), os.path.relpath(root)}, key=len, reverse=True):
        if prefix != ".":
            text = text.replace(prefix + os.sep, "")
    return text


def _clip(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + f"\n... ({len(text) - MAX_OUTPUT_CHARS} more characters)"


@contextlib.contextmanager
def _isolated(problem_folders: set[str]) -> Iterator[io.StringIO]:
    """Run pytest as if on a clean machine, printing nothing, and leave no check module behind.

    The environment could add options or plugins (PYTEST_ADDOPTS, installed
    plugins); what pytest prints is kept for CheckError instead of reaching
    the grader's stdout; and the check modules are forgotten, so the next
    submission runs them afresh, with no state left from this one.
    """
    names = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    saved = {name: os.environ.pop(name, None) for name in names}
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    modules_before = set(sys.modules)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            yield printed
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
        packages = {folder.replace(".", "_") for folder in problem_folders}  # how pytest names them
        for module in set(sys.modules) - modules_before:
            if module.split(".")[0] in packages:
                del sys.modules[module]
