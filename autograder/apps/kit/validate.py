"""``validate``: everything the grader checks when it loads the specs, and what matters before a release.

Points add up (to the course's total, Python checks included), titles and
numbers are unique, every value can travel to the kit and the worker, and
every Python check passes on the reference solution.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.apps.course import Course, load
from autograder.apps.paths import default_problems
from autograder.model import Case, CheckResult, Outcome, Problem
from autograder.sandbox.importable import GRADESCOPE_PYTHON, requirement_name

if TYPE_CHECKING:
    import ast

    from packaging.requirements import Requirement

    from autograder.engine.mutants import Report
    from autograder.sandbox.limits import Limits


@dataclass
class Validation:
    """What validate found: the problems, their Python checks run on the reference solution, and the findings."""

    problems: list[Problem] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    checked_functions: list[str] = field(default_factory=list)  # what the checks called on the reference, in order
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mutants: Report | None = None  # mutation adequacy, once every spec loads

    def points(self, problem: Problem) -> float:
        """The problem's points with its Python checks' weights, as Gradescope counts them."""
        return problem.points + sum(check.max_score for check in self.checks if check.problem == problem.key)

    @property
    def total(self) -> float:
        return round(sum(self.points(problem) for problem in self.problems if not problem.graded_by_hand), 4)


def validate_command(arguments: argparse.Namespace) -> int:
    """Print every problem's points and case counts, then the errors; 1 if there are any."""
    folder = arguments.problems or default_problems()
    total, total_from = total_of(arguments, folder)
    found = validate(folder, total, total_from=total_from)
    print(_overview(found))
    print_findings(found.errors, found.warnings)
    if found.errors:
        return 1
    print("All specs are valid.")
    return 0


def total_of(arguments: argparse.Namespace, folder: Path) -> tuple[float | None, str]:
    """The total the points must add up to, and where it was given: --total, else the course configuration."""
    if arguments.total is not None:
        return arguments.total, "--total"
    return load(folder).total_points, "the course's total_points"


def validate(folder: Path, total: float | None = None, mutants: bool = True, total_from: str = "the course's total_points") -> Validation:
    """Load every spec and run every Python check on the reference solution; report what is wrong.

    Loading already runs every case on its reference, cross-checks literal
    ``expected:`` values and the known mistakes. Each spec is loaded on its own
    so that one broken spec does not hide the errors of the others. ``mutants``
    adds mutation adequacy's warnings, most of the time validate takes; build
    leaves them out, since they change nothing it writes.
    """
    from autograder.engine.errors import SpecError
    from autograder.engine.scoring import assign_max_scores
    from autograder.engine.specs import load_problem, share_known_mistakes, spec_files

    folder = Path(folder)
    specs = spec_files(folder) if folder.is_dir() else []
    found = Validation()
    if not specs:
        found.errors.append(f"{folder}: no */spec.yaml here; pass --problems DIR")
        return found
    for path in specs:
        try:
            found.problems.append(load_problem(path))
        except SpecError as error:
            found.errors.append(str(error))
    share_known_mistakes(found.problems)
    found.errors += _one_reference_per_function(found.problems)
    for key in ("title", "number"):
        seen: dict[str, Problem] = {}
        for problem in found.problems:
            other = seen.setdefault(getattr(problem, key), problem)
            if other is not problem:
                found.errors.append(
                    f"{_where(problem.path, key)}: {key} {getattr(problem, key)!r} is also the {key} of "
                    f"{other.path}; each problem needs its own"
                )
    for problem in found.problems:
        if problem.graded_by_hand:
            continue
        assign_max_scores(problem)
        if abs(sum(case.max_score for case in problem.cases) - problem.points) > 1e-6:
            found.errors.append(f"{_where(problem.path, 'points')}: the case points do not add up to {problem.points:g}")
        if problem.cases and all(case.hidden for case in problem.cases):
            found.warnings.append(f"{problem.path}: every case is hidden, so students' check shows nothing for {problem.title!r}")
        helpers: dict[str, Case] = {}  # the first case of each
        for case in problem.cases:
            if case.function.startswith(HELPER_PREFIXES):
                helpers.setdefault(case.function, case)
        found.warnings += [_helper_called(case) for case in helpers.values()]
        found.warnings += [_name_shows_inputs(case) for case in problem.cases if case.hidden and _spells_its_inputs(case)]
        for case in problem.cases:
            found.errors += _case_errors(case)
    found.warnings += _folders_without_a_spec(folder)
    course = load(folder)
    package_errors, package_warnings = _package_findings(course)
    found.errors += package_errors
    found.warnings += package_warnings
    found.errors += _what_gradescope_cannot_import(folder, course)
    if not found.errors:
        found.errors += _answers_too_large(found.problems, course.make_limits())
        found.errors += _answers_that_change_between_processes(folder, found.problems)
        found.warnings += _unearnable_follow_through(found.problems)
        found.warnings += _exact_float_comparisons(found.problems)
        if mutants:
            _find_missing_cases(found)
        _run_checks_on_the_reference(folder, found, course)
    if total is not None and not found.errors and abs(found.total - total) > 1e-6:
        found.errors.append(
            f"the points add up to {found.total:g}, not {total:g} ({total_from}): "
            + "; ".join(_points_given(found, p) for p in found.problems if not p.graded_by_hand)
        )
    return found


