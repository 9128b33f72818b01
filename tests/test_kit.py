"""check, validate and build: the student kit, the Gradescope zip, and the specs' validation.

Nothing here is a fact about one assignment. What a kit holds is checked for every assignment in the
repository (conftest.ASSIGNMENTS), against its own specs and course configuration; the behaviour of
validate, build and check on broken or wrong input is shown on the fixture assignment tests/fixtures/lab1.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from autograder.apps import paths
from autograder.apps.cli import main
from autograder.apps.kit import cases as kit_cases
from autograder.apps.kit.validate import validate
from autograder.engine import compiled
from autograder.engine.problemset import load as load_problems
from autograder.engine.runner import ProblemSet, grade, load_problem_set
from autograder.model import Case, Problem
from autograder.output.results import gradescope_json, visible_output
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox

from conftest import (
    ASSIGNMENTS,
    FIXTURES,
    REPO,
    ROOT_ASSIGNMENT,
    SOLUTION,
    Assignment,
    GradescopeLayout,
    check_results,
    course_config,
    scores_by_function,
)

LAB1 = FIXTURES / "lab1"  # the fixture assignment: two problems, one hidden-case generator, a Python check worth 2


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``python -m autograder ARGV`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@dataclass(frozen=True)
class Built:
    """An assignment's two zips, and its student kit unzipped as a student would."""

    assignment: Assignment
    dist: Path
    kit: Path

    def kit_files(self) -> dict[str, str]:
        with zipfile.ZipFile(self.dist / "student_kit.zip") as archive:
            return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}

    @property
    def readme(self) -> str:
        return (self.kit / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def builder(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Assignment], Built]:
    """Build an assignment once per session: its problems as they are, its zips in a temporary dist/. The tests only
    read what it built; a test that builds differently builds into its own tmp_path."""
    done: dict[Path, Built] = {}

    def build_once(assignment: Assignment) -> Built:
        if assignment.root not in done:
            out = tmp_path_factory.mktemp("dist")
            code, _, err = run_cli("build", "--problems", str(assignment.problems), "--out", str(out))
            assert code == 0, err
            where = tmp_path_factory.mktemp("unzipped")
            with zipfile.ZipFile(out / "student_kit.zip") as archive:
                archive.extractall(where)
            done[assignment.root] = Built(assignment, out, where / kit_cases.KIT_FOLDER)
        return done[assignment.root]

    return build_once


@pytest.fixture(scope="session", params=ASSIGNMENTS, ids=str)
def built(request: pytest.FixtureRequest, builder: Callable[[Assignment], Built]) -> Built:
    assignment: Assignment = request.param
    return builder(assignment)


@pytest.fixture(scope="session")
def root(builder: Callable[[Assignment], Built]) -> Built:
    return builder(ROOT_ASSIGNMENT)


@pytest.fixture(scope="session")
def lab1(builder: Callable[[Assignment], Built]) -> Built:
    return builder(Assignment(LAB1))


def problems_of(assignment: Assignment) -> list[Problem]:
    return load_problems(assignment.problems)


def expected_points(assignment: Assignment) -> dict[str, float]:
    """The points Gradescope gives, by what earns them: the specs' case shares, and the rest of the configured
    total (validate holds the problems and Python checks to it) for the Python checks."""
    from autograder.engine.scoring import assign_max_scores

    graded = [problem for problem in problems_of(assignment) if not problem.graded_by_hand]
    for problem in graded:
        assign_max_scores(problem)
    visible = sum(case.max_score for problem in graded for case in problem.cases if not case.hidden)
    hidden = sum(case.max_score for problem in graded for case in problem.cases if case.hidden)
    configured = course_config(assignment.problems).total_points
    problem_points = sum(p.points for p in graded)
    total = problem_points if configured is None else configured  # unconfigured: no checks, the problems' sum
    return {
        "visible": round(visible, 4),
        "hidden": round(hidden, 4),
        "checks": round(total - problem_points, 4),
        "total": total,
    }


# --------------------------------------------------------------------------- the student kit


def test_kit_holds_engine_cases_starter_and_readme_only(built: Built) -> None:
    names = zipfile.ZipFile(built.dist / "student_kit.zip").namelist()
    assert {name.split("/")[0] for name in names} == {kit_cases.KIT_FOLDER}
    files = {name.split("/", 1)[1] for name in names}
    starter = built.assignment.course.starter_name
    assert {
        "README.md",
        starter,
        "cases.json",
        "autograder/__main__.py",
        "autograder/engine/runner.py",
        "autograder/sandbox/worker.py",
    } <= files
    assert all(name in {"README.md", starter, "cases.json"} or name.startswith("autograder/") for name in files), files
    assert not [name for name in files if name.endswith(("spec.yaml", "reference.py", ".pyc")) or "problems/" in name]


def _readme_commands(readme: str) -> list[str]:
    """The set-up commands of the README, as a shell reads them (continued lines joined)."""
    block = readme.split("On Linux and macOS:", 1)[1].split("\n\n", 2)[1]
    return [command.strip() for command in re.sub(r"\\\n\s*", " ", block).splitlines() if command.strip()]


