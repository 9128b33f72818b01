"""Loading a submission in the worker, and describing the errors it raises.

Worker-side code (see ``worker.py``): standard library only, and nothing
from the ``autograder`` package but the message types (``boundary.py``),
because it runs beside student code.

A valid file loads exactly as ``import`` loads it: a module made from a spec
(``__name__``, ``__file__``, ``__spec__``, ``__loader__``...) and put in
``sys.modules`` before its code runs, then that code, with the ``__future__``
features in force, the docstring and ``__annotations__`` as the compiler makes
them. The one difference is on purpose: the top-level statements run one by
one, so that an exception in one costs only the names it would have bound,
and a file that does not parse is cut into blocks that are loaded on their
own. ``tests/test_loader_differential.py`` holds the two to the same results.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import signal
import sys
import time
import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from autograder.boundary import ErrorReport
from autograder.sandbox.importable import GRADESCOPE_PYTHON
from autograder.sandbox.newer_names import NEWER_NAMES  # here: the worker reads no engine file once confined

if TYPE_CHECKING:  # ast is imported where a file is parsed: a worker that loads nothing broken never pays for it
    import ast

MAX_TEXT = 4000  # characters of an exception message or traceback sent back
MAX_PROBLEMS = 40  # problems reported from loading the submission
MAX_OTHER_FUNCTIONS = 100  # callables named in the ready report besides the graded ones (for display only)
# Cell magics whose body runs in the notebook's own namespace: what it defines exists afterwards (the grader's
# notebook conversion, source.py, and get_ipython().run_cell_magic in a notebook exported as a .py file).
CELL_MAGICS_RUN_AS_CODE = frozenset({"time", "capture", "prun"})
NEUTRAL_MODULE_NAME = "submission"  # the module's name when the file's own name cannot be one
_UNPARSABLE = (SyntaxError, ValueError, MemoryError, RecursionError)  # what compile() raises for text it cannot take
_STARRED_SUBSCRIPT_OR_ANNOTATION = re.compile(r"[\[,:]\s*\*")  # where PEP 646 syntax may be: a[*b], a[x, *b], *args: *Ts
_F_STRING = re.compile(r"(?i)\b(?:f|rf|fr)['\"]")  # where an f-string may start
MAX_JOINED_LINES = 400  # the longest statement a broken file's blocks are joined into (a long docstring's)


_ENGINE_FOLDER = os.path.dirname(__file__) + os.sep  # this module's and worker.py's folder, as their frames name it


def describe(error: BaseException) -> ErrorReport:
    """What the grader is told of an exception the student's code raised: its class, message and their frames.

    Everything read here is the student's to define (``__str__``, a class name, notes, a cause's cycle), so any
    failure to read it gives the bare class name instead of ending the worker (which cost a restart a call and
    told the student their file had stopped the process).
    """
    try:
        return _described(error)
    except BaseException:  # noqa: BLE001 - a hostile exception's text, name or traceback: not worth a worker
        # The classes' own names, read past any metaclass property: a right ``raises:`` still sees its class.
        names = [type.__dict__["__name__"].__get__(cls, type)[:80] for cls in type.__dict__["__mro__"].__get__(type(error), type)]
        return {"type": names[0], "mro": names[:20], "message": "(its message could not be read)", "traceback": ""}


def _described(error: BaseException) -> ErrorReport:
    import traceback

    # The student's own frames (and any library's their code called), named by file name: the worker's and the
    # loader's frames, where the call or the load began, and the folders, are noise to them. They are left out
    # before any line is looked up: the engine's files are beyond what Landlock lets the worker read, and asking
    # linecache for them again at every exception cost ~0.1 ms each. Extracted without column positions, the
    # lines are shown as Python 3.10 shows them, without the markers 3.11 finds by parsing each line again.
    frames = traceback.StackSummary.extract(
        (frame, line)
        for frame, line in traceback.walk_tb(error.__traceback__)
        if frame.f_code.co_filename != "<string>" and not frame.f_code.co_filename.startswith(_ENGINE_FOLDER)
    )
    for frame in frames:
        frame.filename = os.path.basename(frame.filename)
    lines = (["Traceback (most recent call last):\n"] if frames else []) + frames.format()
    lines += traceback.format_exception_only(type(error), error)
    # A SyntaxError's own text repeats a file and line that are the chunk's, not the file's: its message alone.
    message = error.msg if isinstance(error, SyntaxError) and isinstance(error.msg, str) else _text(error)
    return {
        "type": type(error).__name__[:80],
        "mro": [cls.__name__[:80] for cls in type(error).__mro__][:20],
        "message": message[:MAX_TEXT],
        "traceback": "".join(lines)[-MAX_TEXT:],
    }


def _text(error: BaseException) -> str:
    """``str(error)`` as a plain str; a ``__str__`` that raises gives a placeholder, as the traceback module's does."""
    try:
        text = str(error)
    except BaseException:  # noqa: BLE001 - the student's __str__, which may even raise SystemExit
        return "<exception str() failed>"
    return str.__str__(text)  # an exact str: a subclass's own slicing would run the student's code again


