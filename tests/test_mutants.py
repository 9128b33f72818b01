"""Mutation adequacy (autograder/engine/mutants.py): per-function kills, the mistake operators, the domain sampler.

Small problem sets are written into tmp_path, each with a spec that lacks exactly the case a
mutant needs: the survivor must be reported for the right function, with the mutant's answer, and
one more case must kill it. The last tests draw from PS3's domain (where PS3 is the root assignment), and run
validate on every assignment present.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.apps.kit.validate import validate
from autograder.engine.mutants import Report as MutationReport
from autograder.engine.mutants import Survivor, analyse, domain_cases, survivors
from autograder.engine.specs import load_specs
from autograder.model import Problem

from conftest import ASSIGNMENTS, ROOT_ASSIGNMENT, Assignment


def problem_set(root: Path, files: dict[str, str]) -> list[Problem]:
    """problems/<key>/{reference.py,spec.yaml} written from ``files`` ("p1/reference.py": text), then loaded."""
    for name, text in files.items():
        path = root / "problems" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_specs(root / "problems")


def spec(title: str, cases: str, kinds: dict[str, str] | None = None) -> str:
    """A spec.yaml: one point, these cases, and each function's compare kind (int unless told)."""
    functions = "".join(f"  {name}: {{compare: {{kind: {kind}}}}}\n" for name, kind in (kinds or {}).items())
    return (
        f'title: "{title}"\npoints: 1\n'
        + (f"functions:\n{functions}" if functions else "")
        + "cases:\n"
        + textwrap.indent(textwrap.dedent(cases), "  ")
    )


def the_survivor(found: list[Survivor], function: str, mutation: str) -> Survivor:
    """The one survivor of ``function`` whose mutation description contains ``mutation``."""
    matching = [s for s in found if s.function == function and mutation in s.mutation]
    assert len(matching) == 1, "\n".join(map(str, found))
    return matching[0]


# --------------------------------------------------------------------------- per-function kills

HELPER = '''
    import numpy as np


    def layers(size, kernel):
        """How many valid convolutions take size to 1; ValueError when the kernel does not fit."""
        if kernel > size:
            raise ValueError("the kernel does not fit")
        return size - kernel + 1


    def domain_layers(rng):
        return [int(rng.integers(1, 20)), int(rng.integers(1, 20))]
'''
COMPOSITE = '''
    from ..p1.reference import layers


    def weights(size, kernel, channels):
        """The composite: one weight per channel per layer."""
        return layers(size, kernel) * channels


    def domain_weights(rng):
        return [int(rng.integers(1, 20)), int(rng.integers(1, 20)), int(rng.integers(1, 9))]
'''
HELPER_CASES = """
    - {name: "fits", call: layers, args: [5, 3]}
    - {name: "too large", call: layers, args: [2, 3], raises: ValueError}
    - {name: "kernel 1", call: layers, args: [4, 1]}
    - {name: "as large", call: layers, args: [3, 3]}
    - {name: "kernel 2", call: layers, args: [4, 2]}
"""


def test_a_composite_must_be_tested_on_its_helpers_guard_itself(tmp_path: Path) -> None:
    """The helper's own cases kill the deleted guard; the composite, in another problem, is a survivor until it has its case."""
    files = {
        "p1/reference.py": HELPER,
        "p1/spec.yaml": spec("P1", HELPER_CASES),
        "p2/reference.py": COMPOSITE,
        "p2/spec.yaml": spec(
            "P2", '- {name: "fits", call: weights, args: [5, 3, 2]}\n- {name: "kernel 1", call: weights, args: [6, 1, 3]}\n'
        ),
    }
    found = survivors(problem_set(tmp_path / "weak", files))
    deleted = the_survivor(found, "weights", "guard `if kernel > size: raise` deleted")
    assert deleted.problem == "p2" and deleted.mutation.startswith("p1/reference.py:")
    assert deleted.reference == "raises ValueError" and re.fullmatch(r"-?\d+", deleted.mutant)
    assert not [s for s in found if s.function == "layers"], "the helper's own cases kill every mutant of it"

    files["p2/spec.yaml"] += (
        '  - {name: "too large", call: weights, args: [2, 3, 2], raises: ValueError}\n'
        '  - {name: "as large", call: weights, args: [3, 3, 2]}\n'
        '  - {name: "another kernel", call: weights, args: [5, 2, 2]}\n'
        '  - {name: "more channels", call: weights, args: [5, 3, 4]}\n'
    )
    report = analyse(problem_set(tmp_path / "closed", files))
    assert not report.survivors, "\n".join(map(str, report.survivors))
    assert report.killed > report.generated  # mutants of the helper count once for each function that uses it


