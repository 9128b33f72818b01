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

While the session runs, the submission is also importable by name, so a
gradescope-utils suite that does ``from lab2 import softmax`` drops in unchanged:
``lab2`` is a stand-in module whose attributes are the ``student`` fixture's
functions (see :func:`submission_modules`). The names are the submitted file's
own stem and those the caller passes (the course's: the stems of the file
names students submit), so the checks work whatever the upload was called.
``@leaderboard("column")`` checks fill their result's ``leaderboard`` with the
value they set.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import keyword
import math
import numbers
import os
import re
import sys
import threading
import time
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, cast

from autograder.engine.outcomes import reason
from autograder.engine.problemset import find_checks as find_checks  # re-exported: listing lives where it costs no import
from autograder.model import VISIBILITIES, CheckResult, Outcome, OutcomeKind, Visibility
from autograder.sandbox.gate import CallGate
from autograder.text import clip

MARKERS = (
    "weight(points): the points this check is worth (gradescope-utils: @weight, @partial_credit)",
    "visibility(when): hidden, after_due_date, after_published or visible (gradescope-utils: @visibility)",
    "number(text): Gradescope's test number, which orders the tests (gradescope-utils: @number)",
    "tags(*names): Gradescope tags (gradescope-utils: @tags)",
)
MAX_OUTPUT_CHARS = 3000
LEADERBOARD_ORDERS = ("asc", "desc")

# pytest keeps process-wide state (sys.modules, import hooks, sys.stdout while
# capturing), so batch grading's threads take turns to run their checks.
_ONE_SESSION_AT_A_TIME = threading.Lock()


class Caller(Protocol):
    """What calls the student's functions: the grading's call gate (or, in validate, the reference itself)."""

    def call(self, function: str, args: Sequence[object], kwargs: dict[str, object] | None = None) -> Outcome: ...


class StudentError(Exception):
    """A call of a student's function that gave no value: it raised, hung, crashed, or was not made.

    ``kind`` is the call's outcome (raised, timeout, crashed, broken, skipped);
    ``type`` and ``message`` are the exception's when it raised, else "" and the reason.
    """

    def __init__(self, function: str, kind: OutcomeKind, type_name: str, message: str, text: str) -> None:
        self.function, self.kind, self.type, self.message = function, kind, type_name, message
        super().__init__(text)


class CheckError(Exception):
    """The problems' own check files are broken (they do not import, or a marker is wrong)."""


class UnsendableArgument(TypeError):
    """A check called a student's function with a value that cannot be sent to it: the check's fault, not the student's.

    Student code runs in another process, and only plain values cross (numbers, strings, lists, tuples, dicts,
    NumPy arrays): a function, a set or a class instance would reach it as a stand-in it cannot use, and the
    student would be told that their function raised.
    """


def unsendable(values: Sequence[object]) -> str | None:
    """What the first of ``values`` that cannot cross to (or back from) the student's code is, in words; None if all can."""
    from autograder.sandbox.worker import encode_returned

    return unsupported_in(encode_returned(list(values), []))


def unsupported_in(data: object) -> str | None:
    """What the first stand-in in ``data`` (as the worker's encoding writes it) stands for; None if it holds none."""
    if isinstance(data, dict):
        if isinstance(data.get("$unsupported"), str):
            return str(data["$unsupported"])
        data = list(data.values())
    if isinstance(data, list):
        return next((found for item in data if (found := unsupported_in(item)) is not None), None)
    return None


