"""Grade one submission: start its worker, run every case, judge every answer.

The worker starts first, so that it imports NumPy and the submission while
this process loads the specs and computes expected values. Every case's
verdict is decided here, from the worker's reply and the spec alone.
"""

from __future__ import annotations

import builtins
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.checks import CheckError, CheckResult, find_checks, run_checks
from autograder.compare import Verdict, agrees, is_integral, judge, short_repr
from autograder.sandbox import DEFAULT_WORKER_USER, Limits, Outcome, Sandbox
from autograder.scoring import assign_max_scores
from autograder.spec import Case, Problem, SpecError, copies, load_problems

MAX_TIMEOUTS_PER_FUNCTION = 2
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)}


@dataclass
class CaseResult:
    case: Case
    verdict: Verdict
    outcome: Outcome | None = None
    diagnosis: str = ""
    credit: float = 0.0  # the share of the points a wrong answer still earns (follow-through)
    credit_reason: str = ""

    @property
    def score(self) -> float:
        return self.case.max_score if self.verdict.passed else round(self.case.max_score * self.credit, 4)


@dataclass
class Report:
    """Everything known about one graded submission."""

    submission: str
    problems: list[Problem] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)  # from problems/*/test_*.py, if any
    notices: list[str] = field(default_factory=list)
    protections: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(result.score for result in self.results) + sum(check.score for check in self.checks), 4)

    @property
    def max_score(self) -> float:
        points = sum(problem.points for problem in self.problems if not problem.graded_by_hand)
        return round(points + sum(check.max_score for check in self.checks), 4)

    def earned(self, problem: Problem) -> tuple[float, float]:
        """(points earned, points possible) on one problem, its cases and its checks together."""
        checks = [check for check in self.checks if check.problem == problem.title]
        earned = sum(r.score for r in self.results if r.case.problem == problem.title) + sum(c.score for c in checks)
        return round(earned, 4), round(problem.points + sum(c.max_score for c in checks), 4)


class Cancelled(BaseException):
    """``grade()`` was told to stop (Ctrl-C in a batch): there is no result.

    A BaseException, so that no ``except Exception`` mistakes it for a failed grade.
    """


def grade(submission: Path, problems: Path | list[Problem], limits: Limits | None = None,
          worker_user: str | None = DEFAULT_WORKER_USER, sandbox: Sandbox | None = None,
          cancel: threading.Event | None = None) -> Report:
    """Grade ``submission`` against every spec under ``problems`` (a folder), or against loaded problems.

    The order is part of the trust boundary: visible cases, then the problems'
    Python checks, then hidden cases, then follow-through credit. Nothing a
    student sees before publication is produced after the worker has seen a
    hidden input, so student code cannot print hidden inputs into visible
    feedback. Results are reported in the specs' order.

    Pass a ``sandbox`` already started to overlap its start-up with the
    caller's own imports; it is stopped here either way. Setting ``cancel``
    raises :class:`Cancelled` before the next case (kill the worker to cut a
    call short).
    """
    started = time.monotonic()
    report = Report(submission=str(submission))
    sandbox = sandbox or Sandbox(Path(submission), limits, worker_user)
    sandbox.start()
    try:
        try:
            report.problems = problems if isinstance(problems, list) else load_problems(Path(problems))
        except SpecError as error:
            report.error = f"The autograder's problem specs are broken, so nothing was graded: {error}"
            return report
        for problem in report.problems:
            assign_max_scores(problem)
        imported = sandbox.ready()
        report.protections = sandbox.protections
        report.notices += _import_notices(imported)
        run = _CaseRun(sandbox, report, started + sandbox.limits.run_deadline, cancel or threading.Event())
        cases = [case for problem in report.problems for case in problem.cases]
        run.cases([case for case in cases if not case.hidden])
        check_files = _check_files(report.problems)
        if check_files:
            try:
                report.checks = run_checks(check_files, sandbox, {p.key: p.title for p in report.problems}, run.deadline)
            except CheckError as error:  # an instructor's bug: no partial grade that looks final
                report.results = []
                report.error = f"The autograder's Python checks are broken, so nothing was graded: {error}"
                return report
        run.cases([case for case in cases if case.hidden])
        run.follow_through()
        position = {id(case): index for index, case in enumerate(cases)}
        report.results.sort(key=lambda result: position[id(result.case)])
    finally:
        sandbox.stop()
        report.seconds = time.monotonic() - started
    return report


