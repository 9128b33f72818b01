"""Mutation adequacy: would each function's cases catch a plausible mistake in its reference?

Each mutant is one reference file with one small change, made with an AST
transformer inside a graded function or a helper it uses (also one imported
from another problem's reference). The changes model slips and the mistakes
students commonly make:

- slips: an operator, a comparison (the three replacements whose cases
  catch all seven: ``>=`` as ``>``, ``==`` or True), an integer constant ±1, floor for ceil,
  two call arguments swapped, a term of a sum dropped, ``int(...)`` removed;
- a guard deleted: an ``if ...: raise ...`` that never raises;
- state kept across calls: the function remembers its first answer for each
  shape and dtype of its arguments, and gives it again for new values; or a
  memo whose key leaves out one argument (``cache[(c_in, c_out)]`` for a
  count that also depends on the kernel), for each argument in turn;
- NumPy numbers refused: a guard such as ``isinstance(n, int)`` or ``type(n) in
  (int, float)``, or ``Decimal(n)``, raises for an ``np.int64`` size (or one
  inside a list argument), where Python numbers pass;
- the output in an input's dtype (``np.zeros(..., dtype=x.dtype)``): an
  integer buffer when the kernel is fractional, a narrow one that wraps;
- narrow numbers: float64 as float32 or float16, a ``dtype=`` dropped (the
  inputs' own dtypes kept), int32 accumulation (``dtype=np.int32``,
  ``.astype(np.int32)``, an int32 buffer, a sum in int32, a parameter or an
  ``int(...)`` made ``np.int32``), integer work in 32 bits (a product that
  wraps past 2**31 though the total is summed in Python ints; integer inputs
  converted to int32 where the reference converts every input to float).

Kills are counted per function: a slip in a helper must be caught by the
cases of every function that uses it, composites included. For each graded
function whose reference may execute the mutated code (the static call graph:
calls by name, and ``parts.name`` in a composition), the pair (function,
mutant) is

- *killed* when a case of that function fails on the mutant, judged as the
  grader judges (:func:`autograder.engine.compare.agrees`, or the right
  exception). The cases of every problem that grades the function count. All
  cases run in grading order (visible, then hidden) on one copy of the
  mutant, as in the worker, so state kept across calls shows as it would;
- *equivalent* when the function also agrees with the reference on ``tries``
  inputs from ``domain_<function>(rng)`` in its reference, which draws from
  the function's whole domain (shared/PROBLEM_SET.md). The draws are one
  seeded call sequence: one draw in four repeats the previous one's shapes
  and dtypes with new values (a draw of the domain's own of those shapes when
  one comes soon, else its entries shuffled), and one in four the previous one's
  arguments but one, taken from a fresh draw where the reference answers
  there, so a stale answer shows;
- a *survivor* otherwise: the function's cases miss a mistake that its
  domain shows, and each survivor deserves a case of that function.

Mutants only change how the reference is written; a student writes it their
own way (a closed form for a loop, say), and a refusal that the reference
makes twice (an early guard, then a later check that raises as well) is a
refusal no mutant can delete. So each graded function's cases must also reach
every ``raise`` in the reference code it may run, its parts' included, that a
draw from its domain reaches: a composite is tested at its parts' edges (a
raise no draw reaches is dead on its path, as a part's check of n behind an
earlier part's). A ``raise`` none of its cases reaches is *unreached*, and
deserves a case of that function too.

Trusted code only: mutants of the instructor's references run in this
process, each call under a time limit (a mutant may loop forever).

    from autograder.engine.mutants import analyse
    report = analyse(problems)          # every problem of one problems folder
    for survivor in report.survivors:
        print(survivor)
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import inspect
import signal
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.engine.compare import agrees, short_repr
from autograder.engine.errors import SpecError
from autograder.engine.references import copies, problems_package, reference_module
from autograder.engine.specs import _with_magnitudes
from autograder.model import Case, Expected, Problem

CALL_SECONDS = 1.0  # a mutant's call that takes longer is stopped, and counts as wrong
REPEAT = 0.25  # the share of domain draws that repeat the previous draw's shapes and dtypes with new values
ALIKE_TRIES = 50  # fresh domain draws tried for one of the previous draw's shapes and dtypes, before shuffling it
NP = "_mutation_numpy"  # the name under which a mutant sees NumPy, whatever its file imports
STALE = "_mutation_stale_cache"  # ... the decorator of state kept across calls
CACHE_IGNORING = "_mutation_cache_ignoring"  # ... the decorator of a memo whose key leaves out one argument
PYTHON_NUMBERS_ONLY = "_mutation_python_numbers_only"  # ... the decorator that refuses NumPy integer scalars
IN_DTYPE_OF = "_mutation_output_in_dtype_of"  # ... the decorator of an output buffer in an input's dtype
INT32_SUM = "_mutation_int32_sum"  # ... a sum accumulated in int32
WRAPPED_INT32 = "_mutation_wrapped_int32"  # ... an integer result computed in 32 bits
INTS_AS_INT32 = "_mutation_ints_as_int32"  # ... integer inputs kept as int32 instead of converted to float


@dataclass(frozen=True)
class Survivor:
    """A mutant that passes every case of ``function``, yet changes its answer on ``args`` (a pair to close)."""

    function: str  # the graded function whose cases miss the mutant
    mutation: str  # "q2b/reference.py:21 in conv_output_size: `a // b` -> `a / b`"
    problem: str  # the key of the problem whose spec grades the function (where its new case goes)
    args: tuple[Any, ...] | None  # the distinguishing input; None when no domain_<function> can draw one
    reference: str = ""  # the reference's answer there (repr, or "raises ValueError")
    mutant: str = ""  # the mutant's answer there

    def __str__(self) -> str:
        if self.args is None:
            return (
                f"{self.mutation} passes every case of {self.function}, and no domain_{self.function}(rng) in its "
                f"reference draws inputs to show whether it changes {self.function}: add one"
            )
        shown = ", ".join(short_repr(arg.tolist() if isinstance(arg, np.ndarray) else arg, 300) for arg in self.args)
        reference = self.reference if self.reference.startswith("raises ") else f"is {self.reference}"
        mutant = self.mutant if self.mutant.startswith("raises ") else f"gives {self.mutant}"
        return f"{self.mutation} passes every case of {self.function}, yet {self.function}({shown}) {reference} and the mutant {mutant}"


@dataclass(frozen=True)
class Unreached:
    """A ``raise`` in the reference code ``function`` may run that no case of ``function`` reaches."""

    function: str
    problem: str  # the key of the problem whose spec grades the function (where its new case goes)
    where: str  # "q2b/reference.py:29 in num_conv_layers"
    statement: str  # the raise, as written

    def __str__(self) -> str:
        return (
            f"no case of {self.function} reaches {self.where}: `{self.statement}`; a submission that misses that "
            f"refusal in its own {self.function} would lose nothing"
        )


@dataclass
class Report:
    """Counts of the mutants of a problem set's references, per (function, mutant) pair, and the survivors."""

    generated: int = 0  # mutants made
    killed: int = 0  # pairs where a case of the function fails
    equivalent: int = 0  # pairs where the function never differs on its domain
    survivors: list[Survivor] = field(default_factory=list)
    equivalents: list[str] = field(default_factory=list)  # "function: mutation", to review by hand
    unreached: list[Unreached] = field(default_factory=list)  # refusals a function's cases never reach