def _engine_requirements() -> list[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    dependencies: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return dependencies


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_kit_readme_installs_what_gradescope_installs(built: Built) -> None:
    """The README's pip command: the course's student packages as configured, and what the kit needs (NumPy,
    PyYAML; nbformat and IPython where a notebook may be submitted) pinned as pyproject.toml pins them."""
    course = built.assignment.course
    commands = _readme_commands(built.readme)
    assert commands[0] == "python3 -m venv .venv" and commands[-1] == f".venv/bin/python -m autograder check {course.starter_name}"
    pip = shlex.split(commands[1])
    assert pip[:2] == [".venv/bin/pip", "install"]
    installed = pip[2:]
    assert installed[: len(course.student_packages)] == list(course.student_packages)
    needs = {"numpy", "pyyaml"} | ({"nbformat", "ipython"} if any(n.endswith(".ipynb") for n in course.submission_names) else set())
    configured = {_canonical(Requirement(line).name) for line in course.student_packages}
    from_engine = [line for line in _engine_requirements() if _canonical(Requirement(line).name) in needs - configured]
    assert sorted(installed[len(course.student_packages) :]) == sorted(from_engine)
    assert {_canonical(Requirement(line).name) for line in installed} == needs | configured


def test_the_kit_readme_says_what_the_course_is_and_what_each_kind_of_test_is_worth(built: Built) -> None:
    assignment, readme = built.assignment, built.readme
    course = assignment.course
    assert readme.startswith(f"# {course.title}: ")
    assert all(f"`{name}`" in readme for name in course.submission_names)
    functions = {case.function for problem in problems_of(assignment) for case in problem.cases}
    assert all(f"`{function}`" in readme for function in functions)
    points = expected_points(assignment)
    visible = sum(not case.hidden for problem in problems_of(assignment) for case in problem.cases)
    hidden = sum(case.hidden for problem in problems_of(assignment) for case in problem.cases)
    assert f"| the {visible} visible cases | {points['visible']:g} | `check`, and Gradescope |" in readme
    assert (f"| the {hidden} hidden cases | {points['hidden']:g} | Gradescope only |" in readme) == bool(hidden)
    assert re.search(rf"\| \d+ Python checks? \| {points['checks']:g} \| Gradescope only \|", readme) or not points["checks"]
    assert f"| all autograded tests | {points['total']:g} | |" in readme
    for problem in problems_of(assignment):
        if problem.graded_by_hand:
            assert problem.title in readme
    gradescope_python = {"python_version": "3.10", "python_full_version": "3.10.12", "sys_platform": "linux"}
    for line in course.student_packages:
        requirement = Requirement(line)
        if requirement.marker is None or Marker(str(requirement.marker)).evaluate(gradescope_python):
            version = str(requirement.specifier).removeprefix("==")
            assert f"| `{requirement.name}` | {version} |" in readme, line


def test_the_kit_readme_shows_what_check_prints(built: Built) -> None:
    """Its example is check's own table and footer, for a submission right everywhere but one function."""
    example = built.readme.split("For example, ", 1)[1].split("\n\n", 1)[1].split("\n\n- `function`", 1)[0]
    lines = [line.removeprefix("    ") for line in example.splitlines()]
    assert lines[0].split() == ["function", "passed", "points", "first", "failure"]
    functions = list(dict.fromkeys(case.function for problem in problems_of(built.assignment) for case in problem.cases if not case.hidden))
    assert [line.split()[0] for line in lines[1 : 1 + len(functions)]] == functions
    points = expected_points(built.assignment)
    assert f"Points: visible cases {points['visible']:g} (run here)" in example
    assert f"{points['total']:g} autograded in all." in example
    visible = [case for problem in problems_of(built.assignment) for case in problem.cases if not case.hidden]
    mistaken = [case for case in visible if case.known_mistakes]  # the made-up submission gives one such answer
    failing = 1 if mistaken else sum(case.function == visible[-1].function for case in visible)  # or is the starter there
    assert (f"{failing} visible case fails." if failing == 1 else f"{failing} visible cases fail.") in example


def test_a_kit_shows_nothing_of_another_course(lab1: Built) -> None:
    """The fixture course's kit: its own title, file and functions, and nothing of Problem Set 3 (the root's
    course in this repository), not even in its README."""
    files = lab1.kit_files()
    generated = {name: text for name, text in files.items() if not name.startswith(f"{kit_cases.KIT_FOLDER}/autograder/")}
    assert set(generated) == {f"{kit_cases.KIT_FOLDER}/{name}" for name in ("README.md", "lab1.py", "cases.json")}
    for name, text in generated.items():
        for foreign in ("Problem Set 3", "ps3", "conv2d", "scipy", "Q1", ".ipynb", "nbformat"):
            assert foreign not in text, (name, foreign)
    assert "Lab 1: warm-up" in generated[f"{kit_cases.KIT_FOLDER}/README.md"]
    assert "Python check 2 (run on Gradescope only); 12 autograded in all." in generated[f"{kit_cases.KIT_FOLDER}/README.md"]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _numbers(value: object) -> Iterator[int | float | np.number[Any]]:
    if isinstance(value, (np.ndarray, list, tuple)):
        for item in value.ravel().tolist() if isinstance(value, np.ndarray) else value:
            yield from _numbers(item)
    elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        yield value


def _needles(value: object) -> tuple[set[str], set[int]]:
    """Ways a value could be written down: whole (repr, JSON, the kit's encoding, flattened) and number by number.

    Returns (texts compared without whitespace, integers matched as whole tokens).
    """
    texts: set[str] = set()
    integers: set[int] = set()
    plain = _plain(value)
    renderings = [repr(value), repr(plain), json.dumps(plain), json.dumps(compiled.encode_value(value))]
    if isinstance(value, np.ndarray):
        renderings.append(json.dumps(value.ravel().tolist()))
    texts.update(_squash(text) for text in renderings if len(_squash(text)) >= 6)
    numbers = list(_numbers(value))
    if len(numbers) > 256:  # one entry of a large random array is no answer on its own (and a round 3000 is everywhere)
        return texts, integers
    for number in numbers:
        if float(number).is_integer():
            if abs(number) >= 1000:
                integers.add(int(number))
        else:
            forms = {repr(float(number)), f"{float(number):.6g}", f"{float(number):.10g}", repr(float(np.float32(number)))}
            texts.update(text for text in forms if len(text) >= 6)  # "0.5" is everywhere; whole values catch it
    return texts, integers


def _case_needles(case: Case) -> tuple[set[str], set[int]]:
    texts: set[str] = set()
    integers: set[int] = set()
    values = [list(case.args), *case.args, *case.kwargs.values(), case.expected.value, *(w for w, _ in case.known_mistakes)]
    # the calls of its parts a composite case's follow-through makes: derived from its inputs (the kit holds them)
    values += [
        value for part in (case.follow_through.calls if case.follow_through else ()) for value in (*part.args, *part.kwargs.values())
    ]
    for value in values:
        if value is not None:
            more_texts, more_integers = _needles(value)
            texts |= more_texts
            integers |= more_integers
    # The whole call, as messages show it and as the kit's cases file would store it.
    call = [repr(_plain(a)) for a in case.args] + [f"{k}={_plain(v)!r}" for k, v in case.kwargs.items()]
    texts.add(f"{case.function}({', '.join(call)})")
    stored = {"args": compiled.encode_value(list(case.args)), "kwargs": {k: compiled.encode_value(v) for k, v in case.kwargs.items()}}
    texts.add(json.dumps(stored)[1:-1])
    return texts, integers


def _leaks(
    files: dict[str, str], hidden: list[Case], visible: list[Case], prose: frozenset[str] = frozenset()
) -> list[tuple[str, str, str]]:
    """(file, hidden case, rendering) for every rendering of a hidden value found; those visible cases share are public.

    In the ``prose`` files (the starter: the references' docstrings, written for students) a round number alone is
    explanation ("exp(1000) overflows"), so only whole renderings of a value count there. The visible cases' names
    and notes are published as written: a hidden value they happen to spell ("a system with solution [1, 2, 3]",
    an adopter's, beside the guide's hidden [[1, 2, 3]]) is public."""
    public_texts, public_integers = set(), set()
    for case in visible:
        texts, integers = _case_needles(case)
        public_texts |= texts
        public_integers |= integers
    published = _squash(" ".join(f"{case.name} {case.note}" for case in visible))
    squashed = {name: _squash(text) for name, text in files.items()}
    found = []
    for case in hidden:
        texts, integers = _case_needles(case)
        secret = [needle for needle in texts - public_texts if _squash(needle) not in published]
        for name, text in files.items():
            found += [(name, case.name, needle) for needle in secret if _squash(needle) in squashed[name]]
            found += [
                (name, case.name, str(number))
                for number in integers - public_integers
                if name not in prose and re.search(rf"(?<![\w.]){number}(?![\w.])", text)
            ]
    return found


def _without_docstrings(source: str) -> str:
    """``source`` with the prose of every docstring blanked; its examples (a ``>>>`` line and the answer after it)
    kept, since a doctest showing a hidden case's call would publish it."""
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(node) is not None:
            first = node.body[0]
            example = False
            for number in range(first.lineno - 1, first.end_lineno or first.lineno):
                text = lines[number].strip()
                example = text.startswith(">>>") or (example and bool(text))
                lines[number] = lines[number] if example else ""
    return "\n".join(lines)


def test_no_hidden_input_or_answer_anywhere_in_the_kit(built: Built) -> None:
    cases = [case for problem in problems_of(built.assignment) for case in problem.cases]
    hidden = [case for case in cases if case.hidden]
    visible = [case for case in cases if not case.hidden]
    assert hidden
    files = built.kit_files()
    engine = f"{kit_cases.KIT_FOLDER}/autograder/"
    # The engine is the repository's own files, byte for byte: nothing of the specs is written into it.
    assert {name: text for name, text in files.items() if name.startswith(engine)} == {
        name: (REPO / "autograder" / name.removeprefix(engine)).read_text(encoding="utf-8") for name in files if name.startswith(engine)
    }
    generated = {name: text for name, text in files.items() if not name.startswith(engine)}
    starter = f"{kit_cases.KIT_FOLDER}/{built.assignment.course.starter_name}"
    # The starter's docstrings are the instructor's own words (the references'), published on purpose: a course's
    # "f_name is one of sin, exp, square, cube" names a hidden case's input and tells a student nothing new.
    # Everything the kit writes around them is scanned.
    scanned = {**generated, starter: _without_docstrings(generated[starter])}
    assert _leaks(scanned, hidden, visible, prose=frozenset({starter})) == []
    hidden_names = {case.name.split(" #")[0] for case in hidden} - {case.name for case in visible}
    starter_text = files[starter]
    # What the instructor publishes anyway (the starter's docstrings, from the references') may use a hidden case's
    # name as plain words ("raises ValueError on the zero vector"): such a name tells a student nothing new.
    published = "\n".join(
        ast.get_docstring(node) or ""
        for node in ast.walk(ast.parse(starter_text))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )

    def named(text: str, name: str) -> bool:
        """``name`` as a phrase of its own, so that "ints" is not found in "points" nor "random input" in "random
        inputs"; a JSON string holding exactly the name is such a phrase too."""
        return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None

    secret = {name for name in hidden_names if not named(published, name)}
    assert [(file, name) for file in generated for name in secret if named(generated[file], name)] == []
    kit_case_names = {
        case["name"] for problem in json.loads(files[f"{kit_cases.KIT_FOLDER}/cases.json"])["problems"] for case in problem["cases"]
    }
    assert not {name.split(" #")[0] for name in kit_case_names} & hidden_names
    # No generated case's seed and draw (its spec place says "(seed 3, draw 1)"): the word itself may be a course's own,
    # in a visible case's name or a function's parameter (an adopter's random walk "with seed 0", red team).
    assert re.search(r"seed \d+, draw \d+", files[f"{kit_cases.KIT_FOLDER}/cases.json"]) is None

    # The scan works: a cases file that held every case would be caught on each hidden case by its values alone,
    # unless its arguments are written exactly as a visible case's are (first_repeat("") beside tokenize("")):
    # those are public, and a scan for them could only cry wolf.
    everything = kit_cases.VisibleCases(problems_of(built.assignment), kit_cases.Points(0, 0, 0), 0, "", {}, built.assignment.course)
    leaked = json.dumps(kit_cases.to_document(everything), indent=1)
    leaked = re.sub(r'"name": ".*?",', "", leaked)

    def stored(case: Case) -> str:
        return _squash(json.dumps({"args": compiled.encode_value(list(case.args)), "kwargs": compiled.encode_value(dict(case.kwargs))}))

    public_arguments = {stored(case) for case in visible}
    detectable = {case.name for case in hidden if stored(case) not in public_arguments}
    assert detectable and {name for _, name, _ in _leaks({"cases.json": leaked}, hidden, visible)} >= detectable


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and type(a) is type(b)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b)
        )
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_cases_file_round_trips_every_visible_case_and_the_points(built: Built) -> None:
    assignment = built.assignment
    from_specs = kit_cases.load_visible_cases(problems=assignment.problems)
    from_kit = kit_cases.load_visible_cases(cases_file=built.kit / "cases.json")
    points = expected_points(assignment)
    assert from_kit.points == from_specs.points
    assert (from_kit.points.visible, from_kit.points.hidden, from_kit.points.checks, from_kit.points.total) == (
        points["visible"],
        points["hidden"],
        points["checks"],
        points["total"],
    )
    assert from_kit.hidden_cases == from_specs.hidden_cases
    pairs = [(a, b) for p, q in zip(from_specs.problems, from_kit.problems) for a, b in zip(p.cases, q.cases)]
    assert len(pairs) == sum(len(p.cases) for p in from_specs.problems) > 0
    for a, b in pairs:
        assert (a.number, a.function, a.name, a.note, a.comparison, a.max_score) == (
            b.number,
            b.function,
            b.name,
            b.note,
            b.comparison,
            b.max_score,
        )
        assert _same(a.args, b.args) and _same(a.kwargs, b.kwargs), a.name
        assert a.expected.raises == b.expected.raises and _same(a.expected.value, b.expected.value), a.name
        assert len(a.known_mistakes) == len(b.known_mistakes)
        assert all(_same(w1, w2) and m1 == m2 for (w1, m1), (w2, m2) in zip(a.known_mistakes, b.known_mistakes))
    assert set(from_kit.follow_through) == {a.number for a, _ in pairs if a.follow_through}


