"""Grade one submission: the phase order, and a verdict for every case.

The order is part of the trust boundary: visible cases and their
follow-through credit, then the problems' Python checks, then hidden cases and
theirs. Nothing shown for a visible case is decided after the worker has seen a
hidden input, so student code can neither print hidden inputs into visible
feedback nor steer a visible verdict or credit by how it answers hidden cases.
Follow-through credit comes from answers recorded during the phases
(follow_through.py): a visible case's from visible-phase answers alone.

A hidden case shows, before publication, only its summary, worded within its
function's budget (outcomes.HiddenAlphabet); its full verdict stays in its
detail, diagnosis and credit reason, for staff and for after publication.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from autograder.engine import follow_through, outcomes, problemset, scoring
from autograder.engine.compare import agrees, judge, short_repr
from autograder.engine.errors import SpecError
from autograder.model import Case, CaseResult, CheckResult, ImportReport, Outcome, Problem, Report, Verdict
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Call, prepared


class Watcher(Protocol):
    """Told of the problems once loaded, then of each case as it is called and as it is judged (a terminal's
    progress line, say)."""

    def begin(self, problems: list[Problem]) -> None: ...

    def calling(self, case: Case) -> None: ...

    def judged(self, result: CaseResult) -> None: ...


class Cancelled(BaseException):
    """``grade()`` was told to stop (Ctrl-C in a batch): there is no result.

    A BaseException, so that no ``except Exception`` mistakes it for a failed grade.
    """


# (problem, function) -> each known mistake its spec names, and in how many forms (solvers under one message:
# rounding to nearest and rounding up, say).
MistakeForms = dict[tuple[str, str], Counter[str]]


def mistake_forms(problems: list[Problem]) -> MistakeForms:
    """Each function's known mistakes and their forms; where the count did not come with the problem, at least as
    many as are wrong on one case."""
    table: MistakeForms = {}
    for problem in problems:
        listed: dict[str, Counter[str]] = {}  # per function, each message at the most forms one case lists
        for case in problem.cases:
            listed[case.function] = listed.get(case.function, Counter()) | Counter(message for _, message in case.known_mistakes)
        for function, forms in listed.items():
            table[(problem.key, function)] = forms | Counter({message: problem.mistake_forms.get(message, 0) for message in forms})
    return table


class PlannedCalls:
    """Each case's call, encoded as the worker is sent it, its follow-through key, and the known mistakes a right
    answer on it rules out, made once for a problem set rather than once a grade: a batch grades hundreds of
    submissions on the same cases, whose inputs never change.

    Shared by a batch's grading threads: two may make the same entry at once, and either is right.
    """

    def __init__(self) -> None:
        self._cases: dict[int, tuple[Case, Call, str | None]] = {}  # by id(case); the case is kept, so its id is its own
        self._mistakes: tuple[list[Problem], MistakeForms] | None = None
        self._out_when_right: dict[int, tuple[Case, MistakeForms, frozenset[str]]] = {}

    def of(self, case: Case, recorder: follow_through.Recorder) -> tuple[Call, str | None]:
        known = self._cases.get(id(case))
        if known is None or known[0] is not case:
            known = (case, prepared(case.function, case.args, case.kwargs), recorder.key(case.function, case.args, case.kwargs))
            self._cases[id(case)] = known
        return known[1], known[2]

    def mistakes(self, problems: list[Problem]) -> MistakeForms:
        """:func:`mistake_forms` of ``problems``, the same list every grade of a batch is given. Read only."""
        known = self._mistakes
        if known is None or known[0] is not problems:
            known = self._mistakes = (problems, mistake_forms(problems))
        return known[1]

    def out_when_right(self, case: Case, mistakes: MistakeForms) -> frozenset[str]:
        """The known mistakes a right answer on ``case`` rules out: those wrong there in every form they take."""
        known = self._out_when_right.get(id(case))
        if known is None or known[0] is not case or known[1] is not mistakes:
            wrong_here = Counter(message for _, message in case.known_mistakes)
            forms = mistakes.get((case.problem, case.function), Counter())
            known = (case, mistakes, frozenset(message for message, count in wrong_here.items() if count >= forms[message]))
            self._out_when_right[id(case)] = known
        return known[2]


class ProblemSet(NamedTuple):
    """The problems to grade against, as loaded (``load_problem_set``), or why they could not be."""

    problems: list[Problem]
    fingerprint: str = ""  # of the problems and the engine (engine/compiled.py); "" when not computed
    error: str = ""  # the specs are broken: nothing is graded
    planned: PlannedCalls | None = None  # kept across the grades that share this set (a batch's); None: made per grade


def load_problem_set(folder: Path) -> ProblemSet:
    """The problems under ``folder`` and their fingerprint; a broken spec is the set's error, not an exception."""
    try:
        return ProblemSet(*problemset.load_with_fingerprint(folder), planned=PlannedCalls())
    except SpecError as error:
        return ProblemSet([], error=f"The autograder's problem specs are broken, so nothing was graded: {error}")


