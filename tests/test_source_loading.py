"""What the worker loads: source files decoded as Python decodes them, notebooks converted in the grader,
and printing that costs nothing past what the grader keeps."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from autograder.model import ImportReport
from autograder.sandbox import source
from autograder.sandbox.gate import CallGate
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Sandbox

from conftest import REPO, SOLUTION, GradescopeLayout, call_gate, graded_functions, scores_by_function, total_points

SOURCE = SOLUTION.read_text()
FUNCTIONS = {node.name for node in ast.parse(SOURCE).body if isinstance(node, ast.FunctionDef)}


def _load(tmp_path: Path, data: bytes, limits: Limits | None = None) -> tuple[CallGate, ImportReport]:
    path = tmp_path / "ps3.py"
    path.write_bytes(data)
    box = CallGate.started(Sandbox(path, limits or Limits(call_timeout=5)))
    return box, box.imported


# --------------------------------------------------------------------------- encodings, end to end


def test_a_solution_saved_with_a_byte_order_mark_gets_full_marks(gradescope: GradescopeLayout) -> None:
    gradescope.submit({SOLUTION.name: b"\xef\xbb\xbf" + SOLUTION.read_bytes()})
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)
    assert "Problems loading your file" not in data["output"]


@pytest.mark.ps3
def test_a_latin1_solution_with_a_coding_line_and_accented_names_gets_full_marks(gradescope: GradescopeLayout) -> None:
    wrapped = SOURCE.replace("def conv2d(x, kernel):", "def conv2d_réf(x, kernel):")
    assert wrapped != SOURCE
    text = (
        "# -*- coding: latin-1 -*-\n# Problème 3, enregistré en Latin-1.\n"
        + wrapped
        + '\n\ndef conv2d(x, kernel):\n    """Appelle la version écrite plus haut."""\n    return conv2d_réf(x, kernel)\n'
    )
    gradescope.submit({"ps3.py": text.encode("latin-1")})
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)
    assert set(scores_by_function(data)) == FUNCTIONS


# --------------------------------------------------------------------------- encodings, in the sandbox


def test_an_unknown_declared_encoding_is_one_clear_problem(tmp_path: Path) -> None:
    box, report = _load(tmp_path, b"# -*- coding: klingon -*-\ndef add(a, b):\n    return a + b\n")
    try:
        assert len(report.problems) == 1 and not report.fatal
        assert "unknown encoding: klingon" in report.problems[0]["message"]
        assert "UTF-8" in report.problems[0]["message"]
        assert box.call("add", [1, 2]).value == 3  # the rest is still graded
    finally:
        box.stop()


def test_a_wrong_declared_encoding_is_one_clear_problem_naming_the_line(tmp_path: Path) -> None:
    data = "# -*- coding: utf-8 -*-\ndef add(a, b):\n    return a + b\n\nNAME = 'Zoë'\n".encode("latin-1")
    box, report = _load(tmp_path, data)
    try:
        assert len(report.problems) == 1
        problem = report.problems[0]
        assert problem["type"] == "UnicodeDecodeError" and problem["where"] == "line 5"
        assert "0xeb" in problem["message"] and "utf-8" in problem["message"]
        assert box.call("add", [1, 2]).value == 3
    finally:
        box.stop()


@pytest.mark.parametrize("line", [1, 2, 4])
def test_a_byte_that_is_not_utf8_is_named_at_its_line_whether_or_not_python_looks_there_for_a_coding_line(
    tmp_path: Path, line: int
) -> None:
    """Python reads the first two lines for a coding line and refuses a non-UTF-8 byte there as a bad encoding
    declaration: the problem told a student to remove a coding line the file did not have (fidelity round 7)."""
    lines = ["def add(a, b):", "    return a + b", "", ""]
    lines.insert(line - 1, "# café")
    box, report = _load(tmp_path, "\n".join(lines).encode("cp1252"))
    try:
        (problem,) = report.problems
        assert problem["where"] == f"line {line}" and "byte 0xe9 on line" in problem["message"], problem
        assert "remove the coding line" not in problem["message"]
        assert box.call("add", [1, 2]).value == 3
    finally:
        box.stop()


def test_a_coding_line_and_bom_decode_as_python_does(tmp_path: Path) -> None:
    data = "# vim: set fileencoding=cp1252 :\ndef quote():\n    return '“é”'\n".encode("cp1252")
    box, report = _load(tmp_path, data)
    try:
        assert report.problems == [] and box.call("quote", []).value == "“é”"
    finally:
        box.stop()


NEWER_PYTHON = """\
def add(a, b):
    return a + b