def run_checks(files: list[Path], gate: Caller, module_names: Sequence[str] = ()) -> list[CheckResult]:
    """Run the check ``files`` in one pytest session; one result per test, in the order run.

    The student's functions are called through ``gate``, the same gate as the
    YAML cases: strikes and the run's deadline are shared. During the session
    the submission is importable under :func:`submission_module_names`: its
    file's stem, and ``module_names``, the names the course's checks import it
    by (the front end knows them from the course configuration; the engine
    does not). Raises CheckError when the checks themselves are broken.
    """
    if not files:
        return []
    import pytest

    files = [Path(path).resolve() for path in files]
    root = Path(os.path.commonpath([path.parent.parent for path in files]))
    student = Student(gate)
    plugin = _plugin(root)
    folders = {path.parent.name for path in files}
    names = [
        name for name in submission_module_names(gate, module_names) if name not in folders
    ]  # a problem's folder is the package pytest imports its checks under
    arguments = [
        *map(str, files),
        "--rootdir",
        str(root),
        "-c",
        os.devnull,  # no ini file: not the grader's, not one in the current folder
        "--noconftest",  # the fixture comes from the plugin; no conftest.py anywhere is loaded
        "--import-mode=importlib",  # sys.path stays as it is; test_x.py may exist in two problems
        "--capture=sys",  # not fd: that would also swallow other threads' output
        "--strict-markers",  # a misspelt @pytest.mark.wieght must not silently make a check free
        "-p",
        "no:cacheprovider",
        "-p",
        "no:unraisableexception",  # its end of session runs gc.collect() 5 times over the whole grader (batch: 1 s)
        "-q",
        "--tb=short",
    ]
    waiting = time.monotonic()
    with _ONE_SESSION_AT_A_TIME:
        if isinstance(gate, CallGate):  # another grading's checks held the session (batch): not this submission's time
            gate.deadline += time.monotonic() - waiting
        with submission_modules(student, names), _isolated(problem_folders=folders) as printed:
            exit_code = pytest.main(arguments, plugins=[plugin, student_fixtures(student)])
    if plugin.interrupted:
        raise KeyboardInterrupt
    if plugin.uncollected:  # a check file that cannot be imported: where, and why, as for a broken spec
        raise CheckError("\n".join(plugin.uncollected))
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise CheckError(
            f"The problems' checks could not be run (pytest exit code {int(exit_code)}):\n"
            + clip(_without_grader_paths(printed.getvalue(), root), MAX_OUTPUT_CHARS)
        )
    results: list[CheckResult] = plugin.in_collection_order()
    return results


class Student:
    """The submission's functions as attributes: ``student.conv2d(x, k)`` runs in the sandbox.

    It has no public attribute of its own, so any function name reaches the
    submission. Calls go through the grading's one call gate.
    """

    def __init__(self, gate: Caller) -> None:
        self._gate = gate

    def __getattr__(self, name: str) -> _StudentFunction:
        if name.startswith("_"):  # dunders and private helpers are looked up by Python and pytest, not by checks
            raise AttributeError(name)
        return _StudentFunction(self, name)

    def __repr__(self) -> str:
        return "student"

    def _call(self, function: str, args: tuple[object, ...], kwargs: dict[str, object]) -> Any:
        """The function's return value, or StudentError."""
        __tracebackhide__ = True  # a failing check's traceback ends in the check, not in the grader
        unsent = unsendable([*args, *kwargs.values()])
        if unsent is not None:
            raise UnsendableArgument(
                f"the check calls {function} with a {unsent}, which cannot be sent to the student's code (it runs in "
                "another process): pass numbers, strings, lists, tuples, dicts or NumPy arrays"
            )
        outcome = self._gate.call(function, args, kwargs)
        stand_in = _stand_in(outcome.value) if outcome.kind == "returned" else None
        if stand_in is not None:  # a set, a generator...: the check would meet the stand-in, and fail on the grader's own type
            raise StudentError(
                function,
                "returned",
                "",
                f"returned {stand_in!r}",
                f"{function} returned {stand_in!r}, which cannot come back from the student's code (it runs in another process): "
                "only numbers, strings, lists, tuples, dicts and NumPy arrays can",
            )
        if outcome.kind == "returned":
            return outcome.value
        raised = outcome.kind == "raised"
        why = reason(outcome, function)
        raise StudentError(
            function,
            outcome.kind,
            outcome.error.get("type", "") if raised else "",
            outcome.error.get("message", "") if raised else why,
            f"{function} {why}",
        )


