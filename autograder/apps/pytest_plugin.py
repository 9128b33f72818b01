"""``pytest problems/ --submission FILE``: debug specs and checks in pytest (the ``pytest11`` entry point).

With ``--submission``, every case of every ``spec.yaml`` pytest reaches is a
test item, reported at its spec file and line, and the problems' Python checks
(``test_*.py``) get the ``student`` fixture (and ``from hw3 import f``, the
submission's module named after the course's ``submission_names``). Both
call the one submission through one sandbox and one call gate, started when
the session starts and stopped when it ends, and a case is judged as grading
judges it (``engine.runner.check``). See docs/instructors.md, "Debugging specs
and checks with pytest".

Everything it prints of the submission (what it printed, its errors, the
names it defines, pytest's own report of a failed check, which quotes them) is
student text, made terminal-safe by autograder/text.py: the instructor's
terminal sees no escape sequence the submission wrote.

Without ``--submission`` it does nothing but declare that option: it collects
no file, adds no fixture and imports none of the engine, so other pytest runs
(the repository's own tests among them) are as they were. Grading never loads
it: the grader's own pytest session turns plugin autoloading off.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from autograder.apps.course import Course
    from autograder.model import Case, CaseResult
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox

SESSION_PLUGIN = "autograder-submission"
STUDENT_FIXTURES = "autograder-student-fixtures"
SPEC_NAME = "spec.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "autograder: run problems/*/spec.yaml and the problems' checks against a submission")
    group.addoption(
        "--submission",
        dest="autograder_submission",
        metavar="FILE",
        default=None,
        help="a student file (.py or .ipynb), run in the sandbox: every case of a spec.yaml becomes a test, "
        "and the problems' checks (test_*.py) get a `student` fixture calling it",
    )


def pytest_configure(config: pytest.Config) -> None:
    submission = config.getoption("autograder_submission", None)
    if submission is None:
        return
    path = Path(submission).absolute()
    if not path.is_file():
        raise pytest.UsageError(f"--submission {submission}: no such file")
    config.pluginmanager.register(SubmissionSession(config, path), SESSION_PLUGIN)


class SubmissionSession:
    """The session's submission, sandbox and gate; registered only when ``--submission`` is given."""

    def __init__(self, config: pytest.Config, submission: Path) -> None:
        from autograder.engine.checks import MARKERS

        self.config, self.submission = config, submission
        self.sandbox: Sandbox | None = None
        self._gate: CallGate | None = None
        self._open = contextlib.ExitStack()
        for line in (*MARKERS, "hidden_case: a spec.yaml case hidden from students"):
            config.addinivalue_line("markers", line)

    @property
    def gate(self) -> CallGate:
        if self._gate is None:
            raise RuntimeError("the autograder's sandbox starts with the pytest session")
        return self._gate

    # -- the session's sandbox -------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from autograder.engine.checks import Student, student_fixtures, submission_module_names, submission_modules
        from autograder.sandbox.gate import CallGate
        from autograder.sandbox.isolation import DEFAULT_WORKER_USER
        from autograder.sandbox.limits import Limits
        from autograder.sandbox.process import Sandbox

        course = _course(self.config)
        limits = course.make_limits() if course else Limits.from_environment()
        # As grading does: as root, the worker runs as the unprivileged worker user; otherwise as this user.
        packages = course.package_names if course else None
        user = DEFAULT_WORKER_USER if os.geteuid() == 0 else None
        sandbox = Sandbox(self.submission, limits, worker_user=user, packages=packages, hidden=course.private_folders if course else ())
        self._open.callback(sandbox.stop)
        sandbox.start()
        self.sandbox = sandbox
        self._gate = CallGate(sandbox, time.monotonic() + sandbox.limits.run_deadline)
        student = Student(self._gate)
        self.config.pluginmanager.register(student_fixtures(student), STUDENT_FIXTURES)
        # Checks import at collection, which comes after this: ``from lab2 import softmax`` must already resolve.
        names = submission_module_names(self._gate, course.module_names if course else ())
        self._open.enter_context(submission_modules(student, names))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._open.close()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._open.close()  # a session that never finished (an error while starting) stops its worker too

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        if self.sandbox is None:
            return []
        from autograder.engine.runner import import_notices
        from autograder.text import Message, StudentText, Trusted, to_terminal

        imported = self.gate.imported
        defined = StudentText(", ".join(imported.functions)) if imported.functions else Trusted("no function")
        lines = [Message(Trusted("autograder: "), StudentText(str(self.submission)), Trusted(" runs in the sandbox; it defines "), defined)]
        lines += [Message(Trusted("autograder: "), StudentText(notice)) for notice in import_notices(imported)]
        return [to_terminal(line) for line in lines]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """A failed check's report quotes the submission (its errors, its answers): made terminal-safe before pytest prints it."""
        from autograder.text import StudentText, to_terminal

        report: pytest.TestReport = yield
        if report.longrepr is not None and not isinstance(report.longrepr, tuple):  # a tuple: a skip, in the check's words
            text = str(report.longrepr)
            if to_terminal(StudentText(text)) != text:
                report.longrepr = to_terminal(StudentText(text))
        report.sections = [(title, to_terminal(StudentText(content))) for title, content in report.sections]
        return report

    # -- what is collected -----------------------------------------------------

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if file_path.name == SPEC_NAME:
            return SpecFile.from_parent(parent, path=file_path)
        return None


