"""The data the engine passes around: problems and cases, outcomes of calls, verdicts, reports.

Plain dataclasses and ``Literal`` kinds, importing nothing from the package but
the text types (text.py), so that every layer (engine, sandbox, output, front
ends) can share them without importing each other. The small immutable records
that are only built and read (Expected, PartCall, FollowThrough) are
NamedTuples: a frozen dataclass compiles six methods from source when this
module is imported, at every grade, about 0.3 ms a class.

Fields that hold text the student controls say so: typed ``StudentText`` where
the model can make them so itself (a verdict's detail), marked "student text"
otherwise. The output layer (output/describe.py) shows them only as StudentText.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

from autograder.boundary import ErrorReport
from autograder.text import StudentText

CompareKind = Literal["int", "ints", "array", "value"]
COMPARE_KINDS: tuple[CompareKind, ...] = ("int", "ints", "array", "value")

# What one call of a student function came to. ``skipped``: the call gate did not make it.
OutcomeKind = Literal["returned", "raised", "timeout", "crashed", "broken", "skipped"]
# Why the gate did not make a call.
SkipReason = Literal["not loaded", "missing", "not defined", "strikes", "deadline", "answers too large"]

Visibility = Literal["hidden", "after_due_date", "after_published", "visible"]
VISIBILITIES: tuple[Visibility, ...] = ("hidden", "after_due_date", "after_published", "visible")


@dataclass(frozen=True)
class Comparison:
    """How a received answer is compared with the expected one (see engine/compare.py).

    An array entry may be off by ``atol + rtol * |expected| + eps * magnitude``.
    ``magnitudes``, when the spec asks for them (``magnitude: true``), is the
    reference's answer on the absolute values of the case's inputs (for a
    convolution, the sum of |x|·|k| over each entry's window): the scale of
    the rounding error that correct floating-point work makes on each entry.
    It is per case, computed when the case is loaded, and ``None`` otherwise.
    """

    kind: CompareKind = "int"
    rtol: float = 1e-4
    atol: float = 1e-5
    eps: float = 0.0
    magnitudes: Any = field(default=None, compare=False, repr=False)  # a float64 array shaped like the answer


class Expected(NamedTuple):
    """A return value, or the name of the exception a correct function raises."""

    value: Any = None
    raises: str | None = None


class PartCall(NamedTuple):
    """One call of a part function that a composition makes: made in the main run, never later."""

    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class FollowThrough(NamedTuple):
    """Partial credit for a composite answer that is wrong only because one of its parts is.

    ``compose(parts, *args)`` is the reference's composition; ``calls`` are the
    part calls it makes on this case's arguments, which the runner makes after
    the case's phase when the case could earn the credit (follow_through.py).
    """

    share: float
    compose: Callable[..., Any]
    using: str = ""  # the composition's name in reference.py
    calls: tuple[PartCall, ...] = ()


@dataclass
class Case:
    """One call of one student function, worth a share of its problem's points."""

    problem: str  # the problem's key (its folder name)
    number: str
    function: str
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    expected: Expected
    comparison: Comparison
    hidden: bool = False
    weight: float = 1.0
    note: str = ""
    where: str = ""  # spec file and line, e.g. problems/q3b/spec.yaml:14
    max_score: float = 0.0  # its share of the problem's points, as shown (4 decimals)
    known_mistakes: list[tuple[Any, str]] = field(default_factory=list)  # (wrong answer, what it shows)
    follow_through: FollowThrough | None = None
    share: float = 0.0  # its share exactly, which totals add up: 10 points over 12 cases are 12 x 0.8333 shown


@dataclass
class Problem:
    """One question: its cases share its points (engine/scoring.py); ``path`` is its spec.yaml, when it has one."""

    key: str
    title: str
    number: str
    points: float
    cases: list[Case] = field(default_factory=list)
    graded_by_hand: str = ""
    path: Path | None = None
    mistake_forms: dict[str, int] = field(default_factory=dict)  # per known mistake's message: how many solvers give it
    # The mistakes its spec declares, (function, solver, message), while the specs load: each names its function's
    # wrong answers in every problem that grades the function (engine/specs.py). Not kept in the compiled cache.
    declared_mistakes: list[tuple[str, Callable[..., Any], str]] = field(default_factory=list, repr=False, compare=False)

    @property
    def label(self) -> str:
        """The short name of the problem: "Q3a" of the title "Q3a: 2-D convolution"."""
        return self.title.split(":")[0].strip() or self.key


@dataclass(frozen=True, init=False)
class Verdict:
    """``summary`` is a fixed phrase, shown for hidden cases: it must carry nothing the
    student controls (a class name, a message, a length, a count) and nothing about the
    answer (a shape, a size), or a submission could smuggle hidden inputs out through it.
    ``detail`` says exactly what differs, for visible cases and after publication; it
    quotes the student's answer or error, so whatever text it is given is kept as
    student text."""

    passed: bool
    summary: str
    detail: StudentText

    def __init__(self, passed: bool, summary: str = "", detail: str = "") -> None:
        object.__setattr__(self, "passed", passed)
        object.__setattr__(self, "summary", summary)
        object.__setattr__(self, "detail", StudentText(detail))


@dataclass
class Outcome:
    """What one call came to (see OutcomeKind); ``reason`` says why a skipped call was not made."""

    kind: OutcomeKind
    value: Any = None  # what the student's function returned
    error: ErrorReport = field(default_factory=ErrorReport)  # the worker's report of an exception: student text
    output: str = ""  # what the call printed: student text
    seconds: float = 0.0  # how long the call took; for a timeout, the limit it reached
    detail: str = ""  # why the call gave no value; may quote the student's output
    reason: SkipReason | None = None
    died_unanswered: bool = False  # the worker died before sending any of its answer
    dropped: bool = False  # ``value`` was let go once judged: nothing after needed it (follow_through.Recorder.keep)


@dataclass
class ImportReport:
    """What happened when the worker loaded the submission."""

    functions: list[str]
    problems: list[ErrorReport]  # the worker's reports of what broke: student text
    fatal: str = ""  # may quote the student's output
    output: str = ""  # student text


@dataclass
class CaseResult:
    """A case's verdict, the outcome it came from, and the points it earned."""

    case: Case
    verdict: Verdict
    outcome: Outcome | None = None
    diagnosis: str = ""
    credit: float = 0.0  # the share of the points a wrong answer still earns (follow-through)
    credit_reason: str = ""
    score: float = 0.0  # set by engine.scoring

    # What every graded test has (see Graded), a case's taken from the case.
    @property
    def problem(self) -> str:
        return self.case.problem

    @property
    def number(self) -> str:
        return self.case.number

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    @property
    def max_score(self) -> float:
        return self.case.max_score

    @property
    def where(self) -> str:
        return self.case.where


@dataclass
class CheckResult:
    """One Python check's verdict (problems/*/test_*.py), ready for results.json."""

    problem: str  # the problem's key
    name: str
    number: str
    score: float
    max_score: float
    passed: bool
    output: str = ""  # what pytest said of a failure: quotes the student's answers and errors, student text
    visibility: Visibility = "visible"
    tags: list[str] = field(default_factory=list)
    where: str = ""  # check file and line
    leaderboard: list[dict[str, object]] = field(default_factory=list)


class Graded(Protocol):
    """What a YAML case's result and a Python check's result share: enough to score, count and list either.

    Scoring (engine/scoring.py), results.json, the terminal table and batch's
    records treat both alike through it; output/describe.py says what each shows.
    """

    @property
    def problem(self) -> str: ...  # the problem's key

    @property
    def number(self) -> str: ...

    @property
    def passed(self) -> bool: ...

    @property
    def score(self) -> float: ...

    @property
    def max_score(self) -> float: ...

    @property
    def where(self) -> str: ...  # the spec or check file and line


@dataclass
class Report:
    """Everything known about one graded submission."""

    submission: str
    problems: list[Problem] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)  # from problems/*/test_*.py, if any
    notices: list[str] = field(default_factory=list)  # what went wrong loading the file: student text
    load_failed: bool = False  # the file could not be loaded at all: none of it ran (ImportReport.fatal)
    protections: dict[str, object] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    fingerprint: str = ""  # of the problems and the engine that graded it (engine/compiled.py)

    @property
    def tests(self) -> list[Graded]:
        """Every graded test: the cases' results, then the Python checks', in the order results.json lists them."""
        return [*self.results, *self.checks]
