"""The only code that runs beside student code: import a submission, answer calls.

This module is the trust boundary. It runs in a separate process, forked by
the launcher (``zygote.py``) as another user, and is sent function names and
inputs, never expected values. Everything the worker says is treated as
untrusted data by the grader.

It is self-contained on purpose: stdlib and NumPy only, and from the
``autograder`` package only the worker-side modules (its confinement, its
loader) and the message types (``boundary.py``), which import nothing else.
The grader imports it too, but only for the wire codec
(``encode``/``decode``/``frame``); importing it has no side effects.

Wire format, both directions: a 4-byte big-endian length, that many bytes of
UTF-8 JSON, then ``json["blobs"]`` binary blobs, each an 8-byte big-endian
length and its bytes. An array or NumPy scalar of numbers is a blob of its
raw bytes, its dtype and shape in the JSON; any other array is a ``.npy``
file, loaded with ``allow_pickle=False``. A dict is ``{"$dict": [[key, value],
...]}``, a tuple ``{"$tuple": [...]}``. Nothing is ever pickled. A request
is led by the 8-byte big-endian size of its whole frame (``request_frame``).
"""

from __future__ import annotations

import io
import json
import math
import numbers
import operator
import os
import re
import struct
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from autograder.boundary import Answer, Hello, JsonValue, Ready, Request, WorkerConfig
from autograder.sandbox import confine, importable, loader, seccomp

if TYPE_CHECKING:  # NumPy is imported where it is used: importing this module must stay cheap for the grader
    import numpy as np

MAX_DEPTH = 32
LONG_INT_BITS = 12_000  # about 3,600 digits: longer ints travel in hex, which has no length limit and costs linear time


# --------------------------------------------------------------------------- codec


# Arrays of these kinds (bool, integers, floats, complex) travel as their raw bytes, with the dtype's
# name and the shape in the JSON: ``{"$array": [blob, "<f8", [4, 4]]}``. Parsing a .npy header costs
# more than a whole small call, and these are nearly every array a student returns.
RAW_KINDS = "biufc"
RAW_DTYPE = re.compile(r"[<>|][biufc][0-9]{1,2}")
MAX_DIMENSIONS = 32


