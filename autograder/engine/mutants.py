"""Mutation adequacy: would the cases of a problem catch a plausible slip in its reference?

Each mutant is ``reference.py`` with exactly one small change (an operator, a
comparison, a constant off by one, floor for ceil, two arguments swapped, a
term dropped, a narrower dtype, an ``int(...)`` removed), made with an AST
transformer inside a student-facing function or a helper it uses, also one
imported from another problem's reference. A mutant is

- *killed* when some case of the problem fails on it (as the grader would
  judge it: :func:`autograder.engine.compare.agrees`, or the right exception);
- *equivalent* when it also agrees with the reference on ``tries`` random
  inputs drawn from ``domain_<function>(rng)`` in reference.py (or in the
  reference that defines the function), which must cover the function's
  whole domain;
- a *survivor* otherwise: the cases miss a mistake that random inputs show.

Trusted code only: mutants of the instructor's references run in this
process, each call under a time limit (a mutant may loop forever).

    from autograder.engine.mutants import survivors
    for s in survivors(Path("problems/q2b"), problem):
        print(s)
"""

from __future__ import annotations

import ast
import contextlib
import copy
import signal
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.engine.compare import agrees, short_repr
from autograder.engine.references import copies, problems_package, reference_module
from autograder.model import Case, Comparison, Problem

CALL_SECONDS = 1.0  # a mutant's call that takes longer is stopped, and counts as wrong
NP = "_mutation_numpy"  # the name under which a mutant sees NumPy, whatever its file imports


@dataclass(frozen=True)
class Survivor:
    """A mutant that passes every case of its problem, yet differs from the reference on ``args``."""

    function: str  # the student function whose answer differs
    mutation: str  # "q2b/reference.py:21 in conv_output_size: `a // b` -> `a / b`"
    args: tuple  # the distinguishing input
    reference: str  # the reference's answer there (repr, or "raises ValueError")
    mutant: str  # the mutant's answer there

    def __str__(self) -> str:
        shown = ", ".join(short_repr(arg.tolist() if isinstance(arg, np.ndarray) else arg, 300) for arg in self.args)
        return (f"{self.mutation} survives: {self.function}({shown}) is {self.reference} "
                f"but the mutant gives {self.mutant}")


@dataclass
class Report:
    """Counts of one problem's mutants, and the survivors."""

    problem: str
    generated: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[Survivor] = field(default_factory=list)
    equivalents: list[str] = field(default_factory=list)  # descriptions, to review by hand


def survivors(problem_folder: Path, problem: Problem, tries: int = 200, seed: int = 0) -> list[Survivor]:
    """Every non-equivalent mutant of the problem's reference that passes all of its cases."""
    return analyse(problem_folder, problem, tries, seed).survivors


def analyse(problem_folder: Path, problem: Problem, tries: int = 200, seed: int = 0) -> Report:
    """Generate, run and classify every mutant of the functions ``problem``'s cases call."""
    problem_folder = Path(problem_folder).resolve()
    report = Report(problem.key)
    module = reference_module(problem_folder)
    if module is None or not problem.cases:
        return report
    graph = _Graph(problem_folder)
    students = sorted({case.function for case in problem.cases})
    reach = {name: graph.reachable(graph.entry(name)) for name in students}
    targets: dict[Path, set[str]] = {}
    for functions in reach.values():
        for file, name in functions:
            targets.setdefault(file, set()).add(name)
    comparisons = {case.function: case.comparison for case in reversed(problem.cases)}
    inputs = _Inputs(module, students, comparisons, tries, seed)
    for file in sorted(targets):
        tree = graph.trees[file]
        for index, (function, description) in enumerate(_Mutator.sites(tree, targets[file])):
            mutated = _Mutator(targets[file], index).apply(tree)
            if mutated is None:
                continue
            report.generated += 1
            where = f"{file.parent.name}/{file.name}:{description}"
            try:
                fresh = graph.build(problem_folder / "reference.py", file, mutated)
            except Exception:  # noqa: BLE001 - a mutant that cannot even load is caught by any case
                report.killed += 1
                continue
            try:
                if not all(_passes(fresh, case) for case in problem.cases):
                    report.killed += 1
                    continue
                changed = [name for name in students if (file, function) in reach[name]]
                found = next((s for name in changed if (s := inputs.difference(fresh, name, where)) is not None), None)
            finally:
                graph.forget()
            if found is None:
                report.equivalent += 1
                report.equivalents.append(where)
            else:
                report.survivors.append(found)
    return report


# --------------------------------------------------------------------------- running a mutant


class _Timeout(BaseException):
    """A mutant's call ran too long (a BaseException, so no ``except Exception`` in it swallows it)."""