def _stand_in(value: object, depth: int = 0) -> object | None:
    """The first stand-in (sandbox.worker.Unsupported) in a returned value, which the wire makes at most 33 deep."""
    from autograder.sandbox.worker import Unsupported

    if isinstance(value, Unsupported):
        return value
    if depth < 40 and isinstance(value, (list, tuple, dict)):
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        return next((found for item in items if (found := _stand_in(item, depth + 1)) is not None), None)
    return None


class SubmissionModule(types.ModuleType):
    """The submission as a module (``import lab2``, ``from lab2 import softmax``) for checks written that way.

    Its attributes are the ``student`` fixture's functions, each call made in
    the sandbox: nothing of the student's code ever runs in the grader.
    """

    def __init__(self, name: str, student: Student) -> None:
        super().__init__(name, "The submission's functions, each called in the sandbox (as the `student` fixture).")
        self.__dict__["_autograder_student"] = student

    def __getattr__(self, name: str) -> Any:
        if name == "__all__":  # ``from lab2 import *``: the functions the submission defines
            functions = getattr(getattr(self._autograder_student._gate, "imported", None), "functions", None)
            if isinstance(functions, list):
                return list(functions)
        return getattr(self._autograder_student, name)  # a private or dunder name is an AttributeError

    def __repr__(self) -> str:
        return f"<module {self.__name__!r}: the submission, called in the sandbox>"


def submission_module_names(gate: Any, course_names: Sequence[str] = ()) -> list[str]:
    """The names a check may import the submission by: its file's stem, then ``course_names``.

    ``course_names`` are what the course's checks say (``lab2`` for a course
    whose students submit ``lab2.py``), so a check still imports the submission
    when a student uploaded ``lab2 (1).py``, and validate, which calls the
    reference rather than a file, has a name at all. Each name is used only when
    it names no module the grader has or could import: the stem is the
    student's choice, and ``numpy.py`` must not shadow NumPy, even for the
    length of a session.
    """
    submission = getattr(getattr(gate, "sandbox", None), "submission", None)
    names = [Path(submission).stem] if submission is not None else []
    return [name for name in dict.fromkeys([*names, *course_names]) if _free_module_name(name)]


def _free_module_name(name: str) -> bool:
    if not name.isidentifier() or keyword.iskeyword(name) or name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return False
    if name in sys.modules:
        return isinstance(sys.modules[name], SubmissionModule)
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return False


@contextlib.contextmanager
def submission_modules(student: Student, names: Sequence[str]) -> Iterator[None]:
    """Make the submission importable as each of ``names`` (see SubmissionModule), and put back what was there after."""
    absent = object()
    saved = {name: sys.modules.get(name, absent) for name in dict.fromkeys(names)}
    try:
        for name in saved:
            sys.modules[name] = SubmissionModule(name, student)
        yield
    finally:
        for name, previous in saved.items():
            if previous is absent:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = cast(types.ModuleType, previous)


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


def student_fixtures(student: Student) -> object:
    """A pytest plugin giving checks the submission: the ``student`` fixture, and ``self.student`` in a
    ``unittest.TestCase`` (gradescope-utils suites). Grading's check session and the instructors' pytest
    plugin (apps/pytest_plugin.py) both register it. Built in a function: its decorators need pytest,
    which is imported only when a problem has checks.
    """
    import unittest

    import pytest

    class StudentFixtures:
        @pytest.fixture
        def student(self) -> Student:
            """The submission's functions, each call made in the sandbox."""
            return student

        @pytest.fixture(autouse=True)
        def _student_for_unittest(self, request: pytest.FixtureRequest) -> None:
            """A unittest.TestCase method takes no fixtures: gradescope-utils suites use ``self.student``."""
            if isinstance(request.instance, unittest.TestCase):
                request.instance.student = student  # type: ignore[attr-defined]  # unittest.TestCase has no such attribute: it is ours to add

    return StudentFixtures()


