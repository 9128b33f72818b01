"""The student kit's README.md, written from the course configuration and the problems, never by hand.

Everything in it that is about one assignment comes from ``assignment.yaml``
(the title, the file names students submit, the packages they may import and
their limits) or from the problems (the functions, the points of the visible
cases, the hidden cases and the Python checks, an example of ``check``'s output
drawn from the visible cases). The install command is the one that gives the
kit the versions Gradescope installs: the course's student packages, and what
the kit itself needs, pinned as ``pyproject.toml`` pins the engine's.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.apps.course import Course
from autograder.apps.kit.cases import KIT_CASES, KitError, VisibleCases
from autograder.apps.kit.starter import student_functions
from autograder.model import Case, CaseResult, Comparison, Outcome, Problem, Report
from autograder.sandbox import importable

if TYPE_CHECKING:
    from autograder.sandbox.limits import Limits

# What `python -m autograder` refuses to start without (apps/cli.py): the kit's own needs, for any course.
KIT_PACKAGES = ("numpy", "pyyaml")
GRADESCOPE_PYTHON = ".".join(map(str, importable.GRADESCOPE_PYTHON))  # "3.10": what the worker grades as
NOTEBOOK_SUFFIX = ".ipynb"
FLOAT32_TOLERANCE = 1e-5  # a relative tolerance at least this wide lets float32 work pass (its rounding is 1.2e-7 a step)


def kit_requirements(course: Course, engine_requirements: list[str]) -> list[str]:
    """What the kit's virtual environment needs, pinned as on Gradescope: the course's student packages, then
    the kit's own (NumPy, PyYAML) and, when students may submit a notebook, what reads one (nbformat, IPython),
    each with every line ``engine_requirements`` (pyproject.toml's) has for it, markers kept.

    A package the course pins itself keeps the course's pins: setup.sh installs those after the engine's."""
    from autograder.sandbox.source import NOTEBOOK_READERS

    needed = list(KIT_PACKAGES)
    if any(name.endswith(NOTEBOOK_SUFFIX) for name in course.submission_names):
        needed += [requirement.split("==")[0] for requirement in NOTEBOOK_READERS.values()]
    chosen = list(course.student_packages)
    named = {_name(requirement) for requirement in chosen}
    for package in needed:
        if _canonical(package) in named:
            continue
        lines = [requirement for requirement in engine_requirements if _name(requirement) == _canonical(package)]
        if not lines:
            raise KitError(f"pyproject.toml's dependencies do not pin {package}, which the student kit needs; add it there")
        chosen += lines
        named.add(_canonical(package))
    return chosen


def engine_requirements(pyproject: Path) -> list[str]:
    """The engine's dependencies, as ``pyproject.toml`` lists them (what setup.sh installs on Gradescope)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10: tomli, which pytest (an engine dependency) installs there
        import tomli as tomllib
    try:
        return list(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"])
    except (OSError, ValueError, KeyError) as error:
        raise KitError(f"cannot read the engine's dependencies from {pyproject}: {error}") from None


def student_guide(cases: VisibleCases, problems: list[Problem], requirements: list[str], checked: Sequence[str] = ()) -> str:
    """The kit's README.md for the course of ``cases``; ``problems`` are all of them, hidden cases included
    (only whether a feature is used is taken from those: follow-through credit, kinds of answer); ``checked``,
    the functions only the Python checks call, which the starter has too."""
    course = cases.course
    file = course.starter_name
    notebooks = [name for name in course.submission_names if name.endswith(NOTEBOOK_SUFFIX)]
    functions = student_functions(problems, checked)
    kinds: set[str] = {case.comparison.kind for problem in problems for case in problem.cases}
    arrays = [case for problem in problems for case in problem.cases if case.comparison.kind == "array" and not case.expected.raises]
    kinds |= {"array of rows"} if any(_transposable(case.expected.value) for case in arrays) else set()
    kinds |= {"float32 enough"} if arrays and all(_float32_enough(case.comparison) for case in arrays) else set()
    limits = _limits(course)
    timeout = limits.call_timeout
    sections = [
        f"# {course.title}: checking your work before you submit",
        f"This kit runs the **visible** test cases of {course.title} on your `{file}`, on your own computer. It runs "
        "them the way Gradescope does, in the same sandbox, and prints the messages and points Gradescope will show "
        "for those cases.",
        _set_up(file, requirements, notebooks),
        _imports(course),
        _answers(course, file, notebooks, functions),
        _checking(course, file, notebooks, functions),
        _output(cases, kinds, timeout),
        _gradescope(cases, problems),
        _good_to_know(kinds, timeout, limits.run_deadline),
    ]
    return "\n\n".join(sections).rstrip() + "\n"


def _transposable(value: Any) -> bool:
    """Whether an answer of this shape has a transpose of another shape (compare.py's hint for swapped axes)."""
    import numpy as np

    try:
        shape = np.shape(value)
    except ValueError:  # ragged
        return False
    return len(shape) >= 2 and shape != shape[::-1]


def _float32_enough(comparison: Comparison) -> bool:
    """Whether this comparison lets an answer computed in float32 pass: a relative tolerance (or one scaled by the
    entries' magnitudes) well above float32's rounding, 1.2e-7 a step."""
    return max(comparison.rtol, comparison.eps) >= FLOAT32_TOLERANCE


def _limits(course: Course) -> Limits:
    from autograder.sandbox.limits import Limits

    return Limits(**course.limits)  # the configured values, not this machine's environment's


def install_command(requirements: list[str]) -> str:
    """``pip install`` of ``requirements`` in the kit's venv, one requirement a line, each quoted for a POSIX shell."""
    if not requirements:
        return ".venv/bin/pip install --upgrade pip"
    return " \\\n        ".join([".venv/bin/pip install", *(_quoted(requirement) for requirement in requirements)])


def _quoted(requirement: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.\-=\[\],]+", requirement):
        return requirement
    if not re.search(r"[\"$`\\!]", requirement):
        return f'"{requirement}"'
    return shlex.quote(requirement)


def _set_up(file: str, requirements: list[str], notebooks: list[str]) -> str:
    for_what = ["the packages your code may import (below)"] if requirements else []
    for_what.append("NumPy and PyYAML, which the checker itself needs")
    if notebooks:
        for_what.append(f"nbformat and IPython, which read a notebook (`{notebooks[0]}`) the way Jupyter runs it")
    return f"""## Set up (once)

You need Python 3.10 or newer. Make a virtual environment in this folder and install what the
checker needs into it. (Current Debian, Ubuntu and Homebrew Pythons refuse `pip install` outside
one; a virtual environment works everywhere.)

On Linux and macOS:

    python3 -m venv .venv
    {install_command(requirements)}
    .venv/bin/python -m autograder check {file}

The `pip install` command installs, in the versions Gradescope has:
{chr(10).join(f"- {item};" for item in for_what[:-1])}{chr(10) if len(for_what) > 1 else ""}- {for_what[-1]}.

A requirement that ends with `python_version` is meant for those Pythons only: pip installs the one
that fits yours.

On Windows, use WSL and the Linux steps (the checker's sandbox needs Linux or macOS). If
`python3 -m venv` says venv is missing (Debian, Ubuntu), install it first:
`sudo apt install python3-venv`.

If NumPy or PyYAML is missing, `check` says so in one line and tells you what to run."""


def _imports(course: Course) -> str:
    if not course.student_packages:
        return """## What you may import

Your code may import only Python's standard library: Gradescope installs no other package for it.
Importing anything else fails on Gradescope, and here. (NumPy imports, as the autograder itself loads it,
but this course does not ask for it.)"""
    rows, elsewhere = [], []
    for package in course.package_names:
        lines = [requirement for requirement in course.student_packages if _name(requirement) == _canonical(package)]
        on_gradescope = [line for line in lines if _applies_on_gradescope(line)]
        rows.append(f"| `{package}` | {', '.join(_version(line) for line in on_gradescope) or 'not installed'} |")
        elsewhere += [f"{package} {_version(line)} where {_marker(line)}" for line in lines if line not in on_gradescope]
    table = "\n".join(["| package | version on Gradescope |", "|---|---|", *rows])
    other = f"\n\nOn another Python, the set-up above installs the versions pinned for it: {_joined(elsewhere)}." if elsewhere else ""
    return f"""## What you may import

Gradescope runs Python {GRADESCOPE_PYTHON} with exactly these packages, so your code may import them and
nothing else outside the Python standard library:

{table}{other}

Importing anything else fails on Gradescope with a message naming these packages."""


def _answers(course: Course, file: str, notebooks: list[str], functions: list[str]) -> str:
    text = f"""## Write your answers

`{file}` in this folder is your starting point. It has every function you must write
({_joined(f"`{name}`" for name in functions)}), with its parameters and a short description. Each
body is `raise NotImplementedError(...)`. Replace those bodies with your code, and keep the
function names and parameters."""
    if notebooks:
        text += f"""

You may submit a Jupyter notebook `{notebooks[0]}` with the same functions instead. Its code cells run
in order, as Jupyter runs them. Lines starting with `%` (magics) or `!` (shell commands) do nothing,
except that the code under `%%time`, `%%capture` and `%%prun`, and the statement on a `%time` line, run."""
    names = course.submission_names
    if len(names) > 1:
        text += f"\n\nGradescope grades the first of these files it finds in your submission: {_joined((f'`{n}`' for n in names), 'or')}."
    return text


def _checking(course: Course, file: str, notebooks: list[str], functions: list[str]) -> str:
    others = [f"`{name}`" for name in course.submission_names[1:]]
    also = f"{_joined(others, 'or')}, " if others else ""
    default = f"`{file}`" if not others else f"the first it finds of {_joined((f'`{name}`' for name in course.submission_names), 'and')}"
    return f"""## Check your work

From this folder (the one holding `{KIT_CASES}`):

    .venv/bin/python -m autograder check {file}

You can also pass {also}a path to your file elsewhere, or a folder that holds it. With no
argument, `check` uses {default} in the current folder.
`check` reads its test cases from `{KIT_CASES}`. It looks for that file first in the current
folder, then in the folder that holds the `autograder` package, so run it from this folder. Use
`--cases FILE` to point at the file yourself.

- `--only {functions[0] if functions else "FUNCTION"}` runs the cases of one function only.
- `--all` shows every case on a row of its own, and the message of every failing case.
- `--timeout SECONDS` gives each call more time than on Gradescope (for a slow computer).

The exit code is 0 only when every visible case passes, so scripts and editors can use it."""


def _output(cases: VisibleCases, kinds: set[str], timeout: float) -> str:
    example, scenario = example_output(cases)
    messages = [
        ("`not implemented yet (it raises NotImplementedError)`", "the function still has the starter's body"),
        (
            "`Your file defines no function named ...`",
            "a name is misspelled (a function of yours with nearly that name is shown), or the function is missing",
        ),
        (
            "`... could not be defined (Not run when imported ...)`",
            'the function is defined inside `if __name__ == "__main__":`, which grading never runs: define it above that block',
        ),
        (
            "`... could not be defined (SyntaxError at line N: ...)`",
            "that function's code does not parse. Only the functions in the broken part lose points, and those that call them",
        ),
        (f"`did not return within {timeout:.1f} s`", f"an infinite loop, or very slow code. Each call gets {timeout:g} seconds"),
    ]
    if kinds & {"int", "ints"}:
        messages.append(("`... which is not a whole number`", "a count came out as a fraction, for example from `/` where `//` was meant"))
    if "array of rows" in kinds:
        messages.append(("`... (the transpose of the right shape)`", "you swapped rows and columns"))
    if "value" in kinds:
        messages.append(("`... they differ from character N`", "two strings are the same up to character N (counted from 0)"))
    messages.append(("`... is a return statement missing?`", "the function returned None, as one without `return` does"))
    table = "\n".join(["| message | what it means |", "|---|---|", *(f"| {m} | {meaning} |" for m, meaning in messages)])
    shown = "\n".join(f"    {line}".rstrip() for line in example.splitlines())
    return f"""## What the output means

While the cases run, `check` shows each function's result as soon as it is known, and which
function it is waiting on. Then it prints a table with one row per function, the message of each
function's first failing case, a summary, and what the visible cases are worth. For example, {scenario}:

{shown}

- `function` is a function you write; `passed` counts its visible cases that pass, out of how many.
- `points` is what you earned on those cases, out of what they are worth: the points Gradescope gives for them.
- `first failure` is the first failing case's number (its test number on Gradescope) and what went wrong.

Each message below the table is the one Gradescope shows for that case: the call that was made,
what was expected and what yours did (for a small array, both side by side, `*` marking the wrong
entries), **Likely mistake:** when your answer equals a known wrong answer, and whatever your
function printed. The summary gives your score per question over the visible cases; if part of your
file failed to load, it also says what broke and which functions it cost.

With `--all`, the table has one row per case instead: its number on Gradescope (numbers skip the
hidden cases, which are not in this kit), PASS or FAIL, its points, the function it calls, what it
tests, and where the instructor's files define it. Below it comes the message of every failing case,
not only each function's first.

Messages you may see:

{table}"""


def example_output(cases: VisibleCases) -> tuple[str, str]:
    """What ``check`` prints (from its table on) for a made-up submission, and a phrase saying what that
    submission does: right everywhere, except one function, which gives a known wrong answer on a visible
    case where the specs name one, or else is still the starter's. Judged, scored and printed by the
    engine's own code, so that the README shows exactly what ``check`` prints."""
    from autograder.apps.kit.check import check_footer
    from autograder.engine import scoring
    from autograder.engine.runner import check
    from autograder.output.table import table

    visible = [case for problem in cases.problems for case in problem.cases]
    if not visible:
        return "(this assignment has no visible case)", "with any file"
    mistaken = next((case for case in visible if case.known_mistakes), None)
    wrong_function = mistaken.function if mistaken else visible[-1].function
    results = []
    for case in visible:
        if case.function != wrong_function:
            outcome = _right(case)
        elif mistaken is not None:
            outcome = Outcome("returned", value=mistaken.known_mistakes[0][0]) if case is mistaken else _right(case)
        else:
            outcome = Outcome(
                "raised",
                error={
                    "type": "NotImplementedError",
                    "message": wrong_function,
                    "mro": ["NotImplementedError", "RuntimeError", "Exception", "BaseException", "object"],
                },
            )
        result: CaseResult = check(case, outcome)
        scoring.score_case(result)
        results.append(result)
    report = Report(submission=cases.course.starter_name, problems=cases.problems, results=results)
    scenario = (
        f"when every function is right but `{wrong_function}`, which gives a known wrong answer on case {mistaken.number}"
        if mistaken
        else f"when every function is right but `{wrong_function}`, which still raises NotImplementedError"
    )
    return f"{table(report, show_hidden=False)}\n\n{check_footer(report, cases, None, False)}", scenario


def _right(case: Case) -> Outcome:
    if case.expected.raises:
        return Outcome("raised", error={"type": case.expected.raises, "message": "", "mro": [case.expected.raises, "Exception"]})
    return Outcome("returned", value=case.expected.value)


def _gradescope(cases: VisibleCases, problems: list[Problem]) -> str:
    points = cases.points
    rows = [f"| the {sum(len(p.cases) for p in cases.problems)} visible cases | {points.visible:g} | `check`, and Gradescope |"]
    if cases.hidden_cases:
        rows.append(f"| the {cases.hidden_cases} hidden cases | {points.hidden:g} | Gradescope only |")
    if points.check_count:
        rows.append(f"| {points.check_count} Python check{'s' if points.check_count != 1 else ''} | {points.checks:g} | Gradescope only |")
    rows.append(f"| all autograded tests | {points.total:g} | |")
    parts = [
        f"""## What Gradescope adds

| tests | points | run by |
|---|---|---|
{chr(10).join(rows)}

Passing every visible case does not guarantee full marks: test your functions on inputs of your own too."""
    ]
    if cases.hidden_cases:
        parts.append("""- **Hidden cases.** Gradescope runs more cases than the ones in this kit, such as edge cases
  and random inputs. Until grades are published, a hidden case shows only one of these:
  *Passed*; *Wrong: wrong answer* (saying when it still earned follow-through credit, or, for a function
  with exactly one known mistake, naming it when your answer matches it);
  *Wrong: raised an error*; *Wrong: ran out of time*; *Wrong: could not be called* (the function
  is missing, broken, or out of time or strikes). Never its inputs, its answer, your exception's
  name or message, or what your code printed: those appear once grades are published.""")
    if points.check_count:
        parts.append("""- **Python checks.** Tests written in Python that call your functions, for example to test a
  property over many inputs. They are not in this kit; Gradescope runs them after the visible cases.""")
    if any(case.follow_through for problem in problems for case in problem.cases):
        parts.append("""- **Follow-through credit.** Some composite answers get part of their points on Gradescope when
  they are wrong only because a helper function they use is wrong. `check` cannot work this out
  without the reference solution, so it lists the cases where it could apply.""")
    by_hand = [problem.title for problem in problems if problem.graded_by_hand]
    if by_hand:
        parts.append(f"- **Graded by hand:** {_joined(by_hand)}. The autograder gives {'it' if len(by_hand) == 1 else 'them'} no points.")
    return "\n".join([parts[0], "", *parts[1:]]) if len(parts) > 1 else parts[0]


def _good_to_know(kinds: set[str], timeout: float, deadline: float) -> str:
    lines = [
        f"""## Good to know

- Your file runs in a separate, restricted process, as on Gradescope. Each call gets {timeout:g} seconds,
  and all the calls of a grade {deadline:g} seconds together, hidden cases included: a call that takes
  most of its limit every time can leave the last cases unrun. `input()` gets no input.
- Top-level code runs when your file loads, statement by statement. A statement that fails costs
  only the names it would have defined. Keep long experiments out of the top level, or under
  `if __name__ == "__main__":`."""
    ]
    if kinds & {"int", "ints"}:
        lines.append("- An integer answer may be a Python int, a NumPy integer, or a float that equals a whole number.")
    if "array" in kinds:
        enough = " Float32 precision is good enough." if "float32 enough" in kinds else ""
        lines.append(f"- An array answer may be a NumPy array of any real dtype, or nested lists.{enough}")
    if "value" in kinds:
        lines.append(
            "- A string, True or False, or None must be exactly the one asked for; a list may also be a tuple, a dict "
            "may be any kind of dict (a `Counter`, say), and a float may be off by a little rounding."
        )
    return "\n".join(lines)


def _joined(items: Iterable[str], word: str = "and") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}" if items else ""


def _requirement(line: str) -> Any:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(line)
    except InvalidRequirement as error:
        raise KitError(f"{line!r} is not a requirement pip can install: {error}") from None


def _name(line: str) -> str:
    return _canonical(_requirement(line).name)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(line: str) -> str:
    specifier = str(_requirement(line).specifier)
    return specifier[2:] if specifier.startswith("==") and "," not in specifier else specifier or "any version"


def _marker(line: str) -> str:
    marker = _requirement(line).marker
    return str(marker) if marker else "any Python"


def _applies_on_gradescope(line: str) -> bool:
    marker = _requirement(line).marker
    return marker is None or marker.evaluate(
        {
            "python_version": GRADESCOPE_PYTHON,
            "python_full_version": f"{GRADESCOPE_PYTHON}.12",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "os_name": "posix",
        }
    )