def grade(
    gate: CallGate,
    problem_set: ProblemSet,
    *,
    cancel: threading.Event | None = None,
    watcher: Watcher | None = None,
    packages: Sequence[str] = (),
    module_names: Sequence[str] = (),
) -> Report:
    """Grade the submission behind ``gate`` (``CallGate.started``) against ``problem_set``; stop its sandbox.

    The caller makes the gate, and so decides the sandbox's limits and user;
    starting it before loading the problems lets the worker import the
    submission meanwhile. The sandbox is stopped here, before the report is
    returned, so its clean-up is in the report's protections. Setting
    ``cancel`` raises :class:`Cancelled` before the next call. ``packages`` are
    the packages students may import, named when an import fails;
    ``module_names`` the names Python checks import the submission by
    (checks.run_checks).
    """
    started = time.monotonic()
    sandbox = gate.sandbox
    report = Report(submission=str(sandbox.submission), problems=problem_set.problems, fingerprint=problem_set.fingerprint)
    try:
        if problem_set.error:
            report.error = problem_set.error
            return report
        if watcher:
            watcher.begin(report.problems)
        sandbox.graded_names = frozenset(case.function for problem in report.problems for case in problem.cases)
        imported = gate.imported
        report.notices += import_notices(imported, packages, beside=sandbox.submission.parent)
        report.load_failed = bool(imported.fatal)
        run = _Run(gate, report, cancel or threading.Event(), watcher, problem_set.planned or PlannedCalls(), packages)
        cases = [case for problem in report.problems for case in problem.cases]
        run.phase([case for case in cases if not case.hidden])
        run.follow_through()  # the visible cases' credit, before any hidden input reaches the worker
        run.settle_diagnoses()  # a visible case's diagnosis rests on the visible answers alone
        check_files = [file for folder in _problem_folders(report.problems) for file in problemset.find_checks(folder)]
        if check_files:
            from autograder.engine.checks import CheckError, run_checks  # pytest and the fixture: only for problems with checks

            try:
                report.checks = number_checks(run_checks(check_files, gate, module_names), report.problems)
            except CheckError as error:  # an instructor's bug: no partial grade that looks final
                report.results = []
                report.error = f"The autograder's Python checks are broken, so nothing was graded: {error}"
                return report
        run.phase([case for case in cases if case.hidden])
        run.follow_through()
        run.settle_diagnoses()
        publish_hidden(report.results, outcomes.hidden_alphabets(cases))
        position = {id(case): index for index, case in enumerate(cases)}
        report.results.sort(key=lambda result: position[id(result.case)])
        for result in report.results:
            scoring.score_case(result)
    finally:
        gate.stop()
        report.protections = sandbox.protections  # the last worker's, with every clean-up's problems
        report.seconds = time.monotonic() - started
    return report