@pytest.mark.parametrize(
    "value",
    [
        (3, (4, 5)),
        [1, [2.5, None]],
        np.arange(6, dtype=np.int32).reshape(2, 3),
        np.zeros((0, 3)),
        np.array([[0.1, -2.0]], dtype=np.float32),
        np.array([True, False]),
        np.int64(7),
        np.float32(0.1),
        11329414656,
        "text",
        True,
    ],
)
def test_values_keep_their_type_through_the_cases_file(value: object) -> None:
    assert _same(compiled.decode_value(json.loads(json.dumps(compiled.encode_value(value)))), value)


@pytest.mark.parametrize("value", [{1, 2}, float("nan"), np.array([1.0, np.inf]), np.array(["a"]), object()])
def test_values_the_worker_cannot_carry_are_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        compiled.encode_value(value)


def test_kit_check_gives_gradescopes_messages_and_points(built: Built, tmp_path: Path) -> None:
    """The kit's verdicts, points and texts are Gradescope's, case by case, on the solution with every known
    mistake of the assignment in it."""
    assignment = built.assignment
    submission = tmp_path / assignment.course.starter_name
    submission.write_text("\n\n".join([assignment.solution.read_text(), *(m.read_text() for m in assignment.mistakes)]))
    on_gradescope = grade(
        CallGate.started(Sandbox(submission)), load_problem_set(assignment.problems), module_names=assignment.course.module_names
    )
    tests = {test.get("number"): test for test in gradescope_json(on_gradescope)["tests"]}
    full = {result.case.number: result for result in on_gradescope.results}
    in_kit = grade(
        CallGate.started(Sandbox(submission)), ProblemSet(kit_cases.load_visible_cases(cases_file=built.kit / "cases.json").problems)
    )
    assert in_kit.checks == []  # the kit has no Python check to run
    assert len(in_kit.results) == sum(not r.case.hidden for r in on_gradescope.results)
    diagnosed = 0
    for result in in_kit.results:
        number = result.case.number
        gradescope = full[number]
        assert result.case.max_score == gradescope.case.max_score == tests[number]["max_score"]
        assert result.verdict == gradescope.verdict, number
        output = visible_output(result)
        if gradescope.credit_reason:  # follow-through: the kit cannot compute it, and says so
            assert tests[number]["output"] == f"{output}\n\n{gradescope.credit_reason}"
        else:
            assert tests[number]["output"] == output and result.score == tests[number]["score"], number
        diagnosed += bool(result.diagnosis)
    assert diagnosed >= 1 or not assignment.mistakes


