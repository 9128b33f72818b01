"""The only code that runs beside student code: import a submission, answer calls.

This module is the trust boundary. It runs in a separate process, forked by
the launcher (``zygote.py``) as another user, and is sent function names and
inputs, never expected values. Everything the worker says is treated as
untrusted data by the grader.

It is self-contained on purpose: stdlib and NumPy only, no import from the
``autograder`` package. The grader imports it too, but only for the wire codec
(``encode``/``decode``/``frame``); importing it has no side effects.

Wire format, both directions: a 4-byte big-endian length, that many bytes of
UTF-8 JSON, then ``json["blobs"]`` binary blobs, each an 8-byte big-endian
length and its bytes. An array or NumPy scalar of numbers is a blob of its
raw bytes, its dtype and shape in the JSON; any other array is a ``.npy``
file, loaded with ``allow_pickle=False``. Nothing is ever pickled.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import struct
import sys

MAX_DEPTH = 32
MAX_TEXT = 4000  # characters of an exception message or traceback sent back
MAX_PROBLEMS = 40  # problems reported from loading the submission


# --------------------------------------------------------------------------- codec


# Arrays of these kinds (bool, integers, floats, complex) travel as their raw bytes, with the dtype's
# name and the shape in the JSON: ``{"$array": [blob, "<f8", [4, 4]]}``. Parsing a .npy header costs
# more than a whole small call, and these are nearly every array a student returns.
RAW_KINDS = "biufc"
RAW_DTYPE = re.compile(r"[<>|][biufc][0-9]{1,2}")
MAX_DIMENSIONS = 32


def encode(value, blobs: list, depth: int = 0):
    """Turn a value into JSON-able data; arrays go into ``blobs`` as raw bytes (numbers) or .npy bytes (the rest)."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise ValueError("value is nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        tag = "$array" if isinstance(value, np.ndarray) else "$scalar"
        if array.dtype.hasobject:
            return {"$unsupported": "object array"}
        if array.dtype.kind in RAW_KINDS and array.dtype.fields is None:
            blobs.append(array.tobytes())
            return {tag: [len(blobs) - 1, array.dtype.str, list(array.shape)]}
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        blobs.append(buffer.getvalue())
        return {tag: len(blobs) - 1}
    if type(value) is tuple:
        return {"$tuple": [encode(item, blobs, depth + 1) for item in value]}
    if type(value) is list:
        return [encode(item, blobs, depth + 1) for item in value]
    return {"$unsupported": type(value).__name__[:80]}


def decode(data, blobs: list):
    """Inverse of :func:`encode`. Raises ValueError on anything malformed."""

    if isinstance(data, list):
        return [decode(item, blobs) for item in data]
    if not isinstance(data, dict):
        return data
    if len(data) != 1:
        raise ValueError("malformed value")
    ((tag, payload),) = data.items()
    if tag == "$tuple" and isinstance(payload, list):
        return tuple(decode(item, blobs) for item in payload)
    if tag in ("$array", "$scalar"):
        index, raw = array_reference(payload, len(blobs))
        array = raw_array(blobs[index], *raw).copy() if raw else _load_npy(blobs[index])
        if tag == "$scalar":
            if array.shape != ():
                raise ValueError("a scalar must have shape ()")
            return array[()]
        return array
    if tag == "$unsupported" and isinstance(payload, str):
        return Unsupported(payload)
    raise ValueError(f"unknown tag {tag!r}")


def array_reference(payload, blob_count: int) -> tuple:
    """What an ``$array``/``$scalar`` tag points at: the blob's index, and for raw numbers their (dtype name, shape).

    The second item is None for a .npy blob. Raises ValueError on a reference to no blob.
    """
    raw = type(payload) is list and len(payload) == 3
    index = payload[0] if raw else payload
    if type(index) is not int or not 0 <= index < blob_count:
        raise ValueError("malformed array reference")
    return index, (payload[1], payload[2]) if raw else None