def survivors(problems: Sequence[Problem], tries: int = 200, seed: int = 0) -> list[Survivor]:
    """Every (function, mutant) pair where the mutant changes the function on its domain yet passes its cases."""
    return analyse(problems, tries, seed).survivors


def domain_cases(problems: Sequence[Problem], function: str, tries: int = 200, seed: int = 0) -> list[Case]:
    """The call sequence ``analyse`` judges ``function`` on, with the reference's answers ([] without a domain)."""
    return _Draws(_Suite(_graded(problems)), tries, seed).cases(function) or []


def _graded(problems: Sequence[Problem]) -> list[Problem]:
    """The problems whose cases mutants can be run against: a spec path, a reference.py beside it, and cases."""
    return [p for p in problems if p.cases and p.path is not None and (p.path.parent / "reference.py").is_file()]


def analyse(problems: Sequence[Problem], tries: int = 200, seed: int = 0) -> Report:
    """Generate, run and classify every mutant of the references of ``problems`` (one problems folder).

    Problems without a spec path, a reference.py or cases are left out.
    """
    graded = _graded(problems)
    report = Report()
    if not graded:
        return report
    suite = _Suite(graded)
    graph = _Graph([problem.path.parent / "reference.py" for problem in graded if problem.path is not None])
    entries = {name: graph.resolve(suite.reference_file(name), name) for name in suite.functions}
    reach = {name: graph.reachable(entry) for name, entry in entries.items() if entry is not None}
    targets: dict[Path, set[str]] = {}
    for functions in reach.values():
        for file, name in functions:
            targets.setdefault(file, set()).add(name)
    draws = _Draws(suite, tries, seed)
    report.unreached = _unreached_raises(suite, graph, reach, draws)
    for file in sorted(targets):
        tree = graph.trees[file]
        for index, (changed, description) in enumerate(_Mutator.sites(tree, targets[file])):
            mutated = _Mutator(targets[file], index).apply(tree)
            if mutated is None:
                continue
            report.generated += 1
            where = f"{file.parent.name}/{file.name}:{description}"
            affected = [name for name in sorted(reach) if (file, changed) in reach[name]]
            try:
                _judge(report, suite, draws, graph.build(file, mutated), {name: entries[name] for name in affected}, where)
            finally:
                graph.forget()
    return report


