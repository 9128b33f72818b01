"""A Jupyter notebook (ps3.ipynb) is graded like the .py file (ps3.py), cell by cell, through the real run_autograder.

The generic tests grade the root assignment's solution as a notebook; those marked ``ps3`` edit PS3's own functions."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox import source

from conftest import REPO, SOLUTION, GradescopeLayout, scores_by_function, total_points

SOURCE = SOLUTION.read_text()
NOTEBOOK = SOLUTION.with_suffix(".ipynb").name  # ps3.ipynb where PS3 is the root assignment
Cell = dict[str, object]  # one notebook cell, as JSON


def _functions_of(text: str) -> dict[str, str]:
    """Each top-level function's source, by name."""
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            segment = ast.get_source_segment(text, node)
            assert segment is not None, node.name
            found[node.name] = segment
    return found


def _all_but_functions(text: str) -> str:
    """The top-level statements other than function definitions (the imports, constants and classes the
    functions need), in their order: what a notebook's first cell holds."""
    tree = ast.parse(text)
    return "".join(f"{ast.get_source_segment(text, node)}\n" for node in tree.body if not isinstance(node, ast.FunctionDef))


FUNCTIONS = _functions_of(SOURCE)
PREAMBLE = _all_but_functions(SOURCE)  # this course's imports: numpy, math, ... whatever its solution uses