def encode(value: object, blobs: list[bytes], depth: int = 0) -> JsonValue:
    """Turn a value into JSON-able data; arrays go into ``blobs`` as raw bytes (numbers) or .npy bytes (the rest)."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise ValueError("value is nested too deeply")
    if type(value) is int and value.bit_length() > LONG_INT_BITS:
        return {"$int": hex(value)}  # JSON would write it in decimal, which Python refuses past 4,300 digits
    if value is None or (isinstance(value, (bool, int, float, str)) and type(value) in (bool, int, float, str)):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        tag = "$array" if isinstance(value, np.ndarray) else "$scalar"
        if array.dtype.hasobject:
            return {"$unsupported": "object array"}
        if array.dtype.names is not None or array.dtype.kind == "V":  # the grader reads no record's .npy header
            return {"$unsupported": "record array"}
        if array.dtype.kind in RAW_KINDS:
            blobs.append(array.tobytes())
            return {tag: [len(blobs) - 1, array.dtype.str, list(array.shape)]}
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        blobs.append(buffer.getvalue())
        return {tag: len(blobs) - 1}
    # Their own kinds as the plain ones they are: a namedtuple is a tuple, a str subclass its text, a Counter a dict,
    # a list subclass the items it holds. What a subclass claims of itself (an __eq__ that says yes to anything:
    # tests/attacks/lying_objects.py) stays here: the grader compares the plain value.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, tuple):
        return {"$tuple": [encode(item, blobs, depth + 1) for item in value]}
    if isinstance(value, list):
        return [encode(item, blobs, depth + 1) for item in list.__iter__(value)]
    if isinstance(value, dict):
        return {"$dict": [[encode(key, blobs, depth + 1), encode(item, blobs, depth + 1)] for key, item in dict.items(value)]}
    number = _exact_real(value)
    if number is not None:
        return encode(number, blobs, depth)  # a long int, from a Fraction say, as every long int travels
    return {"$unsupported": type(value).__name__[:80]}


def _exact_real(value: object) -> int | float | None:
    """A real number of another type (fractions.Fraction, decimal.Decimal, an int or float subclass such as an
    IntEnum) as the int it equals when whole, else the nearest float; None for anything else.

    So Fraction(12, 2) crosses as 6 and is judged as 6 is (engine/compare.py says what counts as a number).
    """
    ratio: Callable[[], object] | None = getattr(value, "as_integer_ratio", None) if isinstance(value, numbers.Number) else None
    if ratio is None:  # not a number, or a complex one
        return None
    try:
        pair = ratio()
        numerator, denominator = pair if isinstance(pair, tuple) and len(pair) == 2 else (None, None)
    except (ValueError, OverflowError):  # a NaN or an infinity (decimal.Decimal has both): no ratio, still a float
        try:
            return float(str(value))  # "NaN", "Infinity", "-Infinity"
        except Exception:  # noqa: BLE001 - a signalling NaN, or a number that cannot say what it is
            return None
    except Exception:  # noqa: BLE001 - a broken number is no number
        return None
    try:  # a Fraction of NumPy integers (Fraction(np.int64(3), 4), as a student's arithmetic makes one) holds them
        numerator, denominator = operator.index(numerator), operator.index(denominator)  # type: ignore[arg-type]
    except TypeError:
        return None
    if type(numerator) is not int or type(denominator) is not int or denominator < 1:
        return None
    try:
        return numerator if denominator == 1 else numerator / denominator
    except OverflowError:  # beyond any float
        return None


def encode_returned(value: object, blobs: list[bytes]) -> JsonValue:
    """A returned value for the wire; one the wire cannot carry (nested too deeply, containing itself) stays a
    returned value, marked unsupported: the function did return, so its failure to be sent is never mistaken
    for an exception it raised (a case that expects ValueError must not pass on a 100,000-deep list)."""
    try:
        return encode(value, blobs)
    except (ValueError, RecursionError, TypeError, OverflowError, MemoryError) as error:
        blobs.clear()
        why = "too deeply nested" if isinstance(error, (ValueError, RecursionError)) else type(error).__name__
        return {"$unsupported": f"{type(value).__name__[:40]} ({why} to be sent)"}


def decode(data: object, blobs: list[bytes]) -> object:
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
    if tag == "$dict" and isinstance(payload, list):
        return {decode(key, blobs): decode(item, blobs) for key, item in payload}
    if tag == "$int" and isinstance(payload, str):
        return int(payload, 16)
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


def array_reference(payload: object, blob_count: int) -> tuple[int, tuple[object, object] | None]:
    """What an ``$array``/``$scalar`` tag points at: the blob's index, and for raw numbers their (dtype name, shape).

    The second item is None for a .npy blob. Raises ValueError on a reference to no blob.
    """
    raw = isinstance(payload, list) and type(payload) is list and len(payload) == 3
    index = payload[0] if isinstance(payload, list) and raw else payload
    if type(index) is not int or not 0 <= index < blob_count:
        raise ValueError("malformed array reference")
    return index, (payload[1], payload[2]) if isinstance(payload, list) and raw else None


def raw_array(blob: bytes, dtype_name: object, shape: object) -> np.ndarray:
    """A read-only array over ``blob`` (no copy), once its dtype and shape are shown to describe exactly its bytes."""
    import numpy as np

    if not isinstance(dtype_name, str) or not RAW_DTYPE.fullmatch(dtype_name):
        raise ValueError("an array's dtype must be a number type")
    dtype = np.dtype(dtype_name)
    if dtype.kind not in RAW_KINDS or dtype.itemsize == 0:
        raise ValueError("an array's dtype must be a number type")
    if not isinstance(shape, list) or type(shape) is not list or len(shape) > MAX_DIMENSIONS:
        raise ValueError("an array's shape must be a short list of sizes")
    sides = [side for side in shape if type(side) is int and 0 <= side < 1 << 40]
    if len(sides) != len(shape):
        raise ValueError("an array's shape must be a short list of sizes")
    if element_count(sides) * dtype.itemsize != len(blob):
        raise ValueError("the array's shape and dtype do not match its data")
    return np.frombuffer(blob, dtype=dtype).reshape(sides)


def element_count(shape: Sequence[int]) -> int:
    """How many entries an array of ``shape`` holds: checked against its bytes before any array is made of them."""
    return math.prod(shape)


def _load_npy(blob: bytes) -> np.ndarray:
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
    if element_count(shape) * dtype.itemsize != len(blob) - stream.tell():
        raise ValueError("the array header does not match its data")
    stream.seek(0)
    array: np.ndarray = np.load(stream, allow_pickle=False)
    return array


class Unsupported:
    """Stands for a returned object the wire cannot carry (a class instance, a dict...)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<object of type {self.type_name}>"


