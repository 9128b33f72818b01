"""The worker loads a valid file exactly as Python's own import does: a differential test.

Each module of a corpus is loaded twice: by CPython's import (``spec_from_file_location``,
``module_from_spec``, ``exec_module``, in a subprocess) and by the worker, through the real
sandbox. The graded names must be bound to callables in both or in neither, and each call must
come to the same thing: the same value (as the wire carries it), the same exception type, or
no such function. The corpus is hand-written modules, one per way of binding a name that
students use, and modules Hypothesis composes from statement templates in random orders.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TypedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Call, Sandbox

# Calls: each graded name, with the argument lists it is called with (JSON-able, so both sides get the same).
Calls = dict[str, list[list[object]]]


class Loaded(TypedDict):
    """What one graded name came to: whether the module bound it, and each call's result (kind, then detail)."""

    bound: bool
    calls: list[list[str]]


Imported = dict[str, Loaded]  # per graded name

# Runs in a subprocess: the module imported as CPython imports it, each call's result as the wire would carry it.
REFERENCE_IMPORT = r"""
import importlib.util, json, os, sys
from autograder.sandbox.worker import decode, encode

job = json.loads(sys.argv[1])
name = os.path.splitext(os.path.basename(job["path"]))[0]
spec = importlib.util.spec_from_file_location(name, job["path"])
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
results = {}
for function, calls in job["calls"].items():
    try:
        value = getattr(module, function)
        lookup_error = None
    except AttributeError:
        value, lookup_error = None, None
    except BaseException as error:
        value, lookup_error = None, type(error).__name__
    if lookup_error:
        results[function] = {"bound": False, "calls": [["raised", lookup_error]] * len(calls)}
        continue
    if not callable(value):
        results[function] = {"bound": False, "calls": [["missing"]] * len(calls)}
        continue
    outcomes = []
    for args in calls:
        try:
            result = value(*args)
        except BaseException as error:
            outcomes.append(["raised", type(error).__name__])
        else:
            blobs = []
            outcomes.append(["returned", repr(decode(encode(result, blobs), blobs))])
    results[function] = {"bound": True, "calls": outcomes}
with open(job["out"], "w") as handle:
    json.dump(results, handle)
"""