def _where(label: str, line: int) -> str:
    """ "line 12" in a .py file, "cell 3, line 2" in a notebook."""
    return f"line {line}" if label == "module" else f"{label}, line {line}"


class LoadingTooLong(BaseException):
    """Raised in the submission's top-level code when loading has used its time (a BaseException, as SystemExit is)."""


def import_submission(
    path: str, cell_marker: str | None = None, seconds: float | None = None, under_main_guard: dict[str, str] | None = None
) -> tuple[types.ModuleType, list[ErrorReport]]:
    """Load the submission at ``path`` as a module; return it and the problems met loading it.

    A notebook arrives converted to Python by the grader (``source.py``), each
    code cell after a marker line carrying ``cell_marker``; its cells load one
    after the other, as Jupyter runs them, each with the ``__future__``
    features of the cells before it. After ``seconds`` the statement running is
    stopped and the rest of the file is not run, so that what it defined
    before still counts: a benchmark left at the end of a file costs only what
    comes after it, not every function (the grader's own deadline, a little
    later, still ends a worker whose code keeps running regardless).
    """
    module = _new_module(module_name(path), path)
    sys.modules[module.__name__] = module  # before any of its code runs, as import does: dataclasses look it up there
    with open(path, "rb") as handle:
        text, problems = _decode(handle.read(), os.path.basename(path))
    if cell_marker is not None or "get_ipython" in text:  # a notebook, or one exported as a .py file (nbconvert)
        module.__dict__["get_ipython"] = get_ipython  # what magics became: they do nothing here, but a cell's code runs
        module.__dict__["display"] = display  # a builtin in Jupyter, which IPython's shell puts there
    loading = _Loading(module.__dict__, path, problems, seconds, under_main_guard)
    with _alarm(seconds):
        if cell_marker is not None:
            for label, cell in _cells(text, cell_marker):
                loading.run(label, cell, filename=_cell_file(path, label, cell))
        else:
            try:
                tree = parse_as_gradescope(text, path, 0)
            except _UNPARSABLE:  # Python would refuse the whole file: each top-level block is given its own chance
                for block, first_line in _blocks(text):
                    loading.run("module", block, first_line)
            else:
                loading.run_tree("module", tree)
    if len(problems) > MAX_PROBLEMS:  # binary garbage fails in thousands of places; the report stays small
        more: ErrorReport = {
            "type": "...",
            "mro": [],
            "traceback": "",
            "where": "the rest of the file",
            "names": [],
            "message": f"{len(problems) - MAX_PROBLEMS} more problems are not listed",
        }
        problems = [*problems[:MAX_PROBLEMS], more]
    return module, problems


def module_name(path: str) -> str:
    """The name the submission is imported under: its file's name, unless that cannot be a module's name.

    ``hw3.py`` is ``hw3``. A name that is not an identifier (``hw3 (1).py``),
    or that an installed module already has (``numpy.py``), would fail or
    shadow that module: the submission is then ``submission``.
    """
    import importlib.util
    import keyword

    stem = os.path.splitext(os.path.basename(path))[0]
    if not stem.isidentifier() or keyword.iskeyword(stem) or stem in sys.modules:
        return NEUTRAL_MODULE_NAME
    try:
        taken = importlib.util.find_spec(stem) is not None  # finds, never imports: the name has no dot
    except (ImportError, ValueError, OSError):
        taken = True
    return NEUTRAL_MODULE_NAME if taken else stem