TWICE_REFUSED = '''
    def steps(start, end):
        """Steps of 2 from start down to end; ValueError when end is above start, or is never landed on."""
        if end > start:
            raise ValueError("the steps only go down")
        count = 0
        while start > end:
            start, count = start - 2, count + 1
        if start != end:
            raise ValueError("the steps pass over the end")
        return count


    def domain_steps(rng):
        return [int(rng.integers(0, 20)), int(rng.integers(0, 20))]


    def walk(start, end):
        """The composite: the same count, as a student may write it in a closed form of their own."""
        return steps(start, end)


    def domain_walk(rng):
        return [int(rng.integers(0, 20)), int(rng.integers(0, 20))]
'''


def test_a_composite_must_reach_each_refusal_of_its_parts_even_one_no_mutant_can_delete(tmp_path: Path) -> None:
    """Deleting the first guard changes nothing (the last check refuses too), so no mutant survives; but a student's
    closed form, (start - end) // 2 when even, misses that refusal: the composite's cases must reach it."""
    cases = """
        - {name: "down", call: steps, args: [9, 3]}
        - {name: "over", call: steps, args: [9, 4], raises: ValueError}
        - {name: "up", call: steps, args: [3, 9], raises: ValueError}
        - {name: "none", call: steps, args: [4, 4]}
        - {name: "down from 5", call: steps, args: [5, 3]}
        - {name: "down", call: walk, args: [8, 2]}
        - {name: "none", call: walk, args: [5, 5]}
        - {name: "over", call: walk, args: [8, 3], raises: ValueError}
        - {name: "down from 6", call: walk, args: [6, 2]}
    """
    files = {"p1/reference.py": TWICE_REFUSED, "p1/spec.yaml": spec("P1", cases)}
    report = analyse(problem_set(tmp_path / "weak", files))
    assert not report.survivors, "\n".join(map(str, report.survivors))
    assert [(gap.function, gap.problem, gap.where) for gap in report.unreached] == [("walk", "p1", "p1/reference.py:5 in steps")]
    assert "raise ValueError('the steps only go down')" in str(report.unreached[0])

    files["p1/spec.yaml"] += '  - {name: "up", call: walk, args: [2, 8], raises: ValueError}\n'
    assert analyse(problem_set(tmp_path / "closed", files)).unreached == []


BEHIND_AN_EARLIER_CHECK = """
    def sample(n):
        if n < 1:
            raise ValueError("n must be at least 1")
        return list(range(n))


    def weights(n):
        if n < 1:
            raise ValueError("n must be at least 1")
        return [1] * n


    def total(n):
        return sum(a * b for a, b in zip(sample(n), weights(n)))


    def domain_total(rng):
        return [int(rng.integers(-2, 9))]
"""


def test_a_refusal_dead_on_the_composites_path_is_not_asked_for(tmp_path: Path) -> None:
    """An adopter's trapezoid rule: its first part refuses n < 1, so its second part's own refusal is never
    reached on the composite's path, and no case could reach it; validate asked for one all the same."""
    cases = """
        - {name: "three", call: total, args: [3]}
        - {name: "none", call: total, args: [0], raises: ValueError}
    """
    report = analyse(problem_set(tmp_path / "course", {"p1/reference.py": BEHIND_AN_EARLIER_CHECK, "p1/spec.yaml": spec("P1", cases)}))
    assert report.unreached == [], "\n".join(map(str, report.unreached))
    no_refusal = cases.replace('        - {name: "none", call: total, args: [0], raises: ValueError}\n', "")
    weak = analyse(problem_set(tmp_path / "weak", {"p1/reference.py": BEHIND_AN_EARLIER_CHECK, "p1/spec.yaml": spec("P1", no_refusal)}))
    assert [gap.where for gap in weak.unreached] == ["p1/reference.py:4 in sample"]  # the live one is still asked for
    # A domain that never draws an input to refuse says nothing of which refusals are dead: all are asked for.
    valid_only = BEHIND_AN_EARLIER_CHECK.replace("rng.integers(-2, 9)", "rng.integers(1, 9)")
    blind = analyse(problem_set(tmp_path / "blind", {"p1/reference.py": valid_only, "p1/spec.yaml": spec("P1", no_refusal)}))
    assert [gap.where for gap in blind.unreached] == ["p1/reference.py:4 in sample", "p1/reference.py:10 in weights"]


