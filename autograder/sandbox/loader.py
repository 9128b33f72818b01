"""Loading a submission in the worker, and describing the errors it raises.

Worker-side code (see ``worker.py``): standard library only, and nothing
from the ``autograder`` package, because it runs beside student code.
"""

from __future__ import annotations

import io
import itertools
import os
import sys

MAX_TEXT = 4000  # characters of an exception message or traceback sent back
MAX_PROBLEMS = 40  # problems reported from loading the submission


def describe(error: BaseException) -> dict:
    import traceback

    # The student's own frames, named by file name: the worker's frames and folders are noise to them.
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != "<string>"]
    for frame in frames:
        frame.filename = os.path.basename(frame.filename)
    lines = (["Traceback (most recent call last):\n"] if frames else []) + traceback.format_list(frames)
    lines += traceback.format_exception_only(type(error), error)
    # A SyntaxError's own text repeats a file and line that are the chunk's, not the file's: its message alone.
    message = error.msg if isinstance(error, SyntaxError) and isinstance(error.msg, str) else str(error)
    return {
        "type": type(error).__name__[:80],
        "mro": [cls.__name__[:80] for cls in type(error).__mro__][:20],
        "message": message[:MAX_TEXT],
        "traceback": "".join(lines)[-MAX_TEXT:],
    }


def _where(label: str, line: int) -> str:
    """"line 12" in a .py file, "cell 3, line 2" in a notebook."""
    return f"line {line}" if label == "module" else f"{label}, line {line}"


def import_submission(path: str, cell_marker: str | None = None) -> tuple[dict, list]:
    """Run the submission's top-level statements one by one.

    Statement by statement rather than a plain import, so that a syntax error
    or an exception in one place costs only the functions it breaks. A notebook
    arrives converted to Python by the grader (``source.py``), each code cell
    after a marker line carrying ``cell_marker``; its cells load one by one.
    """
    import ast
    import re
    import types

    module = types.ModuleType("ps3")
    module.__file__ = path
    sys.modules["ps3"] = module
    if cell_marker is not None:
        module.__dict__["get_ipython"] = get_ipython  # what the grader turned magics into: they do nothing here
    with open(path, "rb") as handle:
        text, problems = _decode(handle.read(), os.path.basename(path))
    for label, chunk_source, first_line in _chunks(path, text, cell_marker):
        try:
            tree = ast.parse(chunk_source, filename=path)
        except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
            names = re.findall(r"^(?:async\s+def|def|class)\s+(\w+)", chunk_source, flags=re.M)
            line = (getattr(error, "lineno", None) or 1) + first_line - 1
            problems.append(dict(describe(error), where=_where(label, line), names=names))
            continue
        ast.increment_lineno(tree, first_line - 1)
        for statement in tree.body:
            try:
                code = compile(ast.Module([statement], []), path, "exec", dont_inherit=True)
                exec(code, module.__dict__)
            except BaseException as error:  # noqa: BLE001 - any failure is the submission's
                problems.append(dict(describe(error), where=_where(label, statement.lineno), names=_statement_names(statement)))
    if len(problems) > MAX_PROBLEMS:  # binary garbage fails in thousands of places; the report stays small
        more = {"type": "...", "mro": [], "traceback": "", "where": "the rest of the file", "names": [],
                "message": f"{len(problems) - MAX_PROBLEMS} more problems are not listed"}
        problems = [*problems[:MAX_PROBLEMS], more]
    return module.__dict__, problems


def _decode(source: bytes, name: str) -> tuple[str, list]:
    """The text of a source file, decoded exactly as Python decodes it (BOM, PEP 263 coding line, else UTF-8).

    A file whose encoding is unknown or wrong gets one problem saying so, and is
    then read as well as it can be (undecodable bytes replaced), so that the
    rest of it can still be graded.
    """
    import importlib.util
    import tokenize

    try:
        return importlib.util.decode_source(source), []
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        try:
            encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
        except (SyntaxError, LookupError):
            encoding = "utf-8"
        if isinstance(error, UnicodeDecodeError):
            line = error.object[: error.start].count(b"\n") + 1
            detail = (f"byte 0x{error.object[error.start]:02x} on line {line} is not valid {error.encoding}: "
                      "save the file as UTF-8 (and remove any coding line)")
        else:
            line = None
            detail = f"{getattr(error, 'msg', None) or error}: save the file as UTF-8 and remove the coding line"
        text = source.decode(encoding, errors="replace")
        problem = {"type": type(error).__name__, "mro": [cls.__name__ for cls in type(error).__mro__], "traceback": "",
                   "where": f"line {line}" if line else "the file's encoding", "names": [],
                   "message": f"{name} could not be read as Python reads it: {detail}"[:MAX_TEXT]}
        return io.IncrementalNewlineDecoder(None, True).decode(text, final=True), [problem]


def _chunks(path: str, text: str, cell_marker: str | None):
    """Yield (label, source, first line) pieces of a module that compile independently.

    A converted notebook yields its code cells; a .py file is one piece, or,
    when it does not parse as a whole, one piece per top-level block.
    """
    lines = text.splitlines(keepends=True)
    if cell_marker is not None:
        import re

        marker = re.compile(rf"# ---- cell (\d+) ---- {re.escape(cell_marker)}")
        label, cell = None, []
        for line in [*lines, f"# ---- cell 0 ---- {cell_marker}"]:
            found = marker.fullmatch(line.rstrip("\r\n"))
            if not found:
                cell.append(line)
                continue
            if label is not None:
                yield label, "".join(cell), 1
            label, cell = f"cell {found.group(1)}", []
        return
    try:
        compile(text, path, "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST
        yield "module", text, 1
        return
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        pass
    starts, previous = [0], ""
    for number, line in enumerate(lines):
        if line[:1] in ("", " ", "\t", "\n", "\r", "#", ")", "]", "}"):
            continue
        continues = line.startswith(("else", "elif", "except", "finally")) or previous.startswith("@")
        if number and not continues:
            starts.append(number)
        previous = line
    starts.append(len(lines))
    for begin, end in itertools.pairwise(starts):
        yield "module", "".join(lines[begin:end]), begin + 1


class _IPythonStub:
    """What ``get_ipython()`` returns in the worker: every method does nothing and returns None."""

    def __getattr__(self, name: str):
        return _does_nothing

    def __repr__(self) -> str:
        return "<get_ipython() stub: magics do nothing in the autograder>"


def _does_nothing(*args, **kwargs) -> None:
    return None


def get_ipython() -> _IPythonStub:
    """Stands in for IPython's ``get_ipython`` in a notebook's namespace."""
    return _IPYTHON


_IPYTHON = _IPythonStub()


def _statement_names(statement) -> list:
    import ast

    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    return [t.id for t in ast.walk(statement) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)]