def _new_module(name: str, path: str) -> types.ModuleType:
    """The empty module ``import`` would make for the file: ``__name__``, ``__file__``, ``__spec__``, ``__loader__``..."""
    import importlib.machinery
    import importlib.util

    # The loader named, as import would choose it for a .py file: without it, a file named PS3.PY (Windows keeps
    # the case it was typed in) has no spec at all, and the worker failed before the student's first line.
    spec = importlib.util.spec_from_file_location(name, path, loader=importlib.machinery.SourceFileLoader(name, path))
    assert spec is not None  # a spec is always made when the loader is given
    return importlib.util.module_from_spec(spec)


def callable_names(module: types.ModuleType, names: list[str]) -> list[str]:
    """The ready report's names: each of ``names`` (the graded ones) bound to a callable, then other callables.

    A graded name is looked up as ``getattr(module, name)`` looks it up, so a
    module ``__getattr__`` (PEP 562) counts. Every graded name is listed when
    bound; the others (for display, and ``from hw3 import *`` in a check) are
    capped, which hides nothing the grader calls.
    """
    graded = [name for name in dict.fromkeys(names) if isinstance(name, str) and lookup(module, name, quiet=True) is not None]
    others = sorted(
        name
        for name, value in vars(module).items()
        if isinstance(name, str)
        and not name.startswith("__")
        and callable(value)
        and value is not get_ipython
        and value is not display
        and name not in graded
    )
    return [*graded, *others[:MAX_OTHER_FUNCTIONS]]


def lookup(module: types.ModuleType, name: str, quiet: bool = False) -> Callable[..., object] | None:
    """What ``module.name`` is, when it is callable; None when the module has no such callable.

    A module ``__getattr__`` that raises anything but AttributeError raises
    here too (as ``from hw3 import f`` would), unless ``quiet``.
    """
    try:
        value = getattr(module, name)
    except AttributeError:
        return None
    except BaseException:
        if quiet:
            return None
        raise
    return value if callable(value) else None


