"""Hostile replies at the wire: no frame a worker can send fails the grading.

Frames (valid framing around hostile JSON and .npy blobs of any dtype, shape
and byte order, forged headers, or plain random bytes) go through the real
reading path: written into a pipe, read by ``Sandbox._receive``, decoded by
``Sandbox._outcome``, judged by the runner against int, ints and array
answers, and written into a results.json that must stay valid UTF-8 JSON.
"""

from __future__ import annotations

import gc
import io
import json
import os
import struct
import threading
import time
import tracemalloc
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.boundary import CallRequest, JsonValue, Untrusted
from autograder.engine import follow_through, runner, scoring
from autograder.engine.compare import agrees, judge, short_repr
from autograder.model import Case, Comparison, Expected, Outcome, Problem, Report
from autograder.output.results import gradescope_json
from autograder.sandbox import reply
from autograder.sandbox import worker as wire
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Sandbox, WorkerGone
from autograder.sandbox.reply import JsonBudget, ReplyError, decode_reply, read_frame
from autograder.sandbox.zygote import WorkerProcess

LIMITS = Limits(reply_bytes=1 << 20, reply_json_bytes=1 << 16)
EXPECTED_ARRAY = np.array([[1.5, -2.0, 3.25], [0.0, 4.0, -1.0]])
EXPECTATIONS = [
    (444, Comparison("int")),
    ([40, 18], Comparison("ints")),
    (EXPECTED_ARRAY, Comparison("array")),
    (EXPECTED_ARRAY, Comparison("array", eps=1e-6, magnitudes=np.abs(EXPECTED_ARRAY) + 1)),
]


# --------------------------------------------------------------------------- the real reading path


def receive(data: bytes, limits: Limits = LIMITS) -> tuple[Untrusted, list[bytes]]:
    """Feed ``data`` through a pipe to the sandbox's own ``_receive``, as a worker would write it."""
    box = Sandbox.__new__(Sandbox)
    box.limits = limits
    box.process = WorkerProcess(pid=0, pidfd=-1, status=-1, returncode=0)  # the worker exited when the pipe closed
    box._reply_bytes, box._marker = 0, b"\n<end of call>\n"
    box.json_budget = JsonBudget(16 * limits.reply_json_bytes)
    box.reset_buffers()
    box._replies, write_end = os.pipe()
    box._output, output_write = os.pipe()
    os.set_blocking(box._replies, False)
    os.set_blocking(box._output, False)

    def write() -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view[: 1 << 16]) :]
        except OSError:  # the reader stopped early (a refused reply)
            pass
        finally:
            os.close(write_end)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        return box._receive(time.monotonic() + 10)
    finally:
        os.close(box._replies)  # unblocks a writer the reader gave up on
        writer.join()
        os.close(box._output)
        os.close(output_write)


def outcome_of(data: bytes, limits: Limits = LIMITS) -> Outcome:
    """What ``Sandbox._call_once`` makes of a reply: a returned value, or a broken call."""
    try:
        message, blobs = receive(data, limits)
        if message.get("id") != 1 or message.get("type") not in ("returned", "raised"):
            raise WorkerGone("broken", "the reply did not answer the call")
        return Sandbox._outcome(SimpleNamespace(limits=limits, json_budget=JsonBudget(16 * limits.reply_json_bytes)), message, blobs)  # type: ignore[arg-type]
    except WorkerGone as gone:
        return Outcome(gone.kind, detail=str(gone))