class _CaseRun:
    """Runs cases through one sandbox, counting timeouts per function against one deadline."""

    def __init__(self, sandbox: Sandbox, report: Report, deadline: float, cancel: threading.Event) -> None:
        self.sandbox, self.report, self.deadline, self.cancel = sandbox, report, deadline, cancel
        imported = sandbox.imported
        self.broken = {name: problem for problem in imported.problems for name in problem.get("names", [])}
        self.timeouts: dict[str, int] = {}

    def cases(self, cases: list[Case]) -> None:
        for case in cases:
            if self.cancel.is_set():
                raise Cancelled
            reason = _reason_not_to_call(case, self.sandbox.imported, self.broken, self.timeouts, self.deadline)
            if reason:
                self.report.results.append(CaseResult(case, Verdict(False, reason, reason)))
                continue
            outcome = self.sandbox.call(case.function, list(case.args), case.kwargs)
            if outcome.kind == "timeout":
                self.timeouts[case.function] = self.timeouts.get(case.function, 0) + 1
            self.report.results.append(check(case, outcome))

    def follow_through(self) -> None:
        """Give follow-through credit, computing compositions in a fresh worker.

        Fresh, so a composite's own call cannot have armed the parts to agree
        with it; and only where a part the composition used lost points in its
        own cases, which is what "wrong only because a part is wrong" means.
        """
        candidates = [r for r in self.report.results
                      if not r.verdict.passed and r.case.follow_through and r.outcome and r.outcome.kind == "returned"]
        if not candidates:
            return
        failed = {r.case.function for r in self.report.results if not r.verdict.passed}
        kinds = {r.case.function: r.case.comparison.kind for r in self.report.results}
        self.sandbox.stop()  # the next call starts a new worker, in which no composite is ever called
        for result in candidates:
            if self.cancel.is_set():
                raise Cancelled
            if time.monotonic() > self.deadline:
                return
            _follow_through(result, StudentParts(self.sandbox, kinds), failed)


def _check_files(problems: list[Problem]) -> list[Path]:
    """The problems' own checks (problems/*/test_*.py); a problem without a folder has none."""
    folders = sorted({problem.path.parent.parent for problem in problems if problem.path})
    return [file for folder in folders for file in find_checks(folder)]


def _reason_not_to_call(case: Case, imported: Any, broken: dict, timeouts: dict, deadline: float) -> str:
    if imported.fatal:
        return "Not run: your file could not be loaded (the summary at the top says why)."
    if case.function not in imported.functions:
        if case.function in broken:
            problem = broken[case.function]
            return f"`{case.function}` could not be defined: {problem['type']} at {problem['where']}: {problem['message']}"
        return f"Your file defines no function named `{case.function}`."
    if timeouts.get(case.function, 0) >= MAX_TIMEOUTS_PER_FUNCTION:
        return f"Not run: `{case.function}` already timed out {MAX_TIMEOUTS_PER_FUNCTION} times."
    if time.monotonic() > deadline:
        return "Not run: the time limit for the whole submission was reached."
    return ""


def check(case: Case, outcome: Outcome) -> CaseResult:
    """Turn the worker's outcome into a verdict, naming a known mistake when the answer matches one."""
    if outcome.kind == "returned" and not case.expected.raises:
        verdict = judge(case.expected.value, outcome.value, case.comparison)
        diagnosis = "" if verdict.passed else _diagnose(case, outcome.value)
        return CaseResult(case, verdict, outcome, diagnosis)
    if case.expected.raises:
        if outcome.kind == "raised" and case.expected.raises in outcome.error.get("mro", []):
            return CaseResult(case, Verdict(True), outcome)
        wanted = f"`{case.expected.raises}` was expected"
        if outcome.kind == "returned":
            return CaseResult(case, Verdict(False, "returned the wrong answer", f"returned {short_repr(outcome.value, 300)}; {wanted}"), outcome)
    else:
        wanted = "a value was expected"
    return CaseResult(case, _failure(outcome, wanted), outcome)


