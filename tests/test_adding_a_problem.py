"""Adding a problem, exactly as docs/instructors.md says, needs no other change.

In a copy of the repository, the guide's steps are done one by one with its Q5 example, copied
from the page as it is: the folder, the course total, validate, the instructor's solution and its
grade, the tests (the README's test command: every test not marked slow), and build. The copy's own
engine and tests are run, by this interpreter, with the copy first on PYTHONPATH. Whatever the root
assignment is, the example is added to it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO, SOLUTION, copy_repository

pytestmark = pytest.mark.slow  # the guide replayed in a copy of the repository, its tests included: `make test-slow`

GUIDE = REPO / "docs" / "instructors.md"

# What each of the guide's steps must name, in order: the test below does exactly these.
STEPS = [
    "reference.py",
    "spec.yaml",
    "total_points",
    "python -m autograder validate",
    "python -m autograder grade solutions",
    "make test",
    "python -m autograder build",
]


def _guide_steps(guide: str) -> list[str]:
    section = guide[guide.index("## Adding a problem") : guide.index("Here is a complete small example.")]
    steps = re.split(r"^\d+\. ", section, flags=re.M)[1:]
    return [" ".join(step.split()) for step in steps]


def _guide_blocks(guide: str) -> list[tuple[str, str]]:
    """The example's files, as tests/test_kit.py reads them."""
    return re.findall(r"\*\*`(problems/[^`]+)`\*\*\n+```\w*\n(.*?)```", guide, flags=re.S)


def _solver_sources(reference: str, spec: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(import lines, function sources) of the reference's solvers: the functions the cases call."""
    called = {entry["call"] for entry in [*spec.get("cases", []), *spec.get("generate", [])]}
    tree = ast.parse(reference)
    imports = [_source(reference, node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in called]
    assert {node.name for node in functions} == called
    return imports, [_source(reference, node) for node in functions]


def _source(text: str, node: ast.AST) -> str:
    segment = ast.get_source_segment(text, node)
    assert segment is not None, f"no source for line {getattr(node, 'lineno', '?')}"
    return segment


def test_the_guides_steps_add_its_example_problem_with_no_other_change(traversable_tmp: Path) -> None:
    tmp_path = traversable_tmp
    guide = GUIDE.read_text(encoding="utf-8")
    steps = _guide_steps(guide)
    assert len(steps) == len(STEPS), f"docs/instructors.md lists {len(steps)} steps; this test does {len(STEPS)}"
    for number, (step, needed) in enumerate(zip(steps, STEPS), 1):
        assert needed in step, f"step {number} of 'Adding a problem' should say {needed!r}: {step}"

    copy = copy_repository(tmp_path / "repository")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(copy), os.environ.get("PYTHONPATH")])))
    environment.pop("PYTEST_ADDOPTS", None)

    def run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *argv], cwd=copy, env=environment, capture_output=True, text=True, timeout=timeout, check=False
        )

    engine = run("-c", "import autograder; print(autograder.__file__)").stdout.strip()
    assert Path(engine).parent == copy / "autograder", engine

    # 1, 2. problems/q5/ with the example's reference.py and spec.yaml.
    blocks = _guide_blocks(guide)
    assert sorted(name for name, _ in blocks) == ["problems/q5/reference.py", "problems/q5/spec.yaml"]
    for name, text in blocks:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text(text, encoding="utf-8")
    spec = yaml.safe_load(re.sub(r"!(array|tuple) ", "", (copy / "problems/q5/spec.yaml").read_text()))

    # 3. assignment.yaml: total_points raised by the new problem's points.
    config = copy / "assignment.yaml"
    old_total = yaml.safe_load(config.read_text())["total_points"]
    new_total = old_total + spec["points"]
    raised, count = re.subn(r"^total_points: .*$", f"total_points: {new_total:g}", config.read_text(), flags=re.M)
    assert count == 1
    config.write_text(raised)

    # 4. validate: no error, no warning.
    validated = run("-m", "autograder", "validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "warning" not in validated.stdout + validated.stderr, validated.stderr  # no mutant of Q5 survives either
    assert f"{spec['title']}" in validated.stdout and f"Total: {new_total:g} points" in validated.stdout

    # 5. The solvers of the reference, with their imports, added to the instructor's solution; full marks.
    imports, functions = _solver_sources((copy / "problems/q5/reference.py").read_text(), spec)
    assert all(re.search(rf"\b{name}\b", steps[4]) for name in re.findall(r"^def (\w+)", "\n".join(functions), re.M))
    solution = copy / "solutions" / SOLUTION.name
    text = solution.read_text()
    added = [line for line in imports if line not in text.splitlines()]
    solution.write_text(text.rstrip("\n") + "\n\n" + "".join(f"{line}\n" for line in added) + "\n\n" + "\n\n\n".join(functions) + "\n")
    graded = run("-m", "autograder", "grade", f"solutions/{SOLUTION.name}", "--json", str(tmp_path / "results.json"))
    assert graded.returncode == 0, graded.stdout + graded.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == new_total, graded.stdout
    assert all(test["status"] == "passed" for test in results["tests"] if test.get("max_score")), graded.stdout
    assert {"pool_output_shape", "avg_pool2d"} <= {test["tags"][0] for test in results["tests"] if test.get("tags")}

    # 6. The tests, unchanged, pass.
    tested = run("-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider", timeout=3600)
    assert tested.returncode == 0, tested.stdout[-5000:] + tested.stderr[-2000:]

    # 7. build: both zips, the starter with the new functions.
    built = run("-m", "autograder", "build")
    assert built.returncode == 0, built.stdout + built.stderr
    with zipfile.ZipFile(copy / "dist" / "student_kit.zip") as kit:
        starter = next(kit.read(name).decode() for name in kit.namelist() if name.endswith(f"/{SOLUTION.name}"))
    assert "def avg_pool2d(x, size):" in starter and "def pool_output_shape(shape, size, stride=None):" in starter
    with zipfile.ZipFile(copy / "dist" / "autograder.zip") as archive:
        assert {"problems/q5/spec.yaml", "problems/q5/reference.py"} <= set(archive.namelist())
