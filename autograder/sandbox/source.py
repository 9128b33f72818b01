"""The Python text the worker loads for a submission: a .py file as it is, a notebook converted.

A notebook is read with nbformat (any version, normalised to v4) and each code
cell is turned into Python by IPython's own input transformer, exactly as
Jupyter would run it: ``%magic``, ``!cmd``, ``obj?`` and ``%%cell`` magics
become calls of ``get_ipython()``, which the worker answers with a stub that
does nothing. Cell magics whose body Jupyter runs as ordinary code in the
notebook's namespace (``%%time``, ``%%capture``, ``%%prun``) keep that body as
Python, so the functions defined under them are graded; so does the statement
on a ``%time`` line (``%time import numpy as np``). Two bounds keep this work,
which runs in the grader, small whatever a notebook holds: nbformat sees only
each cell's type and a code cell's source (outputs, metadata and attachments
are emptied first), and IPython may read a cell only once more than the lines
that may hold its syntax, past which the cell is loaded as plain Python.

The cells are joined into one file, each after a marker line naming it; the
marker carries a random token the worker receives separately, so no line a
student wrote can pass for one. The worker splits the file at the markers and
loads each cell on its own (a syntax error costs only its cell), with line
numbers counted from the cell's first line, as Jupyter counts them.

This runs in the grader, never beside student code; nbformat and IPython are
imported only when a notebook is graded. Where they cannot be imported (a kit
set up without them), the notebook is not graded, and the message says it is
the environment's fault and the command that fixes it: never the file's.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from autograder.boundary import ErrorReport
from autograder.sandbox.loader import CELL_MAGICS_RUN_AS_CODE, NEUTRAL_MODULE_NAME

if TYPE_CHECKING:  # IPython is imported only when a notebook is graded
    from IPython.core.inputtransformer2 import TransformerManager

# What reads a notebook: each module the converter imports, and the requirement that installs it, pinned
# as pyproject.toml pins it (tests/test_notebook.py holds the two equal).
NOTEBOOK_READERS = {"nbformat": "nbformat==5.11.1", "IPython.core.inputtransformer2": "ipython==8.39.0"}
# IPython re-tokenises a whole cell after each piece of special syntax it rewrites, so a cell's cost
# grows with its size times its magics. Past this many characters x magics in one notebook (a few
# seconds), cells are loaded as plain Python and a problem says so.
TRANSFORM_BUDGET = 2_000_000
# Cells in one notebook: nbformat and the converter work per cell, so 21,000 empty cells in a 2 MB file cost the
# grader seconds (a red-team pass). A long course notebook has a few hundred.
MAX_CELLS = 5_000
MAX_JSON_OBJECTS = 200_000  # mappings in the file, outputs and metadata included: a long course notebook has a few thousand
# A line that may hold IPython syntax: an escape opening a line, a trailing ?, or x = %magic / x = !cmd.
# A pattern, compiled on first use (only a notebook needs it).
_SPECIAL_LINE = r"(?m)^[ \t]*[!%?,;/]|\?[ \t]*(#.*)?$|=[ \t]*[!%]"


@dataclass
class SubmissionSource:
    """What the worker loads: ``data`` saved as ``name`` in its folder."""

    name: str
    data: bytes
    cell_marker: str | None = None  # notebooks: the token in the marker line before each cell
    problems: list[ErrorReport] = field(default_factory=list)  # to report as problems loading the file
    fatal: str = ""  # why nothing can be loaded, no fault of the file's: the worker is not started


def marker_line(number: int, token: str) -> str:
    """The line before cell ``number`` in a converted notebook (the worker matches it exactly)."""
    return f"# ---- cell {number} ---- {token}"


def load(path: Path) -> SubmissionSource:
    """The Python source for the submission at ``path``: a .py file's bytes unchanged, a notebook converted."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix.lower() != ".ipynb":
        return SubmissionSource(path.name, data)
    return notebook_source(data, path.name)


