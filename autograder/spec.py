"""Problem specs: ``problems/<key>/spec.yaml`` plus ``reference.py``, loaded into plain data.

Loading happens in the trusted grader only. Expected values are computed here
from the reference solvers; a literal ``expected:`` in a spec is a cross-check
that must agree. Every error names the spec file, the line, and what to fix.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

COMPARE_KINDS = ("int", "ints", "array")
DEFAULT_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}  # accepts work done right in float32
CASE_KEYS = {"name", "call", "args", "kwargs", "expected", "raises", "hidden", "weight", "compare", "note"}
FUNCTION_KEYS = {"compare", "follow_through"}
GENERATE_KEYS = {"name", "call", "using", "count", "seed", "hidden", "weight", "compare", "note"}
PROBLEM_KEYS = {"title", "number", "points", "functions", "cases", "generate", "mistakes", "graded_by_hand"}


class SpecError(Exception):
    """A spec that cannot be used, with where and why."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}{f':{line}' if line else ''}: {message}")


@dataclass(frozen=True)
class Comparison:
    """How a received answer is compared with the expected one."""

    kind: str = "int"
    rtol: float = DEFAULT_TOLERANCE["rtol"]
    atol: float = DEFAULT_TOLERANCE["atol"]


@dataclass(frozen=True)
class Expected:
    """A return value, or the name of the exception a correct function raises."""

    value: Any = None
    raises: str | None = None


@dataclass(frozen=True)
class FollowThrough:
    """Partial credit for a composite answer that is wrong only because one of its parts is.

    ``compose(parts, *args)`` is the reference's composition; the grader calls
    it with the student's own part functions as ``parts``.
    """

    share: float
    compose: Callable
    using: str = ""  # the composition's name in reference.py


@dataclass
class Case:
    """One call of one student function, worth a share of its problem's points."""

    problem: str
    number: str
    function: str
    name: str
    args: tuple
    kwargs: dict
    expected: Expected
    comparison: Comparison
    hidden: bool = False
    weight: float = 1.0
    note: str = ""
    where: str = ""
    max_score: float = 0.0
    known_mistakes: list[tuple[Any, str]] = field(default_factory=list)  # (wrong answer, what it shows)
    follow_through: FollowThrough | None = None


@dataclass
class Problem:
    key: str
    title: str
    number: str
    points: float
    cases: list[Case] = field(default_factory=list)
    graded_by_hand: str = ""
    path: Path | None = None


# --------------------------------------------------------------------------- YAML with line numbers


class _Mapping(dict):
    line: int = 0


@functools.lru_cache(maxsize=None)
def _loader() -> type:
    """Safe YAML whose mappings remember their line, plus ``!array`` and ``!tuple`` tags.

    Built on first use: importing PyYAML costs more than reading a compiled cache.
    """
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    Loader.add_constructor("!array", _construct_array)
    Loader.add_constructor("!tuple", lambda loader, node: tuple(loader.construct_sequence(node, deep=True)))
    return Loader


def _construct_mapping(loader: Any, node: Any) -> _Mapping:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


def _construct_array(loader: Any, node: Any) -> np.ndarray:
    from yaml.constructor import ConstructorError

    data = loader.construct_sequence(node, deep=True)
    try:
        array = np.array(data)
    except ValueError as error:
        raise ConstructorError(None, None, f"!array is not rectangular: {error}", node.start_mark) from None
    if array.dtype.kind not in "iuf":
        raise ConstructorError(None, None, "!array must hold numbers only", node.start_mark)
    return array


# --------------------------------------------------------------------------- loading