def _judge(
    report: Report,
    suite: _Suite,
    draws: _Draws,
    modules: Callable[[Path], types.ModuleType],
    entries: dict[str, tuple[Path, str] | None],
    where: str,
) -> None:
    """Classify the pair (function, this mutant) of every function in ``entries``."""
    try:
        mutant = {name: getattr(modules(entry[0]), entry[1]) for name, entry in entries.items() if entry is not None}
    except Exception:  # noqa: BLE001 - a mutant that cannot even load fails every case
        report.killed += len(entries)
        return
    killed = set()
    for case in suite.in_grading_order:
        if case.function in mutant and case.function not in killed and not _passes(mutant[case.function], case):
            killed.add(case.function)
    for name in sorted(mutant):
        if name in killed:
            report.killed += 1
            continue
        found = draws.difference(mutant[name], name, where)
        if found is None:
            report.equivalent += 1
            report.equivalents.append(f"{name}: {where}")
        else:
            report.survivors.append(found)


def _unreached_raises(suite: _Suite, graph: _Graph, reach: dict[str, set[tuple[Path, str]]], draws: _Draws) -> list[Unreached]:
    """Each ``raise`` in the code a function's reference may run that none of the function's cases executes,
    but one of its domain's draws does (with no domain, or one that never draws an input to refuse, every raise
    counts).

    A raise no draw reaches may be dead on the function's path: a composite whose first part refuses n < 1
    never reaches its second part's own check of n, and no case could. The cases and draws run on the
    reference under a line tracer that watches the reference files only.
    """
    found: list[Unreached] = []
    for name in sorted(reach):
        raises = [
            (file, function, node)
            for file, function in sorted(reach[name])
            for node in ast.walk(graph._defined(file)[function])
            if isinstance(node, ast.Raise) and node.exc is not None
        ]
        if not raises:
            continue
        files = {str(file) for file, _ in reach[name]}
        executed = _lines_run(suite.reference(name), suite.cases[name], files)
        drawn = draws.cases(name)
        refuses = drawn is not None and any(case.expected.raises for case in drawn)  # else the domain has no bad inputs
        reachable = _lines_run(suite.reference(name), drawn, files) if drawn is not None and refuses else None
        for file, function, node in raises:
            lines = range(node.lineno, (node.end_lineno or node.lineno) + 1)
            if reachable is not None and not any((str(file), line) in reachable for line in lines):
                continue  # dead on this function's domain
            if not any((str(file), line) in executed for line in lines):
                where = f"{file.parent.name}/{file.name}:{node.lineno} in {function}"
                found.append(Unreached(name, suite.home[name], where, ast.unparse(node)))
    return found


def _lines_run(function: Callable[..., Any], cases: list[Case], files: set[str]) -> set[tuple[str, int]]:
    """The (file, line) pairs of ``files`` that calling ``function`` on each case's arguments executes."""
    executed: set[tuple[str, int]] = set()
    real = functools.lru_cache(maxsize=None)(lambda name: str(Path(name).resolve()))

    def in_frame(frame: types.FrameType, event: str, arg: object) -> Any:
        if event == "line":
            executed.add((real(frame.f_code.co_filename), frame.f_lineno))
        return in_frame

    def on_call(frame: types.FrameType, event: str, arg: object) -> Any:
        return in_frame if real(frame.f_code.co_filename) in files else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        for case in cases:
            _call(function, case.args, case.kwargs)
    finally:
        sys.settrace(previous)
    return executed


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


def _call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[bool, Any]:
    """(True, answer) or (False, the exception's class names, most derived first) for one call."""
    try:
        with _limited():
            return True, function(*copies(args), **copies(kwargs))
    except _Timeout:
        return False, ["Timeout"]
    except Exception as error:  # noqa: BLE001 - a mutant's exception is its answer
        return False, [cls.__name__ for cls in type(error).__mro__]


def _passes(function: Callable[..., Any], case: Case) -> bool:
    return _judged(function, case)[0]


def _judged(function: Callable[..., Any], case: Case) -> tuple[bool, str]:
    """Whether ``function`` passes ``case``, and what it gave (shown in a survivor's report)."""
    returned, answer = _call(function, case.args, case.kwargs)
    if case.expected.raises:
        passed = not returned and case.expected.raises in answer
    else:
        passed = returned and agrees(case.expected.value, answer, case.comparison)
    return passed, short_repr(answer, 160) if returned else f"raises {answer[0]}"


