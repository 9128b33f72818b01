"""The grader's reading of a worker's reply: untrusted JSON and ``.npy`` blobs, decoded within bounds.

The worker (``worker.py``) encodes a returned value as JSON in which arrays and
NumPy scalars are references to the blobs sent after it: ``{"$array": [i,
"<f8", [2, 3]]}`` for raw numbers, ``{"$array": i}`` (or ``"$scalar"``) for a
``.npy`` file. Everything here is hostile until shown
otherwise, so decoding is bounded in every direction a reply can grow:

- each blob is decoded at most once, however many references point to it;
  the arrays share the blob's memory (no copy) and are read-only, so one
  array may stand for every reference to it;
- the arrays of one reply may hold at most ``budget`` bytes (and entries) in all;
- the JSON part may hold at most ``max_items`` values, nested at most ``max_depth`` deep;
- a raw reference must name a number dtype and a shape that describe exactly
  its blob; a ``.npy`` header must be one ``np.save`` writes for an array of
  one plain dtype (numbers, text, bytes, dates; never a record, whose header
  NumPy parses field by field: 430 fields made each blob cost 2 ms), within
  ``MAX_NPY_HEADER`` bytes, describing exactly the data that follows it, with
  no zero-sized items, and text that Python can hold;
- a dict's keys must be values a dict can hold, each once, and no more than
  ``MAX_SHARED_HASH`` of them may share a hash: Python builds a dict of keys
  chosen to collide (ints a multiple of 2**61 - 1 apart) in quadratic time,
  hours of the grader's CPU for a reply within every other bound.

Anything else raises :class:`ReplyError` (a ``ValueError``); the sandbox turns
it into a "broken" outcome for that one call.
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autograder.boundary import Untrusted
from autograder.sandbox.worker import Unsupported, array_reference, element_count, raw_array
from autograder.text import valid_unicode

if TYPE_CHECKING:  # NumPy is imported where a reply is decoded: the worker must start before the grader pays for it
    import numpy as np

MAX_ITEMS = 1_000_000  # values in the JSON part (the JSON itself is at most Limits.reply_json_bytes)
MAX_DEPTH = 64  # nesting of lists and tuples (the worker sends at most 33 levels)
MAX_BLOBS = 10_000
BLOB_COST = 2048  # what reading one blob costs the grader, in bytes of JSON parsed in the same time (a .npy header)
BLOB_BYTES_PER_JSON_BYTE = 16  # reading a blob's bytes costs about a fiftieth of parsing as much JSON: charged a sixteenth
# What each array or scalar reference in a reply costs the grader to decode (6-11 us: 36 bytes of JSON naming a new
# array over a blob), in bytes of JSON parsed in the same time. Uncharged, 55,000 references to one empty blob in
# each reply cost the grader 30 s of a grade within every other bound (red team).
REFERENCE_COST = 256
MAX_NAME = 80  # characters of an unsupported object's type name
LONG_INT = re.compile(r"-?0x[0-9a-f]+")  # an int too long for decimal JSON, in hex (worker.encode)
MAX_SHARED_HASH = 8  # keys of one dict with the same hash (distinct values of Python's own types almost never share one)
NPY_VERSIONS = ((1, 0), (2, 0), (3, 0))
MAX_NPY_HEADER = 2048  # bytes: np.save's header for NumPy's most dimensions (64) of 2**63 - 1 is under 1.5 kB
# The header np.save writes (numpy.lib.format), of one plain dtype: an allow-list, matched before NumPy reads it.
NPY_HEADER = re.compile(
    rb"\{'descr': '[<>|=][biufcUSMm][0-9]{1,9}(?:\[[0-9]{0,4}[A-Za-z]{1,2}\])?', 'fortran_order': (?:True|False), "
    rb"'shape': \((?:[0-9]{1,20}, ?)*(?:[0-9]{1,20})?\), \} *\n"
)


class ReplyError(ValueError):
    """A reply that cannot be read safely."""


class JsonBudget:
    """The JSON one grading's replies may hold in all: parsing and walking it is the grader's CPU, not the worker's.

    Each reply is bounded on its own (``Limits.reply_json_bytes``), but the calls'
    deadlines bound only the worker: answering every call with 2 MB of JSON
    cost the grader 0.2 s a reply, 30 s a grade, and a minute of a whole batch
    (red team). Right answers are a few kB; arrays travel as raw bytes, charged
    at a sixteenth of their size (``BLOB_BYTES_PER_JSON_BYTE``): 2 GB of them in
    all with the default limits.
    """

    def __init__(self, total: int) -> None:
        self.total = self.left = total
        self.spent = False  # a reply was refused for it: the gate makes no more calls (each would restart a worker)

    def spend(self, length: int) -> None:
        if length > self.left:
            self.spent = True
            raise ReplyError(
                f"the answers so far hold over {self.total >> 20} MB of JSON (or its worth in arrays: 16 bytes of array "
                f"for one of JSON, {REFERENCE_COST} for each array named) in all, more than any grading needs"
            )
        self.left -= length


def read_frame(
    take: Callable[[int], bytes], json_limit: int, bytes_limit: int, budget: JsonBudget | None = None
) -> tuple[Untrusted, list[bytes]]:
    """One framed message, read with ``take(n)`` (which returns exactly n bytes or raises).

    Checks each length before reading what it announces: the JSON part may
    hold at most ``json_limit`` bytes (and what is left of ``budget``), the whole
    message at most ``bytes_limit``. Returns the parsed JSON object and the raw
    blobs; raises :class:`ReplyError`.
    """
    (length,) = struct.unpack(">I", take(4))
    if length > json_limit:
        raise ReplyError(f"a reply of {length:,} bytes of JSON is over the limit (return arrays as NumPy arrays)")
    if budget is not None:
        budget.spend(length)
    try:
        message = json.loads(take(length))
    except (ValueError, RecursionError, MemoryError):  # UnicodeDecodeError is a ValueError
        raise ReplyError("the reply was not valid JSON") from None
    count = message.get("blobs", 0) if isinstance(message, dict) else None
    if type(count) is not int or not 0 <= count <= MAX_BLOBS:
        raise ReplyError("the reply was malformed")
    if budget is not None:
        budget.spend(count * BLOB_COST)  # each blob is one more array to read: ten thousand tiny ones cost as much as JSON
    blobs, total = [], length
    for _ in range(count):
        (size,) = struct.unpack(">Q", take(8))
        total += size
        if total > bytes_limit:
            raise ReplyError(f"a reply of over {bytes_limit:,} bytes is over the limit")
        if budget is not None:  # 64 MB of array with every right answer cost the grader 24 s of reading (red team)
            budget.spend(size // BLOB_BYTES_PER_JSON_BYTE)
        blobs.append(take(size))
    return message, blobs


def decode_reply(
    value: Any,
    blobs: list[bytes],
    budget: int,
    json_budget: JsonBudget | None = None,
    *,
    max_items: int = MAX_ITEMS,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The value a worker returned, from the reply's JSON ``value`` and its ``blobs``.

    ``budget`` bounds the bytes (and the entries) of all arrays decoded from
    this reply together; each array or scalar reference is charged to the
    grading's ``json_budget`` (``REFERENCE_COST``), and each further name for
    a blob its bytes too. Raises :class:`ReplyError` on anything malformed or
    over a bound.
    """
    return _Decoder(blobs, budget, json_budget, max_items, max_depth).decode(value, 0)