def code(text: str, as_lines: bool = True) -> Cell:
    """A code cell; nbformat allows the source as a list of lines (what Jupyter writes) or one string."""
    source = text.splitlines(keepends=True) if as_lines else text
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def markdown(text: str) -> Cell:
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def notebook(*cells: Cell) -> str:
    return json.dumps(
        {
            "cells": list(cells),
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


def functions(*names: str) -> str:
    return "\n\n".join(FUNCTIONS[name] for name in names) + "\n"


# The functions the first test's cells place one by one; any other function of the solution has a last cell.
PLACED = (
    "fc_layer_params",
    "mlp_layer_params",
    "conv_layer_params",
    "conv_output_size",
    "num_conv_layers",
    "conv_classifier_params",
    "conv2d",
    "conv_transpose2d",
    "num_downsampling_layers",
    "downsampling_params",
)


@pytest.mark.ps3
def test_notebook_with_magics_errors_and_a_broken_cell_loses_only_that_cell(gradescope: GradescopeLayout) -> None:
    broken_conv2d = FUNCTIONS["conv2d"].replace("def conv2d(x, kernel):", "def conv2d(x, kernel)")
    gradescope.submit(
        {
            "ps3.ipynb": notebook(
                markdown("# Problem Set 3\nMy answers."),  # cell 1
                code("%matplotlib inline\nimport numpy as np\n!pip install numpy\n"),  # cell 2
                code(functions("fc_layer_params", "mlp_layer_params"), as_lines=False),  # cell 3
                code("%%time\n" + functions("conv_layer_params", "conv_output_size", "num_conv_layers", "conv_classifier_params")),
                code(broken_conv2d),  # cell 5: a syntax error
                code("print(conv2d(I, K))  # a demo that fails at top level\n\n" + functions("conv_transpose2d")),  # cell 6
                markdown("## Q4"),  # cell 7
                code(functions("num_downsampling_layers", "downsampling_params") + "downsampling_params(3, [16], 224, 16, 3)\n"),
                code(functions(*[name for name in FUNCTIONS if name not in PLACED])),  # cell 8: problems added since PS3
            )
        }
    )
    data = gradescope.run()
    assert "Graded `ps3.ipynb`" in data["output"]
    scores = scores_by_function(data)
    assert set(scores) == set(FUNCTIONS)
    losing = {name for name, (earned, possible) in scores.items() if earned < possible}
    assert losing == {"conv2d"}, scores
    assert scores["conv2d"][0] == 0
    assert "SyntaxError at cell 5, line 1" in data["output"] and "(affects conv2d)" in data["output"]
    assert "NameError at cell 6, line 1" in data["output"]
    conv2d_outputs = [t["output"] for t in data["tests"] if t.get("tags", [None])[0] == "conv2d" and "hidden" not in t["tags"]]
    assert all("could not be defined (SyntaxError at cell 5" in output for output in conv2d_outputs)


def test_notebook_solution_gets_full_marks(gradescope: GradescopeLayout) -> None:
    cells = [code(PREAMBLE)] + [code(text + "\n") for text in FUNCTIONS.values()]
    gradescope.submit({NOTEBOOK: notebook(*cells)})
    data = gradescope.run()
    assert data["score"] == total_points()
    assert "Problems loading your file" not in data["output"]


def test_imports_timed_with_a_line_magic_run_as_jupyter_runs_them(gradescope: GradescopeLayout) -> None:
    """``%time import numpy as np`` runs the import in the notebook's namespace: the functions after it find np.

    The solution's own imports are timed; a solution that imports nothing (a course on the standard library's
    builtins) times a harmless one, and its functions use that name through one of their own.
    """
    timed = "".join(f"%time {line}" if line.startswith(("import ", "from ")) else line for line in PREAMBLE.splitlines(keepends=True))
    if "%time import" not in timed and "%time from" not in timed:
        timed = "%time import builtins as timed_builtins\n" + timed
        assert "builtins" not in PREAMBLE
        timed += "\ntimed_builtins.len('bound')\n"  # a NameError, reported as a problem loading the file, if not
    gradescope.submit({NOTEBOOK: notebook(code(timed), *[code(text + "\n") for text in FUNCTIONS.values()])})
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)
    assert "Problems loading your file" not in data["output"], data["output"]


def test_a_traceback_names_the_cell_and_quotes_its_own_line(gradescope: GradescopeLayout) -> None:
    """Compiled under the converted file's name, a cell's frames quoted that file's line of the same number: another
    cell's code (a fidelity review saw a loop header quoted for a zeros() line)."""
    first, *others = FUNCTIONS
    raising = f"def {first}(*args, **kwargs):\n    raise ValueError('raised on purpose')\n"
    gradescope.submit({NOTEBOOK: notebook(code(PREAMBLE), code(functions(*others) if others else "pass\n"), code(raising))})
    data = gradescope.run()
    shown = "\n".join(test.get("output", "") for test in data["tests"] if f"`{first}(" in test.get("output", ""))
    assert f'File "{SOLUTION.stem}.ipynb, cell 3", line 2, in {first}' in shown, shown[:2000]
    assert "raise ValueError('raised on purpose')" in shown


def test_a_file_that_is_not_a_notebook_still_gets_a_valid_result(gradescope: GradescopeLayout) -> None:
    gradescope.submit({NOTEBOOK: SOURCE})  # a .py file renamed: not JSON
    data = gradescope.run()
    assert data["score"] == 0
    assert f"{NOTEBOOK} is not a notebook Jupyter can open" in data["output"]


@pytest.mark.ps3
def test_percent_and_bang_continuing_an_expression_are_python_not_magics(gradescope: GradescopeLayout) -> None:
    layers = """def num_downsampling_layers(size_in, size_latent, kernel_size):
    if size_latent > size_in:
        raise ValueError("a conv stack cannot grow the input")
    if kernel_size == 1 and size_in != size_latent:
        raise ValueError("1x1 convolutions never shrink the input")
    if ((size_in - size_latent)
            % (kernel_size - 1)
            != 0):
        raise ValueError("no whole number of layers")
    return ((size_in - size_latent)
            // (kernel_size - 1))
"""
    gradescope.submit({"ps3.ipynb": notebook(code(SOURCE.replace(FUNCTIONS["num_downsampling_layers"], layers)))})
    data = gradescope.run()
    assert data["score"] == total_points(), [
        (t["name"], t.get("output", "")[:300]) for t in data["tests"] if t.get("score") != t.get("max_score")
    ]


def test_a_file_that_is_not_a_notebook_gets_a_clear_message(gradescope: GradescopeLayout) -> None:
    gradescope.submit({NOTEBOOK: "{ this is not json"})
    data = gradescope.run()
    assert data["score"] == 0
    assert "not a notebook Jupyter can open" in data["output"]
    assert all("could not be loaded" not in t.get("output", "") or len(t["output"]) < 200 for t in data["tests"])


def test_a_cell_with_null_source_is_skipped(gradescope: GradescopeLayout) -> None:
    empty = code("")
    empty["source"] = None
    gradescope.submit({NOTEBOOK: notebook(empty, code(SOURCE))})
    assert gradescope.run()["score"] == total_points()


def test_a_help_line_and_a_time_cell_keep_their_functions(gradescope: GradescopeLayout) -> None:
    names = list(FUNCTIONS)
    half = (len(names) + 1) // 2  # a course may grade one function: then the second cell defines none
    first, rest = names[:half], names[half:]
    gradescope.submit(
        {
            NOTEBOOK: notebook(
                code(PREAMBLE + "import numpy as np\nnp.zeros?\n" + functions(*first) + f"?{names[-1]}\n"),
                code("%%time\n" + functions(*rest) + "\npass\n"),
            )
        }
    )
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)
    assert "Problems loading your file" not in data["output"]