def _kit_python(where: Path, assignment: Assignment) -> Path:
    """A virtual environment with the standard library, NumPy and PyYAML (what check itself needs) and, of the
    course's packages, those its solution imports: what the kit's README installs, as far as that file goes. An
    adopter's solution importing SciPy, one of their packages, failed here with nothing wrong in the course."""
    import importlib.util

    import numpy
    import yaml

    from autograder.sandbox.importable import top_level_names

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = next(where.glob("lib/python3*/site-packages"))
    imported: set[str] = set()
    for node in ast.walk(ast.parse(assignment.solution.read_bytes())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.partition(".")[0])
    courses = top_level_names(assignment.course.package_names, sys.path) & imported
    sources = [Path(numpy.__file__).parent, Path(yaml.__file__).parent]
    for name in sorted(courses - {"numpy", "yaml"}):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            sources.append(Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin))
    sources += [p for source in list(sources) for p in (source.with_name(f"{source.name}.libs"), source.with_name("_yaml")) if p.exists()]
    for source in dict.fromkeys(sources):
        if source.is_dir():
            shutil.copytree(source, site / source.name, ignore=shutil.ignore_patterns("tests", "__pycache__"))
        else:
            shutil.copy(source, site / source.name)
    return where / "bin" / "python"


def test_kit_check_of_a_python_file_runs_with_what_the_kit_installs(root: Built) -> None:
    # Readable by the worker's own user, when the tests run as root.
    scratch = Path(tempfile.mkdtemp(prefix="kit-venv-"))
    try:
        scratch.chmod(0o755)
        python = _kit_python(scratch / "venv", ROOT_ASSIGNMENT)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}

        def check(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(python), "-m", "autograder", *argv],
                cwd=root.kit,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )

        where = subprocess.run(
            [str(python), "-c", "import autograder; print(autograder.__file__)"],
            cwd=root.kit,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert Path(where.strip()).parent == root.kit / "autograder"

        right = check("check", str(ROOT_ASSIGNMENT.solution))
        assert right.returncode == 0, right.stdout + right.stderr
        assert "All visible cases pass." in right.stdout and "FAIL" not in right.stdout
        assert "cases.json" in right.stdout.splitlines()[0]

        starter = check("check")  # the untouched starter, found by the course's file name
        assert starter.returncode == 1
        functions = {case.function for problem in problems_of(ROOT_ASSIGNMENT) for case in problem.cases if not case.hidden}
        assert starter.stdout.count("not implemented yet (it raises NotImplementedError)") >= len(functions)
        assert "Traceback" not in starter.stdout + starter.stderr
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_starter_has_each_signature_and_docstring_and_no_body(built: Built) -> None:
    from autograder.apps.kit.validate import solvers as _solvers

    assignment = built.assignment
    name = assignment.course.starter_name
    source = (built.kit / name).read_text()
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    wanted = {case.function for problem in problems_of(assignment) for case in problem.cases}
    assert set(functions) == wanted | set(validate(assignment.problems, None).checked_functions)
    solvers = _solvers(assignment.problems)
    namespace: dict[str, Any] = {}
    exec(compile(source, name, "exec"), namespace)
    for function, node in functions.items():
        reference = solvers[function]
        assert [(p.name, p.default) for p in inspect.signature(namespace[function]).parameters.values()] == [
            (p.name, p.default) for p in inspect.signature(reference).parameters.values()
        ]
        docstring, body = node.body[0], node.body[1:]
        assert (ast.get_docstring(node) or "").startswith(inspect.getdoc(reference) or "Graded")
        assert isinstance(docstring, ast.Expr) and len(body) == 1 and isinstance(body[0], ast.Raise)
        assert "NotImplementedError" in ast.unparse(body[0])
        with pytest.raises(NotImplementedError):
            namespace[function](
                *[None] * sum(p.default is inspect.Parameter.empty for p in inspect.signature(reference).parameters.values())
            )
    assert source.startswith(f'"""{assignment.course.title}: your answers.')


def test_the_untouched_starter_defines_every_function_whatever_its_annotations_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reference may annotate with names the starter does not import (``Sequence``, ``numpy.typing``, its own
    classes): the starter keeps them as written and never evaluates them, so each function loads and is "not
    implemented yet"."""
    folder = _lab1_copy(tmp_path)
    reference = folder / "p1" / "reference.py"
    reference.write_text(
        "from collections.abc import Sequence\nimport numpy.typing as npt\n\n\nclass Square(int):\n    pass\n\n\n"
        + reference.read_text().replace("def square(x: int) -> int:", "def square(x: int, unused: Sequence[npt.ArrayLike] = ()) -> Square:")
    )
    code, _, err = run_cli("build", "--problems", str(folder), "--out", str(tmp_path / "dist"))
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "dist" / "student_kit.zip") as archive:
        archive.extractall(tmp_path)
    kit = tmp_path / kit_cases.KIT_FOLDER
    starter = (kit / "lab1.py").read_text()
    assert "def square(x: int, unused: Sequence[npt.ArrayLike] = ()) -> Square:" in starter
    assert "def running_sum(values: list) -> np.ndarray:" in starter
    monkeypatch.chdir(kit)
    code, out, _ = run_cli("check")
    assert code == 1
    assert out.count("not implemented yet (it raises NotImplementedError)") == 2 and "could not be defined" not in out


