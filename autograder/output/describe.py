"""What one graded test shows, case or Python check alike, as parts; and those parts in Markdown and in plain text.

:func:`describe` is where each text of a result is given its origin: the spec's
and the grader's words are ``Trusted``; what came from the submission (a
verdict's detail, what a call printed, pytest's report of a failed check) is
``StudentText``. The two renderers below lay the parts out for their medium and
leave the escaping to autograder/text.py, so no student text is ever written
into a page or a terminal as it came:

- :func:`markdown`: results.json's test outputs (Gradescope renders them; batch's
  feedback.html renders the same Markdown with apps/batch/markdown.py);
- :func:`plain`: the terminal (``grade``, ``check``, the pytest plugin) and
  results.json's ``text`` outputs.

A hidden case shows, before grades are published, one fixed phrase and nothing
else: its verdict's summary, which engine/outcomes.py words from a small set.
"""

from __future__ import annotations

from typing import NamedTuple

from autograder.engine.compare import short_repr
from autograder.model import Case, CaseResult, CheckResult
from autograder.text import StudentText, Text, Trusted, clip, code_span, to_markdown, to_terminal

PRINTED_CHARS = 2000  # of a call's output, in a case's feedback
HIDDEN_NOTE = "hidden case: inputs and answer are not shown"
NO_LABEL = Trusted("")


class Section(NamedTuple):
    """One part of what a test shows: a paragraph, or with ``block`` a text shown line for line as written
    (printed output, a traceback, a table of entries); ``label`` names it ("Likely mistake").

    A NamedTuple rather than a frozen dataclass, as is Description: as immutable, and cheaper to import for a
    grade (a dataclass compiles its methods when its module is imported)."""

    text: Text
    label: Trusted = NO_LABEL
    block: bool = False


class Description(NamedTuple):
    """What one graded test shows: its name, its verdict and points, and its sections in order."""

    name: Trusted
    number: str
    passed: bool
    score: float
    max_score: float
    sections: tuple[Section, ...]


def describe(test: CaseResult | CheckResult, labels: dict[str, str], reveal: bool = True) -> Description:
    """What ``test`` shows; ``labels`` maps problem keys to their short names ("Q3a").

    ``reveal`` False is a hidden case's view before grades are published: the
    fixed phrase alone. A visible case, a check, and every case once published
    (``reveal`` True) show everything.
    """
    label = labels.get(test.problem, test.problem)
    if isinstance(test, CheckResult):
        report = (Section(StudentText(test.output), block=True),) if test.output else ()
        return Description(Trusted(f"{label} · {test.name}"), test.number, test.passed, test.score, test.max_score, report)
    case = test.case
    name = Trusted(f"{label} · {case.function}: {case.name}" + (" (hidden case)" if case.hidden else ""))
    sections = _case_sections(test) if reveal or not case.hidden else _hidden_sections(test)
    return Description(name, case.number, test.passed, test.score, case.max_score, sections)


def _case_sections(result: CaseResult) -> tuple[Section, ...]:
    """Everything about one case: the call, what was expected, what came back, and why it is wrong."""
    case, verdict, outcome = result.case, result.verdict, result.outcome
    sections = [Section(Trusted(f"**{'Passed' if verdict.passed else 'Wrong'}.** {_call(case)}"))]
    if case.note:
        sections.append(Section(Trusted(case.note)))
    if not verdict.passed:
        not_run = outcome is not None and outcome.kind == "skipped"
        detail = StudentText(verdict.detail.rstrip())
        if case.expected.raises and not not_run:
            sections.append(Section(Trusted(f"Expected: raises {code_span(case.expected.raises)}")))
        elif "\n" not in detail and "expected" not in detail and not not_run:  # a table of entries shows it already
            sections.append(Section(Trusted(f"Expected: {code_span(short_repr(case.expected.value, 300))}")))
        sections.append(Section(detail, block="\n" in detail))
    if result.diagnosis:
        sections.append(Section(Trusted(result.diagnosis), Trusted("Likely mistake")))
    if result.credit_reason:
        sections.append(Section(Trusted(result.credit_reason)))
    if outcome is not None and outcome.output.strip():
        sections.append(Section(StudentText(clip(outcome.output, PRINTED_CHARS)), Trusted("Your function printed"), block=True))
    return tuple(sections)


_CALLS: dict[int, tuple[Case, str]] = {}  # id(case) -> the case, kept so that its id stays its own, and its call as shown
MAX_CALLS = 10_000  # cases whose call is kept shown: a batch's problem set several times over


def _call(case: Case) -> str:
    """The case's call as shown, ``conv2d(array([[2, 0], ...]), ...)`` in a code span: the same in every grade
    of a batch, so written once per case rather than once a grade."""
    known = _CALLS.get(id(case))
    if known is None or known[0] is not case:
        arguments = [short_repr(a, 120) for a in case.args] + [f"{k}={short_repr(v, 60)}" for k, v in case.kwargs.items()]
        if len(_CALLS) >= MAX_CALLS:
            _CALLS.clear()
        known = _CALLS[id(case)] = (case, code_span(f"{case.function}({', '.join(arguments)})"))
    return known[1]


def _hidden_sections(result: CaseResult) -> tuple[Section, ...]:
    """A hidden case before publication: passed, or its verdict's summary, a phrase from engine/outcomes.py's fixed set."""
    if result.verdict.passed:
        return (
            Section(
                Trusted(f"**Passed** ({HIDDEN_NOTE})."),
            ),
        )
    return (Section(Trusted(f"**Wrong** ({HIDDEN_NOTE}): {result.verdict.summary}.")),)


def failed_case_text(result: CaseResult) -> str:
    """A failed case as an instructor reads it in a terminal (the pytest plugin's failure report): where it is,
    then everything grading shows for it, hidden or not, as plain text with the submission's words made
    terminal-safe; and, for a composite case, that grading may still give it follow-through credit."""
    case = result.case
    lines = [
        to_terminal(Trusted(f"{case.where}: {case.name}" + (" (hidden case)" if case.hidden else ""))),
        plain(describe(result, {}, reveal=True).sections),
    ]
    if case.follow_through:
        lines.append(to_terminal(Trusted(f"(grading may still give follow-through credit: {case.follow_through.using})")))
    return "\n".join(lines)


# --------------------------------------------------------------------------- the renderers


def markdown(sections: tuple[Section, ...]) -> str:
    """Sections as Markdown, one paragraph or code block each."""
    return "\n\n".join(_markdown_section(section) for section in sections)


def _markdown_section(section: Section) -> str:
    text = to_markdown(section.text, block=section.block)
    if not section.label:
        return text
    return f"**{to_markdown(section.label)}:**" + ("\n\n" if section.block else " ") + text


def plain(sections: tuple[Section, ...]) -> str:
    """Sections as plain text, for a terminal or results.json's ``text`` format: no control character, no Markdown marks."""
    return "\n\n".join(_plain_section(section) for section in sections)


def _plain_section(section: Section) -> str:
    text = to_terminal(section.text)
    if not section.label:
        return text
    return f"{to_terminal(section.label)}:" + ("\n" if section.block else " ") + text
