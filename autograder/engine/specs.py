"""Problem specs: ``problems/<key>/spec.yaml`` plus ``reference.py``, loaded into plain data.

Loading happens in the trusted grader only. Expected values are computed here
from the reference solvers; a literal ``expected:`` in a spec is a cross-check
that must agree. Every error names the spec file, the line, and what to fix.
"""

from __future__ import annotations

import builtins
import dataclasses
import difflib
import functools
import math
import re
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from autograder.engine.compare import agrees, describe_type, short_repr
from autograder.engine.errors import SpecError
from autograder.engine.follow_through import call_key
from autograder.engine.references import copies, reference_module
from autograder.model import COMPARE_KINDS, Case, Comparison, Expected, FollowThrough, PartCall, Problem

# An array entry may be off by atol + rtol*|expected|, plus, with ``magnitude: true``, eps times its
# magnitude: the reference's answer on the inputs' absolute values (for a convolution, the sum of |x|·|k|
# over the entry's window). Work done right in float32 rounds each input, product and partial sum by at
# most float32's unit roundoff u = 2**-24 = 6e-8 of that magnitude; summed over a 5x5 window the error
# observed is up to about 5u (3e-7) of it, the worst-case bound (n + 2)·u = 1.6e-6. So eps = 1e-6 (17u)
# accepts float32 loops and einsum on any input size and scale, where rtol alone fails entries that
# cancel to near zero; float16 (u = 5e-4) or inputs rounded to 3 decimals still fail by orders of magnitude.
MAGNITUDE_EPS = 1e-6
# rtol and atol default to model.Comparison's own defaults, their one source; its eps defaults to 0, the
# comparison of a case without ``magnitude: true``, which is the only one whose eps a spec cannot set.
DEFAULT_TOLERANCE = {"rtol": Comparison.rtol, "atol": Comparison.atol, "eps": MAGNITUDE_EPS}
CASE_KEYS = {"name", "call", "args", "kwargs", "expected", "raises", "hidden", "weight", "compare", "note"}
FUNCTION_KEYS = {"compare", "follow_through"}
MAX_GENERATED = 1_000  # cases one generate entry draws: each is a call in every grade
MAX_DEPTH = 64  # nesting of lists and mappings in a spec (an array of rank 60 is still far inside it)
GENERATE_KEYS = {"name", "call", "using", "count", "seed", "hidden", "weight", "compare", "note"}
PROBLEM_KEYS = {"title", "number", "points", "functions", "cases", "generate", "mistakes", "graded_by_hand"}
EXCEPTIONS = {name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)}


# --------------------------------------------------------------------------- YAML with line numbers


class _Mapping(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int = 1
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        key_lines: dict[str, int] = getattr(self, "key_lines", {})
        return key_lines.get(key, self.line)


# How YAML 1.2's core schema reads a plain (unquoted) scalar, in the order it is tried: anything else is text.
# PyYAML follows YAML 1.1, where 1e-6 is text (no dot), yes/no/on/off are booleans, 017 is 15 and 1_000, 1:30 and
# 2024-01-31 are numbers and a date: an instructor writing today's YAML got strings and booleans they never meant.
YAML_12_CORE_SCALARS = (
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", "~nN"),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+.0123456789",
    ),
)


@functools.cache
def yaml_12_loader() -> type:
    """PyYAML's safe loader, reading plain scalars as YAML 1.2's core schema does (YAML_12_CORE_SCALARS).

    For every YAML file an instructor writes (specs, assignment.yaml). Built on first use: importing PyYAML costs
    more than reading a compiled cache.
    """
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}  # none of 1.1's

    readers = {"null": lambda text: None, "bool": _yaml_12_bool, "int": _yaml_12_int, "float": _yaml_12_float}
    for tag, pattern, first in YAML_12_CORE_SCALARS:
        Loader.add_implicit_resolver(tag, re.compile(f"^(?:{pattern})$"), [*first, ""] if tag.endswith("null") else list(first))
        Loader.add_constructor(tag, functools.partial(_construct_scalar, readers[tag.rsplit(":", 1)[1]]))
    return Loader