def raw_array(blob: bytes, dtype_name, shape):
    """A read-only array over ``blob`` (no copy), once its dtype and shape are shown to describe exactly its bytes."""
    import numpy as np

    if not isinstance(dtype_name, str) or not RAW_DTYPE.fullmatch(dtype_name):
        raise ValueError("an array's dtype must be a number type")
    dtype = np.dtype(dtype_name)
    if dtype.kind not in RAW_KINDS or dtype.itemsize == 0:
        raise ValueError("an array's dtype must be a number type")
    if type(shape) is not list or len(shape) > MAX_DIMENSIONS or any(type(side) is not int or not 0 <= side < 1 << 40 for side in shape):
        raise ValueError("an array's shape must be a short list of sizes")
    count = 1
    for side in shape:
        count *= side
    if count * dtype.itemsize != len(blob):
        raise ValueError("the array's shape and dtype do not match its data")
    return np.frombuffer(blob, dtype=dtype).reshape(shape)


def _load_npy(blob: bytes):
    """An array from .npy bytes, refusing any header that claims more data than the blob holds.

    np.load would first allocate what the header claims: a forged shape of
    10**12 entries must be a refused reply, not a MemoryError in the grader.
    """
    import numpy as np

    stream = io.BytesIO(blob)
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unsupported .npy version {version}")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _fortran_order, dtype = read_header(stream)
    if dtype.hasobject:
        raise ValueError("object arrays are refused")
    count = 1
    for side in shape:
        count *= side
    if count * dtype.itemsize != len(blob) - stream.tell():
        raise ValueError("the array header does not match its data")
    stream.seek(0)
    return np.load(stream, allow_pickle=False)


class Unsupported:
    """Stands for a returned object the wire cannot carry (a class instance, a dict...)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<object of type {self.type_name}>"


def frame(message: dict, blobs: list) -> bytes:
    """Serialise one message with its blobs."""
    body = json.dumps(dict(message, blobs=len(blobs))).encode()
    parts = [struct.pack(">I", len(body)), body]
    for blob in blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    return b"".join(parts)


# --------------------------------------------------------------------------- worker side


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_message(fd: int) -> tuple[dict, list]:
    (length,) = struct.unpack(">I", _read_exact(fd, 4))
    message = json.loads(_read_exact(fd, length))
    blobs = []
    for _ in range(message.get("blobs", 0)):
        (size,) = struct.unpack(">Q", _read_exact(fd, 8))
        blobs.append(_read_exact(fd, size))
    return message, blobs


def _send(fd: int, message: dict, blobs: list | None = None) -> None:
    data = frame(message, blobs or [])
    while data:
        data = data[os.write(fd, data) :]


def _describe(error: BaseException) -> dict:
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


def _apply_limits(limits: dict) -> dict:
    """Lower this process's resource limits; they bind student code and its children."""
    import resource

    applied = {}
    names = {
        "data_mb": (resource.RLIMIT_DATA, 1 << 20),
        "cpu_seconds": (resource.RLIMIT_CPU, 1),
        "processes": (resource.RLIMIT_NPROC, 1),
        "file_size_mb": (resource.RLIMIT_FSIZE, 1 << 20),
        "open_files": (resource.RLIMIT_NOFILE, 1),
        "core_size": (resource.RLIMIT_CORE, 1),
    }
    for name, value in limits.items():
        if value is None or name not in names:
            continue
        which, unit = names[name]
        try:
            resource.setrlimit(which, (value * unit, value * unit))
            applied[name] = value
        except (ValueError, OSError) as error:
            applied[name] = f"not applied: {error}"
    return applied