def first_number(values):
    try:
        return int(values[0])
    except* ValueError:
        return 0


def alias():
    import tomllib

    return tomllib.__name__
"""


def test_code_newer_than_gradescopes_python_is_graded_as_there_wherever_it_runs(tmp_path: Path) -> None:
    """Gradescope's Python is 3.10: ``except*`` does not parse there and tomllib is not there. On a newer Python
    (a TA's batch, a student's check) the function using them passed where Gradescope would fail it (fidelity
    round 5). The worker parses in Gradescope's grammar and hides the standard modules added since: the same
    grade on every Python, with Python's own message."""
    (tmp_path / "ps3.py").write_text(NEWER_PYTHON)
    box = CallGate.started(Sandbox(tmp_path / "ps3.py", Limits(call_timeout=5), packages=["numpy"]))  # as every front end
    report = box.imported
    try:
        (problem,) = report.problems
        assert problem["type"] == "SyntaxError" and int(problem["where"].removeprefix("line ")) in range(5, 12), problem
        assert box.call("add", [1, 2]).value == 3  # the rest of the file is graded as before
        assert box.call("first_number", [["7"]]).kind == "skipped" or "first_number" not in report.functions
        outcome = box.call("alias", [])
        assert outcome.kind == "raised" and "No module named 'tomllib'" in outcome.error["message"], outcome
    finally:
        box.stop()


NEWER_NAMES = """\
from __future__ import annotations

import dataclasses
import math
import typing
from typing import Self


def cube_root(x):
    return math.cbrt(x)


def grouped():
    raise ExceptionGroup("two", [ValueError(), KeyError()])


@dataclasses.dataclass
class Settings:
    seen: typing.ClassVar[dict] = {}
    size: int = 3


def sized():
    return Settings().size
"""


def test_names_later_pythons_added_are_named_where_used_as_failing_on_gradescope(tmp_path: Path) -> None:
    """Gradescope's Python 3.10 has no math.cbrt or ExceptionGroup (3.11): a file using them passed in a TA's batch
    and a student's check on a newer Python, and lost the points on Gradescope (fidelity). On a newer Python each
    use is named at its line as failing there; it is not hidden, since a module copied without its newer names
    broke correct files (a dataclass whose string annotation names typing.ClassVar, differential round 8). On
    Python 3.10 itself (CI runs this file there) the names are missing, as on Gradescope."""
    (tmp_path / "ps3.py").write_text(NEWER_NAMES)
    with CallGate.started(Sandbox(tmp_path / "ps3.py", Limits(call_timeout=5), packages=["numpy"])) as box:
        problems = box.imported.problems
        assert box.call("sized", []).value == 3  # correct on every Python
        if sys.version_info >= (3, 11):
            said = {problem["where"]: problem["message"] for problem in problems if problem["type"] == "Newer Python"}
            assert said == {
                f"line {line}": f"`{name}` is new in Python 3.11: Gradescope runs Python 3.10, which has no such name, so there this "
                f"line fails (here, on Python {sys.version_info[0]}.{sys.version_info[1]}, it works)"
                for line, name in ((6, "typing.Self"), (10, "math.cbrt"), (14, "ExceptionGroup"))
            }, problems
            assert len(problems) == 3 and box.call("cube_root", [8.0]).value == 2.0
        else:
            (problem,) = problems
            assert problem["type"] == "ImportError" and "cannot import name 'Self'" in problem["message"], problem
            assert box.call("cube_root", [8.0]).error["message"] == "module 'math' has no attribute 'cbrt'"
            assert box.call("grouped", []).error["message"] == "name 'ExceptionGroup' is not defined"