def _construct_scalar(read: Callable[[str], object], loader: Any, node: Any) -> object:
    """A scalar read as its tag says (``!!int`` written out too), or the YAML error at its line."""
    from yaml.constructor import ConstructorError

    text = loader.construct_scalar(node)
    try:
        return read(text)
    except ValueError:
        raise ConstructorError(None, None, f"{text!r} is not a YAML 1.2 {node.tag.rsplit(':', 1)[1]}", node.start_mark) from None


def _yaml_12_bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(text)
    return text.lower() == "true"


def _yaml_12_int(text: str) -> int:
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


def _yaml_12_float(text: str) -> float:
    named = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
    return named[text.lower()] if text.lower() in named else float(text)


@functools.cache
def _loader() -> type:
    """The specs' YAML (yaml_12_loader) whose mappings remember their line, plus ``!array`` and ``!tuple`` tags."""
    import yaml

    class Loader(yaml_12_loader()):  # type: ignore[misc]
        pass

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    Loader.add_constructor("!array", _construct_array)
    Loader.add_constructor("!tuple", lambda loader, node: tuple(loader.construct_sequence(node, deep=True)))
    return Loader


def _construct_mapping(loader: Any, node: Any) -> _Mapping:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
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


def natural_key(text: str) -> list[tuple[int, int, str]]:
    """Sort key that puts q2a before q10 (and submission_9 before submission_10)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


def spec_files(folder: Path) -> list[Path]:
    """``folder/*/spec.yaml`` in natural order of the problem folders."""
    return sorted(Path(folder).glob("*/spec.yaml"), key=lambda path: natural_key(path.parent.name))