@contextlib.contextmanager
def _limited(seconds: float = CALL_SECONDS) -> Iterator[None]:
    """Stop the block after ``seconds``: SIGALRM in the main thread, a line budget elsewhere."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            def expire(signum: int, frame: Any) -> None:
                raise _Timeout

            previous = signal.signal(signal.SIGALRM, expire)
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                yield
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            return
        budget = [2_000_000]

        def trace(frame: Any, event: str, arg: Any) -> Any:
            budget[0] -= 1
            if budget[0] < 0:
                raise _Timeout
            return trace

        old = sys.gettrace()
        sys.settrace(trace)
        try:
            yield
        finally:
            sys.settrace(old)


def _call(function: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[bool, Any]:
    """(True, answer) or (False, exception class name list) for one call."""
    try:
        with _limited():
            return True, function(*copies(args), **copies(kwargs))
    except _Timeout:
        return False, ["Timeout"]
    except Exception as error:  # noqa: BLE001 - a mutant's exception is its answer
        return False, [cls.__name__ for cls in type(error).__mro__]


def _passes(module: types.ModuleType, case: Case) -> bool:
    function = getattr(module, case.function, None)
    if function is None:
        return False
    returned, answer = _call(function, case.args, case.kwargs)
    if case.expected.raises:
        return not returned and case.expected.raises in answer
    return returned and agrees(case.expected.value, answer, case.comparison)


def _same(comparison: Comparison, want: tuple[bool, Any], got: tuple[bool, Any]) -> bool:
    if not want[0]:
        return not got[0] and want[1][0] in got[1]
    return got[0] and agrees(want[1], got[1], comparison)


def _shown(outcome: tuple[bool, Any]) -> str:
    return short_repr(outcome[1], 160) if outcome[0] else f"raises {outcome[1][0]}"


class _Inputs:
    """Random in-domain inputs per student function, and the reference's answers on them (computed once)."""

    def __init__(self, module: types.ModuleType, students: list[str], comparisons: dict[str, Comparison],
                 tries: int, seed: int) -> None:
        self.module, self.tries, self.seed, self.comparisons = module, tries, seed, comparisons
        self.cache: dict[str, list[tuple[tuple, tuple[bool, Any]]]] = {}

    def draws(self, name: str) -> list[tuple[tuple, tuple[bool, Any]]]:
        if name not in self.cache:
            function = getattr(self.module, name)
            generator = getattr(self.module, f"domain_{name}", None) or getattr(
                sys.modules.get(getattr(function, "__module__", ""), None), f"domain_{name}", None)
            if generator is None:
                self.cache[name] = []
                return []
            rng = np.random.default_rng([self.seed, sum(map(ord, name))])
            draws = []
            for _ in range(self.tries):
                args = tuple(generator(rng))
                draws.append((args, _call(function, args, {})))
            self.cache[name] = draws
        return self.cache[name]

    def difference(self, fresh: types.ModuleType, name: str, where: str) -> Survivor | None:
        function = getattr(fresh, name)
        if not self.draws(name):
            return Survivor(name, where, (), f"unknown: reference.py has no domain_{name}(rng) to draw inputs from", "passes every case")
        for args, want in self.draws(name):
            got = _call(function, args, {})
            if not _same(self.comparisons[name], want, got):
                return Survivor(name, where, args, _shown(want), _shown(got))
        return None


# --------------------------------------------------------------------------- which functions, and fresh modules