FC = """
    def fc_layer_params(d_in, d_out):
        return d_in * d_out + d_out


    def domain_fc_layer_params(rng):
        return [int(rng.integers(1, 5000)), int(rng.integers(1, 5000))]
"""


def test_a_weak_spec_reports_a_survivor_with_its_distinguishing_input(tmp_path: Path) -> None:
    """One case, fc_layer_params(1, 1) == 2, cannot tell d_in * d_out + d_out from d_in + d_out: a survivor."""
    problems = problem_set(
        tmp_path, {"q9/reference.py": FC, "q9/spec.yaml": spec("Q9: weak", '- {name: "one case", call: fc_layer_params, args: [1, 1]}\n')}
    )
    found = survivors(problems, tries=50)
    first = the_survivor(found, "fc_layer_params", "`d_in * d_out` -> `d_in // d_out`")
    assert first.args is not None and len(first.args) == 2 and first.reference != first.mutant
    assert first.mutation.startswith("q9/reference.py:3 in fc_layer_params") and "fc_layer_params(" in str(first)


def test_a_function_without_a_domain_is_reported_as_unjudged(tmp_path: Path) -> None:
    problems = problem_set(
        tmp_path,
        {
            "p1/reference.py": "def square(x):\n    return x * x\n",
            "p1/spec.yaml": spec("P1", '- {name: "three", call: square, args: [3]}\n'),
        },
    )
    found = survivors(problems)
    assert found and all(s.args is None and "no domain_square(rng)" in str(s) for s in found)


# --------------------------------------------------------------------------- the operators for common mistakes

