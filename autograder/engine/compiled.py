"""Problems compiled to plain data: the student kit's cases.json, and the grader's start-up cache.

Loading specs means parsing YAML, importing reference solvers, drawing the
random cases and computing every expected and known-wrong answer: about half
of a grade's own time. ``build`` therefore puts the result into
``problems/compiled.json`` of the Gradescope zip, stamped with a fingerprint
of everything it came from; the grader uses it only while the fingerprint
still matches, and otherwise loads the specs as usual. The same encoding
carries the visible cases in the student kit.

The cache is three parts, so that each reader parses only what it needs:

- a JSON line, the header: format, fingerprint, and what the front end that
  wrote the cache asked to keep beside the problems (the course configuration
  already parsed, so that a grade never imports PyYAML: apps/course.py);
- a JSON line, the problems, in which each array is a reference
  ``{"$array": {"dtype", "shape", "at"}}`` into the bytes that follow;
- the arrays' raw little-endian bytes, one after another: numbers in JSON text
  (or base64) cost far more to parse than bytes cost to copy.

Values keep their types through a round trip (tuples stay tuples, arrays keep
their dtype and shape, NumPy scalars stay scalars), and only the kinds of
value the worker's wire can carry are accepted.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from autograder.engine.references import reference_module
from autograder.model import Case, Comparison, Expected, FollowThrough, PartCall, Problem
from autograder.sandbox.worker import LONG_INT_BITS

try:  # hashlib's own blake2b, from its built-in module: importing hashlib loads OpenSSL, 3 ms of every grade
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b

FORMAT = 4
READABLE_ENTRIES = 64  # in cases.json, arrays up to this size are stored as numbers; larger ones as base64 bytes
CACHE_NAME = "compiled.json"


def encode_value(value: Any, blob: bytearray | None = None) -> Any:
    """JSON for a case value; refuses what could not reach a student's function either.

    With ``blob`` (the grader's cache), an array's bytes are appended to it and
    the JSON says where they start; without (cases.json, call keys), the array
    is in the JSON itself.
    """
    import numpy as np

    if type(value) is int and value.bit_length() > LONG_INT_BITS:
        return {"$int": hex(value)}  # decimal JSON stops at 4,300 digits
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return value
    if type(value) is list:
        return [encode_value(item, blob) for item in value]
    if type(value) is tuple:
        return {"$tuple": [encode_value(item, blob) for item in value]}
    if isinstance(value, dict):  # a spec's mapping too (its YAML loader's own dict type)
        return {"$dict": [[encode_value(key, blob), encode_value(item, blob)] for key, item in value.items()]}
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biuf":
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise ValueError("an array with NaN or infinite entries")
        if isinstance(value, np.generic):
            return {"$scalar": {"dtype": value.dtype.name, "data": value.item()}}
        if blob is None and value.size <= READABLE_ENTRIES:
            return {"$array": {"dtype": value.dtype.name, "shape": list(value.shape), "data": value.ravel().tolist()}}
        little = np.ascontiguousarray(value.astype(value.dtype.newbyteorder("<"), copy=False)).tobytes()
        if blob is None:
            import base64  # cases.json only: a grade reads its arrays from the cache's bytes

            return {"$array": {"dtype": value.dtype.name, "shape": list(value.shape), "bytes": base64.b64encode(little).decode()}}
        blob += little
        return {"$array": {"dtype": value.dtype.name, "shape": list(value.shape), "at": len(blob) - len(little)}}
    raise TypeError(f"a value of type {type(value).__name__} cannot be sent to a student's function or stored")


def decode_value(data: Any, blob: bytes | memoryview = b"") -> Any:
    """Inverse of :func:`encode_value`; ``blob`` holds the bytes of the arrays the JSON points into.

    Every array comes back as a fresh, writable array of its own, whichever way it was stored.
    """
    import numpy as np

    if isinstance(data, list):
        if not any(type(item) is list or type(item) is dict for item in data):  # numbers and strings: nothing to decode
            return list(data)
        return [decode_value(item, blob) for item in data]
    if not isinstance(data, dict):
        return data
    ((tag, payload),) = data.items()
    if tag == "$tuple":
        return tuple(decode_value(item, blob) for item in payload)
    if tag == "$dict":
        return {decode_value(key, blob): decode_value(item, blob) for key, item in payload}
    if tag == "$int":
        return int(payload, 16)
    if tag == "$array" and "at" in payload:
        dtype = np.dtype(payload["dtype"])
        raw = np.frombuffer(blob, dtype=dtype.newbyteorder("<"), count=math.prod(payload["shape"]), offset=payload["at"])
        return raw.reshape(payload["shape"]).astype(dtype)  # astype copies: an array of its own, writable
    if tag == "$array" and "bytes" in payload:
        import base64

        dtype = np.dtype(payload["dtype"])
        raw = np.frombuffer(base64.b64decode(payload["bytes"]), dtype=dtype.newbyteorder("<"))
        return raw.astype(dtype).reshape(payload["shape"])
    if tag == "$array":
        return np.array(payload["data"], dtype=payload["dtype"]).reshape(payload["shape"])
    if tag == "$scalar":
        return np.dtype(payload["dtype"]).type(payload["data"])
    raise ValueError(f"unknown value tag {tag!r}")


def problems_document(problems: list[Problem], blob: bytearray | None = None) -> list[dict[str, Any]]:
    """Problems and their cases as JSON-able data; with ``blob``, the arrays' bytes go there (see encode_value)."""
    return [
        {
            "key": problem.key,
            "title": problem.title,
            "number": problem.number,
            "points": problem.points,
            "graded_by_hand": problem.graded_by_hand,
            "cases": [_case_entry(case, blob) for case in problem.cases],
            "mistake_forms": _forms_named(problem),
        }
        for problem in problems
    ]


def _forms_named(problem: Problem) -> dict[str, int]:
    """The problem's mistake_forms for the messages its cases here carry: the kit's visible cases name no other."""
    named = {message for case in problem.cases for _, message in case.known_mistakes}
    return {message: forms for message, forms in problem.mistake_forms.items() if message in named}


def _case_entry(case: Case, blob: bytearray | None) -> dict[str, Any]:
    def encode(value: Any) -> Any:
        return encode_value(value, blob)

    expected = {"raises": case.expected.raises} if case.expected.raises else {"value": encode(case.expected.value)}
    entry = {
        "number": case.number,
        "function": case.function,
        "name": case.name,
        "hidden": case.hidden,
        "args": encode(list(case.args)),
        "kwargs": {key: encode(v) for key, v in case.kwargs.items()},
        "expected": expected,
        "compare": _comparison_entry(case.comparison, blob),
        "weight": case.weight,
        "max_score": case.max_score,
        "note": case.note,
        "where": case.where,
        "known_mistakes": [{"answer": encode(wrong), "message": message} for wrong, message in case.known_mistakes],
    }
    if case.follow_through is not None:  # the name of the composition only: it is reference code
        entry["follow_through"] = {
            "share": case.follow_through.share,
            "using": case.follow_through.using,
            "calls": [
                {"function": c.function, "args": encode(list(c.args)), "kwargs": {k: encode(v) for k, v in c.kwargs.items()}}
                for c in case.follow_through.calls
            ],
        }
    return entry


def _comparison_entry(comparison: Comparison, blob: bytearray | None) -> dict[str, Any]:
    entry = {"kind": comparison.kind, "rtol": comparison.rtol, "atol": comparison.atol}
    if comparison.eps:
        entry["eps"] = comparison.eps
    if comparison.magnitudes is not None:
        entry["magnitudes"] = encode_value(comparison.magnitudes, blob)
    return entry


def _comparison(raw: dict[str, Any], blob: bytes | memoryview) -> Comparison:
    magnitudes = raw.get("magnitudes")
    return Comparison(
        raw["kind"], raw["rtol"], raw["atol"], raw.get("eps", 0.0), decode_value(magnitudes, blob) if magnitudes is not None else None
    )


def problems_from_document(
    entries: list[dict[str, Any]], problems_dir: Path | None = None, blob: bytes | memoryview = b""
) -> list[Problem]:
    """Inverse of :func:`problems_document`; ``blob`` holds the arrays' bytes when they were put there.

    Follow-through needs the reference's composition: with ``problems_dir``
    it is imported from there when first used; without (the student kit) a
    case has no follow-through.
    """

    def decode(data: Any) -> Any:
        return decode_value(data, blob)

    problems = []
    for entry in entries:
        cases = []
        for raw in entry["cases"]:
            expected = raw["expected"]
            composition = raw.get("follow_through")
            cases.append(
                Case(
                    problem=entry["key"],
                    number=raw["number"],
                    function=raw["function"],
                    name=raw["name"],
                    args=tuple(decode(raw["args"])),
                    kwargs={k: decode(v) for k, v in raw["kwargs"].items()},
                    expected=Expected(raises=expected["raises"]) if "raises" in expected else Expected(value=decode(expected["value"])),
                    comparison=_comparison(raw["compare"], blob),
                    hidden=raw["hidden"],
                    weight=raw["weight"],
                    note=raw["note"],
                    where=raw["where"],
                    max_score=raw["max_score"],
                    known_mistakes=[(decode(m["answer"]), m["message"]) for m in raw["known_mistakes"]],
                    follow_through=_follow_through(composition, problems_dir, entry["key"], blob) if composition and problems_dir else None,
                )
            )
        problems.append(
            Problem(
                key=entry["key"],
                title=entry["title"],
                number=entry["number"],
                points=entry["points"],
                cases=cases,
                graded_by_hand=entry["graded_by_hand"],
                path=problems_dir / entry["key"] / "spec.yaml" if problems_dir else None,
                mistake_forms=dict(entry.get("mistake_forms", {})),
            )
        )
    return problems


def _follow_through(raw: dict[str, Any], problems_dir: Path, key: str, blob: bytes | memoryview) -> FollowThrough:
    calls = tuple(
        PartCall(c["function"], tuple(decode_value(c["args"], blob)), {k: decode_value(v, blob) for k, v in c["kwargs"].items()})
        for c in raw["calls"]
    )
    return FollowThrough(raw["share"], _Composition(problems_dir / key, raw["using"]), raw["using"], calls)


class _Composition:
    """A reference composition, imported from its reference.py only when a case first needs it."""

    def __init__(self, problem_folder: Path, name: str) -> None:
        self.problem_folder, self.name = problem_folder, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(reference_module(self.problem_folder), self.name)(*args, **kwargs)


# --------------------------------------------------------------------------- the grader's cache


def content_hash(data: bytes = b"") -> blake2b:
    """The hash that tells contents apart (the cache's fingerprint, follow-through's call keys): 256-bit BLAKE2b."""
    return blake2b(data, digest_size=32)


def fingerprint(problems_dir: Path) -> str:
    """A hash of every file the problems are made from, and of the engine code that grades them.

    The one fingerprint of "what decides a grade": it keys the compiled cache,
    and batch grading keys its resumable records with it.
    """
    digest = content_hash(f"format {FORMAT}".encode())
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for root, suffixes, skip in (
        (package, (".py",), {"__pycache__", "apps"}),
        (os.fspath(problems_dir), (".yaml", ".py"), {"__pycache__"}),
    ):
        for relative in _files(root, suffixes, skip):
            with open(os.path.join(root, *relative), "rb") as stream:
                digest.update("/".join(relative).encode() + b"\0" + stream.read() + b"\0")
    return digest.hexdigest()


def _files(root: str, suffixes: tuple[str, ...], skip: set[str]) -> list[tuple[str, ...]]:
    """The files under ``root`` with one of ``suffixes``, as the parts of their paths below it, in the order
    of those parts; never looking inside a folder named in ``skip``.

    os.walk, pruned, and plain strings: every grade computes the fingerprint, and a glob over the whole tree
    would list every compiled file and front end too, only to drop them.
    """
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in skip]
        below = os.path.relpath(folder, root).split(os.sep) if folder != root else []
        found += [(*below, name) for name in names if os.path.splitext(name)[1] in suffixes and os.path.isfile(os.path.join(folder, name))]
    return sorted(found)


