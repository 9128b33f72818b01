"""``check`` for students; ``validate`` and ``build`` for instructors.

check     runs the visible cases on a student's ps3.py (or ps3.ipynb) in the
          same sandbox, with the same messages and points, as Gradescope, so a
          student learns before submitting what Gradescope will say about them.
validate  loads every spec the way the grader does, then adds the checks that
          matter before a release (points, unique titles, values that the kit
          and the worker can carry, answers that pass their own comparison).
build     writes ``autograder.zip`` for Gradescope and ``student_kit.zip`` for
          students, and refuses to build from specs that do not validate.

The student kit holds the engine, ``cases.json`` (the visible cases with their
expected values and known wrong answers precomputed), a starter ps3.py and a
README; no spec, no reference solver, no hidden case. So ``check`` reads its
cases from either source (see :func:`find_cases`):

1. ``--cases FILE`` or ``--problems DIR`` when given;
2. else in the current folder, then in the folder holding the ``autograder``
   package: a ``cases.json`` (a student kit) first, then a ``problems/``
   folder (an instructor's checkout).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.apps.paths import PACKAGE_ROOT, default_problems
from autograder.apps.submission import SUBMISSION_NAMES
from autograder.output.files import write_atomic

if TYPE_CHECKING:
    from autograder.model import Case, Problem

KIT_CASES = "cases.json"
KIT_FOLDER = "student_kit"  # the kit's one top-level folder, so unzipping makes one folder
CASES_FORMAT = 1
ENGINE_SUFFIXES = (".py",)  # what pyproject.toml packages from autograder/
GRADESCOPE_FILES = ("setup.sh", "run_autograder", "pyproject.toml")
STUDENT_GUIDE = PACKAGE_ROOT / "docs" / "students.md"  # becomes the kit's README.md
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same sources always build the same bytes

LOOKUP = """where the cases come from: --cases FILE or --problems DIR if given; otherwise the
current folder, then the folder holding the autograder package, is searched for
cases.json (the student kit) and then problems/ (an instructor checkout)."""


class KitError(Exception):
    """Something the person running the command can fix; the message says what."""


# --------------------------------------------------------------------------- the CLI's entry points


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the arguments of command ``name`` (check, validate or build) to its sub-parser."""
    if name == "check":
        parser.add_argument("submission", nargs="?", type=Path, default=None,
                            help="your ps3.py or ps3.ipynb, or a folder holding it (default: ./ps3.py, else ./ps3.ipynb)")
        parser.add_argument("--cases", type=Path, default=None, help="a student kit's cases.json")
        parser.add_argument("--problems", type=Path, default=None, help="an instructor's problems folder")
        parser.add_argument("--timeout", type=float, default=None, help="seconds allowed per call (default: as on Gradescope)")
        parser.epilog = LOOKUP
        return
    parser.add_argument("--problems", type=Path, default=None,
                        help="the problems folder (default: ./problems, else the one beside the engine)")
    parser.add_argument("--total", type=float, default=None, help="also fail unless the points add up to this total")
    if name == "build":
        parser.add_argument("--out", type=Path, default=None, help="where to write the zips (default: dist/ beside the problems folder)")