OPERATORS = {
    "guard deleted": (
        """
        def half(n):
            if n % 2:
                raise ValueError("odd")
            return n // 2


        def domain_half(rng):
            return [int(rng.integers(1, 100))]
    """,
        "half",
        '- {name: "even", call: half, args: [8]}\n',
        '- {name: "odd", call: half, args: [7], raises: ValueError}\n',
        "guard `if n % 2: raise` deleted",
    ),
    "state kept across calls": (
        """
        import numpy as np


        def doubled(x):
            return 2 * np.asarray(x, dtype=float)


        def domain_doubled(rng):
            return [rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(1, 4))))]
    """,
        "doubled",
        '- {name: "two", call: doubled, args: [!array [[1.0, 2.0]]]}\n',
        '- {name: "two again", call: doubled, args: [!array [[3.0, 5.0]]], hidden: true}\n',
        "state kept across calls: the first answer for each shape and dtype",
    ),
    "an output buffer in the input's dtype": (
        """
        import numpy as np


        def weighted(x, w):
            x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
            return x * w


        def domain_weighted(rng):
            shape = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
            return [rng.integers(-9, 10, size=shape), rng.normal(size=shape)]
    """,
        "weighted",
        '- {name: "floats", call: weighted, args: [!array [[0.5, 1.5]], !array [[0.5, 3.0]]]}\n',
        '- {name: "integers", call: weighted, args: [!array [[1, 3]], !array [[0.5, 0.25]]]}\n',
        "the output in an integer buffer when x is an integer array",
    ),
    "a sum accumulated in int32": (
        """
        def total(counts):
            return sum(counts)


        def domain_total(rng):
            return [[int(c) for c in rng.integers(1, 2**40, size=int(rng.integers(1, 6)))]]
    """,
        "total",
        '- {name: "small", call: total, args: [[1, 2, 3]]}\n',
        '- {name: "past 2**31", call: total, args: [[3000000000, 5]]}\n',
        "`sum(counts)` accumulated in np.int32",
    ),
    "astype(np.int32)": (
        """
        import numpy as np


        def areas(sides):
            return (np.asarray(sides).astype(np.int64) ** 2).tolist()


        def domain_areas(rng):
            return [[int(s) for s in rng.integers(1, 10**6, size=3)]]
    """,
        "areas",
        '- {name: "small", call: areas, args: [[1, 2, 3]]}\n',
        '- {name: "past 2**31", call: areas, args: [[100000]]}\n',
        "-> `np.asarray(sides).astype(np.int32)`",
    ),
    "a product computed in 32-bit integers": (
        """
        def layer(c_in, c_out):
            return c_in * c_out + c_out


        def stack(widths):
            return sum(layer(a, b) for a, b in zip(widths, widths[1:]))


        def domain_stack(rng):
            return [[int(w) for w in rng.integers(1, 2**17, size=int(rng.integers(2, 5)))]]
    """,
        "stack",
        '- {name: "small", call: stack, args: [[3, 4, 5]]}\n- {name: "a total past 2**31", call: stack, args: [[40000, 40000, 40000]]}\n',
        '- {name: "one layer past 2**31", call: stack, args: [[1, 65536, 65536]]}\n',
        "`c_in * c_out` computed in 32-bit integers",
    ),
    "integer inputs kept as int32": (
        """
        import numpy as np


        def dot(x, w):
            x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=float)
            return float(x @ w)


        def domain_dot(rng):
            n = int(rng.integers(1, 5))
            return [rng.integers(-(2**20), 2**20, size=n), rng.integers(-(2**20), 2**20, size=n)]
    """,
        "dot",
        '- {name: "small", call: dot, args: [!array [1, 2], !array [3, 4]]}\n- {name: "floats", call: dot, args: [!array [0.5], !array [3.0]]}\n',
        '- {name: "products past 2**31", call: dot, args: [!array [100000, 3], !array [100000, 5]]}\n',
        "integer inputs kept as np.int32 where every input is converted to float",
    ),
    "a comparison that only stops on equality": (
        """
        def steps(size, target, grow):
            count = 0
            while size > target:
                following = size - 3 + grow
                if following >= size:
                    raise ValueError("these steps do not shrink it")
                size, count = following, count + 1
            return count


        def domain_steps(rng):
            return [int(rng.integers(10, 40)), int(rng.integers(1, 10)), int(rng.integers(0, 6))]
    """,
        "steps",
        '- {name: "shrinks", call: steps, args: [10, 4, 0]}\n- {name: "stays", call: steps, args: [10, 4, 3], raises: ValueError}\n',
        '- {name: "grows", call: steps, args: [10, 4, 5], raises: ValueError}\n',
        "`following >= size` -> `following == size`",
    ),
    "NumPy integers not taken for ints": (
        """
        import numpy as np


        def pair(k):
            return list(k) if isinstance(k, (tuple, list)) else [k, k]


        def domain_pair(rng):
            value = int(rng.integers(1, 9))
            return [np.int64(value) if rng.random() < 0.5 else value]
    """,
        "pair",
        '- {name: "an int", call: pair, args: [3]}\n',
        None,
        "`isinstance(k, (tuple, list))` -> `not isinstance(k, int)`",
    ),
    "NumPy integers refused where the reference checks no type": (  # fidelity round 5: fc_layer_params had no such case
        """
        import numpy as np


        def area(width, height):
            return width * height


        def domain_area(rng):
            return [np.int64(v) if rng.random() < 0.5 else int(v) for v in rng.integers(1, 50, size=2)]
    """,
        "area",
        '- {name: "ints", call: area, args: [3, 4]}\n',
        None,
        "NumPy integers refused: an `isinstance(n, int)` guard",
    ),
}