def notebook_source(data: bytes, name: str = f"{NEUTRAL_MODULE_NAME}.ipynb") -> SubmissionSource:
    """A notebook's code cells as one Python file, or an empty file and one problem if it cannot be read."""
    python_name = str(Path(name).with_suffix(".py"))
    missing = missing_notebook_readers()
    if missing:
        return SubmissionSource(python_name, b"", fatal=missing_readers_message(missing, name))
    try:
        cells = _read_cells(data)
    except NotebookTooLarge as large:
        message = f"{name} {large}, more than the autograder reads: merge cells and clear outputs, or submit {python_name}"
        return SubmissionSource(python_name, b"", problems=[_problem("NotebookError", "the notebook file", message)])
    except Exception:  # noqa: BLE001 - whatever nbformat makes of a broken file, the student gets one message
        problem = _problem(
            "NotebookError", "the notebook file", f"{name} is not a notebook Jupyter can open: save it again, or submit {python_name}"
        )
        return SubmissionSource(python_name, b"", problems=[problem])
    token = os.urandom(8).hex()
    parts = ["# -*- coding: utf-8 -*-\n", f"# The code cells of {name}, converted to Python by the autograder.\n"]
    problems: list[ErrorReport] = []
    budget = TRANSFORM_BUDGET
    for number, text in cells:
        first_line = next((line for line in text.splitlines() if line.strip()), "")
        written = re.fullmatch(r"\s*%%writefile\s+(?:-a\s+)?(\S+\.py)\s*", first_line)
        if written:  # a Colab habit: the cell saves a module that a later cell imports
            problems.append(
                _problem(
                    "NotebookError",
                    f"cell {number}",
                    f"cell {number} saves its code as {written.group(1)} with %%writefile, which does not run here, so a "
                    "later import of that module fails. Define the functions in the notebook's own code cells instead.",
                )
            )
        special = len(re.findall(_SPECIAL_LINE, text))
        try:
            if special * len(text) > budget:
                raise TooMuchSyntax
            budget -= special * len(text)
            python = cell_python(text, special)
        except TooMuchSyntax:
            python = text
            problems.append(
                _problem(
                    "NotebookError",
                    f"cell {number}",
                    f"cell {number} has too much IPython syntax (%, !, ?) for the grader to convert; it was loaded as plain Python",
                )
            )
        parts += [marker_line(number, token), "\n", python, "" if python.endswith("\n") or not python else "\n"]
    return SubmissionSource(python_name, "".join(parts).encode("utf-8", errors="backslashreplace"), token, problems)


def missing_notebook_readers() -> list[str]:
    """The requirements of NOTEBOOK_READERS whose module cannot be imported here."""
    import importlib

    missing = []
    for module, requirement in NOTEBOOK_READERS.items():
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - absent or broken, it cannot read the notebook either way
            missing.append(requirement)
    return missing


def missing_readers_message(missing: list[str], name: str) -> str:
    """Why ``name`` cannot be graded here, when the packages that read notebooks are ``missing``, and what to run."""
    import shlex  # only for this message: a grade does not import it

    packages = " and ".join(requirement.split("==")[0] for requirement in missing)
    command = shlex.join([sys.executable, "-m", "pip", "install", *missing])
    return (
        f"{name} was not read: this Python environment lacks {packages}, which the autograder needs to read "
        f"notebooks (nothing is wrong with your file). Run `{command}`, then try again."
    )