class _Loading:
    """The top-level statements of one submission, run in its module's namespace as a module's code runs.

    Each statement is compiled on its own with the ``__future__`` features of
    the statements before it (as the compiler applies them to the whole file),
    and run; an exception becomes a problem and the next statement runs.
    """

    def __init__(
        self,
        namespace: dict[str, object],
        path: str,
        problems: list[ErrorReport],
        seconds: float | None = None,
        under_main_guard: dict[str, str] | None = None,
    ) -> None:
        self.namespace, self.path, self.problems = namespace, path, problems
        # Each name defined in ``if __name__ == "__main__":``, which an import never runs, and where: said when it
        # is a graded function's (not_run_when_imported), rather than "your file defines no function named ...".
        self.under_main_guard = {} if under_main_guard is None else under_main_guard
        self.code_file = path  # the name the code being run is compiled under (its frames' file name)
        self.flags = 0  # the compiler flags of the __future__ features imported so far
        self.first = True  # only a file's first statement can be its docstring
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.stopped: ErrorReport | None = None  # the problem that says loading stopped; it names what was not run

    def run(self, label: str, source: str, first_line: int = 1, filename: str | None = None) -> None:
        """Run one piece of source (a cell, a block of a broken file) whose lines start at ``first_line``; its code
        is named ``filename`` (a notebook's cell: see :func:`_cell_file`), else the file's path."""
        if self.stopped is not None:
            self.stopped["names"] += _defined_names(source)
            return
        self.code_file = filename or self.path
        try:
            tree = parse_as_gradescope(source, self.code_file, self.flags)
        except _UNPARSABLE as error:
            line = (getattr(error, "lineno", None) or 1) + first_line - 1
            self.problems.append({**describe(error), "where": _where(label, line), "names": _defined_names(source)})
            return
        import ast

        self.run_tree(label, ast.increment_lineno(tree, first_line - 1))

    def run_tree(self, label: str, tree: ast.Module) -> None:
        """Run a parsed module's statements, leaving out those the compiler refuses as part of the module."""
        import ast

        self.problems += _newer_than_gradescope_names(label, tree, self.problems)
        statements, code = self._compilable(label, list(tree.body))
        if code is not None and _sets_up_annotations(code):
            self.namespace.setdefault("__annotations__", {})  # what the compiled module does before its first statement
        for statement in statements:
            if (
                label == "module" and isinstance(statement, ast.If) and _is_main_guard(statement)
            ):  # (a notebook's cell runs it: Jupyter is __main__)
                for node in (inner for part in statement.body for inner in ast.walk(part)):  # not its else: that runs
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        self.under_main_guard.setdefault(node.name, _where(label, node.lineno))
            if self.stopped is not None:
                self.stopped["names"] += _statement_names(statement)
                continue
            first, self.first = self.first, False
            if not first and _is_string_statement(statement):
                continue  # a string that is not the docstring does nothing; compiled alone it would become __doc__
            try:
                code = compile(ast.Module([statement], type_ignores=[]), self.code_file, "exec", self.flags, dont_inherit=True)
                exec(code, self.namespace)
            except LoadingTooLong as error:
                self._stop(error, label, statement)
                continue
            except BaseException as error:  # noqa: BLE001 - any failure is the submission's
                self._problem(error, label, statement)
            else:
                self.flags |= _future_flags(statement)
            if self.deadline is not None and time.monotonic() > self.deadline:  # the alarm was caught, or never came
                self._stop(LoadingTooLong(), label, statement)

    def _stop(self, error: LoadingTooLong, label: str, statement: ast.stmt) -> None:
        """Loading has used its time in ``statement``: it is the last one run, and the problem says so."""
        error.args = (f"loading your file took longer than {self.seconds:g} s: the rest of the file (after this line) was not run",)
        self._problem(error, label, statement)
        self.stopped = self.problems[-1]

    def _compilable(self, label: str, statements: list[ast.stmt]) -> tuple[list[ast.stmt], types.CodeType | None]:
        """The statements without each one that keeps the module from compiling, and the module's code.

        A few errors only show when the statements are compiled together (a
        ``from __future__`` import after other code, ``global x`` after ``x =``):
        Python refuses the file for them; here the statement is left out and
        reported. The code is None when the compiler names no statement to blame.
        """
        import ast

        for _ in range(MAX_PROBLEMS):
            try:
                return statements, compile(ast.Module(statements, type_ignores=[]), self.code_file, "exec", self.flags, dont_inherit=True)
            except _UNPARSABLE as error:
                line = getattr(error, "lineno", None) or 0
                culprit = next((s for s in statements if _first_line(s) <= line <= (s.end_lineno or s.lineno)), None)
                if culprit is None:
                    break
                self._problem(error, label, culprit)
                statements = [s for s in statements if s is not culprit]
        return statements, None  # each statement's own compile reports what is wrong with it

    def _problem(self, error: BaseException, label: str, statement: ast.stmt) -> None:
        self.problems.append({**describe(error), "where": _where(label, statement.lineno), "names": _statement_names(statement)})


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """SIGALRM raises LoadingTooLong in the submission's code after ``seconds`` (None: never)."""
    if seconds is None or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(number: int, frame: types.FrameType | None) -> None:
        raise LoadingTooLong

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def parse_as_gradescope(source: str, path: str, flags: int) -> ast.Module:
    """The AST of ``source`` as the compiler reads it with the ``__future__`` ``flags`` in force, in the grammar of
    Gradescope's Python: ``except*`` or ``def f[T]`` on a newer one would pass here and be a SyntaxError there
    (CPython's own feature_version check, as ast.parse makes it, and :func:`_newer_than_gradescope` for what it misses)."""
    import ast

    tree: ast.Module = compile(source, path, "exec", ast.PyCF_ONLY_AST | flags, dont_inherit=True, _feature_version=GRADESCOPE_PYTHON[1])
    if sys.version_info >= (3, 11):  # on Gradescope's own Python the parser refuses all of it itself
        newer = _newer_than_gradescope(tree, source)
        if newer is not None:
            node, message = newer
            lines = source.splitlines()
            line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
            raise SyntaxError(message, (path, node.lineno, node.col_offset + 1, line))
    return tree