def _failure(outcome: Outcome, wanted: str) -> Verdict:
    if outcome.kind == "raised":
        error = outcome.error
        if error.get("type") == "NotImplementedError":
            return Verdict(False, "not implemented yet (it raises NotImplementedError)", "not implemented yet (it raises NotImplementedError)")
        what = f"raised {error.get('type')}: {error.get('message')}"
        # The class name is the student's to choose: in the summary, only Python's own exceptions are named.
        named = error.get("type") if error.get("type") in BUILTIN_EXCEPTIONS else "an exception of its own class"
        return Verdict(False, f"raised {named}", f"{what}; {wanted}\n\n{error.get('traceback', '')}")
    if outcome.kind == "timeout":
        text = f"did not return within {outcome.seconds:.1f} s (an infinite loop?)"
        return Verdict(False, "did not return in time (an infinite loop?)", text)
    if outcome.kind == "crashed":
        return Verdict(False, "stopped the Python process running it", f"stopped the Python process running it: {outcome.detail}")
    return Verdict(False, "its answer could not be read", outcome.detail or "failed")


class StudentParts:
    """The student's functions, called through the sandbox, as the ``parts`` of a composition.

    Their answers are untrusted and feed reference code in this process, so
    only answers of the part's own kind and of modest size are used (a
    "layer count" that is a list of a million zeros would otherwise be
    multiplied out here), and a budget of calls guards against a composition
    that would loop over an answer.
    """

    MAX_CALLS = 64
    MAX_ENTRIES = 100_000
    MAX_INT = 10**18

    def __init__(self, sandbox: Sandbox, kinds: dict[str, str]) -> None:
        self._sandbox = sandbox
        self._kinds = kinds
        self._calls = 0
        self.used: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls += 1
            if self._calls > self.MAX_CALLS:
                raise LookupError("too many part calls for follow-through credit")
            outcome = self._sandbox.call(name, list(args), kwargs)
            if outcome.kind != "returned":
                raise LookupError(f"{name} gave no answer")
            if name not in self.used:
                self.used.append(name)
            return self._plain(self._kinds.get(name, ""), outcome.value)

        return call

    def _plain(self, kind: str, value: Any) -> Any:
        if kind == "int" and is_integral(value) and abs(int(value)) <= self.MAX_INT:
            return int(value)
        if kind == "ints" and isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1 and len(value) <= self.MAX_ENTRIES:
            if all(is_integral(item) and abs(int(item)) <= self.MAX_INT for item in value):
                return [int(item) for item in value]
        if kind == "array" and isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size <= self.MAX_ENTRIES:
            return value.astype(np.float64)
        raise LookupError("a part's answer of the wrong kind or size")


def _follow_through(result: CaseResult, parts: StudentParts, failed_functions: set[str]) -> None:
    """Give the spec's share when the wrong total is what the student's own (wrong) parts add up to."""
    case = result.case
    try:
        composed = case.follow_through.compose(parts, *copies(case.args), **copies(case.kwargs))
        consistent = agrees(composed, result.outcome.value, case.comparison)
    except Exception:  # noqa: BLE001 - parts that fail or return nonsense earn no follow-through
        return
    if consistent and failed_functions.intersection(parts.used):
        result.credit = case.follow_through.share
        result.credit_reason = (f"Follow-through credit ({case.follow_through.share:.0%} of this case): your answer is what your own "
                                f"{', '.join(f'`{n}`' for n in parts.used)} add up to, so it is wrong only because one of those is.")


def _diagnose(case: Case, received: Any) -> str:
    for wrong, message in case.known_mistakes:
        if agrees(wrong, received, case.comparison):
            return message
    return ""


def _import_notices(imported: Any) -> list[str]:
    if imported.fatal:
        return [f"Your file could not be loaded: {imported.fatal}"]
    return [
        f"{problem.get('type')} at {problem.get('where')}: {problem.get('message')}"
        + (f" (affects {', '.join(problem['names'])})" if problem.get("names") else "")
        for problem in imported.problems
    ]