def frame(message: Request | Answer | Hello | Ready, blobs: list[bytes]) -> bytes:
    """Serialise one message with its blobs (the grader's requests, the worker's replies)."""
    return _framed(json.dumps(dict(message, blobs=len(blobs))).encode(), _blob_pieces(blobs))


def _framed(body: bytes, blob_pieces: list[bytes]) -> bytes:
    """A frame: the JSON body led by its 4-byte size, then the blobs (:func:`_blob_pieces`), joined in one copy."""
    return b"".join([struct.pack(">I", len(body)), body, *blob_pieces])


def _blob_pieces(blobs: list[bytes]) -> list[bytes]:
    """The blobs as a frame carries them: each led by its 8-byte size."""
    return [piece for blob in blobs for piece in (struct.pack(">Q", len(blob)), blob)]


def _sized(data: bytes) -> bytes:
    """A request's frame led by its whole size (see :func:`request_frame`)."""
    return struct.pack(">Q", len(data)) + data


# --------------------------------------------------------------------------- worker side


def request_frame(request: Request, blobs: list[bytes]) -> bytes:
    """A request as the grader sends it: its frame, led by the frame's whole size.

    So the worker knows how much to wait for, however many blobs a request
    carries (:class:`RequestPipe`).
    """
    return _sized(frame(request, blobs))


class EncodedCall(NamedTuple):
    """A call request without its id, encoded once: a batch sends the same case's call in every grade."""

    after_id: bytes  # the request's JSON from just after its id to its end: function, args, kwargs, blob count
    blobs: bytes  # its arrays' bytes, laid out as a frame carries them (:func:`_blob_pieces`)


def encode_call(function: str, args: Sequence[object], kwargs: dict[str, object]) -> EncodedCall:
    """``function(*args, **kwargs)`` as :func:`call_frame` sends it."""
    blobs: list[bytes] = []
    message = {"function": function, "args": [encode(a, blobs) for a in args], "kwargs": {k: encode(v, blobs) for k, v in kwargs.items()}}
    after_id = ", " + json.dumps(dict(message, blobs=len(blobs)))[1:]
    return EncodedCall(after_id.encode(), b"".join(_blob_pieces(blobs)))


def call_frame(call_id: int, call: EncodedCall) -> bytes:
    """The frame :func:`request_frame` makes of this call request with id ``call_id``, its JSON put together
    from the encoded call rather than encoded again."""
    return _sized(_framed(b'{"op": "call", "id": ' + str(int(call_id)).encode() + call.after_id, [call.blobs]))