DISTRIBUTION = "gradescope-sandbox-autograder"  # the engine's own, whose requirements setup.sh installs on Gradescope

# Seeds of Python's string hashing the problems are loaded again under: a reference's answer that depends on it
# differs from this process's under at least one of them, but for a set whose orders happen to agree.
HASH_SEEDS = ("1", "2")
_LOAD_AGAIN = (
    "import json, sys; from pathlib import Path; from autograder.apps.kit.validate import answer_texts; "
    "from autograder.engine.problemset import load; print(json.dumps(answer_texts(load(Path(sys.argv[1]), use_cache=False))))"
)


def _answers_that_change_between_processes(folder: Path, problems: list[Problem]) -> list[str]:
    """The cases whose expected answer is not the same in another Python process.

    A reference returning ``list(set(words))`` answers in the order of Python's string hashing, which each process
    draws anew: validate passed it, ``grade`` (whose worker is a fork of the grader) gave the reference's own code
    full marks, and Gradescope, batch and the kit marked it wrong (adopter). So are answers drawn with ``random``
    unseeded. The problems are loaded again in fresh interpreters under other hash seeds, and each answer compared.
    """
    import json
    import subprocess

    answers = answer_texts(problems)
    engine = str(Path(__file__).resolve().parents[3])  # the folder holding the autograder package
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [engine, os.environ.get("PYTHONPATH")]))}
    errors: dict[str, str] = {}
    for seed in HASH_SEEDS:
        done = subprocess.run(
            [sys.executable, "-c", _LOAD_AGAIN, str(folder)],
            env={**environment, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=600,
        )
        try:
            again = json.loads(done.stdout)
        except ValueError:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return [
                f"{folder}: the problems could not be loaded again in another Python process, to see that each answer is the same there: {last}"
            ]
        for problem in problems:
            for case in problem.cases:
                key = f"{problem.key} {case.number}"
                if again.get(key) != answers[key] and case.where not in errors:
                    errors[case.where] = (
                        f"{case.where}: case {case.number} ({case.name}) has another answer in another Python process (here with "
                        f"PYTHONHASHSEED={seed}): the reference depends on the order of a set, or on chance (random without a "
                        "seed), so the same code would pass one grade and fail the next; sort the answer, or seed the draw"
                    )
    return list(errors.values())


def answer_texts(problems: list[Problem]) -> dict[str, str]:
    """Each case's expected answer (or exception) as comparable text, by problem key and case number."""
    import json

    from autograder.engine.compiled import encode_value

    texts = {}
    for problem in problems:
        for case in problem.cases:
            try:
                text = json.dumps(encode_value(case.expected.value)) if case.expected.raises is None else f"raises {case.expected.raises}"
            except (TypeError, ValueError):
                text = repr(case.expected.value)
            texts[f"{problem.key} {case.number}"] = text
    return texts


def _folders_without_a_spec(folder: Path) -> list[str]:
    """A folder of problems/ with files but no spec.yaml is no problem at all: graded nowhere, said nowhere else
    (an adopter's spec named spec.yml, or not written yet)."""
    return [
        f"{child}: no spec.yaml here, so this folder is not a problem and nothing in it is graded"
        + (f" (found {', '.join(sorted(p.name for p in child.glob('*.y*ml')))}: name it spec.yaml)" if any(child.glob("*.y*ml")) else "")
        for child in sorted(folder.iterdir())
        if child.is_dir()
        and not (child / "spec.yaml").exists()
        and child.name != "__pycache__"
        and not child.name.startswith(".")
        and any(path.is_file() for path in child.iterdir())
    ]


def _one_reference_per_function(problems: list[Problem]) -> list[str]:
    """A function graded by two problems must be one function in both references.

    A student submits one ``sample_mean``: two definitions that differ (an adopter's course, where each problem's
    reference.py wrote its own) make the solution itself lose the points of one of them, while every spec on its
    own is valid. The second problem imports the first's, as PS3's q2b imports fc_layer_params from q2a.
    """
    from autograder.engine.references import reference_module

    first: dict[str, tuple[Problem, object]] = {}
    errors = []
    for problem in problems:
        module = reference_module(problem.path.parent) if problem.path is not None else None
        if module is None or problem.path is None:  # no reference to compare (the second test: for the type checker)
            continue
        for function in dict.fromkeys(case.function for case in problem.cases):
            solver = getattr(module, function, None)
            owner, owned = first.setdefault(function, (problem, solver))
            if owned is not solver and owner.path is not None:
                code = getattr(solver, "__code__", None)
                at = f"{problem.path.parent / 'reference.py'}" + (f":{code.co_firstlineno}" if code else "")
                errors.append(
                    f"{at}: {function} is graded in {owner.path} too, where reference.py defines it another way; students "
                    f"submit one {function}, so define it once: here, import it (`from ..{owner.path.parent.name}.reference "
                    f"import {function}`)"
                )
    return errors


HELPER_PREFIXES = ("_", "domain_")  # reference.py's own helpers and domains: not what students are asked to write


def _spells_its_inputs(case: Case) -> bool:
    """Whether a hidden case's name holds each of its arguments as written (``n = 5, p = 0.9`` for (5, 0.9)): a
    hidden case's name is shown on Gradescope before publication, so its inputs were no secret (adopter). Only
    plain numbers and short strings are looked for; a case of one small number (``size 3``) is not worth a word."""
    import re

    values = [*case.args, *case.kwargs.values()]
    shown = [repr(value) if isinstance(value, str) else str(value) for value in values]
    if not shown or any(type(value) not in (int, float, str) or len(text) > 40 for value, text in zip(values, shown)):
        return False
    if len(shown) == 1 and len(shown[0]) < 3:
        return False
    return all(re.search(rf"(?<![\w.]){re.escape(text.strip(chr(39)))}(?![\w.])", case.name) for text in shown)


def _name_shows_inputs(case: Case) -> str:
    return (
        f"{case.where}: the hidden case {case.name!r} names its inputs, and a hidden case's name is shown on Gradescope "
        "before grades are published: name what it tests instead"
    )


def _helper_called(case: Case) -> str:
    return (
        f"{case.where}: this case calls {case.function}, which looks like a helper of reference.py, not a function "
        "students write; every function a case calls is graded, and the starter file and the kit's README ask for it. "
        "Call the function that uses it instead, or give it a name without the prefix if students are to write it"
    )


def _answers_too_large(problems: list[Problem], limits: Limits) -> list[str]:
    """Right answers the grader would refuse for their JSON: one over ``reply_json_bytes``, or all together over
    a quarter of what a grading may parse (sandbox/reply.JsonBudget), since wrong answers may be larger."""
    import json

    from autograder.sandbox import worker as wire
    from autograder.sandbox.process import JSON_REPLIES_BUDGET
    from autograder.sandbox.reply import BLOB_COST

    errors, total = [], 0
    for case in (case for problem in problems for case in problem.cases):
        blobs: list[bytes] = []  # as the worker sends it: arrays, however deep, as blobs, which the budget counts apiece
        size = len(json.dumps(wire.encode(case.expected.value, blobs)))
        total += size + len(blobs) * BLOB_COST
        if size > limits.reply_json_bytes:
            errors.append(
                f"{case.where}: the right answer holds {size:,} bytes of JSON, over reply_json_bytes ({limits.reply_json_bytes:,})"
            )
    budget = JSON_REPLIES_BUDGET * limits.reply_json_bytes
    if total > budget // 4:
        errors.append(
            f"the right answers hold {total:,} bytes of JSON in all, over a quarter of the {budget:,} a grading may parse "
            f"({JSON_REPLIES_BUDGET} x reply_json_bytes): raise reply_json_bytes in assignment.yaml's limits, or make the cases smaller"
        )
    return errors


def _imports_when_imported(statements: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The imports a module runs as it is imported: at its top level and in the blocks there, not in its functions
    (a generator or a domain runs at build time only), nor under ``if TYPE_CHECKING:`` or ``if __name__ ==
    "__main__":``, nor in a ``try:`` that catches a failed import (a fallback)."""
    import ast

    found: list[ast.Import | ast.ImportFrom] = []
    for statement in statements:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            found.append(statement)
        elif isinstance(statement, ast.If):
            guard = ast.unparse(statement.test)
            if "TYPE_CHECKING" not in guard and "__main__" not in guard:
                found += _imports_when_imported([*statement.body, *statement.orelse])
        elif isinstance(statement, ast.Try):
            caught = {ast.unparse(handler.type) for handler in statement.handlers if handler.type is not None}
            if not any(name in text for text in caught for name in ("ImportError", "ModuleNotFoundError", "Exception")):
                found += _imports_when_imported([*statement.body, *statement.orelse, *statement.finalbody])
        elif isinstance(statement, (ast.With, ast.For, ast.While)):
            found += _imports_when_imported(statement.body)
    return found


def _exact_float_comparisons(problems: list[Problem]) -> list[str]:
    """A warning per function whose fractional answers are compared with no tolerance at all (rtol and atol 0).

    Right answers computed another way (sums in another order, scipy's logsumexp for a softmax) differ from the
    reference's in their last bits: an adopter's zero tolerance took a correct softmax's 15 points for an error of
    2.2e-16, and validate said nothing.
    """
    import numpy as np

    warned: dict[str, None] = {}
    for problem in problems:
        for case in problem.cases:
            comparison, value = case.comparison, case.expected.value
            if comparison.kind != "array" or comparison.rtol or comparison.atol or comparison.eps or case.expected.raises:
                continue
            answer = np.asarray(value)
            if answer.dtype.kind in "fc" and not np.all(np.isnan(answer) | (answer == np.round(answer.real))):
                warned.setdefault(
                    f"{problem.path}: {case.function}'s answers have fractions and are compared with rtol 0 and atol 0: a right "
                    "answer computed in another order differs in its last bits and fails; allow at least rtol: 1.0e-12"
                )
    return list(warned)


def _unearnable_follow_through(problems: list[Problem]) -> list[str]:
    """Follow-through credit that no submission can earn: the credit needs each part a composite uses to be seen
    answering two ways on its own cases (follow_through.Recorder.genuine; a constant part could be a lookup
    table), visible cases alone for a visible composite. A part with fewer than two such cases blocks it
    silently: an adopter's composite never earned its half with a one-case part."""
    cases = [case for problem in problems for case in problem.cases]
    counted: dict[tuple[str, bool], int] = {}  # (part, visible cases only) -> its cases that answer with a value
    for case in cases:
        if case.expected.raises is None:
            for visible_only in (True, False):
                if not (visible_only and case.hidden):
                    counted[(case.function, visible_only)] = counted.get((case.function, visible_only), 0) + 1
    where = {problem.key: problem.path for problem in problems}
    warnings: dict[str, None] = {}
    for case in cases:
        parts = {part.function for part in case.follow_through.calls} if case.follow_through else set()
        for part in sorted(parts):
            if counted.get((part, not case.hidden), 0) < 2:
                seen = "visible cases" if not case.hidden else "cases"
                warnings.setdefault(
                    f"{where[case.problem]}: follow-through credit for {'visible' if not case.hidden else 'hidden'} cases of "
                    f"{case.function} can never be earned: its part {part} needs at least two {seen} that answer with a "
                    f"value (a part seen answering once could be a constant); add a case of {part}"
                )
    return list(warnings)


def _points_given(found: Validation, problem: Problem) -> str:
    """Where a problem's points are and what it gives in all: its line's number, plus its Python checks' weights when it
    has checks (a line reading ``points: 30`` said to give 35 sent instructors looking for a typo)."""
    checks = found.points(problem) - problem.points
    given = f"gives {problem.points:g}" if not checks else f"gives {problem.points:g} + {checks:g} from its Python checks"
    return f"{_where(problem.path, 'points')} {given}"


def _package_findings(course: Course) -> tuple[list[str], list[str]]:
    """The errors and warnings of the course's student packages, each at its line of the configuration.

    An error: a line pip cannot read, as pip itself reads one (the ``packaging`` library's parser; ``numpy====``
    failed setup.sh on Gradescope and the kit's install for every student, with nothing said before, adopter).
    A warning: one not pinned to one version (Gradescope installs whatever is newest the day the autograder is
    built, not what was tested), or one this Python does not have (a misspelled name fails setup.sh on
    Gradescope; `make grade` installs the right ones).
    """
    import importlib.metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    lines = course.path.read_text(encoding="utf-8", errors="replace").splitlines() if course.path else []
    constraints = _constraints(course)
    errors, warnings = [], []
    for requirement in course.student_packages:
        line = next((number for number, text in enumerate(lines, 1) if requirement in text), None)
        where = f"{course.path or 'assignment.yaml'}{f':{line}' if line else ''}: student_packages"
        try:
            parsed = Requirement(requirement)
            for spec in parsed.specifier:  # ``numpy====`` parses, as ``===`` (any text) and the version "="
                Version(spec.version.removesuffix(".*"))
        except (InvalidRequirement, InvalidVersion) as error:
            detail = str(error).splitlines()[0]
            errors.append(f"{where}: {requirement!r} is not a pip requirement ({detail}); e.g. 'numpy==2.2.6'")
            continue
        if any(spec.operator == "===" for spec in parsed.specifier):
            continue  # arbitrary equality of a version: a pin
        name = requirement_name(requirement)
        pins = [spec for spec in parsed.specifier if spec.operator == "==" and "*" not in spec.version]
        if parsed.url is None and (len(pins) != 1 or len(parsed.specifier) != 1):
            warnings.append(
                f"{where}: {requirement!r} names no one version: pin it ({name}==VERSION), as constraints.txt pins the engine's"
            )
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            warnings.append(f"{where}: {name!r} is not installed here: check its name on pypi.org (setup.sh would fail on Gradescope)")
        errors += [f"{where}: {conflict}" for conflict in _against_constraints(parsed, constraints)]
    return errors, warnings


def _constraints(course: Course) -> list[tuple[str, int, Requirement]]:
    """Each requirement of constraints.txt beside the course, with the file's name and the line it is on; none when
    there is no such file. Comments, options and a hash's continuation lines are no requirement."""
    from packaging.requirements import InvalidRequirement, Requirement

    path = course.path.parent / "constraints.txt" if course.path else None
    if path is None or not path.is_file():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        try:
            found.append((path.name, number, Requirement(line.split("#", 1)[0].strip().rstrip("\\").strip())))
        except InvalidRequirement:
            continue
    return found


def _against_constraints(requirement: Requirement, constraints: list[tuple[str, int, Requirement]]) -> list[str]:
    """Where ``requirement`` does not allow the version ``constraints`` (:func:`_constraints`) pin, for Gradescope's
    Python or this one (read as pip reads versions: 2.4.6.0 is 2.4.6, 2.4.* allows it): setup.sh and `make`
    install with those constraints, so pip refuses the pair (adopter: scipy pinned otherwise in assignment.yaml)."""
    from packaging.markers import default_environment
    from packaging.utils import canonicalize_name

    if not requirement.specifier:
        return []
    python = ".".join(map(str, GRADESCOPE_PYTHON))
    here = {key: str(value) for key, value in default_environment().items()}
    gradescope = {**here, "python_version": python, "python_full_version": f"{python}.12"}  # Ubuntu 22.04's
    found = []
    for file, number, constraint in constraints:
        if canonicalize_name(constraint.name) != canonicalize_name(requirement.name):
            continue
        pinned = [spec.version for spec in constraint.specifier if spec.operator == "=="]
        for label, environment in (("on Gradescope's Python", gradescope), ("on this Python", here)):
            applies = all(marker is None or marker.evaluate(environment) for marker in (requirement.marker, constraint.marker))
            if applies and pinned and not requirement.specifier.contains(pinned[0], prereleases=True):
                found.append(
                    f"{requirement.name}{requirement.specifier} does not allow {pinned[0]}, the version {file}:{number} pins "
                    f"{label}: setup.sh and make install with those constraints, so pip refuses the pair; pin one version in both"
                )
                break
    return found


def _what_gradescope_cannot_import(folder: Path, course: Course) -> list[str]:
    """Each place where the grader's own Python files of the course (references, Python checks) use what Gradescope's
    grader does not have: syntax newer than its Python 3.10, or a module outside the standard library, the engine's
    requirements and the course's packages (what setup.sh installs there).

    Here every case's answer was computed with this machine's Python and packages; on Gradescope a grade imports
    a reference only for follow-through credit, whose failure there cost students the credit in silence while
    their kit promised it (adopter). An allow-list: whatever setup.sh installs, and nothing else.
    """
    import ast
    import importlib.util

    from autograder.sandbox.importable import NEWER_STANDARD_MODULES, top_level_names
    from autograder.sandbox.loader import parse_as_gradescope

    # and the submission, which a Python check imports by the names the course gives it
    installed = top_level_names([DISTRIBUTION, *course.package_names], sys.path) | {"autograder", *course.module_names}
    standard = {name for name in sys.stdlib_module_names if NEWER_STANDARD_MODULES.get(name, (0, 0)) <= GRADESCOPE_PYTHON}
    python = ".".join(map(str, GRADESCOPE_PYTHON))
    errors = []
    for path in sorted(folder.glob("*/*.py")):  # references, the modules they import, the Python checks
        try:
            tree = parse_as_gradescope(path.read_text(encoding="utf-8"), str(path), 0)
        except SyntaxError as error:
            errors.append(
                f"{path}:{error.lineno}: Gradescope's Python {python} cannot parse this file ({error.msg}); the grader imports it there"
            )
            continue
        except (OSError, UnicodeDecodeError, ValueError):
            continue  # loading the specs said what is wrong with it
        check = path.name.startswith("test_")  # a check runs whole on Gradescope; a reference's generators do not
        imports = (
            [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
            if check
            else _imports_when_imported(tree.body)
        )
        for node in imports:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif node.module and not node.level:  # not another problem's (..q2a)
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                # (one not installed here either fails to import here too, which loading the specs reports)
                if top not in standard and top not in installed and importlib.util.find_spec(top) is not None:
                    errors.append(
                        f"{path}:{node.lineno}: imports {top}, which Gradescope does not install: the grader imports this file there "
                        f"(follow-through, Python checks); add it to student_packages in {course.path.name if course.path else 'assignment.yaml'} "
                        "(setup.sh installs those, and students may import them too), or do without it"
                    )
    return errors


def _find_missing_cases(found: Validation) -> None:
    """Mutation adequacy (engine/mutants.py): each surviving (function, mutant) pair, and each refusal in its
    reference that no case of a function reaches, is a case that function lacks."""
    from autograder.engine.errors import SpecError
    from autograder.engine.mutants import analyse

    try:
        report = analyse([problem for problem in found.problems if not problem.graded_by_hand])
    except SpecError as error:  # a domain_<function> of the instructor's that cannot draw
        found.errors.append(str(error))
        return
    found.mutants = report
    paths = {problem.key: problem.path for problem in found.problems}
    found.warnings += [f"{paths[survivor.problem]}: a case of {survivor.function} is missing: {survivor}" for survivor in report.survivors]
    found.warnings += [f"{paths[gap.problem]}: a case of {gap.function} is missing: {gap}" for gap in report.unreached]


def _run_checks_on_the_reference(folder: Path, found: Validation, course: Course) -> None:
    """Every Python check must import and pass on the reference solution, or every submission would lose its points."""
    from autograder.engine.checks import CheckError, find_checks, run_checks

    files = find_checks(folder)
    if not files:
        return
    calls = _ReferenceCalls(solvers(folder))
    try:
        found.checks = run_checks(files, calls, course.module_names)
        found.checked_functions = list(calls.called)
    except CheckError as error:
        found.errors.append(str(error))
        return
    unsent = "; ".join(
        f"{function} answers a {what}, which cannot come back from the student's sandbox (numbers, strings, lists, "
        "tuples, dicts and NumPy arrays do): a check receives a stand-in"
        for function, what in calls.unsent.items()
    )
    for check in found.checks:
        if not check.passed:
            first = next((line for line in check.output.splitlines() if line.startswith("E ")), check.output[:200])
            why = f" ({unsent})" if unsent else ""
            found.errors.append(f"{check.where}: the check {check.name!r} does not pass on the reference solution: {first}{why}")


class _ReferenceCalls:
    """The call gate's stand-in for validate: calls the reference solvers themselves (the instructor's own code)."""

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        self.functions = functions
        self.called: dict[str, None] = {}  # every function a check called, first call first: the starter writes them too
        self.unsent: dict[str, str] = {}  # function -> what of its answer could not have come back from the sandbox

    def call(self, function: str, args: Sequence[object], kwargs: dict[str, object] | None = None) -> Outcome:
        from autograder.engine.references import copies

        self.called.setdefault(function)
        solver = self.functions.get(function)
        if solver is None:
            return Outcome("skipped", reason="missing")
        try:
            value = solver(*copies(list(args)), **copies(kwargs or {}))
        except Exception as error:  # noqa: BLE001 - the check decides whether raising is right
            return Outcome(
                "raised", error={"type": type(error).__name__, "message": str(error), "mro": [cls.__name__ for cls in type(error).__mro__]}
            )
        return Outcome("returned", value=self._as_the_grader_receives(function, value))

    def _as_the_grader_receives(self, function: str, value: Any) -> Any:
        """``value`` after the trip back from the sandbox, as a check gets a student's answer: a generator or a set
        arrives as a stand-in, so a check that passes here only because it got the real thing must fail here too."""
        from autograder.engine.checks import unsupported_in
        from autograder.sandbox.reply import decode_reply
        from autograder.sandbox.worker import encode_returned

        blobs: list[bytes] = []
        sent = encode_returned(value, blobs)
        unsent = unsupported_in(sent)
        if unsent is not None:
            self.unsent.setdefault(function, unsent)
        return decode_reply(sent, blobs, budget=1 << 40)


def _case_errors(case: Case) -> list[str]:
    """Values the kit or the worker could not carry. (Spec loading already checked the comparison.)"""
    from autograder.engine.compiled import encode_value

    errors = []
    values = [
        ("an argument", list(case.args)),
        ("an argument", list(case.kwargs.values())),
        ("the expected value", case.expected.value),
        ("a known mistake's answer", [w for w, _ in case.known_mistakes]),
    ]
    for what, value in values:
        try:
            encode_value(value)
        except (TypeError, ValueError) as error:
            errors.append(f"{case.where}: {what} of {case.name!r} cannot be used: {error}")
    return errors


def _overview(found: Validation) -> str:
    lines = []
    for problem in found.problems:
        label = f"{problem.number:<4} {problem.title}"
        if problem.graded_by_hand:
            lines.append(f"{label}\n       graded by hand")
            continue
        hidden = sum(case.hidden for case in problem.cases)
        checks = [check for check in found.checks if check.problem == problem.key]
        with_checks = f" and {_count(len(checks), 'Python check')}" if checks else ""
        lines.append(
            f"{label}\n       {found.points(problem):g} points; {len(problem.cases) - hidden} visible and "
            f"{hidden} hidden cases{with_checks}"
        )
    autograded = [problem for problem in found.problems if not problem.graded_by_hand]
    visible = sum(not case.hidden for problem in autograded for case in problem.cases)
    hidden = sum(case.hidden for problem in autograded for case in problem.cases)
    lines.append(
        f"\nTotal: {found.total:g} points in {_count(len(autograded), 'autograded problem')}; "
        f"{visible} visible and {hidden} hidden cases" + (f", {_count(len(found.checks), 'Python check')}." if found.checks else ".")
    )
    if found.mutants is not None and found.mutants.generated:
        report = found.mutants
        lines.append(
            f"Mutants of the references: {report.generated}; of the (function, mutant) pairs, {report.killed} fail a "
            f"case of the function, {report.equivalent} never change it on its domain, {len(report.survivors)} {'survives' if len(report.survivors) == 1 else 'survive'}."
        )
    return "\n".join(lines)


def print_findings(errors: list[str], warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if errors:
        print(f"\n{_count(len(errors), 'error')}:", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)


def _where(path: Path | None, key: str) -> str:
    """``path:line`` of a top-level key of a spec, for errors about the problem as a whole."""
    if path is None:
        return "(a problem without a spec file)"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return str(path)
    number = next((n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:")), None)
    return f"{path}:{number}" if number else str(path)


def solvers(folder: Path) -> dict[str, Callable[..., Any]]:
    """Every public function of every reference.py under ``folder``, first definition first."""
    import inspect

    from autograder.engine.references import reference_module
    from autograder.engine.specs import spec_files

    found: dict[str, Callable[..., Any]] = {}
    for path in spec_files(folder):
        module = reference_module(path.parent)
        if module is not None:
            for name, value in inspect.getmembers(module, inspect.isfunction):
                found.setdefault(name, value)
    return found


def _count(number: int, noun: str) -> str:
    """What validate counts, in English: "1 Python check", "2 Python checks"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