def _course(config: pytest.Config) -> Course | None:
    """The course whose problems are tested (its limits, the names its checks import the submission by):
    the nearest assignment.yaml above the paths given, if any."""
    from autograder.apps.course import CONFIG_NAME, CourseError, load

    starts = [Path(arg.split("::")[0]).absolute() for arg in config.args] + [config.rootpath]
    for start in starts:
        for folder in (start, *start.parents):
            if (folder / CONFIG_NAME).is_file():
                try:
                    return load(folder / "problems")  # load reads the assignment.yaml beside problems/
                except CourseError as error:
                    raise pytest.UsageError(str(error)) from None
    return None


def _session(config: pytest.Config) -> SubmissionSession:
    plugin = config.pluginmanager.get_plugin(SESSION_PLUGIN)
    assert isinstance(plugin, SubmissionSession)
    return plugin


# --------------------------------------------------------------------------- spec.yaml as tests


class SpecFile(pytest.File):
    """A ``spec.yaml``: one item per case, generated ones included, hidden ones too."""

    def collect(self) -> Iterator[pytest.Item]:
        from autograder.engine.errors import SpecError
        from autograder.engine.specs import load_problem

        try:
            problem = load_problem(self.path)
        except SpecError as error:  # it names the file and line already
            raise self.CollectError(str(error)) from None
        for case in problem.cases:
            yield CaseItem.from_parent(self, name=f"{case.number} {case.name}", case=case)


class CaseFailed(Exception):
    """A case's verdict was not a pass."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.verdict.summary)
        self.result = result


class CaseItem(pytest.Item):
    """One case: one call through the session's gate, judged as grading judges it."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.extra_keyword_matches.add(case.function)  # ``-k conv2d`` selects every case of conv2d
        if case.hidden:
            self.add_marker("hidden_case")

    def runtest(self) -> None:
        from autograder.engine.runner import check

        outcome = _session(self.config).gate.call(self.case.function, self.case.args, self.case.kwargs)
        result = check(self.case, outcome)
        if not result.verdict.passed:
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CaseFailed):
            from autograder.output.describe import failed_case_text

            return failed_case_text(excinfo.value.result)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        # Not the bare name: pytest -v shows a name that ends the node id as a Python path, each "." turned into "::".
        return self.path, spec_line(self.case.where) - 1, f"{self.name} ({self.case.where})"


def spec_line(where: str) -> int:
    """The line of ``problems/q3a/spec.yaml:14`` (or of ``...:30 (seed 31, draw 2)``, a generated case); 1 if none."""
    found = re.search(r":(\d+)(?=\s|$)", where)
    return int(found.group(1)) if found else 1