def load_specs(folder: Path, with_references: bool = True) -> list[Problem]:
    """Load every spec under ``folder`` from its YAML (see problemset.load for the cached path)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError(folder, None, "no problems folder here; pass --problems DIR")
    specs = spec_files(folder)
    if not specs:
        raise SpecError(folder, None, "no */spec.yaml found under this folder")
    return share_known_mistakes([_load_or_say_which(spec, with_references) for spec in specs])


def share_known_mistakes(problems: list[Problem]) -> list[Problem]:
    """Name each declared mistake on every case of its function, whichever problem's spec declares it.

    A mistake belongs to a function, not to a spec: Q2a declaring ``fc_layer_params`` without its biases must name
    that mistake on Q2b's ``fc_layer_params`` cases too, or the same wrong file is told why in one question and
    not in the other. A problem that declares the same solver and message itself keeps its own.
    """
    for source in problems:
        for function, solver, message in source.declared_mistakes:
            for problem in problems:
                own = any(f == function and s is solver and m == message for f, s, m in problem.declared_mistakes)
                cases = [case for case in problem.cases if case.function == function]
                if problem is source or own or not cases:
                    continue
                _name_on(cases, solver, message)
                problem.mistake_forms[message] = problem.mistake_forms.get(message, 0) + 1
    return problems


def _load_or_say_which(spec_path: Path, with_references: bool) -> Problem:
    """:func:`load_problem`, any failure of it a SpecError naming the spec: never a bare traceback."""
    try:
        return load_problem(spec_path, with_references)
    except SpecError:
        raise
    except Exception as error:  # a case no check foresaw: say which spec met it
        raise SpecError(
            spec_path,
            None,
            f"loading this spec failed ({type(error).__name__}: {error}); if the spec looks right, report it to the autograder's maintainers with this spec",
        ) from error


def load_problem(spec_path: Path, with_references: bool = True) -> Problem:
    data = _read_yaml(spec_path)
    _check_keys(spec_path, data, PROBLEM_KEYS, "problem")
    key = spec_path.parent.name
    problem = Problem(
        key=key,
        title=_field(spec_path, data, "title", str),
        number=_problem_number(spec_path, data, key),
        points=_field(spec_path, data, "points", (int, float), default=0),
        graded_by_hand=_field(spec_path, data, "graded_by_hand", str, default=""),
        path=spec_path,
    )
    if problem.graded_by_hand:
        if problem.points:
            raise SpecError(
                spec_path,
                data.line_of("points"),
                "a problem graded by hand earns no autograded points: remove points (its points are given on Gradescope)",
            )
        return problem
    reference = reference_module(spec_path.parent) if with_references else None
    if with_references and reference is None:
        needing = [key for key in ("generate", "mistakes") if data.get(key)]
        needing += [
            f"follow_through of {name}"
            for name, entry in (data.get("functions") or {}).items()
            if isinstance(entry, dict) and "follow_through" in entry
        ]
        if needing:
            raise SpecError(spec_path, data.line_of(needing[0].split()[0]), f"{needing[0]} needs a reference.py beside this spec")
    functions = _field(spec_path, data, "functions", dict, default=_Mapping())
    for entry in functions.values():
        _check_keys(spec_path, entry, FUNCTION_KEYS, "function entry", functions.line)
    for raw in _field(spec_path, data, "cases", list, default=[]):
        problem.cases.append(_case(spec_path, problem, raw, functions, reference))
    for raw in _field(spec_path, data, "generate", list, default=[]):
        problem.cases.extend(_generated_cases(spec_path, problem, raw, functions, reference))
    called = {case.function for case in problem.cases}
    for name in functions:
        if name not in called:
            close = difflib.get_close_matches(str(name), sorted(called), n=1)
            raise SpecError(
                spec_path,
                functions.line_of(name),
                f"functions: {name!r} is called by no case, so its settings would apply to nothing"
                + (f"; did you mean {close[0]!r}?" if close else ""),
            )
    for raw in _field(spec_path, data, "mistakes", list, default=[]):
        _add_mistake(spec_path, raw, reference, problem)
    for name, entry in functions.items():
        if "follow_through" in entry:
            _add_follow_through(spec_path, entry, reference, [c for c in problem.cases if c.function == name])
    if not problem.cases:
        if not any(spec_path.parent.glob("test_*.py")):
            raise SpecError(spec_path, data.line, "a problem needs at least one case, Python checks (test_*.py), or graded_by_hand: ...")
        if problem.points:  # graded by its Python checks alone: their weights are its points
            raise SpecError(
                spec_path,
                data.line_of("points"),
                "points are shared by a problem's cases, and this one has none: remove points (its Python checks' weights are its points)",
            )
        return problem
    if problem.points <= 0:
        raise SpecError(spec_path, data.line_of("points"), "points must be a positive number")
    for index, case in enumerate(problem.cases, 1):
        case.number = f"{problem.number}.{index}"
    return problem


def _read_yaml(path: Path) -> _Mapping:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(path, None, f"cannot read the spec: {error}") from None
    import yaml

    _refuse_aliases_and_depth(path, text)
    try:
        data = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as error:
        raise SpecError(path, *yaml_problem(error)) from None
    if not isinstance(data, _Mapping):
        raise SpecError(path, 1, "a spec must be a mapping with title, points and cases")
    return data


def yaml_problem(error: Exception) -> tuple[int, str]:
    """The line and the words of a YAML parse error: where the parser found the problem and, when the construct it
    was reading began on another line, which (an unclosed bracket is noticed lines below it, at the next key)."""
    problem_mark, context_mark = getattr(error, "problem_mark", None), getattr(error, "context_mark", None)
    mark = problem_mark or context_mark
    line = mark.line + 1 if mark is not None else 1
    text = f"invalid YAML: {getattr(error, 'problem', None) or error}"
    context = getattr(error, "context", None)
    if context and context_mark is not None and context_mark.line + 1 != line:
        text += f" ({context} that begins at line {context_mark.line + 1})"
    return line, text


def yaml_hazard(events: Iterable[Any], max_depth: int) -> Any:
    """The first event of a YAML stream that would cost far more to build than its size: an alias (``*name``: 1 KB
    of them stands for gigabytes) or the collection that nests past ``max_depth`` (the parsers recurse); None if
    there is none. Read before anything is built (specs here, batch's metadata), each caller wording its error."""
    import yaml

    depth = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            return event
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                return event
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _refuse_aliases_and_depth(path: Path, text: str) -> None:
    """Refuse a spec's YAML alias (a case would hold what it stands for, and an error message print it) and
    nesting deeper than MAX_DEPTH, at its line."""
    import yaml

    try:
        hazard = yaml_hazard(yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), MAX_DEPTH)
    except yaml.YAMLError:
        return  # the load says what is wrong, at its line
    if isinstance(hazard, yaml.AliasEvent):
        raise SpecError(path, hazard.start_mark.line + 1, f"a YAML alias (*{hazard.anchor}): write the value out instead")
    if hazard is not None:
        raise SpecError(path, hazard.start_mark.line + 1, f"values nested more than {MAX_DEPTH} deep")