def load_problems(folder: Path, with_references: bool = True, use_cache: bool = True) -> list[Problem]:
    """Load every ``*/spec.yaml`` under ``folder``, sorted by folder name.

    A ``compiled.json`` written by ``build`` stands in for the specs while its
    fingerprint matches them (see autograder/compiled.py).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError(folder, None, "no problems folder here; pass --problems DIR")
    if with_references and use_cache:
        from autograder.compiled import load_cache

        cached = load_cache(folder)
        if cached is not None:
            return cached
    specs = sorted(folder.glob("*/spec.yaml"))
    if not specs:
        raise SpecError(folder, None, "no */spec.yaml found under this folder")
    package = problems_package(folder) if with_references else None
    return [load_problem(spec, package) for spec in specs]


def load_problem(spec_path: Path, package: str | None) -> Problem:
    data = _read_yaml(spec_path)
    _check_keys(spec_path, data, PROBLEM_KEYS, "problem")
    key = spec_path.parent.name
    problem = Problem(
        key=key,
        title=_field(spec_path, data, "title", str),
        number=str(data.get("number", key)),
        points=_field(spec_path, data, "points", (int, float), default=0),
        graded_by_hand=_field(spec_path, data, "graded_by_hand", str, default=""),
        path=spec_path,
    )
    if problem.graded_by_hand:
        return problem
    reference = reference_module(spec_path, package) if package else None
    if package and reference is None:
        needing = [key for key in ("generate", "mistakes") if data.get(key)]
        needing += [f"follow_through of {name}" for name, entry in (data.get("functions") or {}).items()
                    if isinstance(entry, dict) and "follow_through" in entry]
        if needing:
            raise SpecError(spec_path, data.line, f"{needing[0]} needs a reference.py beside this spec")
    functions = _field(spec_path, data, "functions", dict, default=_Mapping())
    for entry in functions.values():
        _check_keys(spec_path, entry, FUNCTION_KEYS, "function entry")
    cases = _field(spec_path, data, "cases", list, default=[])
    for raw in cases:
        problem.cases.append(_case(spec_path, problem, raw, functions, reference))
    for raw in _field(spec_path, data, "generate", list, default=[]):
        problem.cases.extend(_generated_cases(spec_path, problem, raw, functions, reference))
    for raw in _field(spec_path, data, "mistakes", list, default=[]):
        _add_mistake(spec_path, raw, reference, problem.cases)
    for name, entry in functions.items():
        if "follow_through" in entry:
            _add_follow_through(spec_path, entry, reference, [c for c in problem.cases if c.function == name])
    if not problem.cases:
        raise SpecError(spec_path, data.line, "a problem needs at least one case (or graded_by_hand: ...)")
    if problem.points <= 0:
        raise SpecError(spec_path, data.line, "points must be a positive number")
    for index, case in enumerate(problem.cases, 1):
        case.number = f"{problem.number}.{index}"
    return problem


def _read_yaml(path: Path) -> _Mapping:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(path, None, f"cannot read the spec: {error}") from None
    import yaml

    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise SpecError(path, mark.line + 1 if mark else None, f"invalid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise SpecError(path, None, f"invalid YAML: {error}") from None
    if not isinstance(data, _Mapping):
        raise SpecError(path, 1, "a spec must be a mapping with title, points and cases")
    return data


def _field(path: Path, data: _Mapping, name: str, kind: type | tuple, default: Any = ...) -> Any:
    if name not in data:
        if default is ...:
            raise SpecError(path, data.line, f"missing required key {name!r}")
        return default
    value = data[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        wanted = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(path, data.line, f"{name!r} must be a {wanted}, not {type(value).__name__}")
    return value


def _check_keys(path: Path, data: Any, allowed: set, what: str) -> None:
    if not isinstance(data, _Mapping):
        raise SpecError(path, None, f"each {what} must be a mapping")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(path, data.line, f"unknown key {unknown[0]!r} in a {what}; allowed: {', '.join(sorted(allowed))}")


def _comparison(path: Path, raw: _Mapping, functions: _Mapping, function: str) -> Comparison:
    declared = functions.get(function)
    settings = dict(declared.get("compare", {})) if isinstance(declared, dict) else {}
    settings.update(raw.get("compare") or {})
    kind = settings.get("kind", "int")
    if kind not in COMPARE_KINDS:
        raise SpecError(path, raw.line, f"compare kind {kind!r} is not one of {', '.join(COMPARE_KINDS)}")
    unknown = set(settings) - {"kind", "rtol", "atol"}
    if unknown:
        raise SpecError(path, raw.line, f"unknown compare setting {sorted(unknown)[0]!r}; use kind, rtol, atol")
    tolerances = {name: settings.get(name, DEFAULT_TOLERANCE[name]) for name in ("rtol", "atol")}
    for name, value in tolerances.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise SpecError(path, raw.line, f"{name} must be a number in [0, 1), not {value!r}")
    return Comparison(kind, float(tolerances["rtol"]), float(tolerances["atol"]))


def _solver(path: Path, line: int, reference: types.ModuleType | None, name: str) -> Callable | None:
    if reference is None:
        return None
    solver = getattr(reference, name, None)
    if not callable(solver):
        raise SpecError(path, line, f"reference.py beside this spec defines no function {name!r}")
    return solver


def _new_case(path: Path, problem: Problem, raw: _Mapping, functions: _Mapping, *, name: str, args: Any,
              kwargs: dict, hidden_by_default: bool, where: str) -> Case:
    """The fields a listed case and a generated one share, read from the entry ``raw``."""
    function = _field(path, raw, "call", str)
    return Case(
        problem=problem.title,
        number="",
        function=function,
        name=name,
        args=tuple(args),
        kwargs=dict(kwargs),
        expected=Expected(),
        comparison=_comparison(path, raw, functions, function),
        hidden=_field(path, raw, "hidden", bool, default=hidden_by_default),
        weight=_weight(path, raw),
        note=_field(path, raw, "note", str, default=""),
        where=where,
    )


def _case(path: Path, problem: Problem, raw: Any, functions: _Mapping, reference: types.ModuleType | None) -> Case:
    _check_keys(path, raw, CASE_KEYS, "case")
    case = _new_case(path, problem, raw, functions, name=_field(path, raw, "name", str),
                     args=_field(path, raw, "args", list, default=[]),
                     kwargs=_field(path, raw, "kwargs", dict, default=_Mapping()),
                     hidden_by_default=False, where=f"{path}:{raw.line}")
    raises = _field(path, raw, "raises", str, default=None)
    solver = _solver(path, raw.line, reference, case.function)
    if solver is not None:
        case.expected = _run_reference(path, raw.line, solver, case, raises)
    elif raises:
        case.expected = Expected(raises=raises)
    elif "expected" in raw:
        case.expected = Expected(value=raw["expected"])
    else:
        raise SpecError(path, raw.line, "without reference.py a case needs a literal expected: or raises:")
    if "expected" in raw and raises:
        raise SpecError(path, raw.line, "a case has either expected: or raises:, not both")
    if not raises and not _agrees(case.expected.value, case.expected.value, case.comparison):
        raise SpecError(path, raw.line, f"the answer cannot be compared as kind {case.comparison.kind!r}; declare "
                                        f"functions: {case.function}: {{compare: {{kind: ...}}}} (int, ints or array)")
    if "expected" in raw and not _agrees(raw["expected"], case.expected.value, case.comparison):
        raise SpecError(
            path, raw.line,
            f"literal expected: {raw['expected']!r} disagrees with reference.py, which gives {_plain(case.expected.value)!r}",
        )
    return case


def _weight(path: Path, raw: _Mapping) -> float:
    weight = _field(path, raw, "weight", (int, float), default=1)
    if weight <= 0:
        raise SpecError(path, raw.line, "weight must be positive")
    return float(weight)


def _run_reference(path: Path, line: int, solver: Callable, case: Case, raises: str | None) -> Expected:
    try:
        value = solver(*copies(case.args), **copies(case.kwargs))
    except Exception as error:  # noqa: BLE001 - the reference's behaviour is data here
        if raises and raises in [cls.__name__ for cls in type(error).__mro__]:
            return Expected(raises=raises)
        raise SpecError(path, line, f"reference.py raised {type(error).__name__}: {error}") from None
    if raises:
        raise SpecError(path, line, f"the case says raises: {raises}, but reference.py returned {_plain(value)!r}")
    return Expected(value=value)


def _generated_cases(path: Path, problem: Problem, raw: Any, functions: _Mapping, reference: types.ModuleType | None) -> list[Case]:
    """Hidden cases drawn from a fixed seed, so every run grades the same inputs."""
    _check_keys(path, raw, GENERATE_KEYS, "generate entry")
    count = _field(path, raw, "count", int)
    seed = _field(path, raw, "seed", int)
    if reference is None:
        return []
    generator = _solver(path, raw.line, reference, _field(path, raw, "using", str))
    solver = _solver(path, raw.line, reference, _field(path, raw, "call", str))
    rng = np.random.default_rng(seed)
    cases = []
    for index in range(1, count + 1):
        case = _new_case(path, problem, raw, functions, name=f"{_field(path, raw, 'name', str)} #{index}",
                         args=generator(rng), kwargs={}, hidden_by_default=True,
                         where=f"{path}:{raw.line} (seed {seed}, draw {index})")
        case.expected = _run_reference(path, raw.line, solver, case, None)
        cases.append(case)
    return cases


def _add_mistake(path: Path, raw: Any, reference: types.ModuleType | None, cases: list[Case]) -> None:
    """Record, on every case of the function, the answer a known wrong solver gives there.

    Computed once here, so grading only compares, and so the student kit can
    carry the wrong answers of visible cases without any solver code.
    """
    _check_keys(path, raw, {"call", "solver", "message"}, "mistake")
    function, message = _field(path, raw, "call", str), _field(path, raw, "message", str)
    solver = _solver(path, raw.line, reference, _field(path, raw, "solver", str))
    if not any(case.function == function for case in cases):
        raise SpecError(path, raw.line, f"no case calls {function!r}, so this mistake can never be recognised")
    for case in cases:
        if solver is None or case.function != function or case.expected.raises:
            continue
        try:
            wrong = solver(*copies(case.args), **copies(case.kwargs))
        except Exception:  # noqa: BLE001 - a variant that cannot handle this case just never matches it
            continue
        if not _agrees(wrong, case.expected.value, case.comparison):
            case.known_mistakes.append((wrong, message))


def _add_follow_through(path: Path, entry: _Mapping, reference: types.ModuleType | None, cases: list[Case]) -> None:
    """Attach follow-through credit, after checking the composition over the reference's own parts."""
    raw = entry["follow_through"]
    _check_keys(path, raw, {"share", "using"}, "follow_through")
    share = _field(path, raw, "share", (int, float))
    if not 0 < share < 1:
        raise SpecError(path, raw.line, "follow_through share must be between 0 and 1 (a fraction of the case's points)")
    compose = _solver(path, raw.line, reference, _field(path, raw, "using", str))
    if compose is None:
        return
    for case in cases:
        if case.expected.raises:
            continue
        try:
            composed = compose(reference, *copies(case.args), **copies(case.kwargs))
        except Exception as error:  # noqa: BLE001 - the instructor's composition is data here
            raise SpecError(path, raw.line, f"{raw['using']} raised {type(error).__name__}: {error} on case {case.name!r}") from None
        if not _agrees(composed, case.expected.value, case.comparison):
            raise SpecError(path, raw.line, f"{raw['using']} over the reference's own parts gives {_plain(composed)!r} "
                                            f"on case {case.name!r}, not the reference answer")
        case.follow_through = FollowThrough(float(share), compose, raw["using"])