class _Suite:
    """The cases of a problem set grouped by function, and where each function is graded."""

    def __init__(self, problems: list[Problem]) -> None:
        cases = [case for problem in problems for case in problem.cases]
        self.in_grading_order = [case for case in cases if not case.hidden] + [case for case in cases if case.hidden]
        self.functions = sorted({case.function for case in cases})
        self.folders = {problem.key: problem.path.parent for problem in problems if problem.path is not None}
        self.home: dict[str, str] = {}  # the first problem that grades the function
        for case in cases:
            self.home.setdefault(case.function, case.problem)
        self.cases = {name: [case for case in cases if case.function == name] for name in self.functions}

    def reference_file(self, name: str) -> Path:
        return self.folders[self.home[name]] / "reference.py"

    def reference(self, name: str) -> Callable[..., Any]:
        module = reference_module(self.folders[self.home[name]])
        assert module is not None  # only problems with a reference are in the suite
        solver: Callable[..., Any] = getattr(module, name)
        return solver


class _Draws:
    """Per function: seeded draws from its domain, as cases whose answers are the reference's (computed once)."""

    def __init__(self, suite: _Suite, tries: int, seed: int) -> None:
        self.suite, self.tries, self.seed = suite, tries, seed
        self.cache: dict[str, list[Case] | None] = {}

    def generator(self, name: str) -> Callable[[np.random.Generator], Any] | None:
        """``domain_<name>`` beside the function's definition, else beside a spec that grades it."""
        function = self.suite.reference(name)
        defining = sys.modules.get(getattr(function, "__module__", ""), None)
        found = getattr(defining, f"domain_{name}", None)
        for problem in sorted({case.problem for case in self.suite.cases[name]}):
            found = found or getattr(reference_module(self.suite.folders[problem]), f"domain_{name}", None)
        return found

    def cases(self, name: str) -> list[Case] | None:
        if name not in self.cache:
            generator = self.generator(name)
            self.cache[name] = None if generator is None else self._draw(name, generator)
        return self.cache[name]

    def _draw(self, name: str, generator: Callable[[np.random.Generator], Any]) -> list[Case]:
        solver, model = self.suite.reference(name), self.suite.cases[name][0]
        rng = np.random.default_rng([self.seed, sum(map(ord, name))])
        drawn: list[Case] = []
        for number in range(1, self.tries + 1):
            repeated = self._alike(generator, rng, drawn[-1].args) if drawn and rng.random() < REPEAT else None
            args = repeated if repeated is not None else _drawn(generator, rng)
            called = None
            if repeated is None and drawn and len(args) == len(drawn[-1].args) > 1 and rng.random() < REPEAT / (1 - REPEAT):
                position = int(rng.integers(len(args)))
                one_changed = (*drawn[-1].args[:position], args[position], *drawn[-1].args[position + 1 :])
                # Only an argument of the same kind and shape, and where the reference answers: arguments a domain
                # draws together (a kernel no larger than its image) are kept apart as little as possible.
                if _shape_and_dtype(args[position]) == _shape_and_dtype(drawn[-1].args[position]):
                    tried = _call(solver, one_changed, {})
                    args, called = (one_changed, tried) if tried[0] else (args, None)
            returned, answer = called or _call(solver, args, {})
            case = Case(
                problem=model.problem,
                number="",
                function=name,
                name=f"domain draw {number}",
                args=args,
                kwargs={},
                comparison=model.comparison,
                expected=Expected(value=answer) if returned else Expected(raises=answer[0]),
            )
            if returned:  # judged as a case is: the tolerance of a sum grows with its terms' magnitude
                _with_magnitudes(self.suite.reference_file(name), 0, solver, case)
            drawn.append(case)
        return drawn

    @staticmethod
    def _alike(
        generator: Callable[[np.random.Generator], Any], rng: np.random.Generator, previous: tuple[Any, ...]
    ) -> tuple[Any, ...] | None:
        """New arguments of the same shapes and dtypes as ``previous`` (so a stale answer keyed on them shows): a draw
        of the domain's own when one comes within ALIKE_TRIES, else ``previous`` with its arrays' entries shuffled
        (None when it has no array: the caller draws afresh).

        The domain's own first, since a shuffle may leave the domain (binary search's sorted list: an adopter's
        validate asked for a case on an unsorted one), and a sum never changes under it.
        """
        wanted = tuple(map(_shape_and_dtype, previous))
        for _ in range(ALIKE_TRIES):
            args = _drawn(generator, rng)
            if tuple(map(_shape_and_dtype, args)) == wanted:
                return args
        return _shuffled(rng, previous)

    def difference(self, mutant: Callable[..., Any], name: str, where: str) -> Survivor | None:
        drawn = self.cases(name)
        home = self.suite.home[name]
        if drawn is None:
            return Survivor(name, where, home, None)
        for case in drawn:
            passed, given = _judged(mutant, case)
            if not passed:
                expected = f"raises {case.expected.raises}" if case.expected.raises else short_repr(case.expected.value, 160)
                return Survivor(name, where, home, case.args, expected, given)
        return None