def _field(path: Path, data: _Mapping, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if name not in data:
        if default is ...:
            raise SpecError(path, data.line, f"missing required key {name!r}")
        return default
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        wanted = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        hint = f" ({value!r} is text in YAML 1.2: write true or false)" if kind is bool and isinstance(value, str) else ""
        raise SpecError(path, data.line_of(name), f"{name!r} must be {_article(wanted)} {wanted}, not {type(value).__name__}{hint}")
    if isinstance(value, float) and not math.isfinite(value):  # YAML's .nan and .inf: points of NaN broke every total
        raise SpecError(path, data.line_of(name), f"{name!r} must be a finite number, not {value}")
    return value


def _problem_number(path: Path, data: _Mapping, default: str) -> str:
    """The problem's number as written: text, or a whole number. ``number: 3.10`` is the float 3.1 to YAML, and
    problem 3.10's cases were numbered 3.1.1... (adopter): refused, with how to write it."""
    number = data.get("number", default)
    if isinstance(number, bool) or not isinstance(number, (str, int)):
        raise SpecError(path, data.line_of("number"), f'number must be text, not {number!r}: write it in quotes, e.g. number: "3.10"')
    return str(number)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _check_keys(path: Path, data: Any, allowed: set[str], what: str, line: int = 1) -> None:
    if not isinstance(data, _Mapping):
        raise SpecError(path, line, f"each {what} must be a mapping")
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SpecError(
            path, data.line_of(unknown[0]), f"unknown key {unknown[0]!r} in a {what}; {hint}allowed: {', '.join(sorted(allowed))}"
        )


def _comparison(path: Path, raw: _Mapping, functions: _Mapping, function: str) -> Comparison:
    """The comparison of one case; with ``magnitude: true`` its ``eps`` is set, and the case's
    ``magnitudes`` are filled in once its expected value is known (:func:`_with_magnitudes`)."""
    declared = functions.get(function)
    line = raw.line_of("compare") if "compare" in raw else (declared.line if isinstance(declared, _Mapping) else raw.line)
    given = [declared.get("compare", {}) if isinstance(declared, dict) else {}, raw.get("compare") or {}]
    if not all(isinstance(part, dict) for part in given):
        raise SpecError(path, line, "compare must be a mapping, e.g. {kind: array, rtol: 1.0e-4}")
    settings = {**given[0], **given[1]}
    kind = settings.get("kind", "int")
    if kind not in COMPARE_KINDS:
        raise SpecError(path, line, f"compare kind {kind!r} is not one of {', '.join(COMPARE_KINDS)}")
    unknown = set(settings) - {"kind", "rtol", "atol", "magnitude", "eps"}
    if unknown:
        raise SpecError(path, line, f"unknown compare setting {sorted(unknown)[0]!r}; use kind, rtol, atol, magnitude, eps")
    magnitude = settings.get("magnitude", False)
    if not isinstance(magnitude, bool):
        raise SpecError(path, line, f"magnitude must be true or false, not {magnitude!r}")
    if magnitude and kind != "array":
        raise SpecError(path, line, "magnitude: true applies to kind: array only")
    if "eps" in settings and not magnitude:
        raise SpecError(path, line, "eps scales the magnitude of each entry: it needs magnitude: true")
    tolerances = {name: settings.get(name, DEFAULT_TOLERANCE[name]) for name in ("rtol", "atol", "eps")}
    for name, value in tolerances.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise SpecError(path, line, f"{name} must be a number in [0, 1), not {value!r}")
    eps = float(tolerances["eps"]) if magnitude else 0.0
    return Comparison(kind, float(tolerances["rtol"]), float(tolerances["atol"]), eps)


def _with_magnitudes(path: Path, line: int, solver: Callable[..., Any], case: Case) -> None:
    """Store the case's magnitudes: the reference applied to the absolute values of each array argument.

    For a sum of products (a convolution, a matrix product), that is each
    entry's sum of |term|, the scale of the rounding errors any floating-point
    work makes on it; computed once here, it travels with the case.
    """
    if not case.comparison.eps or case.expected.raises:
        return

    def absolute(value: Any) -> Any:
        if isinstance(value, (np.ndarray, list)):  # an array argument (a tuple is a size or a shape)
            return np.abs(np.asarray(value, dtype=np.float64))  # float first: np.abs of int8 -128 is -128
        return value

    try:
        magnitudes = np.asarray(
            solver(*[absolute(a) for a in copies(case.args)], **{k: absolute(v) for k, v in copies(case.kwargs).items()}), dtype=np.float64
        )
    except Exception as error:  # noqa: BLE001 - the reference's behaviour is data here
        raise SpecError(
            path, line, f"magnitude: true: reference.py raised {type(error).__name__} on the absolute values of the inputs: {error}"
        ) from None
    expected = np.asarray(case.expected.value)
    if magnitudes.shape != expected.shape or not np.all(np.isfinite(magnitudes)) or np.any(magnitudes < 0):
        raise SpecError(
            path,
            line,
            "magnitude: true: reference.py on the absolute values of the inputs must give finite, "
            f"non-negative numbers of the answer's shape {expected.shape}, not shape {magnitudes.shape}",
        )
    case.comparison = dataclasses.replace(case.comparison, magnitudes=magnitudes)


def _solver(path: Path, line: int, reference: types.ModuleType | None, name: str) -> Callable[..., Any] | None:
    if reference is None:
        return None
    solver: Callable[..., Any] | None = getattr(reference, name, None)
    if not callable(solver):
        defined = sorted(key for key, value in vars(reference).items() if callable(value) and not key.startswith("_"))
        close = difflib.get_close_matches(name, defined, n=1)
        raise SpecError(
            path, line, f"reference.py beside this spec defines no function {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
        )
    return solver


def _new_case(
    path: Path,
    problem: Problem,
    raw: _Mapping,
    functions: _Mapping,
    *,
    name: str,
    args: Any,
    kwargs: dict[str, Any],
    hidden_by_default: bool,
    where: str,
) -> Case:
    """The fields a listed case and a generated one share, read from the entry ``raw``."""
    function = _field(path, raw, "call", str)
    return Case(
        problem=problem.key,
        number="",
        function=function,
        name=name,
        args=tuple(_data(value) for value in args),
        kwargs={name: _data(value) for name, value in kwargs.items()},
        expected=Expected(),
        comparison=_comparison(path, raw, functions, function),
        hidden=_field(path, raw, "hidden", bool, default=hidden_by_default),
        weight=_weight(path, raw),
        note=_field(path, raw, "note", str, default=""),
        where=where,
    )


def _case(path: Path, problem: Problem, raw: Any, functions: _Mapping, reference: types.ModuleType | None) -> Case:
    _check_keys(path, raw, CASE_KEYS, "case")
    if "expected" in raw and "raises" in raw:
        raise SpecError(path, raw.line_of("raises"), "a case has either expected: or raises:, not both; keep the one that is right")
    case = _new_case(
        path,
        problem,
        raw,
        functions,
        name=_field(path, raw, "name", str),
        args=_field(path, raw, "args", list, default=[]),
        kwargs=_field(path, raw, "kwargs", dict, default=_Mapping()),
        hidden_by_default=False,
        where=f"{_shown(path)}:{raw.line}",
    )
    raises = _field(path, raw, "raises", str, default=None)
    if raises is not None and raises not in EXCEPTIONS:
        close = difflib.get_close_matches(raises, sorted(EXCEPTIONS), n=1)
        raise SpecError(
            path,
            raw.line_of("raises"),
            f"raises: {raises!r} is not a Python exception"
            + (f"; did you mean {close[0]!r}?" if close else "; name a built-in exception such as ValueError"),
        )
    solver = _solver(path, raw.line_of("call"), reference, case.function)
    if solver is not None:
        case.expected = _run_reference(path, raw.line, solver, case, raises)
        _with_magnitudes(path, raw.line, solver, case)
    elif raises:
        case.expected = Expected(raises=raises)
    elif "expected" in raw:
        case.expected = Expected(value=_data(raw["expected"]))
    else:
        raise SpecError(path, raw.line, "without reference.py a case needs a literal expected: or raises:")
    if not raises and not agrees(case.expected.value, case.expected.value, case.comparison):
        answer = case.expected.value
        fits = next((kind for kind in COMPARE_KINDS if agrees(answer, answer, Comparison(kind))), None)
        raise SpecError(
            path,
            raw.line,
            f"the answer {short_repr(answer, 80)} ({describe_type(answer)}) cannot be compared as kind {case.comparison.kind!r}; "
            + (
                f"declare functions: {case.function}: {{compare: {{kind: {fits}}}}}"
                if fits
                else "an answer must be plain data: numbers, strings, True/False, None, lists, tuples, dicts, or a NumPy array of numbers"
            ),
        )
    if "expected" in raw and not agrees(case.expected.value, _data(raw["expected"]), case.comparison):
        raise SpecError(
            path,
            raw.line_of("expected"),
            f"literal expected: {raw['expected']!r} disagrees with reference.py, which gives {_plain(case.expected.value)!r}",
        )
    return case


def _shown(path: Path) -> str:
    """A spec's path as people see it: ``problems/q3b/spec.yaml``, whatever folder holds the problems."""
    return "/".join(Path(path).parts[-3:])


def _weight(path: Path, raw: _Mapping) -> float:
    weight = _field(path, raw, "weight", (int, float), default=1)
    if weight <= 0:
        raise SpecError(path, raw.line_of("weight"), "weight must be positive")
    return float(weight)


def _run_reference(path: Path, line: int, solver: Callable[..., Any], case: Case, raises: str | None, draw: str = "") -> Expected:
    """The reference's answer on ``case``; ``draw`` names a generated case's draw ("seed 7, draw 2") for an error."""
    try:
        value = solver(*copies(case.args), **copies(case.kwargs))
    except Exception as error:  # noqa: BLE001 - the reference's behaviour is data here
        if raises and raises in [cls.__name__ for cls in type(error).__mro__]:
            return Expected(raises=raises)
        if raises:
            advice = f" (the case says raises: {raises}): name that exception, or fix reference.py or the case's args"
        elif draw:
            advice = ""
        else:
            advice = f"; if the case is to test this refusal, write raises: {type(error).__name__} in it, else fix reference.py or the case's args"
        raise SpecError(
            path, line, f"{_raised_where(error, path)} raised {type(error).__name__}: {error}{_drawn(case, draw)}{advice}"
        ) from None
    if raises:
        raise SpecError(path, line, f"the case says raises: {raises}, but reference.py returned {_plain(value)!r}")
    return Expected(value=value)


def _raised_where(error: Exception, spec: Path) -> str:
    """Where in the problems' own files (reference.py, a helper beside it) the reference raised: its innermost
    line there, so an instructor goes to the bug and not only to the case that met it."""
    problems = Path(spec).resolve().parent.parent
    found = "reference.py"
    frame = error.__traceback__
    while frame is not None:
        file = Path(frame.tb_frame.f_code.co_filename)
        if file.is_absolute() and file.resolve().is_relative_to(problems):
            found = f"{_shown(file)}:{frame.tb_lineno} (in {frame.tb_frame.f_code.co_name})"
        frame = frame.tb_next
    return found


def _drawn(case: Case, draw: str) -> str:
    """For a generated case, which draw met the error, and its arguments: generated cases must not raise."""
    if not draw:
        return ""
    arguments = ", ".join(short_repr(argument, 120) for argument in case.args)
    return (
        f"; on {case.name}, {draw}: {case.function}({arguments}). A generator must draw inputs the reference answers; "
        "test a refusal with a hand-written case that says raises:"
    )


def _generated_cases(path: Path, problem: Problem, raw: Any, functions: _Mapping, reference: types.ModuleType | None) -> list[Case]:
    """Hidden cases drawn from a fixed seed, so every run grades the same inputs."""
    _check_keys(path, raw, GENERATE_KEYS, "generate entry")
    count = _field(path, raw, "count", int)
    if not 1 <= count <= MAX_GENERATED:
        raise SpecError(path, raw.line_of("count"), f"count must be from 1 to {MAX_GENERATED:,}, not {count}")
    seed = _field(path, raw, "seed", int)
    if seed < 0:
        raise SpecError(path, raw.line_of("seed"), f"seed must be a whole number of 0 or more, not {seed}")
    if reference is None:
        return []
    generator = _solver(path, raw.line_of("using"), reference, _field(path, raw, "using", str))
    solver = _solver(path, raw.line_of("call"), reference, _field(path, raw, "call", str))
    assert generator is not None and solver is not None  # a reference is present
    rng = np.random.default_rng(seed)
    cases = []
    for index in range(1, count + 1):
        case = _new_case(
            path,
            problem,
            raw,
            functions,
            name=f"{_field(path, raw, 'name', str)} #{index}",
            args=generator(rng),
            kwargs={},
            hidden_by_default=True,
            where=f"{_shown(path)}:{raw.line} (seed {seed}, draw {index})",
        )
        case.expected = _run_reference(path, raw.line, solver, case, None, f"seed {seed}, draw {index}")
        _with_magnitudes(path, raw.line, solver, case)
        cases.append(case)
    return cases


def _add_mistake(path: Path, raw: Any, reference: types.ModuleType | None, problem: Problem) -> None:
    """Record, on every case of the function, the answer a known wrong solver gives there (one form of its message).

    Computed once here, so grading only compares, and so the student kit can
    carry the wrong answers of visible cases without any solver code.
    """
    _check_keys(path, raw, {"call", "solver", "message"}, "mistake")
    function, message = _field(path, raw, "call", str), _field(path, raw, "message", str)
    solver = _solver(path, raw.line_of("solver"), reference, _field(path, raw, "solver", str))
    cases = problem.cases
    if not any(case.function == function for case in cases):
        raise SpecError(path, raw.line_of("call"), f"no case calls {function!r}, so this mistake can never be recognised")
    problem.mistake_forms[message] = problem.mistake_forms.get(message, 0) + 1
    if solver is None:  # loaded without its reference: nothing to run
        return
    problem.declared_mistakes.append((function, solver, message))
    if not _name_on([case for case in cases if case.function == function], solver, message):
        raise SpecError(
            path,
            raw.line_of("solver"),
            f"{raw['solver']} gives the right answer (or raises as the reference does) on every case of {function!r}, "
            "so this mistake can never be named; add a case where it is wrong",
        )
    named = [case for case in cases if case.function == function and any(said == message for _, said in case.known_mistakes)]
    if all(isinstance(case.expected.value, bool) for case in named):
        raise SpecError(
            path,
            raw.line_of("call"),
            f"the cases where {raw['solver']} is wrong all expect True or False: the one wrong answer there is every "
            "mistake's, so the grader names none (runner._diagnosis); remove this mistake, or add a case where it "
            "returns something else or the reference raises",
        )


def _name_on(cases: list[Case], solver: Callable[..., Any], message: str) -> int:
    """Record ``solver``'s answer on each of ``cases`` where it is wrong, with ``message``; how many that is."""
    named = 0
    for case in cases:
        try:
            wrong = solver(*copies(case.args), **copies(case.kwargs))
        except Exception:  # noqa: BLE001 - a variant that cannot handle this case just never matches it
            continue
        if case.expected.raises or not agrees(case.expected.value, wrong, case.comparison):  # a refusal forgotten, or a wrong value
            case.known_mistakes.append((wrong, message))
            named += 1
    return named


def _add_follow_through(path: Path, entry: _Mapping, reference: types.ModuleType | None, cases: list[Case]) -> None:
    """Attach follow-through credit, after checking the composition over the reference's own parts.

    The part calls the composition makes on each case are traced here, so the
    runner can make them during the main run. They must depend on the case's
    arguments alone: traced again with parts that answer differently, they
    must be the same calls. A case whose answer is an exception gets credit only
    through a part that raises it (:func:`_calls_when_a_part_raises`), and
    otherwise none, without an error.
    """
    raw = entry["follow_through"]
    _check_keys(path, raw, {"share", "using"}, "follow_through", entry.line)
    share = _field(path, raw, "share", (int, float))
    if not 0 < share < 1:
        raise SpecError(path, raw.line_of("share"), "follow_through share must be between 0 and 1 (a fraction of the case's points)")
    compose = _solver(path, raw.line_of("using"), reference, _field(path, raw, "using", str))
    if compose is None or reference is None:
        return
    for case in cases:
        if case.expected.raises:
            calls = _calls_when_a_part_raises(compose, reference, case)
            if calls is not None:
                case.follow_through = FollowThrough(float(share), compose, raw["using"], calls)
            continue
        traced = _TracedParts(reference)
        try:
            composed = compose(traced, *copies(case.args), **copies(case.kwargs))
        except Exception as error:  # noqa: BLE001 - the instructor's composition is data here
            raise SpecError(
                path, raw.line_of("using"), f"{raw['using']} raised {type(error).__name__}: {error} on case {case.name!r}"
            ) from None
        if not agrees(case.expected.value, composed, case.comparison):
            raise SpecError(
                path,
                raw.line_of("using"),
                f"{raw['using']} over the reference's own parts gives {_plain(composed)!r} on case {case.name!r}, not the reference answer",
            )
        skewed = _TracedParts(reference, skew=True)
        try:
            compose(skewed, *copies(case.args), **copies(case.kwargs))
        except Exception:  # noqa: BLE001 - only the calls matter here
            pass
        if not _same_calls(skewed, traced):
            raise SpecError(
                path,
                raw.line_of("using"),
                f"the part calls {raw['using']} makes on case {case.name!r} depend on "
                "the parts' answers; make the same calls whatever they answer",
            )
        case.follow_through = FollowThrough(float(share), compose, raw["using"], tuple(traced.calls))


STAND_IN = 1  # what a part that raises answers while the calls of a composition are traced past it


def _calls_when_a_part_raises(compose: Callable[..., Any], reference: types.ModuleType, case: Case) -> tuple[PartCall, ...] | None:
    """The part calls of a case whose right answer is an exception one of the parts raises (a layer count refusing
    sizes it cannot reach), so that a composite that returns what the student's own parts give, where their part
    answered instead of raising, earns the credit as any other case does.

    None when the reference's composition does not raise that exception through a part (the composite's own
    check is then what the case asks for), or when the calls made past the raising part, traced with STAND_IN as
    its answer, depend on that answer.
    """
    plain = _TracedParts(reference)
    try:
        compose(plain, *copies(case.args), **copies(case.kwargs))
    except Exception as error:  # noqa: BLE001 - the instructor's composition is data here
        if not plain.raised or case.expected.raises not in [cls.__name__ for cls in type(error).__mro__]:
            return None
    else:
        return None
    traced, skewed = _TracedParts(reference, stand_in=True), _TracedParts(reference, skew=True, stand_in=True)
    for parts in (traced, skewed):
        try:
            compose(parts, *copies(case.args), **copies(case.kwargs))
        except Exception:  # noqa: BLE001 - a composition that cannot go on past the raising part: no credit here
            return None
    if not _same_calls(skewed, traced):
        return None
    return tuple(traced.calls)


def _same_calls(one: _TracedParts, other: _TracedParts) -> bool:
    """Whether two traces made the same part calls, compared by follow-through's own keys (arrays by value)."""
    return [call_key(*call) for call in one.calls] == [call_key(*call) for call in other.calls]


class _TracedParts:
    """The reference's functions as a composition's ``parts``, recording every call made.

    With ``skew``, every answer is changed (numbers and arrays of them by one, lists reversed), to
    show whether the calls a composition makes depend on what parts answer.
    """

    def __init__(self, reference: types.ModuleType, skew: bool = False, stand_in: bool = False) -> None:
        self._reference, self._skew, self._stand_in = reference, skew, stand_in
        self.calls: list[PartCall] = []
        self.raised = False  # a part raised (with ``stand_in``, it answered STAND_IN instead)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        function = getattr(self._reference, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(PartCall(name, copies(args), copies(kwargs)))
            try:
                answer = function(*copies(args), **copies(kwargs))
            except Exception:
                self.raised = True
                if not self._stand_in:
                    raise
                answer = STAND_IN
            if not self._skew:
                return answer
            if isinstance(answer, (int, np.integer)):
                return int(answer) + 1
            if isinstance(answer, (float, np.floating)) or (isinstance(answer, np.ndarray) and answer.dtype.kind in "iuf"):
                return answer + 1
            return answer[::-1] if isinstance(answer, list) else answer

        return call


def _plain(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


def _data(value: Any) -> Any:
    """A value as a case holds it: the YAML loader's mappings (which remember their lines) as plain dicts."""
    if isinstance(value, dict):
        return {key: _data(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_data(item) for item in value)
    return value