def test_untouched_starter_scores_zero_with_not_implemented_everywhere(root: Built, gradescope: GradescopeLayout) -> None:
    name = ROOT_ASSIGNMENT.course.starter_name
    gradescope.submit({name: (root.kit / name).read_text()})
    data = gradescope.run()
    assert data["score"] == 0
    graded = [test for test in data["tests"] if test.get("max_score")]
    assert graded and all(test["score"] == 0 for test in graded)
    assert all("not implemented yet" in test["output"] for test in graded if "visible" in test.get("tags", []))
    assert all("raised an error" in test["output"] for test in graded if "hidden" in test.get("tags", []))
    assert "Problems loading your file" not in data["output"]


# --------------------------------------------------------------------------- the Gradescope zip


def test_gradescope_zip_layout(built: Built) -> None:
    with zipfile.ZipFile(built.dist / "autograder.zip") as archive:
        infos = {info.filename: info for info in archive.infolist()}
    problems = [problem.key for problem in problems_of(built.assignment)]
    assert {
        "setup.sh",
        "run_autograder",
        "pyproject.toml",
        "autograder/__init__.py",
        "autograder/sandbox/worker.py",
        *(f"problems/{key}/spec.yaml" for key in problems),
    } <= set(infos)
    assert {name.split("/")[0] for name in infos} == {
        "setup.sh",
        "run_autograder",
        "pyproject.toml",
        "constraints.txt",
        "assignment.yaml",
        "autograder",
        "problems",
    }
    for name in ("setup.sh", "run_autograder"):
        assert (infos[name].external_attr >> 16) & 0o111, f"{name} must be executable"
    assert not [name for name in infos if "__pycache__" in name or name.endswith(".pyc")]


def test_build_is_reproducible(root: Built, tmp_path: Path) -> None:
    code, _, err = run_cli("build", "--problems", str(ROOT_ASSIGNMENT.problems), "--out", str(tmp_path))
    assert code == 0, err
    for name in ("autograder.zip", "student_kit.zip"):
        assert (tmp_path / name).read_bytes() == (root.dist / name).read_bytes()