def frame(value_json: str, blobs: list[bytes], count: object = None) -> bytes:
    body = f'{{"id": 1, "type": "returned", "value": {value_json}, "blobs": {json.dumps(len(blobs) if count is None else count)}}}'
    encoded = body.encode("utf-8", "surrogatepass")
    parts = [struct.pack(">I", len(encoded)), encoded]
    for blob in blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    return b"".join(parts)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "stored in format 3.0": records with non-Latin-1 field names
        np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def grade_everything(outcome: Outcome) -> None:
    """Judge the outcome as every kind of answer, then write the results.json it makes."""
    for expected, comparison in EXPECTATIONS:
        if outcome.kind == "returned":
            assert isinstance(agrees(expected, outcome.value, comparison), bool)
            assert isinstance(short_repr(outcome.value), str)
            assert "could not compare" not in judge(expected, outcome.value, comparison).detail  # no safety net needed
        cases = [
            Case(
                problem="q",
                number=f"1.{i}",
                function="f",
                name=f"case {i}",
                args=(np.arange(3),),
                kwargs={},
                expected=Expected(value=expected),
                comparison=comparison,
                hidden=hidden,
                max_score=1.0,
                known_mistakes=[(expected, "a mistake that is the answer itself")] if hidden else [],
            )
            for i, hidden in enumerate((False, True))
        ]
        report = Report(submission="submission.py", problems=[Problem(key="q", title="Q: hostile", number="1", points=2, cases=cases)])
        for case in cases:
            result = runner.check(case, outcome)
            scoring.score_case(result)
            report.results.append(result)
        text = json.dumps(gradescope_json(report), ensure_ascii=False, allow_nan=False)
        assert json.loads(text.encode("utf-8"))["tests"]


# --------------------------------------------------------------------------- hostile values


SURROGATES = st.sampled_from(["\ud800", "a\udfffb", "\udc80" * 3, "x\ud83d"])
TEXT = st.one_of(st.text(max_size=20), SURROGATES)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([10**400, -(10**308) * 10, 2**1024, 2**63, -(2**64)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    TEXT,
)


# Raw references name a dtype and a shape themselves: real ones, and every kind of lie about them.
RAW_DTYPES = st.one_of(
    st.sampled_from(
        ["<f8", ">f8", "<f4", "<f2", "|b1", "|i1", "<i8", ">u4", "<c16", "|O8", "<U2", "|S3", "|V8", "<M8[s]", "<f8,<i4", "f8", "", "<f99"]
    ),
    st.integers(),
    st.none(),
    TEXT,
)
RAW_SHAPES = st.one_of(
    st.lists(st.integers(min_value=-2, max_value=5), max_size=4),
    st.just([10**12, 10**12]),
    st.just([2**70]),
    st.just([True, 2]),
    st.just([[2], 3]),
    st.just(list(range(1, 40))),
    st.integers(),
    st.none(),
)


def tagged(blob_count: int) -> st.SearchStrategy:
    """A leaf tag: references to the reply's blobs (valid or not), unsupported objects, bogus dicts."""
    index = st.integers(min_value=-1, max_value=blob_count + 1)
    return st.one_of(
        st.builds(lambda i: {"$array": i}, index),
        st.builds(lambda i: {"$scalar": i}, index),
        st.builds(lambda name: {"$unsupported": name}, TEXT),
        st.sampled_from([{"$array": 0.0}, {"$array": True}, {"$array": "0"}, {"$what": 1}, {"$array": 0, "$scalar": 0}, {}]),
        st.builds(
            lambda tag, i, dtype, shape: {tag: [i, dtype, shape]}, st.sampled_from(["$array", "$scalar"]), index, RAW_DTYPES, RAW_SHAPES
        ),
    )


def json_values(blob_count: int) -> st.SearchStrategy:
    leaves = st.one_of(NUMBERS, tagged(blob_count))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=6), st.builds(lambda items: {"$tuple": items}, st.lists(inner, max_size=4))),
        max_leaves=30,
    )


def deep(levels: int, leaf: str = "1") -> str:
    return "[" * levels + leaf + "]" * levels


DTYPES = st.one_of(
    hnp.scalar_dtypes(),
    hnp.byte_string_dtypes(max_len=4),
    hnp.unicode_string_dtypes(max_len=4),
    hnp.floating_dtypes(endianness="?", sizes=(16, 32, 64)),
    hnp.integer_dtypes(endianness="?"),
    hnp.complex_number_dtypes(endianness="?"),
    hnp.datetime64_dtypes(endianness="?"),
    hnp.timedelta64_dtypes(endianness="?"),
    hnp.array_dtypes(max_size=3),
)
ARRAYS = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))