def test_the_names_said_to_be_newer_are_none_of_gradescopes_pythons() -> None:
    """The table is the real Pythons' own listing (tests/fixtures/make_newer_names.py); this holds it against the
    Python running the tests: on 3.10 (CI runs this file there) no name it lists exists, so no name Gradescope
    has is ever said to fail there."""
    import importlib

    from autograder.sandbox.importable import GRADESCOPE_PYTHON
    from autograder.sandbox.newer_names import NEWER_NAMES

    for version, modules in NEWER_NAMES.items():
        assert tuple(map(int, version.split("."))) > GRADESCOPE_PYTHON
        for module_name, names in modules.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # cgitb, crypt...: deprecated modules say so when imported
                    module = importlib.import_module(module_name)
            except ImportError:  # a module this build lacks (a platform's own), as it is on this Python
                continue
            if sys.version_info[:2] == GRADESCOPE_PYTHON:
                assert not set(names) & set(dir(module)), (module_name, set(names) & set(dir(module)))


MAIN_GUARD = """\
def add(a, b):
    return a + b


if __name__ == "__main__":

    def double(x):
        return 2 * x

    def demo():
        print(add(1, 2), double(3))

    demo()
"""


def test_a_graded_function_defined_under_the_main_guard_is_said_to_be_never_run_when_imported(tmp_path: Path) -> None:
    """``double`` inside ``if __name__ == "__main__":``: an import never runs the block, on Gradescope neither, and
    the case said only that the file defines no function named double (fidelity round 7). A graded name defined
    there is a load problem naming the block and its line; ``demo``, not graded, is not mentioned."""
    (tmp_path / "ps3.py").write_text(MAIN_GUARD)
    sandbox = Sandbox(tmp_path / "ps3.py", Limits(call_timeout=5))
    sandbox.graded_names = frozenset({"add", "double"})
    with CallGate.started(sandbox) as box:
        (problem,) = box.imported.problems
        assert problem["where"] == "line 7" and problem["names"] == ["double"], problem
        assert problem["message"].startswith('double is defined inside `if __name__ == "__main__":`, which runs only when'), problem
        assert box.call("add", [1, 2]).value == 3
        assert box.call("double", [2]).reason == "not defined"


PEP_695 = """\
type Vector = list[float]


def first[T](items: list[T]) -> T:
    return items[0]


def alias_value():
    return str(Vector.__value__)
"""


def test_type_statements_and_generic_functions_are_syntax_errors_as_on_gradescope(tmp_path: Path) -> None:
    """PEP 695 (Python 3.12) parses on the grader's 3.13 but not on Gradescope's 3.10: on every Python, the two
    blocks are SyntaxErrors and only what the rest defines is graded."""
    (tmp_path / "ps3.py").write_text(PEP_695)
    box = CallGate.started(Sandbox(tmp_path / "ps3.py", Limits(call_timeout=5), packages=["numpy"]))
    try:
        report = box.imported
        assert [(problem["type"], problem["where"]) for problem in report.problems] == [
            ("SyntaxError", "line 1"),
            ("SyntaxError", "line 4"),
        ]
        assert "first" not in report.functions and "alias_value" in report.functions
    finally:
        box.stop()


NEWER_THAN_THE_CHECK = """\
def add(a, b):
    return a + b


def label(d):
    return f"{d["name"]}: {'\\n'.join(d["lines"])}"


def first(items: tuple[int, *tuple[int, ...]]):
    return items[0]


def tail(*rest: *tuple[int, ...]):
    return rest
"""


def test_syntax_cpythons_feature_version_lets_through_is_a_syntax_error_as_on_gradescope(tmp_path: Path) -> None:
    """CPython's feature_version check does not cover PEP 701's f-strings (3.12) or PEP 646's starred subscripts and
    annotations (3.11): a student's ``check`` on 3.12 passed what Gradescope's 3.10 refuses. On every Python the
    three blocks are SyntaxErrors now, and the rest is graded."""
    (tmp_path / "ps3.py").write_text(NEWER_THAN_THE_CHECK)
    box = CallGate.started(Sandbox(tmp_path / "ps3.py", Limits(call_timeout=5), packages=["numpy"]))
    try:
        report = box.imported
        assert [(problem["type"], problem["where"]) for problem in report.problems] == [
            ("SyntaxError", "line 6"),
            ("SyntaxError", "line 9"),
            ("SyntaxError", "line 13"),
        ], report.problems
        assert box.call("add", [1, 2]).value == 3 and not {"label", "first", "tail"} & set(report.functions)
    finally:
        box.stop()


F_STRINGS_310 = json.loads((Path(__file__).parent / "fixtures" / "f_strings_310.json").read_text())