class RequestPipe:
    """The grader's requests, read as they come: what one read brings beyond a request is kept for the next.

    The grader sends a phase's calls ahead of their replies (sandbox/process.py),
    so one read of 64 kB brings dozens of requests, where reading each exactly
    took two system calls a call. What is kept here is no more than the pipe
    itself holds: the pipe is the worker's, so a submission can read the calls to
    come either way (and must then answer in their place). No verdict rests on
    those being unseen (see engine/follow_through.py), only on each answer the
    grader receives.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()

    def read(self) -> tuple[Request, list[bytes]]:
        """The next request (the grader is trusted: it is read as it was written) and its blobs."""
        (size,) = struct.unpack(">Q", self._take(8))
        data = self._take(size)
        (length,) = struct.unpack_from(">I", data)
        at = 4 + length
        message = json.loads(data[4:at])
        blobs = []
        for _ in range(message["blobs"]):
            (blob_size,) = struct.unpack_from(">Q", data, at)
            blobs.append(data[at + 8 : at + 8 + blob_size])
            at += 8 + blob_size
        return message, blobs

    def _take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = os.read(self._fd, min(max(size - len(self._buffer), 1 << 16), 1 << 20))
            if not chunk:
                raise EOFError
            self._buffer += chunk
        with memoryview(self._buffer) as buffer:  # one copy: a slice of the bytearray would be a second one
            data = bytes(buffer[:size])
        del self._buffer[:size]
        return data


def _send(fd: int, message: Answer | Hello | Ready, blobs: list[bytes] | None = None) -> None:
    data = frame(message, blobs or [])
    while data:
        data = data[os.write(fd, data) :]


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

    def write(self, text: str) -> int:
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

    def write(self, data: object) -> int:
        written = bytes(memoryview(data))  # type: ignore[arg-type]  # any buffer, as io's own write() takes; anything else raises TypeError
        self._text.write_bytes(written)
        return len(written)


def main(config: WorkerConfig) -> None:
    started = time.monotonic()
    requests, replies = RequestPipe(os.dup(0)), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # the student's stdout joins stderr in the capture pipe
    os.chdir(config["workdir"])
    protections: dict[str, object] = {"limits": confine.apply_limits(config["limits"])}
    if config["mounts"]:
        protections["mounts"] = config["mounts"]
    # Reading its own folder is all the worker needs; writing nothing means it cannot fill the disk either.
    confinements: tuple[tuple[str, Callable[[], str]], ...] = (
        ("filesystem", lambda: confine.landlock([*config["read_paths"], config["workdir"]], [os.devnull], config["landlock_max_abi"])),
        ("system calls", seccomp.apply),
    )
    for name, apply in confinements:
        try:
            protections[name] = apply()
        except Exception as error:  # noqa: BLE001 - an unusable confinement is reported, not fatal
            protections[name] = f"unavailable: {error}"
    _send(replies, {"type": "hello", "protections": protections, "uid": os.getuid()})

    import numpy  # noqa: F401 - loaded before the submission, under the limits

    output = _CappedOutput(1, config["output_bytes"], config["output_marker"].encode())
    for stream in ("stdout", "stderr", "__stdout__", "__stderr__"):
        setattr(sys, stream, output)
    if config["packages"] is not None:
        importable.restrict(config["packages"])
    guarded: dict[str, str] = {}
    module, problems = loader.import_submission(config["submission"], config["cell_marker"], config["import_seconds"], guarded)
    loaded = time.monotonic() - started  # before waiting for the grader's first request, which is not loading
    try:
        request, _ = requests.read()  # the grader's first request names the functions it grades
    except EOFError:
        return
    graded = request["names"] if request["op"] == "report" else []
    functions = loader.callable_names(module, graded)
    problems += loader.not_run_when_imported(guarded, [name for name in graded if name not in functions])
    output.end_of_call()  # after the names are looked up: a module __getattr__ may print
    _send(replies, {"type": "ready", "problems": [*config["problems"], *problems], "functions": functions, "seconds": loaded})

    while True:
        try:
            request, blobs = requests.read()
        except EOFError:
            return
        if request["op"] != "call":
            return
        reply_blobs: list[bytes] = []
        reply: Answer
        try:
            function = loader.lookup(module, request["function"])  # at call time, as ``module.f(...)`` finds it
            if function is None:
                reply = {"type": "missing", "id": request["id"]}
            else:
                args = [decode(value, blobs) for value in request["args"]]
                kwargs = {name: decode(value, blobs) for name, value in request["kwargs"].items()}
                result = function(*args, **kwargs)
                reply = {"type": "returned", "id": request["id"], "value": encode_returned(result, reply_blobs)}
        except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
            reply_blobs = []
            reply = {"type": "raised", "id": request["id"], "error": loader.describe(error)}
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        output.end_of_call()
        _send(replies, reply, reply_blobs)