class _Run:
    """The calls of one grading, through one gate, with the answers follow-through needs recorded."""

    def __init__(
        self,
        gate: CallGate,
        report: Report,
        cancel: threading.Event,
        watcher: Watcher | None,
        planned: PlannedCalls,
        packages: Sequence[str],
    ) -> None:
        self.gate, self.report, self.cancel, self.watcher, self.planned = gate, report, cancel, watcher, planned
        self.packages = packages  # named when a call fails to import a module, as a failed import at the top is
        self.recorder = follow_through.Recorder(
            {
                part.function
                for problem in report.problems
                for case in problem.cases
                for part in (case.follow_through.calls if case.follow_through else ())
            }
        )
        self.kinds = {case.function: case.comparison.kind for problem in report.problems for case in problem.cases}
        self.granted = 0  # results whose follow-through credit is decided
        self.mistakes = planned.mistakes(report.problems)
        self.matched: dict[int, list[str]] = {}  # id(result) -> the known mistakes its wrong answer matched
        self.ruled_out: dict[str, set[str]] = {}  # function -> the known mistakes its answers so far show it does not make
        self.settled = 0  # results whose diagnosis is settled

    def phase(self, cases: list[Case]) -> None:
        """The phase's cases, in order, sent to the worker as one stream; then the part calls follow-through needs.

        Part calls are made only for a composite case that returned a wrong
        answer (or raised where it should not) while one of its parts has lost points on a case of its own
        (``follow_through.may_earn``): no other case can earn the credit, so a
        submission that passes, or fails without a failing part, is never
        asked for them. Each needed call is made twice, the second round in
        the reverse order, so a part that keeps state between calls is caught
        answering one call two ways.
        """
        judged_before = len(self.report.results)
        self._make([(*self.planned.of(case, self.recorder), case) for case in cases])
        needed = self._needed_part_calls(self.report.results[judged_before:])
        self._make([*needed, *reversed(needed)])

    def _needed_part_calls(self, judged: list[CaseResult]) -> list[tuple[Call, str | None, Case | None]]:
        """One planned call per distinct part call of the composites in ``judged`` that may earn credit."""
        failed = self._failed_functions()
        needed: dict[str, Call] = {}
        for result in judged:
            if follow_through.may_earn(result, failed, self.recorder) and result.case.follow_through:
                for part in result.case.follow_through.calls:
                    needed.setdefault(
                        follow_through.call_key(part.function, part.args, part.kwargs), Call(part.function, part.args, part.kwargs)
                    )
        return [(call, key, None) for key, call in needed.items()]

    def _failed_functions(self) -> set[str]:
        return {result.case.function for result in self.report.results if not result.verdict.passed}

    def _make(self, planned: list[tuple[Call, str | None, Case | None]]) -> None:
        """Make the planned calls as one stream, recording each answer under its key (None: not recorded) and
        judging each graded case's."""
        if not planned:
            return
        outcomes = self.gate.stream([call for call, _, _ in planned])
        try:
            for _, key, graded in planned:
                if self.cancel.is_set():
                    raise Cancelled
                if graded is not None and self.watcher:
                    self.watcher.calling(graded)
                outcome = next(outcomes)
                if graded is not None:
                    self.recorder.own_case(graded.function, outcome)
                    result, matched = _checked(graded, outcome)
                    if outcome.kind == "raised" and "ModuleNotFoundError" in outcome.error.get("mro", []):
                        module = missing_module(str(outcome.error.get("message", "")))
                        result.verdict = Verdict(
                            False, result.verdict.summary, f"{result.verdict.detail}.{allowed_imports(self.packages, module)}"
                        )
                    self._weigh(result, matched)
                    self.report.results.append(result)
                    if self.watcher:
                        self.watcher.judged(result)
                self.recorder.keep(outcome, needed=key is not None or (graded is not None and graded.follow_through is not None))
                self.recorder.record(key, outcome)
        finally:
            outcomes.close()

    def _weigh(self, result: CaseResult, matched: list[str]) -> None:
        """What this answer says of the function's known mistakes (read now: the answer itself is not kept);
        ``matched``: the known mistakes a wrong answer it returned is (:func:`_checked`).

        A function that makes a mistake gives the mistake's answer on every case: a wrong one where the spec
        lists it, the right one on the spec's other cases. So any other answer rules the mistake out for the
        whole function: a right answer where every form of the mistake is wrong, a wrong answer that is none
        of its forms'. A call that gave no answer, and a case of another spec (which never worked the mistake
        out), tell nothing.
        """
        case, outcome = result.case, result.outcome
        mistakes = self.mistakes.get((case.problem, case.function))
        if not mistakes or outcome is None or (outcome.kind != "returned" and not result.verdict.passed):
            return
        ruled_out: Iterable[str]
        if result.verdict.passed:  # a right value, or the refusal due: every mistake wrong here in all its forms is out
            ruled_out = self.planned.out_when_right(case, self.mistakes)
        else:  # True or False included: a wrong truth value fits every mistake listed there, and rules out the rest
            self.matched[id(result)] = matched
            # Where a refusal was due, only the mistakes that forget it are in question: a function can make one
            # mistake and miss a refusal besides (a closed form does both), and is still told of the first.
            weighed = {message for _, message in case.known_mistakes} if case.expected.raises else set(mistakes)
            ruled_out = weighed.difference(matched)
        self.ruled_out.setdefault(case.function, set()).update(ruled_out)

    def settle_diagnoses(self) -> None:
        """Name a known mistake on the cases judged since the last call only where every answer so far fits it.

        One wrong answer can match a mistake by coincidence: a default of ``padding=1`` gives, on one case, what
        rounding instead of flooring gives there, and its other answers show it does not round. Called after
        each phase, so a visible case's diagnosis rests on the visible answers alone (hidden ones would tell a
        student something of the hidden inputs).
        """
        for result in self.report.results[self.settled :]:
            if result.diagnosis:
                ruled_out = self.ruled_out.get(result.case.function, set())
                result.diagnosis = named([message for message in self.matched.get(id(result), []) if message not in ruled_out])
        self.settled = len(self.report.results)

    def follow_through(self) -> None:
        """Grant follow-through credit to the cases judged since the last call, from the answers recorded so far.

        Called after each phase: a visible case's credit is decided from the
        visible phase's answers and verdicts alone, before the hidden phase.
        """
        results = self.report.results
        failed = self._failed_functions()
        for result in results[self.granted :]:
            follow_through.grant(result, self.recorder, self.kinds, failed)
        self.granted = len(results)