def test_every_f_string_parses_as_python_3_10_parses_it() -> None:
    """600 f-strings that Python 3.12+ accepts, each with Python 3.10's own verdict (fixtures/make_f_strings_310.py):
    the loader agrees on every Python; under 3.10 (CI runs this file there) the verdicts are its parser's again."""
    from autograder.sandbox.loader import parse_as_gradescope

    def parses(text: str) -> bool:
        try:
            parse_as_gradescope(text, "ps3.py", 0)
        except SyntaxError:
            return False
        return True

    assert 150 < sum(verdict for _, verdict in F_STRINGS_310) < len(F_STRINGS_310)  # both verdicts well represented
    assert [text for text, verdict in F_STRINGS_310 if parses(text) != verdict] == []


@pytest.mark.ps3  # the helper stands in for PS3's conv2d
def test_a_helper_module_uploaded_beside_the_file_is_named_as_not_loaded(gradescope: GradescopeLayout) -> None:
    """``from helpers import conv2d`` with helpers.py in the same upload: only ps3.py is loaded, so the import fails.
    Each conv2d case said "your file defines no function named conv2d", and the notice named no function and listed
    the packages one may import (fidelity round 6). The import's names are what it leaves undefined, and the notice
    says that the file beside it is not loaded."""
    source = SOURCE.replace("def conv2d(", "def _own_conv2d(") + "\nfrom helpers import conv2d\n"
    gradescope.submit({"ps3.py": source, "helpers.py": "def conv2d(x, kernel):\n    return 0\n"})
    data = gradescope.run()
    assert "No module named 'helpers' (affects conv2d). Only the file graded is loaded, not helpers.py uploaded beside it" in data["output"]
    shown = "\n".join(test["output"] for test in data["tests"] if "conv2d" in test["name"] and "hidden" not in test.get("tags", []))
    assert "`conv2d` could not be defined (ModuleNotFoundError at line" in shown and "defines no function" not in shown, shown[:1500]
    assert scores_by_function(data)["conv2d"][0] == 0 and data["score"] == total_points() - 20


# --------------------------------------------------------------------------- printing


def test_printing_50_megabytes_is_counted_in_the_worker_and_only_the_cap_sent(tmp_path: Path) -> None:
    """What it costs in time is benchmarks/bench_attacks.py's figure; the timeout here is reached only by a hang."""
    data = b"def chatty(n):\n    for _ in range(500_000):\n        print('x' * 99)\n    return n + 1\n"
    box, _ = _load(tmp_path, data, Limits(call_timeout=120, output_bytes=16_000))
    try:
        outcome = box.call("chatty", [41])
        assert outcome.kind == "returned" and outcome.value == 42, outcome.detail
        assert len(outcome.output) <= 16_100
        assert outcome.output.startswith("x" * 99 + "\n")
        dropped = re.search(r"\((\d+) more bytes of output not kept\)", outcome.output)
        assert dropped and int(dropped.group(1)) > 49_000_000  # counted in the worker, never sent
        assert box.call("chatty", [0]).output.startswith("x" * 99)  # each call has its own allowance
    finally:
        box.stop()


def test_printing_past_the_cap_through_stdout_buffer_and_stderr_is_counted(tmp_path: Path) -> None:
    data = (
        b"import sys\n"
        b"def loud():\n"
        b"    sys.stdout.buffer.write(b'b' * 5000)\n"
        b"    print('e' * 5000, file=sys.stderr)\n"
        b"    print('o' * 5000, file=sys.__stdout__)\n"
        b"    return sys.stdout.encoding\n"
    )
    box, _ = _load(tmp_path, data, Limits(call_timeout=5, output_bytes=2000))
    try:
        outcome = box.call("loud", [])
        assert outcome.value == "utf-8"
        assert len(outcome.output) < 2100 and "more bytes of output not kept" in outcome.output
        assert outcome.output.startswith("b" * 1000)
    finally:
        box.stop()


# --------------------------------------------------------------------------- source.py