def _agrees(literal: Any, value: Any, comparison: Comparison) -> bool:
    from autograder.compare import agrees

    return agrees(value, literal, comparison)


def copies(values: Any) -> Any:
    """Fresh copies, so a reference solver that mutates its inputs cannot change a case."""
    if isinstance(values, dict):
        return {k: copies(v) for k, v in values.items()}
    if isinstance(values, (list, tuple)):
        return type(values)(copies(v) for v in values)
    if isinstance(values, np.ndarray):
        return values.copy()
    return values


def _plain(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


# --------------------------------------------------------------------------- reference modules


def problems_package(folder: Path) -> str:
    """Register ``folder`` as a uniquely named package so references can import each other.

    ``from ..q2a.reference import fc_layer_params`` then works inside a
    reference.py, without putting a generic name like ``problems`` on sys.path.
    """
    name = f"_autograder_problems_{abs(hash(str(folder.resolve()))):x}"
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(folder.resolve())]
        sys.modules[name] = package
    return name


def reference_module(spec_path: Path, package: str) -> types.ModuleType | None:
    if not (spec_path.parent / "reference.py").is_file():
        return None
    try:
        return importlib.import_module(f"{package}.{spec_path.parent.name}.reference")
    except Exception as error:  # noqa: BLE001 - report any failure of the instructor's file
        raise SpecError(spec_path.parent / "reference.py", getattr(error, "lineno", None), f"cannot import: {type(error).__name__}: {error}") from None