class _Decoder:
    def __init__(self, blobs: list[bytes], budget: int, json_budget: JsonBudget | None, max_items: int, max_depth: int) -> None:
        self.blobs = blobs
        self.budget = budget
        self.json_budget = json_budget
        self.items_left = max_items
        self.max_depth = max_depth
        self.arrays: dict[str, tuple[np.ndarray, int]] = {}
        self.named: set[int] = set()  # the blobs an array of the reply has named so far
        self.scalars: dict[int, Any] = {}  # by the id of its array, which self.arrays keeps alive

    def decode(self, data: Any, depth: int) -> Any:
        self.items_left -= 1
        if self.items_left < 0:
            raise ReplyError("the reply holds too many values")
        if depth > self.max_depth:
            raise ReplyError("the reply is nested too deeply")
        if isinstance(data, list):
            return [self.decode(item, depth + 1) for item in data]
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if not isinstance(data, dict) or len(data) != 1:
            raise ReplyError("malformed value")
        ((tag, payload),) = data.items()
        if tag == "$tuple" and isinstance(payload, list):
            return tuple(self.decode(item, depth + 1) for item in payload)
        if tag == "$dict" and isinstance(payload, list):
            return self.mapping(payload, depth)
        if tag == "$int" and isinstance(payload, str) and LONG_INT.fullmatch(payload):
            return int(payload, 16)  # linear in its length, which the reply's JSON bound bounds
        if tag in ("$array", "$scalar"):
            if self.json_budget is not None:
                self.json_budget.spend(REFERENCE_COST)
            array, blob = self.array(payload)
            if self.json_budget is not None and blob in self.named:
                # The blob's bytes were charged once, when read; each further name for them is an array the grader
                # copies, hashes or prints in full: one 16 MB blob named 1,000 times cost it 31 s (red team).
                self.json_budget.spend(array.nbytes // BLOB_BYTES_PER_JSON_BYTE)
            self.named.add(blob)
            if tag == "$array":
                return array
            if array.shape != ():
                raise ReplyError("a scalar must have shape ()")
            # Taking a scalar copies it (a 1 MB string, each time): one scalar per blob, however often it is named.
            scalar = self.scalars.get(id(array))
            if scalar is None:
                scalar = self.scalars[id(array)] = array[()]
            return scalar
        if tag == "$unsupported" and isinstance(payload, str):
            return Unsupported(valid_unicode(payload[:MAX_NAME]))
        raise ReplyError("unknown tag")

    def mapping(self, payload: list[Any], depth: int) -> dict[Any, Any]:
        """A dict from its [key, value] pairs, once its keys are shown to be few per hash and each given once."""
        pairs = []
        for pair in payload:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ReplyError("malformed dict")
            pairs.append((self.decode(pair[0], depth + 1), self.decode(pair[1], depth + 1)))
        try:
            hashes = Counter(hash(key) for key, _ in pairs)  # a list or an array as a key: TypeError
        except TypeError:
            raise ReplyError("a dict key that no dict can hold") from None
        if hashes and max(hashes.values()) > MAX_SHARED_HASH:
            raise ReplyError("a dict whose keys were chosen to share a hash")
        mapping = dict(pairs)
        if len(mapping) != len(pairs):
            raise ReplyError("a dict with a key given twice")
        return mapping

    def array(self, payload: Any) -> tuple[np.ndarray, int]:
        """The array a reference names, and the blob it is over: a blob's index (.npy), or [index, dtype, shape]
        (raw numbers).

        Each distinct reference is decoded once, then shared by every repetition of it.
        """
        key = json.dumps(payload)
        known = self.arrays.get(key)
        if known is None:
            try:
                index, raw = array_reference(payload, len(self.blobs))
                array = raw_array(self.blobs[index], *raw) if raw else load_npy(self.blobs[index], self.budget)
            except ReplyError:
                raise
            except ValueError as error:
                raise ReplyError(str(error)) from None
            self.budget -= max(array.nbytes, array.size)
            if self.budget < 0:
                raise ReplyError("the arrays of the reply are over the size limit")
            known = self.arrays[key] = (array, index)
        return known


def load_npy(blob: bytes, limit: int | None = None) -> np.ndarray:
    """A read-only array over ``blob``'s ``.npy`` bytes, without copying them.

    Refuses a header that claims more (or less) data than the blob holds (a
    forged shape must not make the grader allocate it), object dtypes,
    zero-sized items, text holding code points Python cannot represent, and
    more than ``limit`` bytes or entries.
    """
    import numpy as np

    try:
        stream = io.BytesIO(blob)
        version = np.lib.format.read_magic(stream)
        if version not in NPY_VERSIONS:
            raise ReplyError(f"unsupported .npy version {version}")
        start = stream.tell()
        (length,) = struct.unpack("<H" if version == (1, 0) else "<I", stream.read(2 if version == (1, 0) else 4))
        if length > MAX_NPY_HEADER or not NPY_HEADER.fullmatch(stream.read(length)):
            raise ReplyError("the .npy header is not one np.save writes for an array of numbers or text")
        stream.seek(start)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(stream)
    except ReplyError:
        raise
    except Exception as error:  # noqa: BLE001 - NumPy's header parser raises several kinds on garbage
        raise ReplyError(f"the .npy header cannot be read: {type(error).__name__}") from None
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise ReplyError("object arrays are refused")
    if dtype.itemsize == 0:
        raise ReplyError("arrays of zero-sized items are refused")
    if dtype.subdtype is not None:  # np.save never writes one: an array's own dtype is never a subarray
        raise ReplyError("a subarray dtype is refused")
    count = element_count(shape)
    offset = stream.tell()
    if count * dtype.itemsize != len(blob) - offset:
        raise ReplyError("the array header does not match its data")
    if limit is not None and max(count * dtype.itemsize, count) > limit:
        raise ReplyError("the array is over the size limit")
    try:
        flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    except Exception as error:  # noqa: BLE001 - a dtype NumPy cannot lay over raw bytes
        raise ReplyError(f"the array cannot be read: {type(error).__name__}") from None
    if _holds_text(dtype):
        _check_text(flat)
    array = flat.reshape(shape[::-1]).transpose() if fortran_order else flat.reshape(shape)
    array.flags.writeable = False
    return array


def _holds_text(dtype: np.dtype) -> bool:
    if dtype.fields is not None:
        return any(_holds_text(field[0]) for field in dtype.fields.values())
    if dtype.subdtype is not None:
        return _holds_text(dtype.subdtype[0])
    return dtype.kind == "U"


def _check_text(flat: np.ndarray) -> None:
    """Unicode entries must be code points Python can hold (NumPy fails on others when reading them)."""
    import numpy as np

    if flat.dtype.kind != "U":  # text inside a record: no answer is a record, and checking fields costs copies
        raise ReplyError("records holding text are refused")
    codes = flat.view(np.dtype(np.uint32).newbyteorder(flat.dtype.byteorder))
    if codes.size and int(codes.max()) > 0x10FFFF:
        raise ReplyError("text holding invalid code points")