KINDS = {"doubled": "array", "weighted": "array", "areas": "ints", "pair": "ints", "dot": "array"}  # the others answer an int


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_each_mistake_operator_makes_its_mutant_and_one_case_kills_it(tmp_path: Path, operator: str) -> None:
    reference, function, weak, killing, mutation = OPERATORS[operator]
    kinds = {function: KINDS[function]} if function in KINDS else None
    files = {"p1/reference.py": reference, "p1/spec.yaml": spec("P1", weak, kinds)}
    found = the_survivor(survivors(problem_set(tmp_path / "weak", files)), function, mutation)
    assert found.args is not None and found.reference != found.mutant
    if killing is None:  # a NumPy integer argument cannot be written in YAML: the domain's draw shows it
        assert "np.int64(" in str(found) and found.mutant == "raises TypeError"
        return
    files["p1/spec.yaml"] = spec("P1", weak + killing, kinds)
    assert not [s for s in survivors(problem_set(tmp_path / "closed", files)) if mutation in s.mutation]


def test_the_int32_sum_wraps_and_the_integer_buffer_truncates(tmp_path: Path) -> None:
    """The mutants' answers are the mistakes' answers: a count wrapped at 2**31, a product truncated to an integer."""
    sums = the_survivor(
        survivors(
            problem_set(
                tmp_path / "sum",
                {
                    "p1/reference.py": OPERATORS["a sum accumulated in int32"][0],
                    "p1/spec.yaml": spec("P1", OPERATORS["a sum accumulated in int32"][2]),
                },
            )
        ),
        "total",
        "accumulated in np.int32",
    )
    assert sums.args is not None
    right = sum(sums.args[0])
    assert sums.reference == str(right) and sums.mutant == f"np.int32({(right + 2**31) % 2**32 - 2**31})"

    buffer = the_survivor(
        survivors(
            problem_set(
                tmp_path / "buffer",
                {
                    "p1/reference.py": OPERATORS["an output buffer in the input's dtype"][0],
                    "p1/spec.yaml": spec("P1", OPERATORS["an output buffer in the input's dtype"][2], {"weighted": "array"}),
                },
            )
        ),
        "weighted",
        "integer buffer",
    )
    assert buffer.args is not None
    x, w = buffer.args
    assert buffer.mutant == str(np.trunc(x * w).astype(np.int64).tolist()) != buffer.reference


# --------------------------------------------------------------------------- PS3's domain; no survivor in any assignment


@pytest.fixture(scope="module")
def ps3() -> list[Problem]:
    return load_specs(ROOT_ASSIGNMENT.problems)


@pytest.mark.ps3
def test_conv_draws_mix_dtypes_and_pass_2_to_the_31_in_integer_products(ps3: list[Problem]) -> None:
    draws = domain_cases(ps3, "conv2d")
    dtypes = [(np.asarray(c.args[0]).dtype, np.asarray(c.args[1]).dtype) for c in draws]
    assert any(x.kind in "iu" and k.kind == "f" for x, k in dtypes) and any(x.kind == "f" and k.kind in "iu" for x, k in dtypes)
    assert {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32), np.dtype(np.int64)} <= {x for x, _ in dtypes}
    assert any(isinstance(c.args[0], list) for c in draws)
    products = [
        np.abs(np.asarray(c.args[0], dtype=object)).max() * np.abs(np.asarray(c.args[1], dtype=object)).max()
        for c, (x, k) in zip(draws, dtypes)
        if x.kind in "iu" and k.kind in "iu"
    ]
    assert max(products) > 2**31


@pytest.mark.ps3
def test_draws_are_seeded_and_repeat_shapes_with_new_values(ps3: list[Problem]) -> None:
    """One call sequence per function and seed: some draws are the previous one's shapes and dtypes, with other values."""
    first, again, other = (domain_cases(ps3, "conv_transpose2d", seed=seed) for seed in (0, 0, 1))
    assert all(a.args[0] is not b.args[0] and np.array_equal(a.args[0], b.args[0]) for a, b in zip(first, again))
    assert not all(np.array_equal(np.asarray(a.args[0]), np.asarray(b.args[0])) for a, b in zip(first, other))

    def signature(value: object) -> tuple[type, tuple[int, ...], np.dtype[Any]]:
        array = np.asarray(value)
        return type(value), array.shape, array.dtype

    repeats = [
        (before, after)
        for before, after in itertools.pairwise(first)
        if all(signature(a) == signature(b) for a, b in zip(before.args, after.args))
    ]
    assert any(not np.array_equal(np.asarray(a.args[0]), np.asarray(b.args[0])) for a, b in repeats)
    assert any(not np.array_equal(np.asarray(a.expected.value), np.asarray(b.expected.value)) for a, b in repeats)