def run(arguments: argparse.Namespace) -> int:
    """Run ``arguments.command``; exit code 0 on success, 1 otherwise."""
    from autograder.apps.submission import NoSubmission
    from autograder.engine.errors import SpecError

    command = {"check": check_command, "validate": validate_command, "build": build_command}[arguments.command]
    try:
        return command(arguments)
    except (KitError, NoSubmission, SpecError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


# --------------------------------------------------------------------------- check


@dataclass
class VisibleCases:
    """What ``check`` runs, and what it can say about the cases it does not run."""

    problems: list[Problem]  # visible cases only; each problem's points are those cases' points
    total_points: float  # of the whole assignment, hidden cases included
    hidden_cases: int
    origin: str  # where they were read, for the first line of the output
    follow_through: dict[str, float]  # case number -> share, for kit cases that cannot compute it


def check_command(arguments: argparse.Namespace) -> int:
    """Grade the visible cases, print the table; 0 only when every visible case passes."""
    from autograder.engine.runner import grade
    from autograder.output.table import table
    from autograder.sandbox.limits import Limits

    submission = _submission(arguments.submission)
    cases = load_visible_cases(arguments.cases, arguments.problems)
    count = sum(len(problem.cases) for problem in cases.problems)
    print(f"Checking {submission} on the {count} visible cases from {cases.origin}.\n")
    limits = Limits.from_environment()
    limits.call_timeout = arguments.timeout or limits.call_timeout
    report = grade(submission, cases.problems, limits)
    print(table(report, show_hidden=False))
    print("\n" + _check_footer(report, cases))
    return 0 if not report.error and all(result.verdict.passed for result in report.results) else 1


def _submission(given: Path | None) -> Path:
    """The file to check: the one named, the ps3 file in a named folder, or ./ps3.py (./ps3.ipynb)."""
    from autograder.apps.submission import find_submission

    if given is None:
        given = next((Path(name) for name in SUBMISSION_NAMES if Path(name).is_file()), Path(SUBMISSION_NAMES[0]))
    if given.is_dir():
        return find_submission(given)[0]
    if not given.is_file():
        raise KitError(f"{given} does not exist. Pass the path of your ps3.py (or ps3.ipynb).")
    return given


def _check_footer(report: Any, cases: VisibleCases) -> str:
    visible_points = sum(problem.points for problem in cases.problems)
    lines = [f"The visible cases are worth {visible_points:g} of the {cases.total_points:g} autograded points."]
    if cases.hidden_cases:
        lines[0] += (f" Gradescope also runs {cases.hidden_cases} hidden cases for the rest; it shows whether each "
                     "passed, but not its inputs or answer.")
    missed = [r.case.number for r in report.results if not r.verdict.passed and r.case.number in cases.follow_through]
    if missed:
        lines.append(f"Case{'s' if len(missed) > 1 else ''} {', '.join(missed)} can still earn part of their points on Gradescope (follow-through credit) "
                     "when the answer is what your own helper functions add up to; that needs the reference solution, "
                     "so check cannot tell.")
    failed = sum(not r.verdict.passed for r in report.results)
    if report.error or failed:
        lines.append(f"{failed} visible case{'s' if failed != 1 else ''} fail{'s' if failed == 1 else ''}.")
    else:
        lines.append("All visible cases pass.")
    return "\n".join(lines)


def find_cases() -> Path:
    """The kit's cases.json or a checkout's problems/, looked for in the documented order."""
    for candidate in (Path.cwd() / KIT_CASES, PACKAGE_ROOT / KIT_CASES, PACKAGE_ROOT / "problems"):
        if candidate.exists():
            return candidate
    raise KitError(f"found no {KIT_CASES} (student kit) in {Path.cwd()} or {PACKAGE_ROOT}, nor problems/ beside the engine. "
                   "Run this from the unzipped kit folder, or pass --cases or --problems.")


def load_visible_cases(cases_file: Path | None = None, problems: Path | None = None) -> VisibleCases:
    """The visible cases, from a kit's cases.json or from an instructor's specs."""
    from autograder.engine.problemset import load

    source = cases_file or problems or find_cases()
    if source.is_file():
        try:
            document = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise KitError(f"cannot read {source}: {error}") from None
        try:
            return from_document(document, str(source))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise KitError(f"{source} is damaged ({type(error).__name__}: {error}); unzip the kit again") from None
    return from_specs(load(source), str(source))


def from_specs(problems: list[Problem], origin: str) -> VisibleCases:
    """Keep the visible cases of loaded specs, each worth exactly what it is worth on Gradescope.

    ``runner.grade`` splits a problem's points over its cases by weight, so
    each kept case's weight is set to its Gradescope share: the split then
    gives back the same points.
    """
    from autograder.engine.scoring import assign_max_scores

    visible: list[Problem] = []
    for problem in problems:
        assign_max_scores(problem)
        kept = [replace(case, weight=case.max_score) for case in problem.cases if not case.hidden]
        visible.append(replace(problem, cases=kept, points=round(sum(case.max_score for case in kept), 4)))
    return VisibleCases(
        problems=visible,
        total_points=round(sum(problem.points for problem in problems if not problem.graded_by_hand), 4),
        hidden_cases=sum(case.hidden for problem in problems for case in problem.cases),
        origin=origin,
        follow_through={},  # with the specs at hand, the runner computes it
    )


# --------------------------------------------------------------------------- cases.json


def to_document(cases: VisibleCases) -> dict:
    """The kit's cases.json: visible cases, with expected and known wrong answers precomputed."""
    from autograder.engine.compiled import problems_document

    return {
        "format": CASES_FORMAT,
        "about": "The visible cases of the problem set, written by `python -m autograder build`. "
                 "Hidden cases are not in this file.",
        "total_points": cases.total_points,
        "hidden_cases": cases.hidden_cases,
        "problems": problems_document(cases.problems),
    }


def from_document(document: dict, origin: str) -> VisibleCases:
    """Inverse of :func:`to_document`: Problem and Case objects that ``runner.grade`` takes as they are.

    The kit has no reference code, so follow-through is not computed here; the
    shares are kept to tell the student which cases may still earn some.
    """
    from autograder.engine.compiled import problems_from_document

    if not isinstance(document, dict) or document.get("format") != CASES_FORMAT:
        raise KitError(f"{origin} is not a cases file of format {CASES_FORMAT}: rebuild the kit with this engine")
    follow_through = {raw["number"]: raw["follow_through"]["share"]
                      for entry in document["problems"] for raw in entry["cases"] if "follow_through" in raw}
    return VisibleCases(problems_from_document(document["problems"]), document["total_points"],
                        document["hidden_cases"], origin, follow_through)


# --------------------------------------------------------------------------- validate


def validate_command(arguments: argparse.Namespace) -> int:
    """Print every problem's points and case counts, then the errors; 1 if there are any."""
    folder = arguments.problems or default_problems()
    problems, errors, warnings = validate(folder, arguments.total)
    print(_overview(problems))
    _print_findings(errors, warnings)
    if errors:
        return 1
    print("All specs are valid.")
    return 0


def validate(folder: Path, total: float | None = None) -> tuple[list[Problem], list[str], list[str]]:
    """Load every spec, then check what loading alone does not; return (problems, errors, warnings).

    Loading already runs every case on its reference, cross-checks literal
    ``expected:`` values and the known mistakes. Each spec is loaded on its own
    so that one broken spec does not hide the errors of the others.
    """
    from autograder.engine.errors import SpecError
    from autograder.engine.scoring import assign_max_scores
    from autograder.engine.specs import load_problem, spec_files

    folder = Path(folder)
    specs = spec_files(folder) if folder.is_dir() else []
    if not specs:
        return [], [f"{folder}: no */spec.yaml here; pass --problems DIR"], []
    problems, errors, warnings = [], [], []
    for path in specs:
        try:
            problems.append(load_problem(path))
        except SpecError as error:
            errors.append(str(error))
    for key in ("title", "number"):
        seen: dict[str, Problem] = {}
        for problem in problems:
            other = seen.setdefault(getattr(problem, key), problem)
            if other is not problem:
                errors.append(f"{_where(problem.path, key)}: {key} {getattr(problem, key)!r} is also the {key} of {other.path}; "
                              "each problem needs its own")
    for problem in problems:
        if problem.graded_by_hand:
            continue
        assign_max_scores(problem)
        if abs(sum(case.max_score for case in problem.cases) - problem.points) > 1e-6:
            errors.append(f"{_where(problem.path, 'points')}: the case points do not add up to {problem.points:g}")
        if all(case.hidden for case in problem.cases):
            warnings.append(f"{problem.path}: every case is hidden, so students' check shows nothing for {problem.title!r}")
        for case in problem.cases:
            errors += _case_errors(case)
    autograded = sum(problem.points for problem in problems if not problem.graded_by_hand)
    if total is not None and not errors and abs(autograded - total) > 1e-6:
        errors.append(f"the points add up to {autograded:g}, not {total:g}: "
                      + "; ".join(f"{_where(p.path, 'points')} gives {p.points:g}" for p in problems if not p.graded_by_hand))
    return problems, errors, warnings


def _case_errors(case: Case) -> list[str]:
    """Values the kit or the worker could not carry. (Spec loading already checked the comparison.)"""
    from autograder.engine.compiled import encode_value

    errors = []
    values = [("an argument", list(case.args)), ("an argument", list(case.kwargs.values())),
              ("the expected value", case.expected.value), ("a known mistake's answer", [w for w, _ in case.known_mistakes])]
    for what, value in values:
        try:
            encode_value(value)
        except (TypeError, ValueError) as error:
            errors.append(f"{case.where}: {what} of {case.name!r} cannot be used: {error}")
    return errors


def _overview(problems: list[Problem]) -> str:
    lines = []
    for problem in problems:
        label = f"{problem.number:<4} {problem.title}"
        if problem.graded_by_hand:
            lines.append(f"{label}\n       graded by hand")
            continue
        hidden = sum(case.hidden for case in problem.cases)
        lines.append(f"{label}\n       {problem.points:g} points; {len(problem.cases) - hidden} visible and {hidden} hidden cases")
    autograded = [problem for problem in problems if not problem.graded_by_hand]
    visible = sum(not case.hidden for problem in autograded for case in problem.cases)
    hidden = sum(case.hidden for problem in autograded for case in problem.cases)
    lines.append(f"\nTotal: {sum(p.points for p in autograded):g} points in {len(autograded)} autograded problems; "
                 f"{visible} visible and {hidden} hidden cases.")
    return "\n".join(lines)


def _print_findings(errors: list[str], warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if errors:
        print(f"\n{len(errors)} error{'s' if len(errors) > 1 else ''}:", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)


def _where(path: Path | None, key: str) -> str:
    """``path:line`` of a top-level key of a spec, for errors about the problem as a whole."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, TypeError):
        return str(path)
    number = next((n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:")), None)
    return f"{path}:{number}" if number else str(path)


def _solvers(folder: Path) -> dict[str, Callable]:
    """Every public function of every reference.py under ``folder``, first definition first."""
    import inspect

    from autograder.engine.references import reference_module
    from autograder.engine.specs import spec_files

    found: dict[str, Callable] = {}
    for path in spec_files(folder):
        module = reference_module(path.parent)
        if module is not None:
            for name, value in inspect.getmembers(module, inspect.isfunction):
                found.setdefault(name, value)
    return found


# --------------------------------------------------------------------------- the starter ps3.py


STARTER_HEAD = '''"""Problem Set 3: your answers.

Write the body of each function below; keep its name and parameters. Until you
do, it raises NotImplementedError and scores 0 ("not implemented yet").
Check your work with:  python -m autograder check ps3.py
"""

import numpy as np
'''


def starter_source(problems: list[Problem], solvers: dict[str, Callable]) -> str:
    """ps3.py with every student function's signature and docstring and a NotImplementedError body.

    Signatures and docstrings come from the reference solvers (never their
    bodies); a function without a reference solver gets ``(*args, **kwargs)``.
    """
    graded_in: dict[str, list[str]] = {}
    for problem in problems:
        for case in problem.cases:
            labels = graded_in.setdefault(case.function, [])
            if problem.number not in labels:
                labels.append(problem.number)
    lines, written = [STARTER_HEAD], set()
    for problem in problems:
        functions = [name for name in dict.fromkeys(case.function for case in problem.cases) if name not in written]
        if functions:
            lines.append(f"\n# {'-' * 75}\n# {problem.title}\n")
        for name in functions:
            written.add(name)
            lines.append(_stub(name, solvers.get(name), graded_in[name]))
    return "\n".join(lines)


def _stub(name: str, solver: Callable | None, graded_in: list[str]) -> str:
    import inspect

    signature = _signature_text(solver) if solver else "(*args, **kwargs)"
    doc = (inspect.getdoc(solver) or "") if solver else ""
    doc = (doc + "\n\n" if doc else "") + f"Graded in question {', '.join(graded_in)}."
    doc = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    indented = "\n".join(f"    {line}" if line else "" for line in doc.splitlines())
    return f'\ndef {name}{signature}:\n    """{indented.lstrip()}\n    """\n    raise NotImplementedError("{name}")\n'


class _Annotation(str):
    """A string annotation (``from __future__ import annotations``) that prints without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _signature_text(function: Callable) -> str:
    import inspect

    def unquote(annotation: Any) -> Any:
        return _Annotation(annotation) if isinstance(annotation, str) else annotation

    signature = inspect.signature(function)
    parameters = [p.replace(annotation=unquote(p.annotation)) for p in signature.parameters.values()]
    return str(signature.replace(parameters=parameters, return_annotation=unquote(signature.return_annotation)))


def _check_starter(source: str, names: set[str]) -> None:
    """Run the starter once, so a signature that cannot be defined stops the build, not a student."""
    namespace: dict = {}
    try:
        exec(compile(source, "ps3.py", "exec"), namespace)  # noqa: S102 - generated from the instructor's own files
    except Exception as error:  # noqa: BLE001
        raise KitError(f"the generated starter ps3.py does not run ({type(error).__name__}: {error}); "
                       "check the annotations of the reference solvers") from None
    missing = names - {name for name, value in namespace.items() if callable(value)}
    if missing:
        raise KitError(f"the generated starter ps3.py lacks {', '.join(sorted(missing))}")


# --------------------------------------------------------------------------- build


def build_command(arguments: argparse.Namespace) -> int:
    """Validate, then write both zips; with any error, write nothing."""
    folder = Path(arguments.problems or default_problems())
    problems, errors, warnings = validate(folder, arguments.total)
    _print_findings(errors, warnings)
    if errors:
        print("Nothing was built: fix the errors above (python -m autograder validate lists them).", file=sys.stderr)
        return 1
    archives = {"autograder.zip": gradescope_files(folder), "student_kit.zip": student_kit_files(folder, problems)}
    out = arguments.out or folder.resolve().parent / "dist"
    out.mkdir(parents=True, exist_ok=True)
    for name, files in archives.items():
        write_zip(out / name, files)
    hidden = sum(case.hidden for problem in problems for case in problem.cases)
    print(f"wrote {out / 'autograder.zip'}: upload it in Gradescope (Configure Autograder, zip file upload)")
    print(f"wrote {out / 'student_kit.zip'}: give it to students (visible cases only; {hidden} hidden cases left out)")
    return 0


def gradescope_files(folder: Path) -> dict[str, Path | bytes]:
    """setup.sh and run_autograder at the root, with what they need: pyproject.toml, autograder/, problems/.

    problems/ also gets the compiled cache, so each grade skips loading the specs.
    """
    from autograder.engine.compiled import CACHE_NAME, cache_bytes
    from autograder.engine.problemset import load

    files: dict[str, Path | bytes] = {}
    for name in GRADESCOPE_FILES:
        if not (PACKAGE_ROOT / name).is_file():
            raise KitError(f"{PACKAGE_ROOT / name} is missing; the Gradescope zip needs it")
        files[name] = PACKAGE_ROOT / name
    files.update(_tree(PACKAGE_ROOT / "autograder", "autograder/", ENGINE_SUFFIXES))
    files.update(_tree(folder, "problems/"))
    files[f"problems/{CACHE_NAME}"] = cache_bytes(folder, load(folder, use_cache=False))
    return files


def student_kit_files(folder: Path, problems: list[Problem]) -> dict[str, Path | bytes]:
    """The engine, cases.json, a starter ps3.py and the student guide, under one folder."""
    if not STUDENT_GUIDE.is_file():
        raise KitError(f"{STUDENT_GUIDE} is missing; it becomes the kit's README.md")
    document = to_document(from_specs(problems, KIT_CASES))
    starter = starter_source(problems, _solvers(folder))
    _check_starter(starter, {case.function for problem in problems for case in problem.cases})
    files: dict[str, Path | bytes] = {
        f"{KIT_FOLDER}/README.md": STUDENT_GUIDE,
        f"{KIT_FOLDER}/ps3.py": starter.encode(),
        f"{KIT_FOLDER}/{KIT_CASES}": (json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode(),
    }
    files.update(_tree(PACKAGE_ROOT / "autograder", f"{KIT_FOLDER}/autograder/", ENGINE_SUFFIXES))
    return files


def _tree(root: Path, prefix: str, suffixes: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Files under ``root`` by their name in the zip; no caches, no hidden files."""
    files = {}
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or any(p.startswith(".") or p == "__pycache__" for p in parts) or path.suffix == ".pyc":
            continue
        if suffixes is None or path.suffix in suffixes:
            files[prefix + "/".join(parts)] = path
    return files


def write_zip(path: Path, files: dict[str, Path | bytes]) -> None:
    """A reproducible zip (sorted names, fixed times, executable bits kept), renamed into place when complete."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            content = files[name]
            executable = isinstance(content, Path) and os.access(content, os.X_OK)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            archive.writestr(info, content.read_bytes() if isinstance(content, Path) else content)
    write_atomic(path, buffer.getvalue())