def test_a_python_file_is_passed_unchanged_without_loading_ipython_or_nbformat(tmp_path: Path) -> None:
    path = tmp_path / "ps3.py"
    path.write_bytes(b"\xef\xbb\xbf# -*- coding: utf-8 -*-\r\nx = 1\r\n")
    script = (
        "import sys; from pathlib import Path; from autograder.sandbox import source\n"
        f"loaded = source.load(Path({str(path)!r}))\n"
        f"assert loaded.data == Path({str(path)!r}).read_bytes() and loaded.name == 'ps3.py', loaded\n"
        "assert loaded.cell_marker is None and loaded.problems == []\n"
        "print(sorted(m for m in ('IPython', 'nbformat') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _notebook(*sources: str) -> bytes:
    cells: list[dict[str, object]] = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text} for text in sources
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def test_cells_are_marked_and_keep_their_line_numbers() -> None:
    loaded = source.notebook_source(_notebook("x = 1\n", "\n\n!pip install \\\n    numpy\ny = z\n"), "ps3.ipynb")
    assert loaded.name == "ps3.py" and loaded.cell_marker and loaded.problems == []
    lines = loaded.data.decode().splitlines()
    second = lines.index(source.marker_line(2, loaded.cell_marker))
    assert lines[second - 2 : second] == [source.marker_line(1, loaded.cell_marker), "x = 1"]
    cell = lines[second + 1 :]
    assert cell[2].startswith("get_ipython().system(") and cell[4] == "y = z"  # line 5 of the cell stays line 5


def test_magic_calls_do_nothing_in_the_worker_and_errors_name_the_cell(tmp_path: Path) -> None:
    path = tmp_path / "ps3.ipynb"
    path.write_bytes(
        _notebook("%load_ext autoreload\nx = !ls\nlen?\n", "def add(a, b):\n    return a + b\n", "\n\n1 / 0\n", "%%bash\nrm -rf /\n")
    )
    with Sandbox(path, Limits(call_timeout=5)) as box:
        report = box.ready()
        assert report.functions == ["add"]  # get_ipython is the grader's stub, not a function of the student's
        assert [(p["type"], p["where"]) for p in report.problems] == [("ZeroDivisionError", "cell 3, line 3")]
        assert CallGate.started(box).call("add", [1, 2]).value == 3


def test_a_cell_with_too_much_ipython_syntax_is_loaded_as_plain_python() -> None:
    loaded = source.notebook_source(_notebook("def add(a, b):\n    return a + b\n", "!ls\n" * 2000 + "x = 1\n" * 500))
    assert [problem["where"] for problem in loaded.problems] == ["cell 2"]
    assert "too much IPython syntax" in loaded.problems[0]["message"]


def test_syntax_the_count_misses_cannot_make_ipython_read_a_cell_more_times_than_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A form feed after '=' (x =\\f%foo) is syntax IPython rewrites and the count did not see: one counted line
    switched IPython on, and it read a 20 kB cell up to 500 times for each (a red-team pass: 35 s of the grader's
    CPU a cell). It now reads a cell at most once more than the lines counted, then the cell is plain Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    readings: list[int] = []
    original = TransformerManager.do_one_token_transform

    def counted(self: TransformerManager, lines: list[str]) -> tuple[bool, list[str]]:
        readings.append(1)
        changed, new = original(self, lines)
        return bool(changed), list(new)

    monkeypatch.setattr(TransformerManager, "do_one_token_transform", counted)
    hidden = "".join(f"x{n} =\f%foo {n}\n" for n in range(300))
    loaded = source.notebook_source(_notebook("def add(a, b):\n    return a + b\n", "%time 1\n" + hidden))
    assert len(readings) <= 2, f"IPython read the cell {len(readings)} times"
    assert [(problem["where"], "too much IPython syntax" in problem["message"]) for problem in loaded.problems] == [("cell 2", True)]


def test_a_module_saved_with_writefile_is_named_as_the_reason_its_import_fails() -> None:
    """``%%writefile impl.py`` then ``from impl import *`` works in Jupyter and Colab; no magic runs here, so the
    student is told why the import fails rather than left with a bare ModuleNotFoundError. A data file is no code."""
    loaded = source.notebook_source(
        _notebook("%%writefile ps3_impl.py\ndef f():\n    return 1\n", "from ps3_impl import *\n", "%%writefile data.txt\nhello\n")
    )
    assert [(problem["where"], problem["names"]) for problem in loaded.problems] == [("cell 1", [])]
    assert "saves its code as ps3_impl.py with %%writefile" in loaded.problems[0]["message"]