@pytest.mark.ps3
def test_counts_come_as_numpy_integers_and_reach_past_2_to_the_31(ps3: list[Problem]) -> None:
    for function in ("fc_layer_params", "conv_layer_params", "conv_classifier_params", "downsampling_params"):
        draws = domain_cases(ps3, function)
        assert any(isinstance(arg, np.integer) for c in draws for arg in c.args), function
        assert any(c.expected.raises is None and c.expected.value > 2**31 for c in draws), function


@pytest.mark.parametrize(
    "assignment",
    # The root's course is the full one (PS3: 231 mutants, about 12 s on 2 cores), so it runs with the slow suites.
    [pytest.param(a, marks=pytest.mark.slow) if a.root == ROOT_ASSIGNMENT.root else a for a in ASSIGNMENTS],
    ids=str,
)
def test_validate_finds_no_surviving_mutant(assignment: Assignment) -> None:
    """Every assignment's cases catch every plausible mistake in its references, or show it equivalent."""
    found = validate(assignment.problems)
    assert not found.errors, found.errors
    assert found.mutants is not None and found.mutants.generated > 0 and found.mutants.killed > 0
    assert not found.mutants.survivors, "\n".join(map(str, found.mutants.survivors))
    assert not [warning for warning in found.warnings if "case of" in warning], found.warnings


def test_a_domain_generator_that_raises_is_an_error_at_its_line_not_a_traceback(tmp_path: Path) -> None:
    """validate crashed with a traceback out of the mutation analysis when an instructor's domain_<function> had a
    bug; it is now an error naming the generator's file and line."""
    reference = "def square(x):\n    return x * x\n\n\ndef domain_square(rng):\n    return {}['bug in my domain']\n"
    problem_set(tmp_path, {"p1/reference.py": reference, "p1/spec.yaml": spec("P1", '- {name: "three", call: square, args: [3]}\n')})
    found = validate(tmp_path / "problems")
    (error,) = found.errors
    assert re.search(r"p1/reference\.py:5: domain_square\(rng\) raised KeyError: 'bug in my domain'", error), error


COUNT = '''
    def conv_params(c_in, c_out, kernel):
        """Weights and biases of one convolution layer."""
        return (c_in * kernel * kernel + 1) * c_out


    def domain_conv_params(rng):
        return [int(rng.integers(1, 64)), int(rng.integers(1, 64)), int(rng.integers(1, 8))]
'''


def test_a_memo_whose_key_leaves_out_an_argument_needs_two_cases_that_differ_in_that_argument_alone(tmp_path: Path) -> None:
    """``cache[(c_in, c_out)]`` for a count that also depends on the kernel passes cases that never repeat the
    channels with another kernel (a student's, seen by the red team: full marks on its function, the composites'
    points lost instead). Each argument left out of the key is a mutant; the pair that differs in it alone kills it."""
    cases = """
        - {name: "one", call: conv_params, args: [3, 3, 7]}
        - {name: "two", call: conv_params, args: [1, 8, 3]}
        - {name: "three", call: conv_params, args: [16, 32, 5]}
    """
    found = survivors(problem_set(tmp_path / "weak", {"p1/reference.py": COUNT, "p1/spec.yaml": spec("P1", cases)}))
    left_out = {s.mutation.rpartition("leaves out ")[2] for s in found if "a memo of the answers" in s.mutation}
    assert left_out == {"`c_in`", "`c_out`", "`kernel`"}, "\n".join(map(str, found))

    cases += """
        - {name: "another kernel", call: conv_params, args: [3, 3, 5]}
        - {name: "other inputs", call: conv_params, args: [2, 8, 3]}
        - {name: "other outputs", call: conv_params, args: [16, 4, 5]}
    """
    found = survivors(problem_set(tmp_path / "closed", {"p1/reference.py": COUNT, "p1/spec.yaml": spec("P1", cases)}))
    assert not [s for s in found if "a memo of the answers" in s.mutation], "\n".join(map(str, found))