def _read_cells(data: bytes) -> list[tuple[int, str]]:
    """(number, source) of each code cell; cells are numbered as Jupyter shows them, markdown included."""
    import nbformat
    from nbformat.warnings import DuplicateCellId, MissingIDFieldWarning

    for category in (MissingIDFieldWarning, DuplicateCellId):  # notes for notebook authors, not for graders
        warnings.filterwarnings("ignore", category=category)
    notebook = nbformat.reads(_essentials(data), as_version=4)
    cells = []
    for number, cell in enumerate(notebook["cells"], 1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        if isinstance(source, list):
            source = "".join(line for line in source if isinstance(line, str))
        cells.append((number, source if isinstance(source, str) else ""))
    return cells


def _essentials(data: bytes) -> str:
    """The notebook rebuilt from what conversion reads, and nothing else: its version, and each cell's type and,
    for a code cell, its source (empty fields where nbformat's schema wants them).

    nbformat makes an object of every value and checks each against its schema: 2 MB of empty mappings in the
    metadata cost the grader 375 MB, 38,000 outputs half a minute, and 660,000 empty worksheets or mappings under
    an unknown key 900 MB (red-team passes). So nothing else of the file reaches it, and the file's own JSON may
    hold at most MAX_JSON_OBJECTS mappings and MAX_CELLS cells, or it is not read at all.
    """
    import json

    objects = 0

    def counted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal objects
        objects += 1
        if objects > MAX_JSON_OBJECTS:
            raise NotebookTooLarge(f"holds more than {MAX_JSON_OBJECTS:,} JSON objects")
        return dict(pairs)

    document = json.loads(data.decode("utf-8-sig"), object_pairs_hook=counted)
    if not isinstance(document, dict):
        raise ValueError("a notebook is a JSON object")
    version = document.get("nbformat")
    sheets = [sheet for sheet in _listed(document, "worksheets") if isinstance(sheet, dict)]  # version 3
    found = [*_listed(document, "cells"), *(cell for sheet in sheets for cell in _listed(sheet, "cells"))]
    if len(found) > MAX_CELLS:
        raise NotebookTooLarge(f"has more than {MAX_CELLS:,} cells")
    source_key = "input" if version == 3 else "source"
    cells = []
    for cell in found:
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        if not isinstance(kind, str):
            continue
        text = cell.get(source_key) if kind == "code" else ""
        kept: dict[str, Any] = {"cell_type": kind, "metadata": {}, source_key: text if isinstance(text, (str, list)) else ""}
        if version == 3:
            kept.update({"language": "python", "collapsed": False, "outputs": []} if kind == "code" else {})
            kept.update({"level": cell["level"]} if kind == "heading" and isinstance(cell.get("level"), int) else {})
        elif kind == "code":
            kept.update({"outputs": [], "execution_count": None})
        cells.append(kept)
    minor = document.get("nbformat_minor") if isinstance(document.get("nbformat_minor"), int) else 0
    rebuilt: dict[str, Any] = {"nbformat": version, "nbformat_minor": minor, "metadata": {}}
    rebuilt.update({"worksheets": [{"cells": cells, "metadata": {}}]} if version == 3 else {"cells": cells})
    return json.dumps(rebuilt)


def _listed(mapping: dict[str, Any], key: str) -> list[Any]:
    value = mapping.get(key)
    return value if isinstance(value, list) else []


class NotebookTooLarge(ValueError):
    """A notebook past MAX_CELLS cells or MAX_JSON_OBJECTS mappings: not read at all; the message says which."""


class TooMuchSyntax(Exception):
    """A cell would cost IPython more readings than its budget: it is loaded as plain Python, with a note."""


def cell_python(text: str, special: int) -> str:
    """One code cell as the Python IPython runs for it, with the cell's line numbers kept.

    ``special`` is how many lines may hold IPython syntax (``_SPECIAL_LINE``): IPython reads the whole cell again
    after each construct it rewrites, so it is allowed one pass more than that and raises TooMuchSyntax past it.
    With 0, only IPython's clean-up (pasted ``>>>`` prompts, a cell indented as a whole) is applied. Counted as the
    budget counts them: syntax the pattern misses (a form feed after ``=``) can no longer make IPython read a large
    cell hundreds of times.
    """
    lines = text.splitlines(keepends=True)
    if not any(line.strip() for line in lines):
        return "\n" * len(lines)
    blank = 0
    while not lines[blank].strip():  # IPython drops leading blank lines; they are put back below
        blank += 1
    first = blank
    while first < len(lines) and _cell_magic(lines[first]) in CELL_MAGICS_RUN_AS_CODE:
        lines[first] = "# " + lines[first]  # %%time: Jupyter runs the body as code, here the body is the code
        first += 1
    for index in range(first, len(lines)):  # %time import numpy as np: Jupyter runs the statement in the notebook
        timed = re.match(r"([ \t]*)%time[ \t]+(?=\S)", lines[index])
        if timed:
            lines[index] = timed.group(1) + lines[index][timed.end() :]
    try:
        transformer = _transformer(passes=special + 1)
        if special:
            python: str = transformer.transform_cell("".join(lines[blank:]))
        else:
            rest = lines[blank:]
            # IPython declares them as list[object]; each takes and returns a cell's lines.
            for transform in cast("list[Callable[[list[str]], list[str]]]", transformer.cleanup_transforms):
                rest = transform(rest)
            python = "".join(rest)
    except TooMuchSyntax:
        raise
    except Exception:  # noqa: BLE001 - IPython gives up on some text; the worker then reports it as Python does
        python = "".join(lines[blank:])
    return "\n" * blank + python


def _cell_magic(line: str) -> str | None:
    words = line[2:].split() if line.startswith("%%") else []
    return words[0] if words else None


def _transformer(passes: int) -> TransformerManager:
    """IPython's TransformerManager, made to keep a cell's line count when it joins continued lines, and to read
    the cell at most ``passes`` times (IPython's own limit is 500 whole readings of it)."""
    from IPython.core.inputtransformer2 import TransformerManager

    class LineKeepingTransformer(TransformerManager):
        def do_one_token_transform(self, lines: list[str]) -> tuple[bool, list[str]]:
            changed, new = super().do_one_token_transform(lines)
            return changed, _pad(lines, new)

        def do_token_transforms(self, lines: list[str]) -> list[str]:
            for _ in range(passes):
                changed, lines = self.do_one_token_transform(lines)
                if not changed:
                    return lines
            raise TooMuchSyntax(f"more IPython syntax than the {passes - 1} lines counted")

    return LineKeepingTransformer()


def _pad(old: list[str], new: list[str]) -> list[str]:
    """``new`` with blank lines after the part that changed, if it has fewer lines than ``old``.

    ``!pip install \\`` continued on the next line becomes one call on one line;
    the blank line after it keeps every later line where the student sees it.
    """
    missing = len(old) - len(new)
    if missing <= 0:
        return new
    head = 0
    while head < len(new) and new[head] == old[head]:
        head += 1
    tail = 0
    while tail < len(new) - head and new[-1 - tail] == old[-1 - tail]:
        tail += 1
    cut = len(new) - tail
    return [*new[:cut], *["\n"] * missing, *new[cut:]]


def _problem(kind: str, where: str, message: str) -> ErrorReport:
    return {"type": kind, "mro": [], "traceback": "", "where": where, "names": [], "message": message}