def _newer_than_gradescope(tree: ast.Module, source: str) -> tuple[ast.expr | ast.arg, str] | None:
    """The first piece of ``tree`` that Gradescope's Python 3.10 cannot parse although CPython's feature_version check
    lets it through: PEP 646's starred annotations and subscripts (3.11), PEP 701's f-strings (3.12). With the
    check's own (``except*``, ``type X = ...``), every syntax these Pythons added: the grammar is 3.10's everywhere."""
    import ast

    f_strings = sys.version_info >= (3, 12)
    if not (_STARRED_SUBSCRIPT_OR_ANNOTATION.search(source) or (f_strings and _F_STRING.search(source))):
        return None  # the walk costs more than the search: most files have neither
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and isinstance(node.annotation, ast.Starred):
            return node, "starred annotations (*args: *Ts) are only supported in Python 3.11 and greater"
        if isinstance(node, ast.Subscript) and any(
            isinstance(item, ast.Starred) for item in (node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice])
        ):
            return node, "starred expressions in subscripts (a[*b]) are only supported in Python 3.11 and greater"
        if f_strings and isinstance(node, ast.JoinedStr) and not _f_string_parses_on_3_10(ast.get_source_segment(source, node) or ""):
            return node, (
                "an f-string that reuses its own quotes, or holds a backslash, a comment or a line break inside { }, "
                "is only supported in Python 3.12 and greater"
            )
    return None


def _f_string_parses_on_3_10(text: str) -> bool:
    """Whether the f-string literal(s) ``text`` (their source, as written) are valid before PEP 701.

    Python 3.10 first reads an f-string as a plain string literal: it ends at the first of its own quotes, and a
    single-quoted one at a line break; only then are its ``{ }`` parts parsed, and these may hold no backslash and
    no ``#``. Read with 3.12's tokenizer, which marks where each f-string and each of its parts starts and ends.
    """
    import tokenize

    quotes: list[str] = []  # the quotes of the f-strings open at this token, outermost first
    try:
        for token in tokenize.generate_tokens(io.StringIO(f"({text})").readline):
            kind = tokenize.tok_name[token.type]
            if kind == "FSTRING_START":
                if any(quote in token.string for quote in quotes):
                    return False
                quotes.append(token.string.lstrip("rRfFbBuU"))
            elif kind == "FSTRING_END":
                quotes.pop()
            elif quotes and kind == "FSTRING_MIDDLE":
                if len(quotes) > 1 and ("\\" in token.string or any(quote in token.string for quote in quotes[:-1])):
                    return False  # the literal text of an f-string nested in another's { }: the outer one's expression
            elif quotes:
                in_braces = kind in ("COMMENT", "NL", "NEWLINE") and (kind == "COMMENT" or any(len(q) == 1 for q in quotes))
                if in_braces or "\\" in token.string or any(quote in token.string for quote in quotes):
                    return False
    except (tokenize.TokenError, SyntaxError, IndexError):
        return True  # the compiler read it: what the tokenizer cannot is left to the compiler's verdict
    return True


def _future_flags(statement: ast.stmt) -> int:
    """The compiler flags a ``from __future__ import ...`` statement turns on (0 for any other statement)."""
    import ast

    if not (isinstance(statement, ast.ImportFrom) and statement.module == "__future__" and statement.level == 0):
        return 0
    import __future__

    flags = 0
    for alias in statement.names:
        feature = getattr(__future__, alias.name, None)
        flag = getattr(feature, "compiler_flag", 0)
        flags |= flag if isinstance(flag, int) else 0
    return flags


def _sets_up_annotations(code: types.CodeType) -> bool:
    """Whether the compiled module creates ``__annotations__`` before its first statement.

    The compiler decides from annotations anywhere at module level (in an ``if``,
    a ``try``, and on 3.11+ a ``match``); its own answer is read, so it is right
    on every version: each instruction is two bytes, its opcode first (inline caches too, as opcode 0), so the
    even bytes are the opcodes, which is all ``dis`` reads without its cost (a quarter of a small file's loading).
    """
    import opcode

    return opcode.opmap["SETUP_ANNOTATIONS"] in code.co_code[::2]