def test_gradescope_zip_grades_the_solution_to_full_marks(root: Built, tmp_path: Path) -> None:
    """Unzipped into a fresh /autograder layout; its own run_autograder and engine, nothing from this checkout."""
    folder = tmp_path / "autograder"
    source = folder / "source"
    with zipfile.ZipFile(root.dist / "autograder.zip") as archive:
        archive.extractall(source)
        for info in archive.infolist():
            (source / info.filename).chmod((info.external_attr >> 16) & 0o777)
    (folder / "submission").mkdir()
    shutil.copy(ROOT_ASSIGNMENT.solution, folder / "submission" / ROOT_ASSIGNMENT.course.starter_name)
    (folder / "results").mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment.update(AUTOGRADER_ROOT=str(folder), AUTOGRADER_PYTHON=sys.executable)
    engine = subprocess.run(
        [sys.executable, "-c", "import autograder; print(autograder.__file__)"],
        cwd=source,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(engine.strip()).parent == source / "autograder"
    process = subprocess.run([str(source / "run_autograder")], env=environment, capture_output=True, timeout=600, check=False)
    raw = (folder / "results" / "results.json").read_bytes()
    data = json.loads(raw)
    check_results(data, raw)
    assert data["score"] == expected_points(ROOT_ASSIGNMENT)["total"], (process.stdout, process.stderr, data["output"])
    assert all(earned == possible for earned, possible in scores_by_function(data).values())


# --------------------------------------------------------------------------- validate and build


def test_validate_lists_points_and_case_counts() -> None:
    code, out, err = run_cli("validate", "--problems", str(LAB1 / "problems"))
    assert code == 0, err
    assert "1    P1: squares\n       4 points; 1 visible and 1 hidden cases\n" in out
    assert "2    P2: running sums\n       8 points; 1 visible and 3 hidden cases and 1 Python check\n" in out
    assert "Total: 12 points in 2 autograded problems; 2 visible and 4 hidden cases, 1 Python check.\n" in out
    assert "All specs are valid." in out
    code, _, err = run_cli("validate", "--problems", str(LAB1 / "problems"), "--total", "2")
    assert code == 1 and "add up to 12, not 2 (--total)" in err  # not "the course's total_points", which is not 2 (adopter)
    assert re.search(r"p1/spec\.yaml:\d+ gives 4;", err) and re.search(r"p2/spec\.yaml:\d+ gives 6 \+ 2 from its Python checks", err), err
    assert "problems/p1/spec.yaml:" in err and "problems/p2/spec.yaml:" in err, err


def _lab1_copy(tmp_path: Path) -> Path:
    """A copy of the fixture assignment; its problems folder."""
    shutil.copytree(LAB1, tmp_path / "lab1", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "lab1" / "problems"


def test_validate_reports_every_broken_spec_with_file_and_line(tmp_path: Path) -> None:
    folder = _lab1_copy(tmp_path)
    spec = folder / "p1" / "spec.yaml"
    spec.write_text(spec.read_text().replace("expected: 9}", "expected: 10}"))
    other = folder / "p2" / "spec.yaml"
    other.write_text(other.read_text().replace("running_sum: {compare: {kind: array}}", "running_sum: {}"))
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 1
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "expected: 10}" in text)
    assert f"{spec}:{line}: literal expected: 10 disagrees" in err
    assert f"{other}:" in err


def test_validate_warns_of_follow_through_that_no_submission_can_earn(tmp_path: Path) -> None:
    """The credit needs each part seen answering two ways on its own cases (visible ones, for a visible composite):
    square has one visible case, so a visible composite of it can never earn its share; with a second visible
    case it can, and the warning goes."""
    folder = _lab1_copy(tmp_path)
    reference = folder / "p1" / "reference.py"
    reference.write_text(
        reference.read_text() + "\n\ndef square_plus_one(x):\n    return square(x) + 1\n\n\n"
        "def square_plus_one_from(parts, x):\n    return parts.square(x) + 1\n"
    )
    spec = folder / "p1" / "spec.yaml"
    spec.write_text(
        spec.read_text()
        .replace(
            "  square: {compare: {kind: int}}\n",
            "  square: {compare: {kind: int}}\n  square_plus_one:\n    compare: {kind: int}\n"
            "    follow_through: {share: 0.5, using: square_plus_one_from}\n",
        )
        .replace("cases:\n", "cases:\n  - {name: one more, call: square_plus_one, args: [5]}\n")
    )
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 0, err
    assert "follow-through credit for visible cases of square_plus_one can never be earned: its part square needs" in err, err
    spec.write_text(spec.read_text().replace("cases:\n", "cases:\n  - {name: two, call: square, args: [2]}\n"))
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 0 and "can never be earned" not in err, err


def test_validate_warns_of_a_case_that_calls_a_helper_of_the_reference(tmp_path: Path) -> None:
    """An adopter's `call: _poly` validated silently: _poly was graded, stubbed in the starter file and listed in the
    kit's README as a function to write."""
    folder = _lab1_copy(tmp_path)
    reference = folder / "p1" / "reference.py"
    reference.write_text(reference.read_text() + "\n\ndef _twice(x):\n    return 2 * x\n")
    spec = folder / "p1" / "spec.yaml"
    spec.write_text(spec.read_text().replace("cases:\n", "cases:\n  - {name: helper, call: _twice, args: [5], hidden: true}\n"))
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 0, err
    assert f"{spec}:" in err and "this case calls _twice, which looks like a helper of reference.py" in err, err


def test_a_problem_graded_by_its_python_checks_alone_validates_and_grades(tmp_path: Path) -> None:
    """A problem whose answers only checks can judge (a dict, say) needs no YAML case and no points of its own: its
    checks' weights are its points. It was refused ("a problem needs at least one case"), so an adopter added a
    dummy numeric case to it."""
    folder = _lab1_copy(tmp_path)
    (folder / "p3").mkdir()
    (folder / "p3" / "spec.yaml").write_text('title: "P3: letters"\nnumber: "3"\n')
    (folder / "p3" / "reference.py").write_text("def vowels(text):\n    return sum(letter in 'aeiou' for letter in text)\n")
    (folder / "p3" / "test_vowels.py").write_text(
        "import pytest\n\n\n@pytest.mark.weight(3)\ndef test_vowels(student):\n    assert student.vowels('banana') == 3\n"
    )
    config = folder.parent / "assignment.yaml"
    config.write_text(config.read_text().replace("total_points: 12", "total_points: 15"))
    code, out, err = run_cli("validate", "--problems", str(folder))
    assert code == 0 and "P3: letters\n       3 points; 0 visible and 0 hidden cases and 1 Python check" in out, out + err
    assert "every case is hidden" not in err
    solution = folder.parent / "lab1.py"
    solution.write_text(solution.read_text() + "\n\ndef vowels(text):\n    return sum(text.count(v) for v in 'aeiou')\n")
    code, out, err = run_cli("grade", str(solution), "--problems", str(folder))
    assert code == 0 and "Autograded score: 15 / 15" in out, out + err
    (folder / "p3" / "spec.yaml").write_text('title: "P3: letters"\nnumber: "3"\npoints: 3\n')
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 1 and "points are shared by a problem's cases, and this one has none" in err, err
    (folder / "p3" / "test_vowels.py").unlink()
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 1 and "a problem needs at least one case, Python checks (test_*.py), or graded_by_hand" in err, err


def test_validate_refuses_right_answers_the_grader_would_refuse_for_their_json(tmp_path: Path) -> None:
    """A grading's replies may hold only so much JSON (sandbox/reply.JsonBudget): right answers over it took points
    from a right submission with no warning (red team, a word-count course with 600 kB answers)."""
    folder = _lab1_copy(tmp_path)
    config = folder.parent / "assignment.yaml"
    config.write_text(config.read_text().replace("  call_timeout: 3", "  call_timeout: 3\n  reply_json_bytes: 1"))
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 1 and "problems/p1/spec.yaml:8: the right answer holds 2 bytes of JSON, over reply_json_bytes (1)" in err, err
    config.write_text(config.read_text().replace("\n  reply_json_bytes: 1", ""))
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 0, err


def test_build_refuses_an_invalid_spec_and_writes_nothing(tmp_path: Path) -> None:
    folder = _lab1_copy(tmp_path)
    spec = folder / "p1" / "spec.yaml"
    spec.write_text(spec.read_text().replace("expected: 16", "expected: 17"))
    out = tmp_path / "dist"
    code, _, err = run_cli("build", "--problems", str(folder), "--out", str(out))
    assert code == 1 and f"{spec}:" in err and "Nothing was built" in err
    assert not out.exists()


def test_the_instructor_guide_example_validates_and_builds(tmp_path: Path) -> None:
    """The example problem in docs/instructors.md, copied from the page as it is, added to a course."""
    guide = (REPO / "docs" / "instructors.md").read_text()
    blocks = re.findall(r"\*\*`(problems/[^`]+)`\*\*\n+```\w*\n(.*?)```", guide, flags=re.S)
    assert [name for name, _ in blocks] == ["problems/q5/spec.yaml", "problems/q5/reference.py"]
    folder = _lab1_copy(tmp_path)
    for name, text in blocks:
        (folder.parent / name).parent.mkdir(exist_ok=True)
        (folder.parent / name).write_text(text)
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 1 and "add up to 22, not 12" in err  # the guide's next step: the configured total
    config = folder.parent / "assignment.yaml"
    config.write_text(config.read_text().replace("total_points: 12", "total_points: 22"))
    code, out, err = run_cli("validate", "--problems", str(folder))
    assert code == 0, err
    claim = re.search(r"`validate` lists `5 Q5: average pooling`, worth 10 points, with (\d+)\s+visible and (\d+) hidden cases", guide)
    assert claim, "the guide no longer says what validate lists for its example"
    assert f"Q5: average pooling\n       10 points; {claim[1]} visible and {claim[2]} hidden cases" in out
    assert "Total: 22 points" in out
    code, _, err = run_cli("build", "--problems", str(folder))
    assert code == 0, err
    starter = zipfile.ZipFile(folder.parent / "dist" / "student_kit.zip").read(f"{kit_cases.KIT_FOLDER}/lab1.py").decode()
    assert "def avg_pool2d(x, size):" in starter and "def pool_output_shape(shape, size, stride=None):" in starter


def test_a_function_only_the_python_checks_call_gets_a_stub_and_a_place_in_the_readme(tmp_path: Path) -> None:
    """A course that grades a function by its Python checks alone (a dict answer, say) still hands students its
    signature: the starter has every function the checks call on the reference, after those the cases call."""
    folder = _lab1_copy(tmp_path)
    reference = folder / "p2" / "reference.py"
    reference.write_text(
        reference.read_text() + '\n\ndef letter_counts(text: str) -> dict:\n    """How often each letter occurs."""\n'
        "    return {letter: text.count(letter) for letter in set(text)}\n"
    )
    (folder / "p2" / "test_counts.py").write_text(
        "import pytest\n\n\n@pytest.mark.weight(1)\ndef test_counts(student):\n    student.letter_counts('aab')\n"
    )
    config = folder.parent / "assignment.yaml"
    config.write_text(config.read_text().replace("total_points: 12", "total_points: 13"))
    code, _, err = run_cli("build", "--problems", str(folder))
    assert code == 0, err
    with zipfile.ZipFile(folder.parent / "dist" / "student_kit.zip") as archive:
        starter = archive.read(f"{kit_cases.KIT_FOLDER}/lab1.py").decode()
        readme = archive.read(f"{kit_cases.KIT_FOLDER}/README.md").decode()
    assert "def letter_counts(text: str) -> dict:" in starter and "Graded by the course's Python checks." in starter
    assert starter.index("def running_sum") < starter.index("def letter_counts")  # the cases' functions first
    assert "`letter_counts`" in readme.split("## Check your work")[0]


# --------------------------------------------------------------------------- check


def test_check_finds_the_kit_cases_before_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab1: Built) -> None:
    monkeypatch.chdir(tmp_path)
    assert kit_cases.find_cases() == paths.PACKAGE_ROOT / "problems"  # nothing here: the checkout beside the engine
    (tmp_path / "problems").mkdir()
    assert kit_cases.find_cases() == paths.PACKAGE_ROOT / "problems"  # a problems/ here is never taken unless named
    shutil.copy(lab1.kit / "cases.json", tmp_path / "cases.json")
    assert kit_cases.find_cases() == tmp_path / "cases.json"