def cache_bytes(problems_dir: Path, problems: list[Problem], course: Any = None) -> bytes:
    """The cache file's content for ``problems``, loaded from ``problems_dir`` as it is now.

    Its header also carries ``course``, any JSON value, for :func:`stored_course` to give back: the
    engine knows nothing of the course, but a front end may keep its parse of the course's files here.
    """
    header = {
        "format": FORMAT,
        "fingerprint": fingerprint(problems_dir),
        "course": course,
        "about": "Written by `python -m autograder build`; used only while the fingerprint matches the specs. "
        "This line, then the problems (JSON), then the bytes of their arrays.",
    }
    blob = bytearray()
    body = {"problems": problems_document(problems, blob)}
    lines = [json.dumps(part, ensure_ascii=False, allow_nan=False).encode() for part in (header, body)]
    return lines[0] + b"\n" + lines[1] + b"\n" + bytes(blob)  # JSON never holds a raw newline: the lines split exactly


def load_cache(problems_dir: Path, stamp: str) -> list[Problem] | None:
    """The cached problems, or None when there is no cache or it does not carry ``stamp`` (the specs' fingerprint)."""
    path = Path(problems_dir) / CACHE_NAME
    if not path.is_file():
        return None
    try:
        data = path.read_bytes()
        header_end = data.index(b"\n")
        header = json.loads(data[:header_end])
        if header.get("format") != FORMAT or header.get("fingerprint") != stamp:
            return None
        body_end = data.index(b"\n", header_end + 1)
        body = json.loads(data[header_end + 1 : body_end])
        return problems_from_document(body["problems"], Path(problems_dir), memoryview(data)[body_end + 1 :])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# --------------------------------------------------------------------------- what a front end keeps beside the problems


def stored_course(problems_dir: Path) -> Any:
    """The ``course`` value the cache under ``problems_dir`` was written with; None when there is none,
    or the cache is unreadable or of another format. Only the header line is read."""
    try:
        with (Path(problems_dir) / CACHE_NAME).open("rb") as stream:
            header = json.loads(stream.readline())
        return header["course"] if header["format"] == FORMAT else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