@st.composite
def blobs(draw: st.DrawFn) -> bytes:
    """An .npy blob: any dtype, shape, byte order or memory order, sometimes forged."""
    array = draw(ARRAYS)
    if draw(st.booleans()) and array.ndim >= 2:
        array = np.asfortranarray(array)
    if array.shape == (2, 3) and array.dtype.kind in "iuf" and draw(st.booleans()):
        array = EXPECTED_ARRAY.astype(array.dtype)  # sometimes right, in its own dtype and byte order
    data = npy(array)
    forgery = draw(st.sampled_from(["none"] * 6 + ["truncate", "extend", "flip", "garbage", "code points", "generic datetime", "shape"]))
    if forgery == "none":
        return data
    if forgery == "truncate":
        return data[: draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))]
    if forgery == "extend":
        return data + draw(st.binary(min_size=1, max_size=16))
    if forgery == "flip":
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        return data[:position] + bytes([data[position] ^ draw(st.integers(1, 255))]) + data[position + 1 :]
    if forgery == "garbage":
        return draw(st.binary(max_size=200))
    if forgery == "code points":  # text NumPy cannot turn into Python strings
        codes = np.array(
            draw(st.lists(st.sampled_from([0x41, 0xD800, 0x10FFFF, 0x110000, 0xFFFFFFFF]), min_size=1, max_size=6)), dtype="<u4"
        )
        return npy(codes).replace(b"'<u4'", b"'<U1'")
    if forgery == "generic datetime":
        return npy(np.array([1, 2, 3], dtype="<i8")).replace(b"'<i8'", b"'<M8'")
    return data.replace(b"'shape': (", b"'shape': (1000000000, ", 1)


def references(blob_count: int) -> st.SearchStrategy:
    """Values that mostly decode: valid references to the blobs, alone or among numbers in lists."""
    valid = st.integers(min_value=0, max_value=blob_count - 1)
    reference = st.one_of(
        st.builds(lambda i: {"$array": i}, valid),
        st.builds(lambda i: {"$scalar": i}, valid),
        st.builds(lambda i, dtype, shape: {"$array": [i, dtype, shape]}, valid, RAW_DTYPES, RAW_SHAPES),
    )
    return st.one_of(
        reference,
        st.lists(st.one_of(reference, NUMBERS), min_size=1, max_size=4),
        st.lists(st.lists(reference, min_size=1, max_size=3), min_size=1, max_size=3),
    )


def reply_values(blob_count: int) -> st.SearchStrategy:
    if not blob_count:
        return json_values(0)
    return st.one_of(references(blob_count), references(blob_count), json_values(blob_count))