@pytest.mark.ps3
@pytest.mark.parametrize(
    ("layers", "promised"),
    [
        ("return _right(size_in, size_out, kernel_size, stride, padding) + 1", True),
        ("raise ValueError('the sizes step over the target')", True),
        ("raise NotImplementedError", False),
    ],
    ids=["a wrong part: a wrong total returned", "a part that raises: so does the total", "the starter's part"],
)
def test_check_promises_follow_through_credit_only_where_it_may_come(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Built, layers: str, promised: bool
) -> None:
    """In the kit, which cannot compute the credit: a wrong total, or one raising what its part raises, may earn it;
    a total that raised the starter's NotImplementedError (through its part, untouched) cannot."""
    source = (
        SOLUTION.read_text()
        + "\n\n_right = num_conv_layers\n\n\ndef num_conv_layers(size_in, size_out, kernel_size, stride=1, padding=0):\n    "
    )
    source += layers + "\n"
    (tmp_path / SOLUTION.name).write_text(source)
    monkeypatch.chdir(root.kit)  # the kit has no reference: it can only say that credit may come
    code, out, _ = run_cli("check", str(tmp_path / SOLUTION.name))
    assert code == 1
    said = re.search(r"can still earn part of (their|its) points on Gradescope \(follow-through credit\)", " ".join(out.split()))
    assert bool(said) is promised, out


def test_check_in_a_checkout_runs_visible_cases_only(tmp_path: Path) -> None:
    code, out, _ = run_cli("check", str(LAB1 / "lab1.py"), "--problems", str(LAB1 / "problems"))
    assert code == 0 and "All visible cases pass." in out and "(hidden)" not in out
    assert "check:" not in out  # the Python check is not run here, as in the kit
    wrong = tmp_path / "lab1.py"
    wrong.write_text((LAB1 / "lab1.py").read_text() + "\n\ndef square(x):\n    return 2 * x\n")
    code, out, _ = run_cli("check", str(wrong), "--problems", str(LAB1 / "problems"))
    assert code == 1
    assert "Likely mistake: This is 2·x, not x·x." in out
    assert "1 visible case fails." in out


def test_check_says_what_each_kind_of_test_is_worth_in_the_kit_and_in_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab1: Built
) -> None:
    """The visible cases run here, the hidden cases and the Python check on Gradescope only: 3.5 + 6.5 + 2 = 12."""
    line = "Points: visible cases 3.5 (run here); hidden cases 6.5 and Python check 2 (run on Gradescope only); 12 autograded in all."
    code, out, _ = run_cli("check", str(LAB1 / "lab1.py"), "--problems", str(LAB1 / "problems"))
    assert code == 0 and line in out
    monkeypatch.chdir(lab1.kit)
    code, out, _ = run_cli("check", str(LAB1 / "lab1.py"))
    assert code == 0 and line in out and "Checking" in out and "cases.json" in out.splitlines()[0]
    code, out, _ = run_cli("check", str(LAB1 / "lab1.py"), "--only", "square")
    assert code == 0 and line in out and "The visible cases of square, run here, are worth 2 of them." in out


