"""check, validate and build: the student kit, the Gradescope zip, and the specs' validation."""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.apps import course, paths
from autograder.apps.cli import main
from autograder.apps.kit import build
from autograder.apps.kit import cases as kit_cases
from autograder.engine import compiled
from autograder.engine.problemset import load as load_problems
from autograder.engine.runner import grade
from autograder.output.results import gradescope_json, visible_output

from conftest import REPO, SOLUTION, check_results, scores_by_function, spec_problems, submission_with, total_points

PROBLEMS = REPO / "problems"


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``python -m autograder ARGV`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The real problems, built once for the whole module."""
    out = tmp_path_factory.mktemp("dist")
    code, _, err = run_cli("build", "--problems", str(PROBLEMS), "--out", str(out))
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def kit_dir(dist, tmp_path_factory) -> Path:
    """The student kit, unzipped as a student would."""
    where = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(dist / "student_kit.zip") as archive:
        archive.extractall(where)
    return where / kit_cases.KIT_FOLDER


# --------------------------------------------------------------------------- the student kit


def test_kit_holds_engine_cases_starter_and_guide_only(dist):
    names = zipfile.ZipFile(dist / "student_kit.zip").namelist()
    assert {name.split("/")[0] for name in names} == {kit_cases.KIT_FOLDER}
    files = {name.split("/", 1)[1] for name in names}
    assert {"README.md", "ps3.py", "cases.json", "autograder/__main__.py", "autograder/engine/runner.py", "autograder/sandbox/worker.py"} <= files
    assert all(name in {"README.md", "ps3.py", "cases.json"} or name.startswith("autograder/") for name in files), files
    assert not [name for name in files if name.endswith(("spec.yaml", "reference.py", ".pyc")) or "problems/" in name]
    assert "pip install numpy pyyaml" in (build.STUDENT_GUIDE.read_text())


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _numbers(value):
    if isinstance(value, (np.ndarray, list, tuple)):
        for item in (value.ravel().tolist() if isinstance(value, np.ndarray) else value):
            yield from _numbers(item)
    elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        yield value


def _needles(value) -> tuple[set[str], set[int]]:
    """Ways a value could be written down: whole (repr, JSON, the kit's encoding, flattened) and number by number.

    Returns (texts compared without whitespace, integers matched as whole tokens).
    """
    texts, integers = set(), set()
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
            renderings = {repr(float(number)), f"{float(number):.6g}", f"{float(number):.10g}", repr(float(np.float32(number)))}
            texts.update(text for text in renderings if len(text) >= 6)  # "0.5" is everywhere; whole values catch it
    return texts, integers


def _case_needles(case) -> tuple[set[str], set[int]]:
    texts, integers = set(), set()
    values = [list(case.args), *case.args, *case.kwargs.values(), case.expected.value, *(w for w, _ in case.known_mistakes)]
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


def _leaks(files: dict[str, str], hidden, visible) -> list[tuple[str, str, str]]:
    """(file, hidden case, rendering) for every rendering of a hidden value found; those visible cases share are public."""
    public_texts, public_integers = set(), set()
    for case in visible:
        texts, integers = _case_needles(case)
        public_texts |= texts
        public_integers |= integers
    squashed = {name: _squash(text) for name, text in files.items()}
    found = []
    for case in hidden:
        texts, integers = _case_needles(case)
        for name, text in files.items():
            found += [(name, case.name, needle) for needle in texts - public_texts if _squash(needle) in squashed[name]]
            found += [(name, case.name, str(number)) for number in integers - public_integers
                      if re.search(rf"(?<![\w.]){number}(?![\w.])", text)]
    return found


def test_no_hidden_input_or_answer_anywhere_in_the_kit(dist):
    cases = [case for problem in load_problems(PROBLEMS) for case in problem.cases]
    hidden = [case for case in cases if case.hidden]
    visible = [case for case in cases if not case.hidden]
    assert len(hidden) > 40
    with zipfile.ZipFile(dist / "student_kit.zip") as archive:
        files = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    assert _leaks(files, hidden, visible) == []
    hidden_names = {case.name.split(" #")[0] for case in hidden} - {case.name for case in visible}
    generated = {f"{kit_cases.KIT_FOLDER}/cases.json", f"{kit_cases.KIT_FOLDER}/ps3.py"}  # written from the specs
    assert generated <= set(files)

    def named(file: str, name: str) -> bool:
        """A hidden name anywhere in what the specs wrote; in files copied as they are (the student guide, the
        engine), as a phrase of its own, so that a plain name ("random input") is not found in prose ("random inputs")."""
        if file in generated:
            return name in files[file]
        return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", files[file]) is not None

    assert [(file, name) for file in files for name in hidden_names if named(file, name)] == []
    assert "seed" not in files[f"{kit_cases.KIT_FOLDER}/cases.json"]

    # The scan works: a cases file that held every case would be caught on each hidden case by its values alone.
    everything = kit_cases.VisibleCases(load_problems(PROBLEMS), total_points(), 0, "", {}, course.load(PROBLEMS))
    leaked = json.dumps(kit_cases.to_document(everything), indent=1)
    leaked = re.sub(r'"name": ".*?",', "", leaked)
    assert {name for _, name, _ in _leaks({"cases.json": leaked}, hidden, visible)} == {case.name for case in hidden}


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_cases_file_round_trips_every_visible_case(kit_dir):
    from_specs = kit_cases.from_specs(load_problems(PROBLEMS), "problems", course.load(PROBLEMS))
    from_kit = kit_cases.load_visible_cases(cases_file=kit_dir / "cases.json")
    assert from_kit.total_points == from_specs.total_points == total_points()
    assert from_kit.hidden_cases == from_specs.hidden_cases
    pairs = [(a, b) for p, q in zip(from_specs.problems, from_kit.problems) for a, b in zip(p.cases, q.cases)]
    assert len(pairs) == sum(len(p.cases) for p in from_specs.problems) > 20
    assert any(isinstance(arg, tuple) for a, _ in pairs for arg in a.args)
    for a, b in pairs:
        assert (a.number, a.function, a.name, a.note, a.comparison, a.max_score) == (b.number, b.function, b.name, b.note, b.comparison, b.max_score)
        assert _same(a.args, b.args) and _same(a.kwargs, b.kwargs), a.name
        assert a.expected.raises == b.expected.raises and _same(a.expected.value, b.expected.value), a.name
        assert len(a.known_mistakes) == len(b.known_mistakes)
        assert all(_same(w1, w2) and m1 == m2 for (w1, m1), (w2, m2) in zip(a.known_mistakes, b.known_mistakes))
    assert set(from_kit.follow_through) == {a.number for a, _ in pairs if a.follow_through}


@pytest.mark.parametrize("value", [
    (3, (4, 5)), [1, [2.5, None]], np.arange(6, dtype=np.int32).reshape(2, 3), np.zeros((0, 3)),
    np.array([[0.1, -2.0]], dtype=np.float32), np.array([True, False]), np.int64(7), np.float32(0.1),
    11329414656, "text", True,
])
def test_values_keep_their_type_through_the_cases_file(value):
    assert _same(compiled.decode_value(json.loads(json.dumps(compiled.encode_value(value)))), value)


@pytest.mark.parametrize("value", [{"a": 1}, float("nan"), np.array([1.0, np.inf]), np.array(["a"]), object()])
def test_values_the_worker_cannot_carry_are_refused(value):
    with pytest.raises((TypeError, ValueError)):
        compiled.encode_value(value)


def test_kit_check_gives_gradescopes_messages_and_points(kit_dir, tmp_path):
    """The kit's verdicts, points and texts are Gradescope's, case by case."""
    submission = tmp_path / "ps3.py"
    submission.write_text(submission_with("flipped_kernel") + "\n" + (REPO / "solutions/mistakes/off_by_one.py").read_text())
    on_gradescope = grade(submission, PROBLEMS)
    tests = {test.get("number"): test for test in gradescope_json(on_gradescope)["tests"]}
    full = {result.case.number: result for result in on_gradescope.results}
    in_kit = grade(submission, kit_cases.load_visible_cases(cases_file=kit_dir / "cases.json").problems)
    assert len(in_kit.results) == sum(not r.case.hidden for r in on_gradescope.results)
    diagnosed = credited = 0
    for result in in_kit.results:
        number = result.case.number
        gradescope = full[number]
        assert result.case.max_score == gradescope.case.max_score == tests[number]["max_score"]
        assert result.verdict == gradescope.verdict, number
        output = visible_output(result)
        if gradescope.credit_reason:  # follow-through: the kit cannot compute it, and says so
            credited += 1
            assert tests[number]["output"] == f"{output}\n\n{gradescope.credit_reason}"
        else:
            assert tests[number]["output"] == output and result.score == tests[number]["score"], number
        diagnosed += bool(result.diagnosis)
    assert diagnosed >= 3 and credited >= 1


def _numpy_and_yaml_only_python(where: Path) -> Path:
    """A virtual environment with the standard library, NumPy and PyYAML, and nothing else."""
    import numpy
    import yaml

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = next(where.glob("lib/python3*/site-packages"))
    sources = [Path(numpy.__file__).parent, Path(yaml.__file__).parent]
    sources += [p for p in (sources[0].with_name("numpy.libs"), sources[0].with_name("_yaml")) if p.exists()]
    for source in sources:
        shutil.copytree(source, site / source.name, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return where / "bin" / "python"


def test_kit_check_runs_with_only_numpy_and_pyyaml(kit_dir):
    # Readable by the worker's own user, when the tests run as root.
    scratch = Path(tempfile.mkdtemp(prefix="kit-venv-"))
    try:
        scratch.chmod(0o755)
        python = _numpy_and_yaml_only_python(scratch / "venv")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}

        def check(*argv: str) -> subprocess.CompletedProcess:
            return subprocess.run([str(python), "-m", "autograder", *argv], cwd=kit_dir, env=environment,
                                  capture_output=True, text=True, timeout=300, check=False)

        where = subprocess.run([str(python), "-c", "import autograder; print(autograder.__file__)"], cwd=kit_dir,
                               env=environment, capture_output=True, text=True, check=True).stdout
        assert Path(where.strip()).parent == kit_dir / "autograder"

        right = check("check", str(SOLUTION))
        assert right.returncode == 0, right.stdout + right.stderr
        assert "All visible cases pass." in right.stdout and "FAIL" not in right.stdout
        assert "cases.json" in right.stdout.splitlines()[0]

        starter = check("check")  # ./ps3.py, the untouched starter
        assert starter.returncode == 1
        assert starter.stdout.count("not implemented yet (it raises NotImplementedError)") >= 10
        assert "Traceback" not in starter.stdout + starter.stderr
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_starter_has_each_signature_and_docstring_and_no_body(kit_dir):
    from autograder.apps.kit.validate import solvers as _solvers

    source = (kit_dir / "ps3.py").read_text()
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    wanted = {case.function for problem in load_problems(PROBLEMS) for case in problem.cases}
    assert set(functions) == wanted
    solvers = _solvers(PROBLEMS)
    namespace: dict = {}
    exec(compile(source, "ps3.py", "exec"), namespace)  # noqa: S102 - the generated starter
    for name, node in functions.items():
        reference = solvers[name]
        assert [(p.name, p.default) for p in inspect.signature(namespace[name]).parameters.values()] == \
               [(p.name, p.default) for p in inspect.signature(reference).parameters.values()]
        docstring, body = node.body[0], node.body[1:]
        assert ast.get_docstring(node).startswith(inspect.getdoc(reference) or "Graded")
        assert isinstance(docstring, ast.Expr) and len(body) == 1 and isinstance(body[0], ast.Raise)
        assert "NotImplementedError" in ast.unparse(body[0])
        with pytest.raises(NotImplementedError):
            namespace[name](*[None] * sum(p.default is inspect.Parameter.empty for p in inspect.signature(reference).parameters.values()))


def test_untouched_starter_scores_zero_with_not_implemented_everywhere(gradescope, kit_dir):
    gradescope.submit({"ps3.py": (kit_dir / "ps3.py").read_text()})
    data = gradescope.run()
    assert data["score"] == 0
    graded = [test for test in data["tests"] if test.get("max_score")]
    assert len(graded) > 50
    assert all(test["score"] == 0 for test in graded)
    assert all("not implemented yet" in test["output"] for test in graded if "visible" in test["tags"])
    assert all("raised an error" in test["output"] for test in graded if "hidden" in test["tags"])
    assert "Problems loading your file" not in data["output"]


# --------------------------------------------------------------------------- the Gradescope zip


def test_gradescope_zip_layout(dist):
    with zipfile.ZipFile(dist / "autograder.zip") as archive:
        infos = {info.filename: info for info in archive.infolist()}
    assert {"setup.sh", "run_autograder", "pyproject.toml", "autograder/__init__.py", "autograder/sandbox/worker.py",
            "problems/q2a/spec.yaml", "problems/q2a/reference.py"} <= set(infos)
    assert {name.split("/")[0] for name in infos} == {"setup.sh", "run_autograder", "pyproject.toml", "constraints.txt", "assignment.yaml",
                                                      "autograder", "problems"}
    for name in ("setup.sh", "run_autograder"):
        assert (infos[name].external_attr >> 16) & 0o111, f"{name} must be executable"
    assert not [name for name in infos if "__pycache__" in name or name.endswith(".pyc")]


def test_build_is_reproducible(dist, tmp_path):
    code, _, err = run_cli("build", "--problems", str(PROBLEMS), "--out", str(tmp_path))
    assert code == 0, err
    for name in ("autograder.zip", "student_kit.zip"):
        assert (tmp_path / name).read_bytes() == (dist / name).read_bytes()


def test_gradescope_zip_grades_the_solution_to_full_marks(dist, tmp_path):
    """Unzipped into a fresh /autograder layout; its own run_autograder and engine, nothing from this checkout."""
    root = tmp_path / "autograder"
    source = root / "source"
    with zipfile.ZipFile(dist / "autograder.zip") as archive:
        archive.extractall(source)
        for info in archive.infolist():
            (source / info.filename).chmod((info.external_attr >> 16) & 0o777)
    (root / "submission").mkdir()
    shutil.copy(SOLUTION, root / "submission" / "ps3.py")
    (root / "results").mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    engine = subprocess.run([sys.executable, "-c", "import autograder; print(autograder.__file__)"], cwd=source,
                            env=environment, capture_output=True, text=True, check=True).stdout
    assert Path(engine.strip()).parent == source / "autograder"
    process = subprocess.run([str(source / "run_autograder")], env=environment, capture_output=True, timeout=600, check=False)
    raw = (root / "results" / "results.json").read_bytes()
    data = json.loads(raw)
    check_results(data, raw)
    assert data["score"] == total_points(), (process.stdout, process.stderr, data["output"])
    assert all(earned == possible for earned, possible in scores_by_function(data).values())


# --------------------------------------------------------------------------- validate and build


def test_validate_lists_points_and_case_counts():
    code, out, err = run_cli("validate", "--problems", str(PROBLEMS))
    assert code == 0, err
    for problem in load_problems(PROBLEMS):
        assert problem.title in out
        if not problem.graded_by_hand:
            hidden = sum(case.hidden for case in problem.cases)
            assert f"{problem.points:g} points; {len(problem.cases) - hidden} visible and {hidden} hidden cases" in out
    total = total_points()
    assert f"Total: {total:g} points" in out and "All specs are valid." in out
    code, _, err = run_cli("validate", "--problems", str(PROBLEMS), "--total", f"{total - 10:g}")
    assert code == 1 and f"add up to {total:g}, not {total - 10:g}" in err
    assert all(f"{problem.path}:" in err for problem in load_problems(PROBLEMS) if not problem.graded_by_hand), err


def _copy_problems(tmp_path: Path) -> Path:
    folder = tmp_path / "problems"
    shutil.copytree(PROBLEMS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "assignment.yaml", tmp_path / "assignment.yaml")
    return folder


def test_validate_reports_every_broken_spec_with_file_and_line(tmp_path):
    folder = _copy_problems(tmp_path)
    spec = folder / "q2a" / "spec.yaml"
    spec.write_text(spec.read_text().replace("expected: 7526500", "expected: 7526400"))
    other = folder / "q3a" / "spec.yaml"
    other.write_text(re.sub(r"conv2d: \{compare: \{.*\}\}", "conv2d: {}", other.read_text()))
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 1
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "expected: 7526400" in text)
    assert f"{spec}:{line}: literal expected: 7526400 disagrees" in err
    assert f"{other}:" in err


def test_build_refuses_an_invalid_spec_and_writes_nothing(tmp_path):
    folder = _copy_problems(tmp_path)
    spec = folder / "q4" / "spec.yaml"
    spec.write_text(spec.read_text().replace("expected: 104", "expected: 105"))
    out = tmp_path / "dist"
    code, _, err = run_cli("build", "--problems", str(folder), "--out", str(out))
    assert code == 1 and f"{spec}:" in err and "Nothing was built" in err
    assert not out.exists()


def test_the_instructor_guide_example_validates_and_builds(tmp_path):
    """The example problem in docs/instructors.md, copied from the page as it is."""
    guide = (REPO / "docs" / "instructors.md").read_text()
    blocks = re.findall(r"\*\*`(problems/[^`]+)`\*\*\n+```\w*\n(.*?)```", guide, flags=re.S)
    assert [name for name, _ in blocks] == ["problems/q5/spec.yaml", "problems/q5/reference.py"]
    folder = _copy_problems(tmp_path)
    # The example is added to the problems as they are without it: a q5 already added as the guide says is taken
    # out of the copy first, with its points, so the example never collides with itself.
    before = total_points() - sum(problem.points for problem in spec_problems() if problem.key == "q5")
    shutil.rmtree(folder / "q5", ignore_errors=True)
    config = tmp_path / "assignment.yaml"
    config.write_text(re.sub(r"^total_points: .*$", f"total_points: {before:g}", config.read_text(), flags=re.M))
    for name, text in blocks:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    code, _, err = run_cli("validate", "--problems", str(folder))
    assert code == 1 and f"add up to {before + 10:g}, not {before:g}" in err  # the guide's next step: the configured total
    config.write_text(config.read_text().replace(f"total_points: {before:g}", f"total_points: {before + 10:g}"))
    code, out, err = run_cli("validate", "--problems", str(folder))
    assert code == 0, err
    assert "Q5: average pooling\n       10 points; 3 visible and 5 hidden cases" in out
    assert f"Total: {before + 10:g} points" in out
    code, _, err = run_cli("build", "--problems", str(folder))
    assert code == 0, err
    starter = zipfile.ZipFile(tmp_path / "dist" / "student_kit.zip").read(f"{kit_cases.KIT_FOLDER}/ps3.py").decode()
    assert "def avg_pool2d(x, size):" in starter and "def pool_output_shape(shape, size, stride=None):" in starter


# --------------------------------------------------------------------------- check in a checkout


def test_check_finds_the_kit_cases_before_problems(tmp_path, monkeypatch, kit_dir):
    monkeypatch.chdir(tmp_path)
    assert kit_cases.find_cases() == paths.PACKAGE_ROOT / "problems"  # nothing here: the checkout beside the engine
    (tmp_path / "problems").mkdir()
    assert kit_cases.find_cases() == paths.PACKAGE_ROOT / "problems"  # a problems/ here is never taken unless named
    shutil.copy(kit_dir / "cases.json", tmp_path / "cases.json")
    assert kit_cases.find_cases() == tmp_path / "cases.json"


def test_check_in_a_checkout_runs_visible_cases_only(tmp_path):
    code, out, _ = run_cli("check", str(SOLUTION), "--problems", str(PROBLEMS))
    assert code == 0 and "All visible cases pass." in out and "(hidden)" not in out
    wrong = tmp_path / "ps3.py"
    wrong.write_text(submission_with("transposed"))
    code, out, _ = run_cli("check", str(wrong), "--problems", str(PROBLEMS))
    assert code == 1
    assert "Likely mistake: Your output is the transpose of the right one" in out
    assert re.search(r"\d+ visible cases fail\.", out)


def test_check_says_what_to_do_when_the_file_is_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("check", "--problems", str(PROBLEMS))
    assert code == 1 and "ps3.py does not exist" in err