REPLIES = st.lists(blobs(), max_size=3).flatmap(lambda bs: st.tuples(reply_values(len(bs)).map(lambda v: json.dumps(v)), st.just(bs)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(REPLIES)
def test_hostile_frames_always_give_a_verdict(value_and_blobs: tuple[str, list[bytes]]) -> None:
    value_json, blob_list = value_and_blobs
    grade_everything(outcome_of(frame(value_json, blob_list)))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_give_a_verdict(data: bytes, with_valid_length: bool) -> None:
    if with_valid_length:
        data = struct.pack(">I", len(data)) + data
    grade_everything(outcome_of(data))


@pytest.mark.parametrize(
    "value_json, blob_list, count",
    [
        (deep(10_000), [], None),  # JSON nested past the parser's recursion
        (deep(200), [], None),  # past the decoder's depth bound
        (deep(50, "1" + "0" * 400), [], None),  # 10**400, nested
        ("1" + "0" * 5000, [], None),  # past Python's int-to-text limit
        ('"\\ud800\\udfff\\ud800"', [], None),
        ("[NaN, Infinity, -Infinity, 1e999]", [], None),
        ('[{"$array": 0}]', [npy(EXPECTED_ARRAY)], float("inf")),
        ('[{"$array": 0}]', [npy(EXPECTED_ARRAY)], "1"),
        ('[{"$array": 0}]', [npy(EXPECTED_ARRAY)], 10**9),
        ('{"$array": 0}', [npy(EXPECTED_ARRAY)], -1),
        ("[" + ", ".join(['{"$array": 0}'] * 40) + "]", [npy(np.zeros(100_000))], None),
    ],
)
def test_named_hostile_frames(value_json: str, blob_list: list[bytes], count: object) -> None:
    data = frame(value_json, blob_list, count)
    grade_everything(outcome_of(data))
    grade_everything(outcome_of(data[: len(data) // 2]))  # the worker died mid-reply


def test_right_answers_in_any_real_dtype_and_memory_order_pass_through_the_wire() -> None:
    for array in (
        EXPECTED_ARRAY.astype(">f8"),
        np.asfortranarray(EXPECTED_ARRAY),
        EXPECTED_ARRAY.astype("<f4"),
        EXPECTED_ARRAY.astype(">f4"),
    ):
        outcome = outcome_of(frame('{"$array": 0}', [npy(array)]))
        assert outcome.kind == "returned" and judge(EXPECTED_ARRAY, outcome.value, Comparison("array")).passed
    for dtype in (">i8", "<i2", ">u4", "<f2", ">f8"):
        outcome = outcome_of(frame('{"$array": 0}', [npy(np.array(444, dtype=dtype))]))
        assert judge(444, outcome.value, Comparison("int")).passed, dtype
        outcome = outcome_of(frame('{"$scalar": 0}', [npy(np.array(444, dtype=dtype))]))
        assert judge(444, outcome.value, Comparison("int")).passed, dtype
    assert judge([40, 18], outcome_of(frame('{"$array": 0}', [npy(np.array([40, 18], dtype=">i4"))])).value, Comparison("ints")).passed


def raw(array: np.ndarray) -> tuple[str, bytes]:
    """A raw reference to ``array`` and its blob, as the worker sends a number array."""
    blobs: list[bytes] = []
    return json.dumps(wire.encode(array, blobs)), blobs[0]


def test_number_arrays_travel_raw_and_arrive_exact_and_read_only() -> None:
    for array in (
        EXPECTED_ARRAY,
        EXPECTED_ARRAY.astype(">f4"),
        np.asfortranarray(EXPECTED_ARRAY),
        np.arange(6, dtype="<i2"),
        np.array([True, False]),
        np.array([1 + 2j]),
        np.zeros((0, 3)),
        np.float16(2.5),
    ):
        reference, blob = raw(array)
        assert isinstance(json.loads(reference)[next(iter(json.loads(reference)))], list), reference  # raw, not .npy
        outcome = outcome_of(frame(reference, [blob]))
        assert outcome.kind == "returned" and type(outcome.value) is type(array), reference
        assert np.array_equal(outcome.value, array) and outcome.value.dtype == array.dtype
        if isinstance(outcome.value, np.ndarray):
            assert not outcome.value.flags.writeable


@pytest.mark.parametrize(
    "dtype, shape, blob",
    [
        ("|O8", [1], bytes(8)),
        ("<U2", [1], bytes(8)),
        ("|V8", [1], bytes(8)),
        ("<M8[s]", [1], bytes(8)),
        ("<f8,<i4", [1], bytes(12)),
        ("<f8", [2], bytes(8)),
        ("<f8", [10**12], bytes(8)),
        ("<f8", [-1], bytes(8)),
        ("<f8", [True], bytes(8)),
        ("<f8", [2**70], bytes(8)),
        ("<f8", "1", bytes(8)),
        ("<f8", list(range(1, 40)), bytes(8)),
        (5, [1], bytes(8)),
    ],
)
def test_forged_raw_references_are_broken_replies(dtype: object, shape: object, blob: bytes) -> None:
    outcome = outcome_of(frame(json.dumps({"$array": [0, dtype, shape]}), [blob]))
    assert outcome.kind == "broken" and "could not be read safely" in outcome.detail


def test_unreadable_text_and_forged_headers_are_broken_replies() -> None:
    codes = npy(np.array([0x41, 0x110000], dtype="<u4")).replace(b"'<u4'", b"'<U1'")
    forged = npy(np.zeros(4)).replace(b"'shape': (4,)", b"'shape': (1000000000000,)")
    for blob in (codes, forged, npy(np.zeros(4))[:-1], b"\x93NUMPY garbage"):
        outcome = outcome_of(frame('{"$array": 0}', [blob]))
        assert outcome.kind == "broken" and "could not be read safely" in outcome.detail


def test_only_headers_np_save_writes_for_a_plain_dtype_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record's header is refused before NumPy parses it: the red team's 430-field dtype, 4,500 blobs a reply,
    cost the grader 100 s of CPU and 530 MB. Every dtype an answer may have still reads."""
    parsed: list[str] = []
    for version in ("1_0", "2_0"):
        real_read = getattr(np.lib.format, f"read_array_header_{version}")

        def counted(stream: Any, *args: Any, real: Any = real_read, **kwargs: Any) -> Any:
            parsed.append(real.__name__)
            return real(stream, *args, **kwargs)

        monkeypatch.setattr(np.lib.format, f"read_array_header_{version}", counted)
    records = np.zeros(2, dtype=[(f"f{i}", "<i1") for i in range(430)])
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, records, version=(2, 0))
    for blob in (buffer.getvalue(), npy(np.zeros(3, dtype="V8")), npy(np.zeros(3)).replace(b"'shape'", b"'shape' ")):
        outcome = outcome_of(frame('{"$array": 0}', [blob]))
        assert outcome.kind == "broken" and "could not be read safely" in outcome.detail
    assert not parsed
    for value in (
        np.array(["ab", "c"]),
        np.array([b"x"]),
        np.array(["2020-01-01"], dtype="M8[D]"),
        np.zeros((1,) * 32, dtype=np.longdouble),
    ):
        assert np.array_equal(reply.load_npy(npy(value)), value)


def test_refusals_on_the_wire() -> None:
    assert outcome_of(struct.pack(">I", LIMITS.reply_json_bytes + 1)).kind == "broken"
    huge_blob = frame('{"$array": 0}', [npy(np.zeros(LIMITS.reply_bytes // 8 + 1))])
    assert outcome_of(huge_blob).kind == "broken"
    assert outcome_of(frame('{"$array": 0}', [npy(np.zeros(3))], count=float("inf"))).kind == "broken"
    assert outcome_of(frame(deep(100), [])).detail.endswith("nested too deeply")


# --------------------------------------------------------------------------- bounds of the decoder


def test_each_blob_is_decoded_once_and_shared_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = reply.load_npy

    def counted(blob: bytes, limit: int | None = None) -> np.ndarray:
        calls.append(blob)
        return real(blob, limit)

    monkeypatch.setattr(reply, "load_npy", counted)
    value = decode_reply([{"$array": 0}] * 40 + [{"$tuple": [{"$array": 0}]}], [npy(np.arange(10.0))], 1 << 20)
    assert len(calls) == 1
    assert all(item is value[0] for item in value[:40]) and value[40][0] is value[0]
    assert not value[0].flags.writeable


def test_each_raw_reference_is_decoded_once_and_shared() -> None:
    reference = {"$array": [0, "<f8", [10]]}
    value = decode_reply([reference] * 40, [np.arange(10.0).tobytes()], 1 << 20)
    assert all(item is value[0] for item in value) and not value[0].flags.writeable
    with pytest.raises(ReplyError, match="size limit"):  # another shape over the same blob is another array, and counts
        decode_reply([reference, {"$array": [0, "<f8", [2, 5]]}], [np.arange(10.0).tobytes()], 120)


def test_decoded_bytes_items_and_depth_are_bounded() -> None:
    two = [npy(np.zeros(1000)), npy(np.zeros(1000))]
    assert len(decode_reply([{"$array": 0}, {"$array": 1}], two, 16_000)) == 2
    with pytest.raises(ReplyError, match="size limit"):
        decode_reply([{"$array": 0}, {"$array": 1}], two, 12_000)
    with pytest.raises(ReplyError, match="too many values"):
        decode_reply([[0] * 60, [0] * 60], [], 1 << 20, max_items=100)
    nested: JsonValue = [1]
    for _ in range(30):
        nested = [nested]
    assert decode_reply(nested, [], 1, max_depth=31) == nested
    with pytest.raises(ReplyError, match="nested too deeply"):
        decode_reply(nested, [], 1, max_depth=29)


def test_read_frame_checks_lengths_before_reading() -> None:
    asked = []

    def take(size: int) -> bytes:
        asked.append(size)
        return struct.pack(">I", 10**9)

    with pytest.raises(ReplyError, match="over the limit"):
        read_frame(take, 1 << 20, 1 << 26)
    assert asked == [4]


def test_forty_references_to_one_big_blob_keep_grader_memory_small() -> None:
    """The grader once decoded a 56 MB blob forty times (2.3 GB); now once, and without a copy."""
    big = np.zeros(7_000_000)  # 56 MB of .npy
    data = frame("[" + ", ".join(['{"$array": 0}'] * 40) + "]", [npy(big)])
    del big
    limits = Limits()
    message, blobs_read = read_frame(io.BytesIO(data).read, limits.reply_json_bytes, limits.reply_bytes)
    del data
    gc.collect()
    tracemalloc.start()
    try:
        outcome = Sandbox._outcome(SimpleNamespace(limits=limits, json_budget=None), message, blobs_read)  # type: ignore[arg-type]
        for expected, comparison in EXPECTATIONS:
            judge(expected, outcome.value, comparison)
            agrees(expected, outcome.value, comparison)
            short_repr(outcome.value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.kind == "returned" and len(outcome.value) == 40
    assert all(item is outcome.value[0] for item in outcome.value)
    assert peak < 5 << 20, f"peak {peak:,} bytes"


def test_a_right_answer_of_forty_references_is_judged_at_the_size_of_the_answer() -> None:
    row = np.array([1.5, -2.0, 3.25])
    value = decode_reply([{"$array": 0}, {"$array": 0}], [npy(row)], 1 << 20)
    assert judge(np.array([row, row]), value, Comparison("array")).passed
    assert not judge(np.array([row, row + 1]), value, Comparison("array")).passed


CALL_ARGUMENTS = st.lists(
    st.one_of(
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False),
        st.text(max_size=5),
        st.lists(st.integers(), max_size=4),
        st.tuples(st.integers(), st.text(max_size=3)),
        hnp.arrays(st.sampled_from(["i1", "<i8", ">f4", "f8", "c16", "?"]), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
    ),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(
    call_id=st.integers(min_value=1, max_value=10**9),
    function=st.text(min_size=1, max_size=12),
    args=CALL_ARGUMENTS,
    kwargs=st.dictionaries(st.text(max_size=6), CALL_ARGUMENTS.map(tuple), max_size=2),
)
def test_a_call_encoded_once_reads_as_the_request_made_afresh(
    call_id: int, function: str, args: list[object], kwargs: dict[str, object]
) -> None:
    """The worker reads what call_frame puts together exactly as the request request_frame encodes in full."""
    blobs: list[bytes] = []
    request: CallRequest = {
        "op": "call",
        "id": call_id,
        "function": function,
        "args": [wire.encode(a, blobs) for a in args],
        "kwargs": {k: wire.encode(v, blobs) for k, v in kwargs.items()},
    }
    read = []
    for data in (wire.request_frame(request, blobs), wire.call_frame(call_id, wire.encode_call(function, args, kwargs))):
        reader, writer = os.pipe()
        try:
            os.write(writer, data)
            read.append(wire.RequestPipe(reader).read())
        finally:
            os.close(reader)
            os.close(writer)
    assert read[0] == read[1]


def test_a_problem_sets_calls_are_encoded_once_for_all_its_grades() -> None:
    """A batch's grades share one problem set: each case's call is encoded by the first and sent as it is by the rest."""
    case = Case(
        problem="q",
        number="1.1",
        function="f",
        name="a case",
        args=(np.arange(12.0).reshape(3, 4), [1, 2]),
        kwargs={"stride": 2},
        expected=Expected(value=1),
        comparison=Comparison("int"),
    )
    planned = runner.PlannedCalls()
    recorder = follow_through.Recorder({"f"})
    (first, key), (again, same_key) = planned.of(case, recorder), planned.of(case, recorder)
    assert again is first and same_key == key == follow_through.call_key("f", case.args, case.kwargs)
    assert first.encoded == wire.encode_call("f", case.args, case.kwargs)


def test_empty_arrays_count_against_what_follow_through_keeps() -> None:
    """An empty array counted as nothing: answers of 55,000 of them each were all kept for follow-through to the end
    of the grade, 1.2 GB of the grader's memory (red team). Each array counts its own object too."""
    recorder = follow_through.Recorder({"part"})
    answers = [Outcome("returned", value=[np.zeros((0, n)) for n in range(1, 5_001)]) for _ in range(40)]
    for outcome in answers:
        recorder.keep(outcome, needed=True)
    kept = sum(not outcome.dropped for outcome in answers)
    assert kept == follow_through.KEPT_ENTRIES // (1 + 5_000 * follow_through.ARRAY_ENTRIES) < 40, kept
    assert all(outcome.value is None for outcome in answers[kept:])