def number_checks(checks: list[CheckResult], problems: list[Problem]) -> list[CheckResult]:
    """Give each check without a number of its own (@number) the next number after its problem's cases: 3a.23, 3a.24..."""
    following = {problem.key: len(problem.cases) for problem in problems}
    numbers = {problem.key: problem.number for problem in problems}
    for check in checks:
        if not check.number and check.problem in numbers:
            following[check.problem] += 1
            check.number = f"{numbers[check.problem]}.{following[check.problem]}"
    return checks


def _problem_folders(problems: list[Problem]) -> list[Path]:
    """The folders holding the problems (a problem from the student kit has none)."""
    return sorted({problem.path.parent.parent for problem in problems if problem.path})


def check(case: Case, outcome: Outcome) -> CaseResult:
    """Turn the worker's outcome into a verdict, naming a known mistake when the answer matches one."""
    return _checked(case, outcome)[0]


def _checked(case: Case, outcome: Outcome) -> tuple[CaseResult, list[str]]:
    """:func:`check`'s result, and the known mistakes a wrong answer it returned matches (none for any other
    outcome): the runner weighs them too, and comparing an answer with every mistake's once is enough."""
    if outcome.kind == "returned" and not case.expected.raises:
        verdict = judge(case.expected.value, outcome.value, case.comparison)
        if verdict.passed:
            return CaseResult(case, verdict, outcome), []
        matched = mistakes_matched(case, outcome.value)
        return CaseResult(case, verdict, outcome, _diagnosis(case, matched)), matched
    if case.expected.raises:
        if outcome.kind == "raised" and _raised_as_expected(case.expected.raises, outcome.error.get("mro", [])):
            return CaseResult(case, Verdict(True), outcome), []
        wanted = f"`{case.expected.raises}` was expected"
        if outcome.kind == "returned":  # a refusal forgotten: a known mistake may be one that returns here
            verdict = Verdict(False, outcomes.WRONG, f"returned {short_repr(outcome.value, 300)}; {wanted}")
            matched = mistakes_matched(case, outcome.value)
            return CaseResult(case, verdict, outcome, _diagnosis(case, matched)), matched
    else:
        wanted = "a value was expected"
    verdict = outcomes.failure(outcome, wanted)
    if outcome.kind == "skipped":
        verdict = Verdict(False, verdict.summary, f"`{case.function}` {outcomes.not_called(outcome, case.function)}.")
    return CaseResult(case, verdict, outcome), []