def _landlock(read_paths: list, write_paths: list) -> str:
    """Confine the filesystem (and TCP, from ABI 4) with Landlock; no root needed.

    Read access only below ``read_paths`` (the Python install), read and write
    only below ``write_paths`` (the worker's own folder); everything else,
    including the grader's problems and results, is out of reach.
    """
    import ctypes
    import platform

    if sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"):
        return "unavailable: Landlock needs Linux on x86_64 or aarch64"
    libc = ctypes.CDLL(None, use_errno=True)
    create, add_rule, restrict = 444, 445, 446
    abi = libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return "unavailable: kernel has no Landlock"
    read_access = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir
    all_fs = (1 << 13) - 1
    if abi >= 2:
        all_fs |= 1 << 13  # refer
    if abi >= 3:
        all_fs |= 1 << 14  # truncate
    if abi >= 5:
        all_fs |= 1 << 15  # ioctl on devices

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    net = 3 if abi >= 4 else 0  # bind and connect on TCP
    scoped = 3 if abi >= 6 else 0  # abstract unix sockets, signals to outside processes
    attr = RulesetAttr(all_fs, net, scoped)
    size = ctypes.sizeof(RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"unavailable: {os.strerror(ctypes.get_errno())}"
    file_rights = (1 << 0) | (1 << 1) | (1 << 2) | ((1 << 14) if abi >= 3 else 0) | ((1 << 15) if abi >= 5 else 0)
    try:
        for paths, access in ((read_paths, read_access), (write_paths, all_fs)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                rights = access if os.path.isdir(path) else access & file_rights
                rule = PathBeneath(rights, fd)
                libc.syscall(add_rule, ruleset, 1, ctypes.byref(rule), 0)
                os.close(fd)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS, required by restrict_self
        if libc.syscall(restrict, ruleset, 0) != 0:
            return f"unavailable: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return f"applied (Landlock ABI {abi}{', TCP blocked' if net else ''}{', signals scoped' if scoped else ''})"


def _deny_sockets() -> str:
    """A seccomp filter: sockets, io_uring and System V / POSIX IPC fail with EPERM; everything else is allowed.

    The network namespace and Landlock stop TCP, but not a Unix socket bound
    to a path (the system's D-Bus, say). The worker needs no socket at all.
    Nor any System V segment, queue or semaphore, or POSIX message queue: two
    gradings running side by side (or one after the other) could pass answers
    through them, and an IPC namespace needs root.
    """
    import ctypes
    import platform
    import struct as _struct

    # (architecture, [socket, io_uring_setup, System V shm/sem/msg calls, POSIX mq_* calls])
    numbers = {
        "x86_64": (0xC000003E, [41, 425, 29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71, *range(240, 246)]),
        "aarch64": (0xC00000B7, [198, 425, *range(180, 198)]),
    }
    if sys.platform != "linux" or platform.machine() not in numbers:
        return "unavailable: needs Linux on x86_64 or aarch64"
    arch, denied = numbers[platform.machine()]
    load_word, jump_eq, jump_ge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    program = [
        (load_word, 0, 0, 4),              # the architecture
        (jump_eq, 1, 0, arch),
        (ret, 0, 0, deny),                 # another architecture's calling convention: refuse
        (load_word, 0, 0, 0),              # the system call number
        (jump_ge, len(denied) + 1, 0, 0x40000000),  # x32 numbers: refuse
        *[(jump_eq, len(denied) - index, 0, number) for index, number in enumerate(denied)],
        (ret, 0, 0, allow),
        (ret, 0, 0, deny),
    ]
    filters = b"".join(_struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(filters)

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    if libc.prctl(22, 2, ctypes.byref(Program(len(program), ctypes.addressof(buffer))), 0, 0) != 0:  # PR_SET_SECCOMP
        return f"unavailable: {os.strerror(ctypes.get_errno())}"
    return "applied (seccomp: no sockets, no System V or POSIX IPC)"


def _import_submission(path: str, cell_marker: str | None = None) -> tuple[dict, list]:
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
            problems.append(dict(_describe(error), where=_where(label, line), names=names))
            continue
        ast.increment_lineno(tree, first_line - 1)
        for statement in tree.body:
            try:
                code = compile(ast.Module([statement], []), path, "exec", dont_inherit=True)
                exec(code, module.__dict__)
            except BaseException as error:  # noqa: BLE001 - any failure is the submission's
                problems.append(dict(_describe(error), where=_where(label, statement.lineno), names=_statement_names(statement)))
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


class _CappedOutput(io.TextIOBase):
    """sys.stdout and sys.stderr in the worker: at most ``cap`` bytes a call reach the grader, the rest is counted.

    The grader keeps only its ``output_bytes`` of each call's output anyway;
    dropping the rest here makes printing megabytes cost almost nothing, where
    sending it through the pipe to be thrown away could use up the call's time.
    Writes straight to the file descriptor, unbuffered, so nothing printed just
    before a crash is lost. Raw ``os.write(1, ...)`` still goes to the pipe,
    where the grader's own cap applies.
    """

    NOTE = "\n... ({} more bytes of output not kept)\n"
    encoding = "utf-8"
    errors = "backslashreplace"

    def __init__(self, fd: int, cap: int | None, marker: bytes = b"") -> None:
        super().__init__()
        self._fd = fd
        self._marker = marker
        # Room is left for the note, so that the grader, keeping ``cap`` bytes, shows it.
        self._cap = None if cap is None else max(cap - len(self.NOTE) - 20, 0)
        self._room = self._cap
        self._dropped = 0
        self.buffer = _CappedBytes(self)

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._room is not None and self._room <= 0:  # the cheap path that makes printing past the cap free
            self._dropped += len(text) if text.isascii() else len(text.encode("utf-8", "backslashreplace"))
            return len(text)
        self.write_bytes(text.encode("utf-8", "backslashreplace"))
        return len(text)

    def write_bytes(self, data: bytes) -> None:
        if self._room is not None:
            kept = data[: max(self._room, 0)]
            self._dropped += len(data) - len(kept)
            self._room -= len(kept)
            data = kept
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except InterruptedError:
                continue
            except OSError:  # the grader is gone or the descriptor was closed: the output is lost, not the call
                return

    def end_of_call(self) -> None:
        """Say how much was dropped, mark where this call's output ends, and give the next call its own allowance."""
        dropped, self._dropped, self._room = self._dropped, 0, self._cap
        room, self._room = self._room, None
        if dropped:
            self.write_bytes(self.NOTE.format(dropped).encode())
        self.write_bytes(self._marker)
        self._room = room


class _CappedBytes(io.RawIOBase):
    """``sys.stdout.buffer``: bytes written there count against the same allowance."""

    def __init__(self, text: _CappedOutput) -> None:
        super().__init__()
        self._text = text

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._text.fileno()

    def write(self, data) -> int:
        data = bytes(memoryview(data))
        self._text.write_bytes(data)
        return len(data)


def main(config: dict) -> None:
    requests, replies = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # the student's stdout joins stderr in the capture pipe
    os.chdir(config["workdir"])
    protections: dict = {"limits": _apply_limits(config.get("limits", {}))}
    # Reading its own folder is all the worker needs; writing nothing means it cannot fill the disk either.
    confinements = (("filesystem", lambda: _landlock(config["read_paths"] + [config["workdir"]], [os.devnull])),
                    ("sockets", _deny_sockets))
    for name, confine in confinements:
        try:
            protections[name] = confine()
        except Exception as error:  # noqa: BLE001 - an unusable confinement is reported, not fatal
            protections[name] = f"unavailable: {error}"
    _send(replies, {"type": "hello", "protections": protections, "uid": os.getuid()})

    import numpy  # noqa: F401 - loaded before the submission, under the limits

    output = _CappedOutput(1, config.get("output_bytes"), config.get("output_marker", "").encode())
    for stream in ("stdout", "stderr", "__stdout__", "__stderr__"):
        setattr(sys, stream, output)
    namespace, problems = _import_submission(config["submission"], config.get("cell_marker"))
    problems = [*config.get("problems", []), *problems]
    output.end_of_call()
    functions = sorted(name for name, value in namespace.items()
                       if callable(value) and not name.startswith("__") and value is not get_ipython)
    _send(replies, {"type": "ready", "problems": problems, "functions": functions})

    while True:
        try:
            request, blobs = _read_message(requests)
        except EOFError:
            return
        if request.get("op") != "call":
            return
        reply_blobs: list = []
        try:
            function = namespace.get(request["function"])
            if not callable(function):
                raise LookupError(f"{request['function']} is not defined")
            args = decode(request["args"], blobs)
            kwargs = {name: decode(value, blobs) for name, value in request["kwargs"].items()}
            result = function(*args, **kwargs)
            reply = {"type": "returned", "id": request["id"], "value": encode(result, reply_blobs)}
        except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
            reply_blobs = []
            reply = {"type": "raised", "id": request["id"], "error": _describe(error)}
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        output.end_of_call()
        _send(replies, reply, reply_blobs)