def _is_string_statement(statement: ast.stmt) -> bool:
    import ast

    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)


def _first_line(statement: ast.stmt) -> int:
    """Where a statement starts in the file: a decorated definition starts at its first decorator."""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


_CODING_LINE = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)  # PEP 263's, as Python looks for one


def _decode(source: bytes, name: str) -> tuple[str, list[ErrorReport]]:
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
        if not isinstance(error, UnicodeDecodeError) and not _CODING_LINE.search(b"\n".join(source.splitlines()[:2])):
            try:  # no coding line: Python refused a byte of the first two lines, which it reads for one
                source.decode("utf-8")
            except UnicodeDecodeError as undecodable:
                error = undecodable
        if isinstance(error, UnicodeDecodeError):
            line = error.object[: error.start].count(b"\n") + 1
            detail = (
                f"byte 0x{error.object[error.start]:02x} on line {line} is not valid {error.encoding}: "
                "save the file as UTF-8 (and remove any coding line)"
            )
        else:
            line = None
            detail = f"{getattr(error, 'msg', None) or error}: save the file as UTF-8 and remove the coding line"
        text = source.decode(encoding, errors="replace")
        problem: ErrorReport = {
            "type": type(error).__name__,
            "mro": [cls.__name__ for cls in type(error).__mro__],
            "traceback": "",
            "where": f"line {line}" if line else "the file's encoding",
            "names": [],
            "message": f"{name} could not be read as Python reads it: {detail}"[:MAX_TEXT],
        }
        return io.IncrementalNewlineDecoder(None, True).decode(text, final=True), [problem]