def _raised_as_expected(expected: str, mro: list[str]) -> bool:
    """Whether an exception of these classes is the ``raises:`` a case expects: the class or a subclass of it.

    Except NotImplementedError, unless that is the very class expected: it is what a function not written yet
    raises (the kit's starter raises it in every body), and it is a RuntimeError, so a case expecting
    RuntimeError or Exception would give points for an untouched starter.
    """
    return expected in mro and ("NotImplementedError" not in mro or expected == "NotImplementedError")


def publish_hidden(results: list[CaseResult], alphabets: dict[str, outcomes.HiddenAlphabet]) -> None:
    """Word each hidden verdict's summary within its function's alphabet: all a hidden case shows before publication."""
    for result in results:
        if result.case.hidden:
            verdict = result.verdict
            result.verdict = Verdict(verdict.passed, alphabets[result.case.function].summary(result), verdict.detail)


def _diagnosis(case: Case, matched: list[str]) -> str:
    """The known mistakes a wrong answer matches (``matched``), in words: all of them, since more than one may fit one case.

    None where the right answer is True or False: the one wrong answer there matches every mistake, so naming
    one would tell a student who counted spaces that they ignored capital letters (an adopter's anagram check).
    """
    return "" if isinstance(case.expected.value, bool) else named(matched)


def mistakes_matched(case: Case, received: Any) -> list[str]:
    """The messages of the known mistakes whose answer ``received`` is."""
    return list(dict.fromkeys(message for wrong, message in case.known_mistakes if agrees(wrong, received, case.comparison)))


def named(matches: Sequence[str]) -> str:
    if len(matches) <= 1:
        return "".join(matches)
    return "One of these (this case cannot tell them apart): " + " / ".join(matches)


def allowed_imports(packages: Sequence[str], module: str = "") -> str:
    """What a failed import of ``module`` is told: what the course lets students import, or, for one of those this
    Python lacks (a kit installed in part), that it is allowed but missing here: it read as forbidden (adopter)."""
    if module and module.lower() in {package.lower() for package in packages} and importlib.util.find_spec(module) is None:
        return f" You may import {module}, but this Python does not have it: install the packages the course lists (the kit's README gives the command)."
    return (
        f" Besides Python's standard library you may import: {', '.join(packages)}." if packages else " Use only Python's standard library."
    )


def missing_module(message: str) -> str:
    """The top-level module a ModuleNotFoundError's message names ("No module named 'scipy.special'": scipy); "" if none."""
    named = re.search(r"No module named '([\w.]+)'", message)
    return named.group(1).split(".")[0] if named else ""


def import_notices(imported: ImportReport, packages: Sequence[str] = (), beside: Path | None = None) -> list[str]:
    """What went wrong loading the file: shown once, at the top, never inside a hidden case.

    A failed import of a package also says which packages students may import; of a module uploaded ``beside``
    the graded file (``from helpers import conv2d`` with helpers.py in the same upload), that only the graded
    file is loaded.
    """
    if imported.fatal:
        return [f"Your file could not be loaded: {imported.fatal}"]
    notices = []
    for problem in imported.problems:
        notice = f"{problem.get('type')} at {problem.get('where')}: {problem.get('message')}"
        not_found = "ModuleNotFoundError" in problem.get("mro", [])
        module = missing_module(str(problem.get("message", ""))) if not_found else ""
        affected = [name for name in problem.get("names", []) if name != module]  # ``import pandas``: said already
        notice += f" (affects {', '.join(affected)})" if affected else ""
        if not_found:  # "No module named 'pandas'" ends no sentence
            uploaded = next((f for f in (f"{module}.py", f"{module}/") if beside is not None and module and (beside / f).exists()), None)
            notice += ("" if notice.rstrip().endswith((".", "!", "?")) else ".") + (
                f" Only the file graded is loaded, not {uploaded} uploaded beside it: put what you use of it into the file graded."
                if uploaded
                else allowed_imports(packages, module)
            )
        notices.append(notice)
    return notices