def test_check_all_shows_every_case_and_every_failure(tmp_path: Path) -> None:
    """By default, one row per function and each function's first failure; --all, every case and every failure."""
    folder = _lab1_copy(tmp_path)
    spec = folder / "p1" / "spec.yaml"
    spec.write_text(
        spec.read_text().replace('  - {name: "three"', '  - {name: "five", call: square, args: [5], expected: 25}\n  - {name: "three"')
    )
    wrong = tmp_path / "lab1.py"
    wrong.write_text("import numpy as np\n\ndef square(x):\n    return 2 * x\n\ndef running_sum(values):\n    return np.cumsum(values)\n")
    code, out, _ = run_cli("check", str(wrong), "--problems", str(folder))
    assert code == 1
    assert re.search(r"^square +0/2 ", out, flags=re.M) and out.count("\n--- ") == 1 and "--- 1.1 " in out
    assert "2 visible cases fail. Add --all to see every case, and every failure in full." in out
    code, everything, _ = run_cli("check", str(wrong), "--problems", str(folder), "--all")
    assert code == 1
    assert "--- 1.1 " in everything and "--- 1.2 " in everything and everything.count("Likely mistake: This is 2·x, not x·x.") == 2
    assert re.search(r"^1\.1 +FAIL +0/\S+ +square +five ", everything, flags=re.M)
    assert re.search(r"^2\.1 +PASS +\S+ +running_sum ", everything, flags=re.M)
    assert "Add --all" not in everything


def test_check_says_what_to_do_when_the_file_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("check", "--problems", str(LAB1 / "problems"))
    assert code == 1 and "lab1.py does not exist" in err


def test_right_answers_that_fit_one_by_one_but_not_together_are_refused_too() -> None:
    """Twenty answers of 100 bytes of JSON each fit a 100-byte reply bound, but not a quarter of the 64 x 100 a
    grading may parse in all: wrong answers may be larger still, and every right submission would lose points."""
    from autograder.apps.kit.validate import _answers_too_large
    from autograder.model import Comparison, Expected
    from autograder.sandbox.limits import Limits

    case = Case("p", "1.1", "f", "c", (), {}, Expected("w" * 98), Comparison("value"), where="problems/p/spec.yaml:3")
    assert _answers_too_large([Problem("p", "P", "1", 1.0, cases=[case] * 16)], Limits(reply_json_bytes=100)) == []
    [error] = _answers_too_large([Problem("p", "P", "1", 1.0, cases=[case] * 20)], Limits(reply_json_bytes=100))
    assert error.startswith("the right answers hold 2,000 bytes of JSON in all, over a quarter of the 6,400"), error


def test_a_problem_of_python_checks_alone_is_said_to_be_graded_on_gradescope_where_the_kit_has_none() -> None:
    """The kit has no checks, so its check printed "P5: 0 / 0 (0 of 0 tests passed)" for such a problem (adopter)."""
    from autograder.model import Report
    from autograder.output.results import summary_sections

    report = Report("lab.py", problems=[Problem("p5", "P5: dedupe", "5", 0.0)])
    text = "\n".join(str(section.text) for section in summary_sections(report))
    assert "- P5: dedupe: graded by its Python checks, on Gradescope" in text and "0 / 0" not in text.split("**")[-1]


def test_an_answer_holding_arrays_is_sized_as_the_worker_sends_it() -> None:
    """Arrays travel as blobs however deep they sit: a (weights, biases) answer of 300,010 numbers is 76 bytes of
    JSON and two blobs, not the 3.2 MB its cases.json form would be (a newcomer's review)."""
    import numpy as np

    from autograder.apps.kit.validate import _answers_too_large
    from autograder.model import Comparison, Expected
    from autograder.sandbox.limits import Limits

    case = Case("p", "1.1", "f", "c", (), {}, Expected((np.zeros(300_000), np.zeros(10))), Comparison("value"), where="x:1")
    assert _answers_too_large([Problem("p", "P", "1", 1.0, cases=[case])], Limits()) == []


def test_a_course_that_takes_a_notebook_first_gets_a_notebook_starter(tmp_path: Path) -> None:
    """submission_names: [lab1.ipynb, ...] wrote the Python starter's text under the notebook's name, which Jupyter
    cannot open and check refused ("not a notebook"). The starter is a notebook: one code cell holding it."""
    course = tmp_path / "lab1"
    shutil.copytree(LAB1, course, ignore=shutil.ignore_patterns("__pycache__"))
    config = course / "assignment.yaml"
    config.write_text(config.read_text().replace("submission_names: [lab1.py]", "submission_names: [lab1.ipynb, lab1.py]"))
    code, _, err = run_cli("build", "--problems", str(course / "problems"), "--out", str(tmp_path / "dist"))
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "dist" / "student_kit.zip") as archive:
        notebook = json.loads(archive.read(f"{kit_cases.KIT_FOLDER}/lab1.ipynb"))
    assert notebook["nbformat"] == 4 and [cell["cell_type"] for cell in notebook["cells"]] == ["code"]
    import nbformat

    nbformat.validate(nbformat.reads(json.dumps(notebook), as_version=4))  # as Jupyter reads it: a valid nbformat 4.5
    starter = "".join(notebook["cells"][0]["source"])
    assert "raise NotImplementedError" in starter
    (tmp_path / "lab1.ipynb").write_text(json.dumps(notebook))
    code, out, err = run_cli("grade", str(tmp_path / "lab1.ipynb"), "--problems", str(course / "problems"))
    assert "not implemented yet" in out and "not a notebook" not in out + err


@pytest.mark.parametrize(
    ("course", "float32_said", "transpose_said"),
    [pytest.param("root", True, True, marks=pytest.mark.ps3), ("lab1", True, False), ("lab2", False, True)],
)
def test_the_kit_readme_promises_only_what_its_own_comparisons_keep(
    builder: Callable[[Assignment], Built], course: str, float32_said: bool, transpose_said: bool
) -> None:
    """ "Float32 precision is good enough" only where every array tolerance lets float32 work pass (Lab 2's 1e-9 does
    not: an adopter's float32 answer failed its check), and the transpose message only where an answer has rows
    and columns of different lengths (Lab 1's running sums have one axis)."""
    assignment = {"root": ROOT_ASSIGNMENT, "lab1": Assignment(LAB1), "lab2": Assignment(REPO / "assignments" / "lab2")}[course]
    readme = builder(assignment).readme
    assert ("Float32 precision is good enough." in readme) == float32_said
    assert ("the transpose of the right shape" in readme) == transpose_said