def test_nbformat_sees_only_the_cells_types_and_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs, metadata, attachments and other cells' text are emptied first: 2 MB of empty mappings in the
    metadata made the grader hold 375 MB, as nbformat built and checked an object of each."""
    import nbformat

    seen: list[str] = []
    reads = nbformat.reads

    def seeing(text: str, **options: object) -> object:
        seen.append(text)
        return reads(text, **options)

    monkeypatch.setattr(nbformat, "reads", seeing)
    document = json.loads(_notebook("def add(a, b):\n    return a + b\n"))
    document["metadata"]["padding"] = [{}] * 100_000
    document["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * 500_000}]
    document["cells"].insert(0, {"cell_type": "markdown", "metadata": {"big": [1] * 100_000}, "source": "y" * 500_000})
    loaded = source.notebook_source(json.dumps(document).encode())
    assert len(seen) == 1 and len(seen[0]) < 2_000, len(seen[0])
    assert "def add(a, b):" in loaded.data.decode() and not loaded.problems


# --------------------------------------------------------------------------- loading as Python imports


def _with_forward_annotations(source: str) -> str:
    """The solution annotated as a typing student writes it: names defined later, or imported for type checkers only."""
    head, rest = source.split("\nimport numpy as np\n", 1)
    annotated = rest.replace("def conv2d(x, kernel):", "def conv2d(x: NDArray, kernel: Kernel) -> NDArray:")
    annotated = annotated.replace("def fc_layer_params(d_in, d_out):", "def fc_layer_params(d_in: Count, d_out: Count) -> Count:")
    assert annotated.count("NDArray") == 2 and "Count)" in annotated
    return (
        head + "\nfrom __future__ import annotations\n\nfrom typing import TYPE_CHECKING\n\nimport numpy as np\n\n"
        "if TYPE_CHECKING:\n    from numpy.typing import NDArray\n"
        + annotated
        + '\n\nclass Kernel(np.ndarray):\n    """A 2-D filter (defined after the functions it annotates)."""\n\n\nCount = int\n'
    )


@pytest.mark.ps3
def test_future_annotations_naming_later_names_get_full_marks(gradescope: GradescopeLayout) -> None:
    gradescope.submit({SOLUTION.name: _with_forward_annotations(SOURCE)})
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)
    assert "Problems loading your file" not in data["output"]


def test_a_star_import_of_numpy_hides_no_graded_function(gradescope: GradescopeLayout) -> None:
    # numpy's ~500 callables sort before most of the student's: no list of names may be cut short.
    # The builtins numpy's names hide (min, max, sum, round, abs...) are restored, as a solution written this way would.
    gradescope.submit({SOLUTION.name: "from numpy import *  # noqa\nfrom builtins import *  # noqa\n\n" + SOURCE})
    data = gradescope.run()
    assert set(scores_by_function(data)) >= graded_functions()  # each scored (the course's Python checks, if any, are untagged)
    assert data["score"] == total_points(), scores_by_function(data)


def test_the_ready_report_names_every_graded_function_past_any_cap(tmp_path: Path) -> None:
    path = tmp_path / "ps3.py"
    path.write_text("from numpy import *\n\ndef zz_last(x):\n    return x\n\nzz_constant = 3\n")
    with Sandbox(path, Limits(call_timeout=5)) as box:
        box.graded_names = frozenset({"zz_last", "zz_constant", "zz_absent", "zeros"})
        report = box.ready()
        assert report.functions[:2] == ["zeros", "zz_last"]  # graded first: bound to callables, in order
        assert "zz_constant" not in report.functions and "zz_absent" not in report.functions
        assert CallGate.started(box).call("zz_last", [4]).value == 4


def test_any_name_is_looked_up_when_it_is_called(tmp_path: Path) -> None:
    """Python checks call names the grader does not know ahead: each is found when called, as ``module.f`` is."""
    path = tmp_path / "ps3.py"
    path.write_text(
        "def _private_helper(x):\n    return x + 1\n\n"
        "def __getattr__(name):\n    if name == 'lazy':\n        return lambda: 'made on demand'\n"
        "    raise AttributeError(name)\n\n"
        "def broken(:\n    pass\n\nlater = None\n\ndef rebind():\n    global later\n    later = lambda: 'bound later'\n"
    )
    with Sandbox(path, Limits(call_timeout=5)) as box:
        gate = call_gate(box)
        assert gate.call("_private_helper", [1]).value == 2
        assert gate.call("lazy", []).value == "made on demand"
        missing = gate.call("later", [])
        assert (missing.kind, missing.reason) == ("skipped", "missing")
        assert gate.call("rebind", []).kind == "returned"
        assert gate.call("later", []).value == "bound later"
        broken = gate.call("broken", [])
        assert (broken.kind, broken.reason) == ("skipped", "not defined") and broken.detail.startswith("SyntaxError at line 9")


def test_a_syntax_error_costs_only_its_block_and_the_future_import_still_applies_after_it(tmp_path: Path) -> None:
    path = tmp_path / "ps3.py"
    path.write_text(
        '"""Doc."""\nfrom __future__ import annotations\n\n'
        "def first(x: Later) -> Later:\n    return x\n\n"
        "def broken(x) -> Later\n    return x\n\n"
        "1 / 0\n\n"
        "def after(x: Later) -> Later:\n    return [x, __doc__, sorted(after.__annotations__.items())]\n\n"
        "class Later:\n    pass\n"
    )
    with Sandbox(path, Limits(call_timeout=5)) as box:
        box.graded_names = frozenset({"first", "broken", "after"})
        report = box.ready()
        assert [(p["type"], p["where"], p["names"]) for p in report.problems] == [
            ("SyntaxError", "line 7", ["broken"]),
            ("ZeroDivisionError", "line 10", []),
        ]
        assert report.functions[:2] == ["after", "first"]
        assert CallGate.started(box).call("after", [1]).value == [1, "Doc.", [("return", "Later"), ("x", "Later")]]


# Statements with lines at column 0 inside them: valid Python, and each must survive another block's syntax error.
COLUMN_ZERO_INSIDE = {
    "docstring": 'def f():\n    """Counts.\n\nEach unit has a bias.\n"""\n    return 1\n',
    "string": 'TEXT = """\nrow one\nrow two\n"""\n\ndef f():\n    return len(TEXT.split())\n',
    "brackets": "TABLE = {\n'a': 1,\n'b': 2,\n}\n\ndef f():\n    return TABLE['b']\n",
    "arguments": "def f(a=1,\nb=2):\n    return a + b\n",
    "backslash": "def f():\n    return 1 + \\\n2\n",
}


@pytest.mark.parametrize("shape", sorted(COLUMN_ZERO_INSIDE))
def test_a_syntax_error_elsewhere_does_not_cut_a_statement_with_lines_at_column_zero(shape: str, tmp_path: Path) -> None:
    path = tmp_path / "ps3.py"
    broken = "def unfinished(maps):\n    for m in maps\n        print(m)\n"
    path.write_text(f"{COLUMN_ZERO_INSIDE[shape]}\n\n{broken}\n\ndef g():\n    return 'after'\n")
    with Sandbox(path, Limits(call_timeout=5)) as box:
        report = box.ready()
        assert [(p["type"], p["names"]) for p in report.problems] == [("SyntaxError", ["unfinished"])], report.problems
        gate = CallGate.started(box)
        assert gate.call("f", []).kind == "returned" and gate.call("g", []).value == "after"


def test_top_level_code_that_runs_too_long_costs_only_what_comes_after_it(tmp_path: Path) -> None:
    """A benchmark left at the end of a file: what it defined before still counts, what comes after is named as not run."""
    path = tmp_path / "ps3.py"
    path.write_text("def before():\n    return 'before'\n\nimport time\ntime.sleep(60)\n\ndef after():\n    return 'after'\n")
    with Sandbox(path, Limits(call_timeout=5, import_timeout=3)) as box:
        box.graded_names = frozenset({"before", "after"})
        report = box.ready()
        assert not report.fatal, report.fatal
        [stopped] = [p for p in report.problems if p["type"] == "LoadingTooLong"]
        assert "took longer than 2.7 s: the rest of the file (after this line) was not run" in stopped["message"], stopped
        assert stopped["where"] == "line 5" and stopped["names"] == ["after"], stopped
        gate = CallGate.started(box)
        assert gate.call("before", []).value == "before"
        assert gate.call("after", []).kind == "skipped"


def test_top_level_code_that_swallows_the_stop_still_ends_the_loading_after_its_statement(tmp_path: Path) -> None:
    """The loader itself, in this process: a loop that catches every exception finishes its statement, and the next
    statement is not run."""
    from autograder.sandbox import loader

    path = tmp_path / "swallows.py"
    path.write_text(
        "import time\nfor _ in range(6):\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass\n\n"
        "def after():\n    return 'after'\n"
    )
    module, problems = loader.import_submission(str(path), None, seconds=0.25)
    try:
        assert [(p["type"], p["where"], p["names"]) for p in problems] == [("LoadingTooLong", "line 2", ["_", "after"])], problems
        assert not hasattr(module, "after")
    finally:
        sys.modules.pop(module.__name__, None)


def test_what_python_refuses_only_in_the_whole_file_costs_only_that_statement(tmp_path: Path) -> None:
    """A late ``from __future__`` import and ``global x`` after ``x =`` make Python refuse the file: here, only themselves."""
    path = tmp_path / "ps3.py"
    path.write_text(
        "x = 1\n\ndef before():\n    return 'before'\n\nfrom __future__ import annotations\n\n"
        "global x\n\ndef after(y: Undefined):\n    return 'after'\n"
    )
    with Sandbox(path, Limits(call_timeout=5)) as box:
        report = box.ready()
        assert sorted((p["where"], p["type"]) for p in report.problems) == [
            ("line 10", "NameError"),
            ("line 6", "SyntaxError"),
            ("line 8", "SyntaxError"),
        ]  # no future import: Undefined is looked up
        assert [p["names"] for p in report.problems if p["where"] == "line 10"] == [["after"]]
        assert any("from __future__ imports must occur at the beginning of the file" in p["message"] for p in report.problems)
        assert CallGate.started(box).call("before", []).value == "before"


def test_a_file_named_after_a_real_module_does_not_shadow_it(tmp_path: Path) -> None:
    for name, expected in (("json.py", "submission"), ("ps3 (1).py", "submission"), ("class.py", "submission"), ("hw3.py", "hw3")):
        path = tmp_path / name
        path.write_text("import json, sys\n\ndef who():\n    return [__name__, json.dumps([1]), sys.modules[__name__].who is who]\n")
        with Sandbox(path, Limits(call_timeout=5)) as box:
            assert CallGate.started(box).call("who", []).value == [expected, "[1]", True], name


def test_a_module_getattr_that_exits_or_prints_costs_only_the_names_it_serves(tmp_path: Path) -> None:
    path = tmp_path / "ps3.py"
    path.write_text(
        "def add(a, b):\n    return a + b\n\n"
        "def __getattr__(name):\n    print('looked up', name)\n    raise SystemExit(f'no {name} here')\n"
    )
    with Sandbox(path, Limits(call_timeout=5)) as box:
        box.graded_names = frozenset({"add", "served"})
        report = box.ready()
        assert report.functions == ["add"] and report.problems == [] and not report.fatal
        assert "looked up served" in report.output  # the report's own lookups print as loading the file does
        served = CallGate.started(box).call("served", [])
        assert served.kind == "raised" and served.error["type"] == "SystemExit" and "looked up served" in served.output
        assert CallGate.started(box).call("add", [1, 2]).value == 3  # the worker survived both


PRIVATE_MODULES = """\
def imports(name):
    import importlib

    try:
        importlib.import_module(name)
    except ImportError as error:
        return type(error).__name__
    return "imported"


def configured():
    import sysconfig

    return bool(sysconfig.get_paths()["stdlib"])
"""


@pytest.mark.parametrize("name", ["_testinternalcapi", "_testcapi", "_ctypes_test", "xxlimited"])
def test_cpythons_test_modules_are_not_the_standard_library(tmp_path: Path, name: str) -> None:
    """The standard library's folder also holds CPython's own test modules, which no program uses:
    ``_testinternalcapi.get_configs()`` showed a worker the grader's command line (red team). Only the modules
    Python lists as its library, and the platform's own that it imports (sysconfig's data), are found."""
    (tmp_path / "ps3.py").write_text(PRIVATE_MODULES)
    with CallGate.started(Sandbox(tmp_path / "ps3.py", Limits(call_timeout=10), packages=["numpy"])) as box:
        assert box.call("imports", [name]).value == "ModuleNotFoundError"
        assert box.call("imports", ["_sqlite3" if name.startswith("_t") else "json"]).value == "imported"
        assert box.call("configured", []).value is True