def _plugin(root: Path) -> Any:
    """The pytest plugin for one session: the markers and the scoring (the fixtures are student_fixtures').

    Built inside a function because its decorators need pytest, which is
    imported only when a problem has checks.
    """
    import pytest

    class CheckPlugin:
        def __init__(self) -> None:
            self.results: list[tuple[int, CheckResult]] = []  # (place in collection order, result), in the order run
            self.interrupted = False
            self._blanks: dict[Any, tuple[int, CheckResult]] = {}  # per test: everything known before it runs
            self._reports: list[Any] = []
            self.uncollected: list[str] = []  # "problems/q5/test_x.py:1: ModuleNotFoundError: ..." per file pytest could not import

        def in_collection_order(self) -> list[CheckResult]:
            return [result for _, result in sorted(self.results, key=lambda placed: placed[0])]

        def pytest_configure(self, config: Any) -> None:
            for line in MARKERS:
                config.addinivalue_line("markers", line)

        def pytest_collection_modifyitems(self, items: list[Any]) -> None:
            """Read every check's settings before any runs, so a broken marker stops the session at once; then put
            the visible checks first.

            What a visible check shows (its verdict, the answer its message quotes) is decided before the worker
            is sent a single input of a check the student may not see yet, whatever the order the files and
            folders are collected in: otherwise a submission could return an after_due_date check's input to
            the next visible check, and read it in that check's feedback. The runner keeps the same rule for the
            YAML cases (runner.py). Results are still listed in collection order, so numbering is unchanged.
            """
            for place, item in enumerate(items):
                try:
                    self._blanks[item] = (place, _blank_result(item, root))
                except (TypeError, ValueError) as error:
                    raise pytest.UsageError(f"{item.nodeid}: {error}") from None
            items.sort(key=lambda item: self._blanks[item][1].visibility != "visible")  # stable: each group keeps its order

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
            # gradescope-utils' @partial_credit keeps the score on the function itself, where it would
            # outlive this run (a parametrized check runs the same function several times).
            vars(item.function).pop("__score__", None)
            for function in _wrapped(item.function):  # @leaderboard keeps its value on its own wrapper, as deep as it sits
                vars(function).pop("__leaderboard_value__", None)
            self._reports = []
            outcome = yield
            place, blank = self._blanks[item]
            self.results.append((place, _finished(blank, item, self._reports, root)))
            return outcome

        def pytest_runtest_logreport(self, report: Any) -> None:
            self._reports.append(report)

        def pytest_collectreport(self, report: Any) -> None:
            if report.failed:
                self.uncollected.append(_collection_error(report, root))

        def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
            # A real Ctrl-C; pytest's own stop after a file fails to import is a subclass of it.
            self.interrupted = not excinfo.errisinstance(pytest.Session.Interrupted)

    return CheckPlugin()


def _collection_error(report: Any, root: Path) -> str:
    """``problems/FILE:LINE: Error: message`` for a check file pytest could not import, read from pytest's short
    traceback (its last frame in the file, or a SyntaxError's line; its last ``E`` line); pytest's own text where it
    has neither."""
    text = str(report.longrepr)
    # Its frames, and a SyntaxError's own place, which pytest prints as Python does (File "...", line N)
    frames = re.findall(r"^(\S+?\.py):(\d+): in ", text, re.MULTILINE) + re.findall(
        r'^E\s+File "([^"]+\.py)", line (\d+)', text, re.MULTILINE
    )
    errors = re.findall(r"^E\s+(.+)$", text, re.MULTILINE)
    if not errors:
        return f"problems/{report.nodeid}: cannot be imported:\n{clip(_without_grader_paths(text, root), MAX_OUTPUT_CHARS)}"
    file = next(
        (f"{_below(path, root)}:{line}" for path, line in reversed(frames) if Path(path).name == Path(report.nodeid).name), report.nodeid
    )
    return f"problems/{file}: cannot be imported: {errors[-1].strip()}"