class _Graph:
    """The reference files a problem's reference imports from, their ASTs, and who calls whom."""

    def __init__(self, problem_folder: Path) -> None:
        self.root = problem_folder.parent
        self.package = problems_package(self.root)
        self.trees: dict[Path, ast.Module] = {}
        self.imports: dict[Path, dict[str, tuple[Path, str]]] = {}
        self.registered: list[str] = []
        self._load(problem_folder / "reference.py")

    def _load(self, file: Path) -> None:
        if file in self.trees:
            return
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        self.trees[file], self.imports[file] = tree, {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level > 0 and node.module:
                base = file.parent
                for _ in range(node.level - 1):
                    base = base.parent
                source = base.joinpath(*node.module.split(".")).with_suffix(".py")
                if source.is_file():
                    self._load(source)
                    for alias in node.names:
                        self.imports[file][alias.asname or alias.name] = (source, alias.name)

    def _defined(self, file: Path) -> dict[str, ast.FunctionDef]:
        return {node.name: node for node in self.trees[file].body if isinstance(node, ast.FunctionDef)}

    def resolve(self, file: Path, name: str) -> tuple[Path, str] | None:
        if name in self._defined(file):
            return file, name
        if name in self.imports[file]:
            return self.resolve(*self.imports[file][name])
        return None

    def entry(self, name: str) -> tuple[Path, str]:
        start = next(iter(self.trees))
        return self.resolve(start, name) or (start, name)

    def reachable(self, start: tuple[Path, str]) -> set[tuple[Path, str]]:
        """The function and every function it may call: by name, or as ``parts.name`` (compositions)."""
        seen: set[tuple[Path, str]] = set()
        todo = [start]
        while todo:
            file, name = todo.pop()
            node = self._defined(file).get(name)
            if (file, name) in seen or node is None:
                continue
            seen.add((file, name))
            for inner in ast.walk(node):
                used = inner.id if isinstance(inner, ast.Name) else inner.attr if isinstance(inner, ast.Attribute) else None
                target = self.resolve(file, used) if used else None
                if target is not None:
                    todo.append(target)
        return seen

    def _key(self, file: Path) -> str:
        return f"{self.package}.{file.parent.name}"

    def build(self, top: Path, mutated_file: Path, mutated: ast.Module) -> types.ModuleType:
        """``top``'s reference, fresh, with ``mutated_file`` replaced by the mutant (also when imported)."""
        built: dict[Path, types.ModuleType] = {}

        def depends(file: Path) -> bool:
            return file == mutated_file or any(depends(source) for source, _ in self.imports[file].values())

        def fresh(file: Path) -> types.ModuleType:
            if file in built:
                return built[file]
            swapped: dict[str, Any] = {}
            for source, _ in self.imports[file].values():
                if depends(source):
                    name = f"{self._key(source)}.{source.stem}"
                    swapped.setdefault(name, sys.modules.get(name))
                    sys.modules[name] = fresh(source)
            name = f"{self._key(file)}._mutant_{file.stem}"
            module = types.ModuleType(name)
            module.__package__ = self._key(file)
            module.__file__ = str(file)
            module.__dict__[NP] = np
            sys.modules[name] = module
            self.registered.append(name)
            try:
                tree = mutated if file == mutated_file else self.trees[file]
                exec(compile(tree, str(file), "exec"), module.__dict__)  # noqa: S102 - the instructor's own reference
            finally:
                for swapped_name, original in swapped.items():
                    if original is None:
                        sys.modules.pop(swapped_name, None)
                    else:
                        sys.modules[swapped_name] = original
            built[file] = module
            return module

        return fresh(top)

    def forget(self) -> None:
        """Unregister the fresh modules of the last mutant."""
        for name in self.registered:
            sys.modules.pop(name, None)
        self.registered.clear()


# --------------------------------------------------------------------------- the mutations


_ARITHMETIC: dict[type, list[type]] = {
    ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.FloorDiv, ast.Div],
    ast.FloorDiv: [ast.Div, ast.Mult], ast.Div: [ast.FloorDiv, ast.Mult],
}
_COMPARISON: dict[type, list[type]] = {
    ast.Lt: [ast.LtE, ast.GtE], ast.LtE: [ast.Lt, ast.Gt], ast.Gt: [ast.GtE, ast.LtE],
    ast.GtE: [ast.Gt, ast.Lt], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq],
}
_SWAPPED_ATTRIBUTES = {"floor": ["ceil"], "ceil": ["floor"], "float64": ["float32", "float16"]}
_MODULES = {"np", "numpy", "math"}


def _np(attribute: str) -> ast.Attribute:
    return ast.Attribute(ast.Name(NP, ast.Load()), attribute, ast.Load())


def _text(node: ast.AST) -> str:
    text = ast.unparse(node).replace("_mutation_numpy", "np")
    return text if len(text) <= 60 else text[:57] + "..."