def imported_by_python(path: Path, calls: Calls) -> Imported:
    """What CPython's import makes of the module: per graded name, whether it is bound and what each call gives."""
    out = path.parent / "reference.json"
    job = json.dumps({"path": str(path), "calls": calls, "out": str(out)})
    done = subprocess.run(
        [sys.executable, "-c", REFERENCE_IMPORT, job], cwd=path.parent, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"the corpus module is not valid Python:\n{done.stderr}"
    found: Imported = json.loads(out.read_text())
    return found


def loaded_by_worker(path: Path, calls: Calls) -> Imported:
    """What the worker makes of the module, through the real sandbox, in the same form."""
    with Sandbox(path, Limits(call_timeout=20, import_timeout=60)) as box:
        box.graded_names = frozenset(calls)
        report = box.ready()
        assert not report.fatal and report.problems == [], (report.fatal, report.problems)
        plan = [(function, args) for function, argument_lists in calls.items() for args in argument_lists]
        outcomes = list(box.stream([Call(function, tuple(args), {}) for function, args in plan]))
    results: Imported = {function: {"bound": function in report.functions, "calls": []} for function in calls}
    for (function, _), outcome in zip(plan, outcomes, strict=True):
        if outcome.kind == "returned":
            results[function]["calls"].append(["returned", repr(outcome.value)])
        elif outcome.kind == "raised":
            results[function]["calls"].append(["raised", outcome.error["type"]])
        else:
            assert outcome.kind == "skipped" and outcome.reason == "missing", outcome
            results[function]["calls"].append(["missing"])
    return results


def assert_loaded_alike(folder: Path, source: str, calls: Calls, file_name: str = "ps3.py") -> Imported:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    path.write_text(source, encoding="utf-8")
    reference = imported_by_python(path, calls)
    assert loaded_by_worker(path, calls) == reference
    return reference


# --------------------------------------------------------------------------- the hand-written corpus


CORPUS: dict[str, tuple[str, Calls]] = {
    "future annotations naming later names and TYPE_CHECKING imports": (
        '''
        """Forward references everywhere."""
        from __future__ import annotations

        import typing
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from fractions import Fraction


        def scale(x: Vector, k: Fraction | int = 2) -> Vector:
            return Vector([v * k for v in x.items])


        def scaled_items(values: list[int], k: int) -> list[int]:
            return scale(Vector(values), k).items


        def annotations_seen() -> list:
            return sorted(scale.__annotations__.items())


        def hints_resolve() -> list:
            return sorted((name, str(hint)) for name, hint in typing.get_type_hints(Vector.__init__).items())


        def hints_of_scale() -> list:
            return sorted(typing.get_type_hints(scale))  # Fraction is imported for type checkers only: NameError


        class Vector:
            def __init__(self, items: list[int]) -> None:
                self.items = items


        counts: dict[str, Vector] = {}


        def module_annotations() -> list:
            return sorted(__annotations__.items())
        ''',
        {
            "scaled_items": [[[1, 2], 3]],
            "annotations_seen": [[]],
            "hints_resolve": [[]],
            "hints_of_scale": [[]],
            "module_annotations": [[]],
        },
    ),
    "from numpy import * binds hundreds of callables": (
        """
        import numpy as np
        from numpy import *


        def zz_total(values):
            return int(sum(array(values)))


        def absolute_sum(values):
            return float(abs(asarray(values)).sum())
        """,
        {"zz_total": [[[1, 2, 3]], [[-4]]], "absolute_sum": [[[-1, 2]]], "floor": [[2.5]], "sum": [[[1, 2]]], "zeros_like": [[[1, 2]]]},
    ),
    "from math import *": (
        """
        from math import *


        def hyp(a, b):
            return hypot(a, b)
        """,
        {"gcd": [[12, 18]], "hyp": [[3, 4]], "pi": [[]], "floor": [[2.5]]},
    ),
    "star imports honour the imported module's __all__": (
        """
        from json import *
        from os.path import *

        __all__ = ["names_bound"]  # the submission's own __all__ limits nothing the grader calls


        def names_bound():
            return sorted(n for n in ("dumps", "loads", "decoder", "scanner", "codecs", "join", "os", "genericpath") if n in globals())


        def not_exported():
            return "called anyway"
        """,
        {"names_bound": [[]], "dumps": [[[1, 2]]], "join": [["a", "b"]], "decoder": [[]], "not_exported": [[]]},
    ),
    "redefinitions: the last one wins": (
        """
        def area(w, h):
            return w * h


        area = lambda w, h: -1


        def area(w, h):
            return w * h + 1


        perimeter = None


        def perimeter(w, h):
            return 2 * (w + h)


        def perimeter(w, h):
            return 2 * w + 2 * h + 100


        volume = lambda a: a ** 3
        volume = 5  # no longer a function
        """,
        {"area": [[2, 3]], "perimeter": [[1, 1]], "volume": [[2]]},
    ),
    "decorators": (
        """
        import functools


        def traced(function):
            @functools.wraps(function)
            def wrapper(*args, **kwargs):
                return ("traced", function(*args, **kwargs))
            return wrapper


        @traced
        def double(x):
            return 2 * x


        @functools.lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)


        @functools.cache
        def square(x):
            return x * x


        class Shapes:
            @staticmethod
            def unit():
                return 1

            @classmethod
            def named(cls):
                return cls.__name__


        unit = Shapes.unit
        named = Shapes.named


        def wrapped_names():
            return [double.__name__, double.__wrapped__.__name__, double.__module__, fib.__module__, Shapes.__module__]
        """,
        {"double": [[3]], "fib": [[30]], "square": [[9], [9]], "unit": [[]], "named": [[]], "wrapped_names": [[]]},
    ),
    "conditional, looped and late definitions": (
        """
        import sys

        if sys.version_info >= (3, 0):
            def version_branch():
                return "new"
        else:
            def version_branch():
                return "old"


        def uses_later(x):
            return helper_defined_later(x) + LATE_CONSTANT


        try:
            from _surely_no_such_module import fast_path
        except ImportError:
            def fast_path(x):
                return x + 1

        while True:
            def in_loop(x):
                return x * 5
            break

        for _power in (2, 3):
            if _power == 3:
                def cube(x):
                    return x ** _power

        with open(__file__, encoding="utf-8") as _own_source:
            first_line = _own_source.readline()


        def first_line_of_file():
            return first_line


        def helper_defined_later(x):
            return x * 10


        LATE_CONSTANT = 7

        if (walrus_value := 42) > 0:
            def walrus_branch():
                return walrus_value
        """,
        {
            "version_branch": [[]],
            "uses_later": [[2]],
            "fast_path": [[1]],
            "in_loop": [[2]],
            "cube": [[2]],
            "first_line_of_file": [[]],
            "walrus_branch": [[]],
            "helper_defined_later": [[1]],
        },
    ),
    "module __getattr__ and a module subclass": (
        """
        import sys
        import types

        _FACTORS = {"triple": 3, "quadruple": 4}


        def _times(k):
            return lambda x: x * k


        def __getattr__(name):
            if name in _FACTORS:
                return _times(_FACTORS[name])
            if name == "exploding":
                raise RuntimeError("this name cannot be looked up")
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


        def __dir__():
            return sorted([*globals(), *_FACTORS])


        class _WithProperty(types.ModuleType):
            @property
            def computed(self):
                return lambda x: x + 100


        sys.modules[__name__].__class__ = _WithProperty
        """,
        {"triple": [[2]], "quadruple": [[5]], "computed": [[1]], "sextuple": [[1]], "exploding": [[1]]},
    ),
    "lambdas, partials, instances and other callables": (
        """
        import functools
        import operator

        square = lambda x: x * x
        add_ten = functools.partial(operator.add, 10)


        class Scaler:
            def __init__(self, k):
                self.k = k

            def __call__(self, x):
                return self.k * x


        times_seven = Scaler(7)


        class Counter:
            pass


        def make_adder(n):
            def add(x):
                return x + n
            return add


        add_three = make_adder(3)
        length = len
        as_tuple = tuple
        position = [10, 20, 30].index
        """,
        {
            "square": [[4]],
            "add_ten": [[5]],
            "times_seven": [[3]],
            "Counter": [[]],
            "add_three": [[4]],
            "length": [[[1, 2]]],
            "as_tuple": [[[1, 2]]],
            "position": [[20]],
        },
    ),
    "global statements, walrus and match at top level": (
        """
        def _install():
            global installed

            def installed(x):
                return x - 1


        _install()

        counter = 0


        def bump():
            global counter
            counter += 1
            return counter


        (walrus_function := (lambda x: x ** 2))

        global top_level_global_is_allowed

        match "circle":
            case "square":
                def shape_area(r):
                    return 4 * r * r
            case "circle":
                def shape_area(r):
                    return 3 * r * r
            case _:
                pass
        """,
        {"installed": [[5]], "bump": [[], [], []], "walrus_function": [[3]], "shape_area": [[2]]},
    ),
    "async definitions and generators": (
        """
        async def _fetch(x):
            return x * 2


        def run_async(x):
            coroutine = _fetch(x)
            try:
                coroutine.send(None)
            except StopIteration as finished:
                return finished.value


        def evens(n):
            return list(x for x in range(n) if x % 2 == 0)


        def squares_generator(n):
            yield from (x * x for x in range(n))
        """,
        {"run_async": [[4]], "evens": [[7]], "squares_generator": [[3]]},
    ),
    "docstrings, the module's attributes and a __main__ block that must not run": (
        '''
        """The module's docstring."""

        "a second string is not the docstring"

        import inspect
        import os
        import sys


        def answer():
            return 42


        def module_facts():
            return [__doc__, __name__, __spec__.name, __package__, type(__loader__).__name__, type(__builtins__).__name__,
                    os.path.basename(__file__), sys.modules[__name__].__dict__ is globals(), inspect.getmodule(answer).__name__]


        def own_source_lines():
            return len(inspect.getsource(own_source_lines).splitlines())


        annotations_from_the_start = "__annotations__" in globals()  # the compiled module makes it first: one is below


        def has_annotations():
            return annotations_from_the_start


        if False:
            never_assigned: int


        if __name__ == "__main__":
            def answer():
                return -1
            sys.exit("the main block must not run on import")
        ''',
        {"answer": [[]], "module_facts": [[]], "own_source_lines": [[]], "has_annotations": [[]]},
    ),
    "dataclasses under future annotations need the module in sys.modules": (
        """
        from __future__ import annotations

        import dataclasses
        import sys
        import typing
        from typing import ClassVar


        @dataclasses.dataclass(frozen=True)
        class Point:
            x: int
            y: int = 0
            instances: ClassVar[int] = 0


        @dataclasses.dataclass
        class Polygon:
            points: list[Point] = dataclasses.field(default_factory=list)


        class Shape(typing.NamedTuple):
            sides: int
            name: str = "polygon"


        def point_fields():
            return [field.name for field in dataclasses.fields(Point)]


        def make(x, y):
            return dataclasses.astuple(Point(x, y))


        def registered():
            return sys.modules[__name__] is sys.modules[Point.__module__]


        def shape(n):
            return tuple(Shape(n))
        """,
        {"point_fields": [[]], "make": [[1, 2]], "registered": [[]], "shape": [[4]], "Polygon": [[]]},
    ),
    "type aliases": (
        """
        from typing import TypeAlias, Union

        Number: TypeAlias = Union[int, float]
        Matrix = list[list[Number]]


        def trace(m: Matrix) -> Number:
            return sum(m[i][i] for i in range(len(m)))


        def alias_names():
            return [str(Number), str(Matrix)]
        """,
        {"trace": [[[[1, 2], [3, 4]]]], "alias_names": [[]]},
    ),
}

# PEP 695 (3.12) is not here: a submission is read as Gradescope's Python 3.10 reads it, whatever Python runs the
# grader (test_source_loading.py), so where CPython imports it the worker reports a SyntaxError instead.


@pytest.mark.parametrize("feature", list(CORPUS))
def test_a_hand_written_module_loads_as_python_imports_it(feature: str, tmp_path: Path) -> None:
    source, calls = CORPUS[feature]
    reference = assert_loaded_alike(tmp_path, textwrap.dedent(source).lstrip(), calls)
    assert any(result["bound"] for result in reference.values())  # the corpus itself binds what it means to


def test_the_module_is_named_after_the_file(tmp_path: Path) -> None:
    source = "def name():\n    return __name__\n"
    assert assert_loaded_alike(tmp_path, source, {"name": [[]]}, file_name="hw3_lab.py")["name"]["calls"] == [["returned", "'hw3_lab'"]]


# --------------------------------------------------------------------------- modules composed by Hypothesis

GRADED = ("alpha", "beta", "gamma", "delta")

# Each template binds {name} to something computing x * {k} (or, for "constant", to no callable);
# {u} makes its helpers' names unique in the module. {annotation} is a forward reference: bare under
# `from __future__ import annotations`, quoted otherwise.
BINDINGS = {
    "def": "def {name}(x):\n    return x * {k}\n",
    "annotated": ("def {name}(x: {annotation}) -> {annotation}:\n    return x * {k}\n\n\nclass _Number{u}:\n    pass\n"),
    "lambda": "{name} = lambda x: x * {k}\n",
    "partial": "def _times{u}(k, x):\n    return x * k\n\n\n{name} = functools.partial(_times{u}, {k})\n",
    "instance": (
        "class _Scale{u}:\n    def __init__(self, k):\n        self.k = k\n\n    def __call__(self, x):\n"
        "        return x * self.k\n\n\n{name} = _Scale{u}({k})\n"
    ),
    "frozen dataclass": (
        "@dataclasses.dataclass(frozen=True)\nclass _Box{u}:\n    k: int\n\n    def __call__(self, x):\n"
        "        return x * self.k\n\n\n{name} = _Box{u}({k})\n"
    ),
    "wraps": (
        "def _logged{u}(function):\n    @functools.wraps(function)\n    def wrapper(*args):\n"
        "        return function(*args)\n    return wrapper\n\n\n@_logged{u}\ndef {name}(x):\n    return x * {k}\n"
    ),
    "lru_cache": "@functools.lru_cache(maxsize=None)\ndef {name}(x):\n    return x * {k}\n",
    "conditional": (
        "if sys.version_info >= (3, 0):\n    def {name}(x):\n        return x * {k}\nelse:\n    def {name}(x):\n        return -1\n"
    ),
    "late helper": "def {name}(x):\n    return _late{u}(x)\n\n\ndef _late{u}(x):\n    return x * {k}\n",
    "closure": ("def _make{u}(k):\n    def inner(x):\n        return x * k\n    return inner\n\n\n{name} = _make{u}({k})\n"),
    "global": "def _install{u}():\n    global {name}\n\n    def {name}(x):\n        return x * {k}\n\n\n_install{u}()\n",
    "walrus": "({name} := (lambda x: x * {k}))\n",
    "match": (
        "match {k} % 2:\n    case 0:\n        def {name}(x):\n            return x * {k}\n    case _:\n        {name} = lambda x: x * {k}\n"
    ),
    "import fallback": (
        "try:\n    from _no_such_module_{u} import {name}\nexcept ImportError:\n    def {name}(x):\n        return x * {k}\n"
    ),
    "async": (
        "async def _coroutine{u}(x):\n    return x * {k}\n\n\ndef {name}(x):\n    coroutine = _coroutine{u}(x)\n"
        "    try:\n        coroutine.send(None)\n    except StopIteration as finished:\n        return finished.value\n"
    ),
    "staticmethod": (
        "class _Namespace{u}:\n    @staticmethod\n    def scale(x):\n        return x * {k}\n\n\n{name} = _Namespace{u}.scale\n"
    ),
    "module __getattr__": "_LAZY[{name!r}] = lambda x: x * {k}\n",
    "constant": "{name} = {k}\n",
    "unbind": "globals().pop({name!r}, None)\n",
    "main block": 'if __name__ == "__main__":\n    {name} = None\n    raise SystemExit("must not run on import")\n',
}
NOISE = (
    "from math import *\n",
    "from numpy import *\n",
    '"a string that is not the docstring"\n',
    "_annotated{u}: int = {k}\n",
    "if False:\n    _never{u}: str\n",
    "def __getattr__(name):\n    if name in _LAZY:\n        return _LAZY[name]\n    raise AttributeError(name)\n",
    (
        'def module_facts():\n    return [__name__, __doc__, "__annotations__" in globals(), sorted(globals().get("__annotations__", {{}})),\n'
        "            type(__builtins__).__name__, sys.modules[__name__].__dict__ is globals()]\n"
    ),
)


@st.composite
def composed_modules(draw: st.DrawFn) -> str:
    """A valid module: an optional docstring and future import, then binding and noise blocks in any order."""
    future = draw(st.booleans())
    head = ['"""A module composed by Hypothesis."""\n'] if draw(st.booleans()) else []
    head += ["from __future__ import annotations\n"] if future else []
    head += ["import dataclasses\nimport functools\nimport sys\n\n_LAZY = {}\n"]
    chosen = draw(st.lists(st.tuples(st.sampled_from(GRADED), st.sampled_from(sorted(BINDINGS))), min_size=1, max_size=8))
    factors = draw(st.lists(st.integers(-50, 50), min_size=len(chosen), max_size=len(chosen), unique=True))
    blocks = [
        BINDINGS[template].format(name=name, k=k, u=u, annotation=f"_Number{u}" if future else f"'_Number{u}'")
        for u, ((name, template), k) in enumerate(zip(chosen, factors))
    ]
    blocks += [
        NOISE[index].format(u=len(blocks) + n, k=n)
        for n, index in enumerate(draw(st.lists(st.integers(0, len(NOISE) - 1), max_size=4, unique=True)))
    ]
    return "".join(head) + "\n\n" + "\n\n".join(draw(st.permutations(blocks)))


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(source=composed_modules())
def test_a_composed_module_loads_as_python_imports_it(source: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    calls: Calls = {name: [[0], [1], [-3], [7]] for name in GRADED}
    calls["module_facts"] = [[]]
    assert_loaded_alike(tmp_path_factory.mktemp("composed"), source, calls)