def _drawn(generator: Callable[[np.random.Generator], Any], rng: np.random.Generator) -> tuple[Any, ...]:
    """One draw's arguments; a generator that raises, or returns no sequence of arguments, is the spec author's to fix,
    at its own line (SpecError), never a traceback out of validate."""
    try:
        return tuple(generator(rng))
    except Exception as error:  # the instructor's code: any failure is reported where it is
        code = getattr(generator, "__code__", None)
        raise SpecError(
            Path(code.co_filename) if code else Path(getattr(generator, "__module__", "reference.py")),
            code.co_firstlineno if code else None,
            f"{getattr(generator, '__name__', 'the domain generator')}(rng) raised {type(error).__name__}: {error}; it must return "
            "the arguments of one call (a list), drawn from the function's whole domain",
        ) from error


def _shuffled(rng: np.random.Generator, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """``args`` with the entries of every NumPy array permuted (same shapes and dtypes), or None if it has none.

    Lists keep their order: a list's order often means something its domain keeps (a sorted list, layers in
    turn), where an array is data; a list's new values come from the domain's own draws (``_Draws._alike``).
    """
    if not any(isinstance(value, np.ndarray) and value.size > 1 for value in args):
        return None
    return tuple(rng.permutation(value.ravel()).reshape(value.shape) if isinstance(value, np.ndarray) else value for value in args)


# --------------------------------------------------------------------------- which functions, and fresh modules


class _Graph:
    """The reference files of a problem set and those they import from, their ASTs, and who calls whom."""

    def __init__(self, references: list[Path]) -> None:
        self.trees: dict[Path, ast.Module] = {}
        self.imports: dict[Path, dict[str, tuple[Path, str]]] = {}
        self.registered: list[str] = []
        for file in references:
            self._load(file.resolve())
        self.package = problems_package(next(iter(self.trees)).parent.parent)

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
        """Where ``name``, as ``file`` sees it, is defined."""
        file = file.resolve()
        if file not in self.trees:
            return None
        if name in self._defined(file):
            return file, name
        if name in self.imports[file]:
            return self.resolve(*self.imports[file][name])
        return None

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

    def build(self, mutated_file: Path, mutated: ast.Module) -> Callable[[Path], types.ModuleType]:
        """Fresh modules of one mutant: ``mutated_file`` replaced by ``mutated``, also where it is imported.

        The result maps a reference file to its fresh module; the modules are
        made on first use and shared, so the mutant has one state, as in a worker.
        """
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
            module.__dict__.update(MISTAKES)
            sys.modules[name] = module
            self.registered.append(name)
            try:
                tree = mutated if file == mutated_file else self.trees[file]
                exec(compile(tree, str(file), "exec"), module.__dict__)
            finally:
                for swapped_name, original in swapped.items():
                    if original is None:
                        sys.modules.pop(swapped_name, None)
                    else:
                        sys.modules[swapped_name] = original
            built[file] = module
            return module

        return fresh

    def forget(self) -> None:
        """Unregister the fresh modules of the last mutant."""
        for name in self.registered:
            sys.modules.pop(name, None)
        self.registered.clear()


# --------------------------------------------------------------------------- the mistakes a mutant's code calls


def _shape_and_dtype(value: Any) -> tuple[Any, str]:
    try:
        array = np.asarray(value)
        return array.shape, array.dtype.str
    except Exception:  # noqa: BLE001 - ragged or odd: its type is its key
        return (), type(value).__name__


def _remembering(function: Callable[..., Any], key: Callable[[tuple[Any, ...], dict[str, Any]], Any]) -> Callable[..., Any]:
    """``function`` with state kept across calls: the first answer for each ``key(args, kwargs)``, given again."""
    answers: dict[Any, Any] = {}

    @functools.wraps(function)
    def cached(*args: Any, **kwargs: Any) -> Any:
        found = key(args, kwargs)
        if found not in answers:
            answers[found] = function(*args, **kwargs)
        return answers[found]

    return cached


def _stale_cache(function: Callable[..., Any]) -> Callable[..., Any]:
    """The first answer for each shape and dtype of the arguments, given again for new values."""
    return _remembering(
        function,
        lambda args, kwargs: (tuple(map(_shape_and_dtype, args)), tuple((k, _shape_and_dtype(v)) for k, v in sorted(kwargs.items()))),
    )


def _cache_ignoring(parameter: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A memo keyed on every argument but ``parameter``: the answer for the others, whatever that one is."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(function)

        def key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return tuple((name, _value_key(value)) for name, value in bound.arguments.items() if name not in (parameter, "parts"))

        return _remembering(function, key)

    return decorate


def _python_numbers_only(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` refusing a NumPy scalar that is not also a Python number (np.int64, np.float32, np.bool_; not
    np.float64, a float) anywhere in its arguments, lists and tuples included: ``isinstance(n, int)`` guards."""

    def numpy_only(value: Any) -> bool:
        if isinstance(value, (list, tuple)):
            return any(numpy_only(item) for item in value)
        return isinstance(value, np.generic) and not isinstance(value, (int, float, complex))

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if numpy_only(args) or numpy_only(tuple(kwargs.values())):
            raise TypeError("expected Python numbers")
        return function(*args, **kwargs)

    return guarded


def _value_key(value: Any) -> Any:
    """A dict key that is equal for equal arguments, and only for them: an array by its bytes, a list or tuple item by
    item (a repr shortens a large array with "...", and would take two arguments for one)."""
    if isinstance(value, np.ndarray):
        return "array", value.shape, value.dtype.str, value.tobytes()
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(_value_key(item) for item in value)
    try:
        hash(value)
    except TypeError:
        return "repr", repr(value)
    return value


def _output_in_dtype_of(parameter: str, kind_only: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The answer written into a buffer whose dtype follows ``parameter``'s.

    Its own dtype (``np.zeros(..., dtype=x.dtype)``: int8 wraps, float16 rounds),
    or with ``kind_only`` just its kind (``dtype=int`` for integer x, else float):
    integers truncated where the other input is fractional, and nothing else.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def in_dtype(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            dtype = np.asarray(bound.arguments[parameter]).dtype
            if kind_only:
                dtype = np.dtype(np.int64 if dtype.kind in "biu" else np.float64)
            return np.asarray(function(*args, **kwargs)).astype(dtype)

        return in_dtype

    return decorate


def _int32_sum(values: Any) -> Any:
    """A sum accumulated in a 32-bit integer, which wraps around past 2**31."""
    return np.sum(np.asarray(list(values)), dtype=np.int32)


def _wrapped_int32(value: Any) -> Any:
    """An integer result as 32 bits hold it (wrapped past 2**31), its type kept: a per-layer count in np.int32, say,
    that the caller then adds up in Python ints, so only a part of the total wraps. Anything else is left alone."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.astype(np.int32).astype(value.dtype)
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return type(value)((int(value) + 2**31) % 2**32 - 2**31)
    return value


def _ints_as_int32(value: Any, converted: Any) -> Any:
    """An input converted to float only when it is fractional: integer arrays, lists and numbers kept as int32
    (as ``np.asarray(x)`` does on a 32-bit platform, or ``dtype="i4"``), so their products and sums wrap past 2**31."""
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - ragged: the reference's own conversion decides
        return converted
    return array.astype(np.int32) if array.dtype.kind in "biu" else converted


MISTAKES: dict[str, Any] = {  # what a mutant's code may call, under the names the mutations give them
    NP: np,
    STALE: _stale_cache,
    CACHE_IGNORING: _cache_ignoring,
    PYTHON_NUMBERS_ONLY: _python_numbers_only,
    IN_DTYPE_OF: _output_in_dtype_of,
    INT32_SUM: _int32_sum,
    WRAPPED_INT32: _wrapped_int32,
    INTS_AS_INT32: _ints_as_int32,
}


# --------------------------------------------------------------------------- the mutations


_ARITHMETIC: dict[type, list[type]] = {
    ast.Add: [ast.Sub],
    ast.Sub: [ast.Add],
    ast.Mult: [ast.FloorDiv, ast.Div],
    ast.FloorDiv: [ast.Div, ast.Mult],
    ast.Div: [ast.FloorDiv, ast.Mult],
}
# Each relational operator's replacements, and the constant a comparison may become: the sufficient set of Kaminski,
# Ammann and Offutt ("Better predicate testing", 2011). Cases that catch these three catch each of the seven
# replacements, so ``>=`` written as ``==`` (a loop that only stops on equal sizes, forever on growing ones) is caught
# too, where a hand-picked pair (``>``, ``<``) missed it.
_COMPARISON: dict[type, tuple[list[type], bool]] = {
    ast.Lt: ([ast.LtE, ast.NotEq], False),
    ast.LtE: ([ast.Lt, ast.Eq], True),
    ast.Gt: ([ast.GtE, ast.NotEq], False),
    ast.GtE: ([ast.Gt, ast.Eq], True),
    ast.Eq: ([ast.LtE, ast.GtE], False),
    ast.NotEq: ([ast.Lt, ast.Gt], True),
}
_SWAPPED_ATTRIBUTES = {"floor": ["ceil"], "ceil": ["floor"], "float64": ["float32", "float16"]}
_MODULES = {"np", "numpy", "math"}
_CONVERSIONS = {"asarray", "array", "asanyarray", "ascontiguousarray"}  # np.<this>(p, ...): p is an array input
_BUFFERS = {"zeros", "empty", "ones", "full"}  # np.<this>(shape, ...): a new buffer, float64 unless told


_FLOATS = {"float", "float64", "double"}


def _to_float(node: ast.AST) -> ast.expr | None:
    """What ``node`` converts to float64, when it is ``np.asarray(v, dtype=float)``, ``np.array(v, dtype=np.float64)``
    or ``v.astype(float)``."""
    if not isinstance(node, ast.Call):
        return None

    def is_float(type_: ast.expr) -> bool:
        if isinstance(type_, ast.Name):
            return type_.id in _FLOATS
        if isinstance(type_, ast.Attribute):
            return type_.attr in _FLOATS
        return isinstance(type_, ast.Constant) and type_.value in _FLOATS

    if _numpy_call(node, _CONVERSIONS) and node.args and any(k.arg == "dtype" and is_float(k.value) for k in node.keywords):
        return node.args[0]
    if isinstance(node.func, ast.Attribute) and node.func.attr == "astype":
        dtype = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "dtype"), None)
        if dtype is not None and is_float(dtype):
            return node.func.value
    return None


class _IntegersKept(ast.NodeTransformer):
    """Every conversion to float in a statement made to keep integer inputs as int32 (:func:`_ints_as_int32`)."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        value = _to_float(node)
        return node if value is None else ast.Call(ast.Name(INTS_AS_INT32, ast.Load()), [value, node], [])


def _np(attribute: str) -> ast.Attribute:
    return ast.Attribute(ast.Name(NP, ast.Load()), attribute, ast.Load())


def _numpy_call(node: ast.AST, names: set[str]) -> bool:
    """``np.<one of names>(...)``, whatever NumPy is called in the file."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in _MODULES
    )


def _array_parameters(node: ast.FunctionDef) -> list[str]:
    """The parameters used as arrays: converted with ``np.asarray`` and the like, or asked for a shape or dtype."""
    used = set()
    for inner in ast.walk(node):
        if _numpy_call(inner, _CONVERSIONS) and isinstance(inner, ast.Call) and inner.args and isinstance(inner.args[0], ast.Name):
            used.add(inner.args[0].id)
        if isinstance(inner, ast.Attribute) and inner.attr in ("shape", "dtype", "ndim") and isinstance(inner.value, ast.Name):
            used.add(inner.value.id)
    return [a.arg for a in node.args.args if a.arg in used]


def _in_dtype_of(parameter: str, kind_only: bool) -> ast.expr:
    """The decorator ``_output_in_dtype_of(parameter, kind_only)`` as the mutant's code calls it."""
    return ast.Call(ast.Name(IN_DTYPE_OF, ast.Load()), [ast.Constant(parameter), ast.Constant(kind_only)], [])


def _text(node: ast.AST) -> str:
    text = ast.unparse(node).replace(NP, "np")
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
            self.descriptions.append(
                (self.current, f"{getattr(node, 'lineno', 0)} in {self.current}: {what or f'`{_text(node)}` -> `{_text(built)}`'}")
            )
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
        """Mistakes of the whole function, then those inside it.

        A function of arrays may keep state keyed on their shapes and dtypes, or
        write its output in a buffer whose dtype follows one of them; any
        parameter may be narrowed to np.int32.
        """
        arrays = _array_parameters(node)
        decorators: list[tuple[ast.expr, str]] = (
            [(ast.Name(STALE, ast.Load()), "state kept across calls: the first answer for each shape and dtype")] if arrays else []
        )
        every = (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)  # keyword-only ones too: `def f(x, *, scale)`
        parameters = [a.arg for a in every if a.arg not in ("parts", "self")]
        if len(parameters) > 1:
            decorators += [
                (
                    ast.Call(ast.Name(CACHE_IGNORING, ast.Load()), [ast.Constant(parameter)], []),
                    f"state kept across calls: a memo of the answers whose key leaves out `{parameter}`",
                )
                for parameter in parameters
            ]
        if parameters:
            decorators.append((ast.Name(PYTHON_NUMBERS_ONLY, ast.Load()), "NumPy integers refused: an `isinstance(n, int)` guard"))
        for parameter in arrays:
            decorators += [
                (
                    _in_dtype_of(parameter, kind_only=False),
                    f"the output in a buffer of {parameter}'s dtype: np.zeros(..., dtype={parameter}.dtype)",
                ),
                (_in_dtype_of(parameter, kind_only=True), f"the output in an integer buffer when {parameter} is an integer array"),
            ]
        for decorator, what in decorators:
            if self._offer(node, node, what) is not None:
                node.decorator_list.append(decorator)
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        body = (
            node.body[1:]
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
            else node.body
        )
        start = len(node.body) - len(body)
        for parameter in parameters:
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

    def visit_If(self, node: ast.If) -> ast.AST:
        """Besides the mutations inside: a guard ``if ...: raise ...`` deleted (its ``else:``, if any, always runs)."""
        self.generic_visit(node)
        if node.body and isinstance(node.body[-1], ast.Raise):
            chosen = self._offer(node, ast.If(ast.Constant(False), node.body, node.orelse), f"guard `if {_text(node.test)}: raise` deleted")
            if chosen is not None:
                return chosen
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        for other in _ARITHMETIC.get(type(node.op), []):
            chosen = self._offer(node, ast.BinOp(node.left, other(), node.right))
            if chosen is not None:
                return chosen
        if isinstance(node.op, (ast.Add, ast.Sub)):
            for kept in [node.left, node.right] if isinstance(node.op, ast.Add) else [node.left]:
                chosen = self._offer(node, kept)
                if chosen is not None:
                    return chosen
        if isinstance(node.op, (ast.Mult, ast.Pow, ast.LShift)):
            wrapped = ast.Call(ast.Name(WRAPPED_INT32, ast.Load()), [node], [])
            chosen = self._offer(node, wrapped, f"`{_text(node)}` computed in 32-bit integers (wraps past 2**31)")
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
        if any(_to_float(inner) for inner in ast.walk(node.value)):
            kept = _IntegersKept().visit(copy.deepcopy(node))
            chosen = self._offer(node, kept, "integer inputs kept as np.int32 where every input is converted to float")
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
            others, constant = _COMPARISON.get(type(op), ([], None))
            for other in others:

                def replaced(p: int, o: type) -> ast.AST:
                    return ast.Compare(node.left, [o() if i == p else x for i, x in enumerate(node.ops)], node.comparators)

                chosen = self._offer(node, replaced(position, other))
                if chosen is not None:
                    return chosen
            if constant is not None and len(node.ops) == 1:
                chosen = self._offer(node, ast.Constant(constant), f"`{_text(node)}` -> `{constant}`")
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
        for mutation in (self._int_removed, self._python_ints_only, self._arguments_swapped, self._dtypes, self._astype, self._int32_sum):
            chosen = mutation(node)
            if chosen is not None:
                return chosen
        return node

    def _int_removed(self, node: ast.Call) -> ast.AST | None:
        if isinstance(node.func, ast.Name) and node.func.id == "int" and len(node.args) == 1 and not node.keywords:
            return self._offer(node, node.args[0]) or self._offer(node, ast.Call(_np("int32"), node.args, []))
        return None

    def _python_ints_only(self, node: ast.Call) -> ast.AST | None:
        """``isinstance(v, T)`` made ``not isinstance(v, int)``: a NumPy integer is not taken for an int."""
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and len(node.args) == 2
            and "int" not in {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
        ):
            python_int = ast.Call(node.func, [node.args[0], ast.Name("int", ast.Load())], [])
            return self._offer(node, ast.UnaryOp(ast.Not(), python_int))
        return None

    def _arguments_swapped(self, node: ast.Call) -> ast.AST | None:
        for position in range(len(node.args) - 1):
            if ast.dump(node.args[position]) == ast.dump(node.args[position + 1]):
                continue
            args = list(node.args)
            args[position], args[position + 1] = args[position + 1], args[position]
            chosen = self._offer(node, ast.Call(node.func, args, node.keywords))
            if chosen is not None:
                return chosen
        return None

    def _dtypes(self, node: ast.Call) -> ast.AST | None:
        """A ``dtype=`` dropped, narrowed (float to float32/float16) or made int32; a new buffer made int32."""

        def with_dtype(position: int, dtype: str) -> ast.AST:
            keywords = [k for i, k in enumerate(node.keywords) if i != position]
            return ast.Call(node.func, node.args, [*keywords, ast.keyword("dtype", _np(dtype))])

        for position, keyword in enumerate(node.keywords):
            if keyword.arg != "dtype":
                continue
            narrower = ["float32", "float16"] if isinstance(keyword.value, ast.Name) and keyword.value.id == "float" else []
            chosen = self._offer(node, ast.Call(node.func, node.args, [k for i, k in enumerate(node.keywords) if i != position]))
            for narrow in [*narrower, "int32"]:
                chosen = chosen or self._offer(node, with_dtype(position, narrow))
            if chosen is not None:
                return chosen
        if _numpy_call(node, _BUFFERS) and not any(k.arg == "dtype" for k in node.keywords):
            return self._offer(node, with_dtype(len(node.keywords), "int32"))
        return None

    def _astype(self, node: ast.Call) -> ast.AST | None:
        """``.astype(T)`` removed, or made float32 (for float) or int32."""
        if not (isinstance(node.func, ast.Attribute) and node.func.attr == "astype" and node.args):
            return None
        narrower = ["float32"] if isinstance(node.args[0], ast.Name) and node.args[0].id == "float" else []
        chosen = self._offer(node, node.func.value)
        for narrow in [*narrower, "int32"]:
            chosen = chosen or self._offer(node, ast.Call(node.func, [_np(narrow)], node.keywords))
        return chosen

    def _int32_sum(self, node: ast.Call) -> ast.AST | None:
        """``sum(values)`` (or ``np.sum``) accumulated in int32."""
        summing = (isinstance(node.func, ast.Name) and node.func.id == "sum") or _numpy_call(node, {"sum"})
        if summing and len(node.args) == 1 and not node.keywords:
            return self._offer(node, ast.Call(ast.Name(INT32_SUM, ast.Load()), node.args, []), f"`{_text(node)}` accumulated in np.int32")
        return None