class _Mutator(ast.NodeTransformer):
    """Visit the target functions in a fixed order; the ``target``-th alternative met is applied.

    With ``target = -1`` nothing changes and ``descriptions`` lists every site.
    """

    def __init__(self, functions: set[str], target: int) -> None:
        self.functions, self.target = functions, target
        self.count, self.current = 0, ""
        self.descriptions: list[tuple[str, str]] = []
        self.applied: str | None = None

    @classmethod
    def sites(cls, tree: ast.Module, functions: set[str]) -> list[tuple[str, str]]:
        """(function, "line in function: change") of every mutant, in the order ``target`` counts them."""
        mutator = cls(functions, -1)
        mutator.visit(copy.deepcopy(tree))
        return mutator.descriptions

    def apply(self, tree: ast.Module) -> ast.Module | None:
        mutated = self.visit(copy.deepcopy(tree))
        return ast.fix_missing_locations(mutated) if self.applied else None

    def _offer(self, node: ast.AST, built: ast.AST, what: str | None = None) -> ast.AST | None:
        """Count one alternative; return it when it is the target."""
        index = self.count
        self.count += 1
        if self.target == -1:
            self.descriptions.append((self.current, f"{getattr(node, 'lineno', 0)} in {self.current}: "
                                                    f"{what or f'`{_text(node)}` -> `{_text(built)}`'}"))
            return None
        if index != self.target:
            return None
        self.applied = what or f"`{_text(node)}` -> `{_text(built)}`"
        return ast.copy_location(built, node)

    # -- where to look

    def visit_Module(self, node: ast.Module) -> ast.AST:
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef) and statement.name in self.functions:
                self.current = statement.name
                self.visit(statement)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        body = node.body[1:] if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) else node.body
        start = len(node.body) - len(body)
        for parameter in [a.arg for a in node.args.args if a.arg not in ("parts", "self")]:
            narrowed = ast.parse(f"{parameter} = {NP}.int32({parameter})").body[0]
            choice = self._offer(node, narrowed, f"`{parameter}` narrowed to np.int32")
            if choice is not None:
                ast.copy_location(narrowed, node.body[start])
                node.body.insert(start, narrowed)
        node.body[start:] = [self.visit(statement) for statement in node.body[start:]]
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return node  # messages

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        return node

    # -- the mutations

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        for other in _ARITHMETIC.get(type(node.op), []):
            chosen = self._offer(node, ast.BinOp(node.left, other(), node.right))
            if chosen is not None:
                return chosen
        if isinstance(node.op, (ast.Add, ast.Sub)):
            for kept in ([node.left, node.right] if isinstance(node.op, ast.Add) else [node.left]):
                chosen = self._offer(node, kept)
                if chosen is not None:
                    return chosen
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        """Besides the mutations inside: every ``dtype=`` of the statement dropped at once (work in the inputs' dtype)."""
        self.generic_visit(node)
        calls = [c for c in ast.walk(node.value) if isinstance(c, ast.Call) and any(k.arg == "dtype" for k in c.keywords)]
        if len(calls) >= 2:
            stripped = copy.deepcopy(node)
            for inner in ast.walk(stripped.value):
                if isinstance(inner, ast.Call):
                    inner.keywords = [k for k in inner.keywords if k.arg != "dtype"]
            chosen = self._offer(node, stripped, "every dtype= dropped: the inputs' own dtypes kept")
            if chosen is not None:
                return chosen
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        for other in _ARITHMETIC.get(type(node.op), []):
            chosen = self._offer(node, ast.AugAssign(node.target, other(), node.value))
            if chosen is not None:
                return chosen
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for position, op in enumerate(node.ops):
            for other in _COMPARISON.get(type(op), []):
                def replaced(p: int, o: type) -> ast.AST:
                    return ast.Compare(node.left, [o() if i == p else x for i, x in enumerate(node.ops)], node.comparators)

                chosen = self._offer(node, replaced(position, other))
                if chosen is not None:
                    return chosen
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if type(node.value) is int:
            for step in (1, -1):
                chosen = self._offer(node, ast.Constant(int(node.value) + step))
                if chosen is not None:
                    return chosen
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id in _MODULES:
            for other in _SWAPPED_ATTRIBUTES.get(node.attr, []):
                chosen = self._offer(node, ast.Attribute(node.value, other, ast.Load()))
                if chosen is not None:
                    return chosen
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name == "int" and len(node.args) == 1 and not node.keywords:
            chosen = self._offer(node, node.args[0]) or self._offer(node, ast.Call(_np("int32"), node.args, []))
            if chosen is not None:
                return chosen
        for position in range(len(node.args) - 1):
            if ast.dump(node.args[position]) == ast.dump(node.args[position + 1]):
                continue

            def swapped(p: int) -> ast.AST:
                args = list(node.args)
                args[p], args[p + 1] = args[p + 1], args[p]
                return ast.Call(node.func, args, node.keywords)

            chosen = self._offer(node, swapped(position))
            if chosen is not None:
                return chosen
        for position, keyword in enumerate(node.keywords):
            if keyword.arg == "dtype":
                kept = [k for i, k in enumerate(node.keywords) if i != position]
                chosen = self._offer(node, ast.Call(node.func, node.args, kept))
                if chosen is not None:
                    return chosen
                if isinstance(keyword.value, ast.Name) and keyword.value.id == "float":
                    for narrow in ("float32", "float16"):
                        def narrowed(p: int, n: str) -> ast.AST:
                            return ast.Call(node.func, node.args,
                                            [ast.keyword("dtype", _np(n)) if i == p else k for i, k in enumerate(node.keywords)])

                        chosen = self._offer(node, narrowed(position, narrow))
                        if chosen is not None:
                            return chosen
        if isinstance(node.func, ast.Attribute) and node.func.attr == "astype" and node.args:
            target = node.func.value
            chosen = self._offer(node, target)
            if chosen is None and isinstance(node.args[0], ast.Name) and node.args[0].id == "float":
                chosen = self._offer(node, ast.Call(node.func, [_np("float32")], node.keywords))
            if chosen is not None:
                return chosen
        return node