def _is_main_guard(statement: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` (either way round)."""
    import ast

    test = statement.test if isinstance(statement, ast.If) else None
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, *test.comparators]
    return any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides) and any(
        isinstance(side, ast.Constant) and side.value == "__main__" for side in sides
    )


def not_run_when_imported(under_main_guard: dict[str, str], missing: list[str]) -> list[ErrorReport]:
    """A problem for each of ``missing`` (graded names the module does not bind) that the file defines under
    ``if __name__ == "__main__":``: a block an import never runs, here as on Gradescope."""
    return [
        {
            "type": "Not run when imported",
            "mro": [],
            "traceback": "",
            "where": under_main_guard[name],
            "names": [name],
            "message": (
                f'{name} is defined inside `if __name__ == "__main__":`, which runs only when the file is run as a '
                "program, never when it is imported to be graded: define it above that block"
            ),
        }
        for name in missing
        if name in under_main_guard
    ]


MAX_NEWER_NAMES = 5  # notices of standard names newer than Gradescope's Python, per file


def _newer_than_gradescope_names(label: str, tree: ast.Module, problems: list[ErrorReport]) -> list[ErrorReport]:
    """A notice for each standard name the file uses that this Python has and Gradescope's does not (``math.cbrt``,
    ``from itertools import batched``, ``ExceptionGroup``), found in its code as written: here that line works, on
    Gradescope it fails. Said, not hidden: a copy of each such module without its newer names (tried) broke correct
    files: a dataclass's string annotations name ``typing`` itself, ``importlib.reload``, checks of identity.
    """
    newer = _names_newer_here()
    if not newer:
        return []  # on Gradescope's Python: the real thing, the name is missing here too
    import ast

    aliases, bound = _bindings(tree)
    said = {problem["message"].split(" ", 1)[0] for problem in problems if problem.get("type") == NEWER_NAME}
    found: list[ErrorReport] = []
    for node in ast.walk(tree):
        for module, name in _uses(node, aliases, bound):
            added = newer.get(module, {}).get(name)
            shown = f"`{name}`" if module == "builtins" else f"`{module}.{name}`"
            if added is None or shown in said or len(said) >= MAX_NEWER_NAMES:
                continue
            said.add(shown)
            here = ".".join(map(str, sys.version_info[:2]))
            message = (
                f"{shown} is new in Python {added}: Gradescope runs Python {'.'.join(map(str, GRADESCOPE_PYTHON))}, which has no "
                f"such name, so there this line fails (here, on Python {here}, it works)"
            )
            where = _where(label, getattr(node, "lineno", 1))
            found.append({"type": NEWER_NAME, "mro": [], "traceback": "", "where": where, "names": [], "message": message})
    return found


NEWER_NAME = "Newer Python"  # the type of those notices, as a load problem's


@functools.cache  # once per worker: a broken file is run block by block, a notebook cell by cell
def _names_newer_here() -> dict[str, dict[str, str]]:
    """Per module, each name this Python has that Gradescope's does not, and the version that added it."""
    here = sys.version_info[:2]
    newer: dict[str, dict[str, str]] = {}
    for version, modules in NEWER_NAMES.items():
        if GRADESCOPE_PYTHON < tuple(map(int, version.split("."))) <= here:
            for module, names in modules.items():
                newer.setdefault(module, {}).update(dict.fromkeys(names, version))
    return newer


def _bindings(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """The names the file binds to modules (``np`` -> numpy), and every other name it binds anywhere (a file that
    defines its own ``ExceptionGroup`` uses no builtin of that name)."""
    import ast

    aliases: dict[str, str] = {}
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.partition(".")[0]] = alias.name if alias.asname else alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom):
            bound.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return aliases, bound


def _uses(node: ast.AST, aliases: dict[str, str], bound: set[str]) -> list[tuple[str, str]]:
    """The (module, name) pairs ``node`` uses: ``from M import name``, ``M.name``, ``M.sub.name``, or a builtin."""
    import ast

    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [(_module_name(node.module), alias.name) for alias in node.names]
    if isinstance(node, ast.Attribute):
        inner = node.value
        if isinstance(inner, ast.Name) and inner.id in aliases:
            return [(_module_name(aliases[inner.id]), node.attr)]
        if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id in aliases:  # os.path.splitroot
            return [(_module_name(f"{aliases[inner.value.id]}.{inner.attr}"), node.attr)]
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
        return [("builtins", node.id)]
    return []


def _module_name(written: str) -> str:
    """The module's own name, as the table of newer names keys it: ``posixpath`` for ``os.path``. Read from the
    module's namespace: what an earlier cell put in sys.modules may be anything."""
    try:
        module = sys.modules.get(written)
        name = vars(module).get("__name__") if isinstance(module, types.ModuleType) else None
    except Exception:  # noqa: BLE001 - a module subclass of the submission's whose namespace raises
        return written
    return name if isinstance(name, str) else written


def _cell_file(path: str, label: str, source: str) -> str:
    """The file name a notebook cell's code is compiled under, its lines registered with linecache: a traceback then
    says ``ps3.ipynb, cell 2``, line 5 of that cell, and quotes that line (under the converted file's own name it
    quoted line 5 of the whole file, another cell's)."""
    import linecache

    name = os.path.join(os.path.dirname(path), f"{os.path.splitext(os.path.basename(path))[0]}.ipynb, {label}")
    linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)  # no mtime: never checked on disk
    return name


def _cells(text: str, cell_marker: str) -> Iterator[tuple[str, str]]:
    """Yield (label, source) for each code cell of a converted notebook (the grader's header before the first is left out)."""
    import re

    marker = re.compile(rf"# ---- cell (\d+) ---- {re.escape(cell_marker)}")
    label: str | None = None
    cell: list[str] = []
    for line in [*text.splitlines(keepends=True), f"# ---- cell 0 ---- {cell_marker}"]:
        found = marker.fullmatch(line.rstrip("\r\n"))
        if not found:
            cell.append(line)
            continue
        if label is not None:
            yield label, "".join(cell)
        label, cell = f"cell {found.group(1)}", []


def _blocks(text: str) -> Iterator[tuple[str, int]]:
    """Yield (source, first line) for each top-level block of a file that does not parse as a whole.

    A block starts at each line that begins a new statement at column 0
    (continuations such as ``else:`` and decorated definitions stay with theirs).
    A line at column 0 may also be inside a statement (a docstring's or a
    bracket's continuation line), so a block that stops inside a statement is
    joined with the blocks after it, up to the first join that parses; one that
    is wrong in itself (or that no join mends) stays alone, and only it is lost.
    """
    lines = text.splitlines(keepends=True)
    starts, previous = [0], ""
    for number, line in enumerate(lines):
        if line[:1] in ("", " ", "\t", "\n", "\r", "#", ")", "]", "}"):
            continue
        continues = line.startswith(("else", "elif", "except", "finally")) or previous.startswith("@")
        if number and not continues:
            starts.append(number)
        previous = line
    starts.append(len(lines))
    index = 0
    while index < len(starts) - 1:
        begin, after = starts[index], index + 1
        if not _parses("".join(lines[begin : starts[after]])):
            joined = after
            while _incomplete("".join(lines[begin : starts[joined]])) and joined + 1 < len(starts):
                joined += 1
                if starts[joined] - begin > MAX_JOINED_LINES:
                    break
                if _parses("".join(lines[begin : starts[joined]])):
                    after = joined
                    break
        yield "".join(lines[begin : starts[after]]), begin + 1
        index = after


def _parses(source: str) -> bool:
    try:
        parse_as_gradescope(source, "<block>", 0)
    except _UNPARSABLE:
        return False
    return True


def _incomplete(source: str) -> bool:
    """Whether ``source`` stops inside a statement (an open string or bracket, a backslash at its end), as CPython's
    own interactive prompt decides it (codeop), rather than at an error no more lines could mend."""
    import codeop
    import warnings

    if source.rstrip("\r\n").endswith("\\"):
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the compiler's warnings about the student's code are not theirs to see here
        try:
            return codeop.compile_command(source, "<block>", "exec") is None
        except (*_UNPARSABLE, OverflowError):
            return False


class _IPythonStub:
    """What ``get_ipython()`` returns in the worker: every method does nothing and returns None, but a cell magic
    that runs its cell's code (``%%time``) runs it, in the namespace of the code that asked, as Jupyter does."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return _does_nothing

    def run_cell_magic(self, magic: str, line: str, cell: str) -> None:
        """nbconvert writes a ``%%time`` cell into a .py file as ``get_ipython().run_cell_magic("time", "", code)``."""
        if magic in CELL_MAGICS_RUN_AS_CODE and isinstance(cell, str):
            exec(compile(cell, "<cell>", "exec"), sys._getframe(1).f_globals)  # the student's own cell, here in the worker

    def __repr__(self) -> str:
        return "<get_ipython() stub: magics do nothing in the autograder>"


def _does_nothing(*args: object, **kwargs: object) -> None:
    return None


def get_ipython() -> _IPythonStub:
    """Stands in for IPython's ``get_ipython`` in a notebook's namespace."""
    return _IPYTHON


_IPYTHON = _IPythonStub()


def display(*objects: object, **options: object) -> None:
    """Stands in for the ``display`` Jupyter gives every notebook: each object's text, printed as the notebook
    shows it (the output of a call is the student's to see)."""
    for shown in objects:
        print(repr(shown))


def _defined_names(source: str) -> list[str]:
    """The names a piece of source that is not run (or cannot be parsed) binds at its top level, as far as its lines
    show them: functions and classes, plain assignments, and imports (``from helpers import conv2d``)."""
    names = re.findall(r"^(?:async\s+def|def|class)\s+(\w+)|^(\w+)\s*(?::[^=\n]*)?=(?!=)", source, flags=re.M)
    found = [defined or assigned for defined, assigned in names]
    for imported in re.findall(r"^(?:from\s+[\w.]+\s+)?import\s+([\w., ]+)$", source, flags=re.M):
        found += [part.split(" as ")[-1].strip().split(".")[0] for part in imported.split(",") if part.strip() not in ("", "*")]
    return list(dict.fromkeys(found))


def _statement_names(statement: ast.stmt) -> list[str]:
    """Every name a top-level statement binds in the module, in the order written: what its failure leaves
    undefined. Assignment targets, definitions (their bodies bind names of their own scope), imports (a failed
    ``from helpers import conv2d`` leaves conv2d undefined: said so, not "your file defines no conv2d"), ``except
    ... as``, ``with ... as``, ``for`` targets, and match captures."""
    import ast

    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.extend((alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*")
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.append(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.append(node.rest)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(statement)
    return list(dict.fromkeys(names))
