"""The package's shape: layers import downwards only, with no cycle at any level.

Every import is read from the source (module level and inside functions
alike), so an import hidden in a function cannot hide a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"

# Each layer may import only the layers listed after it ("root" is autograder/__init__.py: its version, no imports).
LAYERS = {
    "apps": {"output", "engine", "sandbox", "model", "boundary", "text", "root"},
    "output": {"engine", "sandbox", "model", "boundary", "text", "root"},
    "engine": {"sandbox", "model", "boundary", "text", "root"},
    "sandbox": {"model", "boundary", "text", "root"},
    "model": {"boundary", "text"},  # the model types student text (text.StudentText) and keeps the worker's error reports
    "boundary": set(),  # the messages that cross the sandbox boundary: the worker imports them too
    "text": set(),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every autograder module ``path`` imports, anywhere in the file."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {target for target in found if target in modules and target != name}


GRAPH = {_module_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "root"


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle in ``graph`` (as a path that returns to its start), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_cycle_between_modules() -> None:
    assert _cycle(GRAPH) == []


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        packages.setdefault(_layer(module), set()).update(_layer(t) for t in targets if _layer(t) != _layer(module))
    assert _cycle(packages) == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = sorted(
        (module, target)
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(module) in LAYERS and _layer(target) != _layer(module) and _layer(target) not in LAYERS[_layer(module)]
    )
    assert wrong == []


def test_the_package_root_and_the_leaves_import_nothing_from_the_package() -> None:
    assert GRAPH["autograder"] == GRAPH["autograder.text"] == GRAPH["autograder.boundary"] == set()
    assert GRAPH["autograder.model"] == {"autograder.boundary", "autograder.text"}


# What runs beside student code: the worker, the worker-side modules it imports (its confinement, its loader)
# and the message types it shares with the grader.
WORKER_SIDE = {
    "autograder.sandbox.worker",
    "autograder.sandbox.confine",
    "autograder.sandbox.loader",
    "autograder.sandbox.seccomp",
    "autograder.sandbox.libc",
    "autograder.sandbox.importable",
    "autograder.sandbox.newer_names",
    "autograder.boundary",
}


def test_the_worker_side_imports_nothing_else_from_the_package() -> None:
    for module in WORKER_SIDE:
        assert GRAPH[module] <= WORKER_SIDE | {"autograder.sandbox"}, module  # the package itself is empty
    # GRADESCOPE_PYTHON, and the names later Pythons added (data only)
    assert GRAPH["autograder.sandbox.loader"] == {"autograder.boundary", "autograder.sandbox.importable", "autograder.sandbox.newer_names"}
    assert GRAPH["autograder.sandbox.confine"] == {"autograder.boundary", "autograder.sandbox.libc"}
    assert GRAPH["autograder.sandbox.libc"] == set()
    assert GRAPH["autograder.sandbox.importable"] == set()  # what a submission may import: the standard library's work
    assert GRAPH["autograder.sandbox.newer_names"] == set()


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_the_worker_side_loads_only_itself_and_the_standard_library() -> None:
    """Imported alone (as the launcher imports the worker), it brings in no other module of the package, and
    not NumPy, which it imports where it needs it."""
    probe = (
        f"import sys; sys.path.insert(0, {str(PACKAGE.parent)!r}); import autograder.sandbox.worker; "
        "print(sorted(name for name in sys.modules if name.startswith(('autograder', 'numpy'))))"
    )
    done = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert set(ast.literal_eval(done.stdout)) == WORKER_SIDE | {"autograder", "autograder.sandbox"}