def test_a_function_graded_by_two_problems_must_have_one_reference(tmp_path: Path) -> None:
    """Each problem's reference.py defined its own sample_mean, one of them wrong: every spec was valid on its own,
    and the solution lost the points of one (an adopter's course). Importing the first problem's is the fix."""
    first = "def sample_mean(values):\n    return sum(values) / len(values)\n"
    other = "def sample_mean(values):\n    return sum(values) / (len(values) - 1)\n"
    files = {
        "p1/reference.py": first,
        "p1/spec.yaml": spec("P1", '- {name: "mean", call: sample_mean, args: [[1, 2, 3]]}\n', {"sample_mean": "array"}),
        "p2/reference.py": other,
        "p2/spec.yaml": spec("P2", '- {name: "mean again", call: sample_mean, args: [[2, 4]]}\n', {"sample_mean": "array"}),
    }
    problem_set(tmp_path / "two", files)
    errors = [error for error in validate(tmp_path / "two" / "problems", mutants=False).errors if "define it once" in error]
    assert len(errors) == 1 and re.search(r"p2/reference\.py:1: sample_mean is graded in .*p1/spec\.yaml too", errors[0]), errors
    assert "from ..p1.reference import sample_mean" in errors[0]

    files["p2/reference.py"] = "from ..p1.reference import sample_mean  # noqa: F401\n"
    problem_set(tmp_path / "one", files)
    assert not [error for error in validate(tmp_path / "one" / "problems", mutants=False).errors if "define it once" in error]


def test_a_keyword_only_parameter_is_one_a_memo_can_leave_out(tmp_path: Path) -> None:
    """The memo mutants took the positional parameters only: a reference ``def scaled(x, *, factor=2)`` had no
    mutant for a memo keyed on ``x`` alone. It exists now: a survivor until a case repeats ``x`` with another factor."""
    reference = "def scaled(x, *, factor=2):\n    return x * factor\n\n\ndef domain_scaled(rng):\n    return [int(rng.integers(1, 9))]\n"
    cases = '- {name: "one", call: scaled, args: [3]}\n- {name: "other", call: scaled, args: [4], kwargs: {factor: 5}}\n'

    def memo_without_factor(report: MutationReport) -> list[Survivor]:
        return [survivor for survivor in report.survivors if "leaves out `factor`" in survivor.mutation]

    weak = analyse(problem_set(tmp_path / "weak", {"p1/reference.py": reference, "p1/spec.yaml": spec("P1", cases)}))
    assert memo_without_factor(weak), weak.survivors
    closing = cases + '- {name: "three again", call: scaled, args: [3], kwargs: {factor: 7}}\n- {name: "four", call: scaled, args: [4]}\n'
    closed = analyse(problem_set(tmp_path / "closed", {"p1/reference.py": reference, "p1/spec.yaml": spec("P1", closing)}))
    assert not memo_without_factor(closed), closed.survivors


SORTED_SEARCH = """
def binary_search(xs, target):
    lo, hi = 0, len(xs) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if xs[mid] == target:
            return mid
        if xs[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    raise KeyError(target)


def domain_binary_search(rng):
    xs = sorted(set(int(v) for v in rng.integers(-9, 9, size=int(rng.integers(0, 10)))))
    return [xs, int(rng.integers(-10, 10))]
"""


def test_draws_that_repeat_shapes_stay_in_the_domain(tmp_path: Path) -> None:
    """Draws that repeat the previous one's shapes with new values used to shuffle its entries: a sorted list came
    out unsorted, outside binary search's domain, and validate asked an adopter for a case there (a mutant that
    differs only on unsorted input). They now come from the domain itself when its shapes repeat: every draw is
    sorted, and the mutants that survive are ones a sorted input shows."""
    cases = "- {name: found, call: binary_search, args: [[1, 3, 5, 7, 9, 11], 7]}\n- {name: missing, call: binary_search, args: [[1, 3, 5], 4], raises: LookupError}\n"
    problems = problem_set(tmp_path, {"p1/reference.py": SORTED_SEARCH, "p1/spec.yaml": spec("P1", cases)})
    draws = domain_cases(problems, "binary_search")
    assert len(draws) == 200 and all(list(case.args[0]) == sorted(case.args[0]) for case in draws)
    assert all(list(s.args[0]) == sorted(s.args[0]) for s in survivors(problems) if s.args is not None)