def _below(path: str, root: Path) -> str:
    """``path`` as the problems folder's own (q5/test_x.py), however pytest wrote it (absolute, or relative to the
    current folder)."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def _blank_result(item: Any, root: Path) -> CheckResult:
    """A check's result before it runs: its name, settings and place, no points yet."""
    weight = float(_setting(item, "weight", 0.0))
    visibility = str(_setting(item, "visibility", "visible"))
    if not (weight >= 0 and math.isfinite(weight)):
        raise ValueError(f"weight must be a number of points, not {weight}")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    order = getattr(item.function, "__leaderboard_sort_order__", "desc")
    if hasattr(item.function, "__leaderboard_column__") and order not in LEADERBOARD_ORDERS:
        raise ValueError(f"@leaderboard's sort order must be 'asc' or 'desc', not {order!r}")
    doc = (item.function.__doc__ or "").strip()
    name = doc.splitlines()[0] if doc else item.name
    if doc and hasattr(item, "callspec"):
        name += f" [{item.callspec.id}]"
    _, line, _ = item.location
    return CheckResult(
        problem=item.path.parent.name,
        name=name,
        number=str(_setting(item, "number", "")),
        score=0.0,
        max_score=weight,
        passed=False,
        visibility=cast(Visibility, visibility),
        tags=[str(tag) for tag in _setting(item, "tags", ())],
        where=f"problems/{item.path.relative_to(root).as_posix()}:{(line or 0) + 1}",
    )


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


def _finished(blank: CheckResult, item: Any, reports: list[Any], root: Path) -> CheckResult:
    """Score a check from its setup, call and teardown reports.

    Anything but a clean pass earns nothing, except the score a
    ``@partial_credit`` check set before it failed (as in gradescope-utils);
    a skipped or xfail check earns nothing whatever it set.
    """
    call = next((report for report in reports if report.when == "call"), None)
    ran = call is not None and not call.skipped and not hasattr(call, "wasxfail")
    clean = ran and all(report.passed for report in reports)
    chosen = getattr(item.function, "__score__", None) if ran else None
    score = _points(chosen, blank.max_score) if chosen is not None else (blank.max_score if clean else 0.0)
    captured = reports[-1].capstdout + reports[-1].capstderr if reports else ""
    explanation = "" if clean else _explanation(item, reports, root)
    return replace(
        blank,
        score=score,
        passed=clean and score >= blank.max_score,
        output=clip("\n\n".join(text for text in (captured.strip(), explanation) if text), MAX_OUTPUT_CHARS),
        leaderboard=_leaderboard(item.function) if ran else [],
    )


def _wrapped(function: Any) -> list[Any]:
    """A decorated function and every function it wraps (``__wrapped__``), outermost first."""
    chain: list[Any] = []
    while function is not None and function not in chain and len(chain) < 50:
        chain.append(function)
        function = getattr(function, "__wrapped__", None)
    return chain


def _leaderboard(function: Any) -> list[dict[str, Any]]:
    """gradescope-utils' ``@leaderboard(name, sort_order)`` entry, once the check has set its value.

    As in gradescope-utils, a check that set a value and then failed still
    reports it. A value that is not a finite number or a text is left out:
    Gradescope's leaderboard takes nothing else.
    """
    column = getattr(function, "__leaderboard_column__", None)
    if column is None:
        return []
    value = next((vars(f)["__leaderboard_value__"] for f in _wrapped(function) if "__leaderboard_value__" in vars(f)), None)
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(float(value)):
        value = float(value)
    elif isinstance(value, str):
        value = clip(value, 200)
    else:
        return []
    return [{"name": str(column), "value": value, "order": getattr(function, "__leaderboard_sort_order__", "desc")}]


def _points(chosen: Any, most: float) -> float:
    """A score set by the check, within [0, most]; nonsense (text, NaN) is 0."""
    try:
        value = float(chosen)
    except (TypeError, ValueError):
        return 0.0
    return min(max(value, 0.0), most) if math.isfinite(value) else 0.0


def _explanation(item: Any, reports: list[Any], root: Path) -> str:
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