def test_display_is_there_as_in_jupyter(gradescope: GradescopeLayout) -> None:
    """Jupyter makes ``display`` a builtin: a notebook that shows its work with it loads as it runs there."""
    gradescope.submit({NOTEBOOK: notebook(code(PREAMBLE + "import numpy as np\ndisplay(np.eye(2), 'shown')\n" + functions(*FUNCTIONS)))})
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)
    assert "Problems loading your file" not in data["output"], data["output"]


def test_a_version_3_notebook_gets_full_marks(gradescope: GradescopeLayout) -> None:
    def v3_code(text: str) -> Cell:
        return {
            "cell_type": "code",
            "collapsed": False,
            "input": text.splitlines(keepends=True),
            "language": "python",
            "metadata": {},
            "outputs": [],
        }

    cells = [
        {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["My answers"]},
        v3_code(PREAMBLE + "%matplotlib inline\n"),
    ] + [v3_code(text + "\n") for text in FUNCTIONS.values()]
    gradescope.submit(
        {
            NOTEBOOK: json.dumps(
                {"metadata": {"name": SOLUTION.stem}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": cells, "metadata": {}}]}
            )
        }
    )
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)


@pytest.mark.parametrize("layout", ["version 4, one list of cells", "version 3, a worksheet a cell"])
def test_a_notebook_of_too_many_cells_is_refused_whole_before_any_reading(layout: str) -> None:
    """The red team's 80,000 worksheets (1.8 MB) cost the grader 51 s of CPU, gathered pairwise; 21,000 empty
    cells 2.4 s in nbformat. Past MAX_CELLS the notebook is not read, and the student is told why and what to do."""
    cell: Cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "x = 1\n", "execution_count": None}
    count = source.MAX_CELLS + 1
    if layout.startswith("version 4"):
        document = {"cells": [cell] * count, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    else:
        document = {"worksheets": [{"cells": [cell]}] * count, "metadata": {}, "nbformat": 3, "nbformat_minor": 0}
    converted = source.notebook_source(json.dumps(document).encode(), "ps3.ipynb")
    assert converted.data == b"" and len(converted.problems) == 1
    assert f"ps3.ipynb has more than {source.MAX_CELLS:,} cells" in converted.problems[0]["message"]
    assert "submit ps3.py" in converted.problems[0]["message"]
    document["cells" if layout.startswith("version 4") else "worksheets"] = (
        [cell] * source.MAX_CELLS if layout.startswith("version 4") else [{"cells": [cell]}] * source.MAX_CELLS
    )
    assert not source.notebook_source(json.dumps(document).encode(), "ps3.ipynb").problems  # at the limit: read


@pytest.mark.parametrize("where", ["empty worksheets", "a key nbformat does not know"])
def test_a_notebook_of_too_many_json_objects_is_refused_whole(where: str) -> None:
    """The red team's 2 MB notebooks of 660,000 empty mappings, as worksheets or under an unknown key, made the
    grader hold 900 MB before any worker started. Past MAX_JSON_OBJECTS mappings nothing of the file is read."""
    document: dict[str, object] = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    if where == "empty worksheets":
        document = {"worksheets": [{}] * (source.MAX_JSON_OBJECTS + 1), "metadata": {}, "nbformat": 3, "nbformat_minor": 0}
    else:
        document["junk"] = [{}] * (source.MAX_JSON_OBJECTS + 1)
    converted = source.notebook_source(json.dumps(document).encode(), "ps3.ipynb")
    assert converted.data == b"" and len(converted.problems) == 1
    assert f"ps3.ipynb holds more than {source.MAX_JSON_OBJECTS:,} JSON objects" in converted.problems[0]["message"]


def test_nbformat_is_given_only_what_conversion_reads_whatever_else_the_file_holds() -> None:
    """Unknown keys, worksheets' and cells' extra fields never reach nbformat: the grader rebuilds the document."""
    cell = {"cell_type": "code", "metadata": {"x": [{}] * 50}, "outputs": [{}] * 50, "source": "def f():\n    return 1\n"}
    document = {"cells": [{**cell, "junk": [{}] * 50}], "metadata": {"k": {}}, "nbformat": 4, "nbformat_minor": 5, "junk": [{}] * 1000}
    assert json.loads(source._essentials(json.dumps(document).encode())) == {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [{"cell_type": "code", "metadata": {}, "source": "def f():\n    return 1\n", "outputs": [], "execution_count": None}],
    }


# --------------------------------------------------------------------------- an environment that cannot read notebooks

# Run as ``python -c``: the named packages made unimportable (None in sys.modules), then the command line.
WITHOUT_PACKAGES = (
    "import sys\nfor name in sys.argv[1].split(','):\n    sys.modules[name] = None\n"
    "from autograder.apps.cli import main\nsys.exit(main(sys.argv[2:]))\n"
)


def _grade_without(packages: str, submission: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", WITHOUT_PACKAGES, packages, "grade", str(submission), "--problems", str(REPO / "problems")]
    return subprocess.run(command, cwd=submission.parent, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize(("blocked", "lacking"), [("nbformat,IPython", "nbformat and ipython"), ("IPython", "ipython")])
def test_a_notebook_where_its_readers_are_missing_blames_the_environment_and_says_what_to_run(
    tmp_path: Path, blocked: str, lacking: str
) -> None:
    notebook_path = tmp_path / NOTEBOOK
    notebook_path.write_text(notebook(code(SOURCE)))
    graded = _grade_without(blocked, notebook_path)
    said = " ".join((graded.stdout + graded.stderr).split())  # the table wraps long lines
    assert f"this Python environment lacks {lacking}, which the autograder needs to read notebooks" in said, said
    wanted = [requirement for module, requirement in source.NOTEBOOK_READERS.items() if module.split(".")[0] in blocked.split(",")]
    assert f"{sys.executable} -m pip install {' '.join(wanted)}" in said
    assert "nothing is wrong with your file" in said
    assert "not a notebook Jupyter can open" not in said and "defines no function" not in said


def test_a_python_file_needs_no_notebook_reader(tmp_path: Path) -> None:
    path = tmp_path / SOLUTION.name
    path.write_text(SOURCE)
    graded = _grade_without("nbformat,IPython", path)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "lacks" not in graded.stdout


def test_the_notebook_readers_are_pinned_as_pyproject_pins_them() -> None:
    pins = set(re.findall(r'"((?:nbformat|ipython)==[^";]+)"', (REPO / "pyproject.toml").read_text()))
    assert set(source.NOTEBOOK_READERS.values()) == pins


@pytest.mark.ps3
def test_future_imports_of_one_cell_apply_to_the_cells_after_it(gradescope: GradescopeLayout) -> None:
    annotated = FUNCTIONS["conv2d"].replace("def conv2d(x, kernel):", "def conv2d(x: Image, kernel: Image) -> Image:")
    gradescope.submit(
        {
            "ps3.ipynb": notebook(
                code("from __future__ import annotations\nimport numpy as np\n"),
                code(annotated + "\n"),
                code(functions(*[name for name in FUNCTIONS if name != "conv2d"])),
                code("class Image(np.ndarray):\n    pass\n"),
            )
        }
    )
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)
    assert "Problems loading your file" not in data["output"]


def test_a_notebook_exported_as_a_python_file_keeps_its_time_cells_functions(gradescope: GradescopeLayout) -> None:
    """Jupyter's "Download as .py" (nbconvert) writes each cell as IPython's own transformer rewrites it: a
    ``%%time`` cell becomes ``get_ipython().run_cell_magic('time', '', code)``. Submitted as ps3.py, the functions
    of that cell were lost (NameError: get_ipython), where the .ipynb got full marks (fidelity round 5)."""
    from IPython.core.inputtransformer2 import TransformerManager

    names = list(FUNCTIONS)
    half = (len(names) + 1) // 2
    cells = [PREAMBLE + "%matplotlib inline\n" + functions(*names[:half]), "%%time\n" + functions(*names[half:]), "%timeit 1 + 1\n"]
    exported = "".join(f"\n# In[{number}]:\n\n\n{TransformerManager().transform_cell(cell)}\n" for number, cell in enumerate(cells, 1))
    assert "get_ipython().run_cell_magic('time'" in exported  # IPython's own rewriting, as nbconvert does it
    gradescope.submit({SOLUTION.name: "#!/usr/bin/env python\n# coding: utf-8\n" + exported})
    data = gradescope.run()
    assert data["score"] == total_points(), scores_by_function(data)
    assert "Problems loading your file" not in data["output"], data["output"]
