"""Problems compiled to plain JSON: the student kit's cases.json, and the grader's start-up cache.

Loading specs means parsing YAML, importing reference solvers, drawing the
random cases and computing every expected and known-wrong answer: about half
of a grade's own time. ``build`` therefore puts the result into
``problems/compiled.json`` of the Gradescope zip, stamped with a fingerprint
of everything it came from; the grader uses it only while the fingerprint
still matches, and otherwise loads the specs as usual. The same encoding
carries the visible cases in the student kit.

Values keep their types through a round trip (tuples stay tuples, arrays keep
their dtype and shape, NumPy scalars stay scalars), and only the kinds of
value the worker's wire can carry are accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from autograder.engine.references import reference_module
from autograder.model import Case, Comparison, Expected, FollowThrough, PartCall, Problem

FORMAT = 3
READABLE_ENTRIES = 64  # arrays up to this size are stored as numbers; larger ones as base64 bytes, read in one go
CACHE_NAME = "compiled.json"


def encode_value(value: Any) -> Any:
    """JSON for a case value; refuses what could not reach a student's function either."""
    import numpy as np

    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return value
    if type(value) is list:
        return [encode_value(item) for item in value]
    if type(value) is tuple:
        return {"$tuple": [encode_value(item) for item in value]}
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biuf":
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise ValueError("an array with NaN or infinite entries")
        if isinstance(value, np.generic):
            return {"$scalar": {"dtype": value.dtype.name, "data": value.item()}}
        if value.size <= READABLE_ENTRIES:
            return {"$array": {"dtype": value.dtype.name, "shape": list(value.shape), "data": value.ravel().tolist()}}
        little = value.astype(value.dtype.newbyteorder("<"), copy=False)
        return {"$array": {"dtype": value.dtype.name, "shape": list(value.shape),
                           "bytes": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode()}}
    raise TypeError(f"a value of type {type(value).__name__} cannot be sent to a student's function or stored")


def decode_value(data: Any) -> Any:
    """Inverse of :func:`encode_value`."""
    import numpy as np

    if isinstance(data, list):
        return [decode_value(item) for item in data]
    if not isinstance(data, dict):
        return data
    ((tag, payload),) = data.items()
    if tag == "$tuple":
        return tuple(decode_value(item) for item in payload)
    if tag == "$array" and "bytes" in payload:
        dtype = np.dtype(payload["dtype"])
        raw = np.frombuffer(base64.b64decode(payload["bytes"]), dtype=dtype.newbyteorder("<"))
        return raw.astype(dtype).reshape(payload["shape"])
    if tag == "$array":
        return np.array(payload["data"], dtype=payload["dtype"]).reshape(payload["shape"])
    if tag == "$scalar":
        return np.dtype(payload["dtype"]).type(payload["data"])
    raise ValueError(f"unknown value tag {tag!r}")


def problems_document(problems: list[Problem]) -> list[dict]:
    """Problems and their cases as JSON-able data."""
    return [{"key": problem.key, "title": problem.title, "number": problem.number, "points": problem.points,
             "graded_by_hand": problem.graded_by_hand, "cases": [_case_entry(case) for case in problem.cases]}
            for problem in problems]


def _case_entry(case: Case) -> dict:
    expected = {"raises": case.expected.raises} if case.expected.raises else {"value": encode_value(case.expected.value)}
    entry = {
        "number": case.number, "function": case.function, "name": case.name, "hidden": case.hidden,
        "args": encode_value(list(case.args)), "kwargs": {key: encode_value(v) for key, v in case.kwargs.items()},
        "expected": expected,
        "compare": _comparison_entry(case.comparison),
        "weight": case.weight, "max_score": case.max_score, "note": case.note, "where": case.where,
        "known_mistakes": [{"answer": encode_value(wrong), "message": message} for wrong, message in case.known_mistakes],
    }
    if case.follow_through is not None:  # the name of the composition only: it is reference code
        entry["follow_through"] = {
            "share": case.follow_through.share, "using": case.follow_through.using,
            "calls": [{"function": c.function, "args": encode_value(list(c.args)),
                       "kwargs": {k: encode_value(v) for k, v in c.kwargs.items()}} for c in case.follow_through.calls],
        }
    return entry


def _comparison_entry(comparison: Comparison) -> dict:
    entry = {"kind": comparison.kind, "rtol": comparison.rtol, "atol": comparison.atol}
    if comparison.eps:
        entry["eps"] = comparison.eps
    if comparison.magnitudes is not None:
        entry["magnitudes"] = encode_value(comparison.magnitudes)
    return entry


def _comparison(raw: dict) -> Comparison:
    magnitudes = raw.get("magnitudes")
    return Comparison(raw["kind"], raw["rtol"], raw["atol"], raw.get("eps", 0.0),
                      decode_value(magnitudes) if magnitudes is not None else None)


def problems_from_document(entries: list[dict], problems_dir: Path | None = None) -> list[Problem]:
    """Inverse of :func:`problems_document`.

    Follow-through needs the reference's composition: with ``problems_dir``
    it is imported from there when first used; without (the student kit) a
    case has no follow-through.
    """
    problems = []
    for entry in entries:
        cases = []
        for raw in entry["cases"]:
            expected = raw["expected"]
            composition = raw.get("follow_through")
            cases.append(Case(
                problem=entry["key"], number=raw["number"], function=raw["function"], name=raw["name"],
                args=tuple(decode_value(raw["args"])), kwargs={k: decode_value(v) for k, v in raw["kwargs"].items()},
                expected=Expected(raises=expected["raises"]) if "raises" in expected else Expected(value=decode_value(expected["value"])),
                comparison=_comparison(raw["compare"]), hidden=raw["hidden"], weight=raw["weight"], note=raw["note"],
                where=raw["where"], max_score=raw["max_score"],
                known_mistakes=[(decode_value(m["answer"]), m["message"]) for m in raw["known_mistakes"]],
                follow_through=_follow_through(composition, problems_dir, entry["key"]) if composition and problems_dir else None,
            ))
        problems.append(Problem(key=entry["key"], title=entry["title"], number=entry["number"], points=entry["points"],
                                cases=cases, graded_by_hand=entry["graded_by_hand"],
                                path=problems_dir / entry["key"] / "spec.yaml" if problems_dir else None))
    return problems


def _follow_through(raw: dict, problems_dir: Path, key: str) -> FollowThrough:
    calls = tuple(PartCall(c["function"], tuple(decode_value(c["args"])), {k: decode_value(v) for k, v in c["kwargs"].items()})
                  for c in raw["calls"])
    return FollowThrough(raw["share"], _Composition(problems_dir / key, raw["using"]), raw["using"], calls)


class _Composition:
    """A reference composition, imported from its reference.py only when a case first needs it."""

    def __init__(self, problem_folder: Path, name: str) -> None:
        self.problem_folder, self.name = problem_folder, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(reference_module(self.problem_folder), self.name)(*args, **kwargs)


# --------------------------------------------------------------------------- the grader's cache


def fingerprint(problems_dir: Path) -> str:
    """A hash of every file the problems are made from, and of the engine code that grades them.

    The one fingerprint of "what decides a grade": it keys the compiled cache,
    and batch grading keys its resumable records with it.
    """
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    package = Path(__file__).resolve().parent.parent
    engine = [p for p in package.rglob("*.py") if "__pycache__" not in p.parts and "apps" not in p.relative_to(package).parts]
    problems = [p for p in Path(problems_dir).rglob("*") if p.is_file() and p.suffix in (".yaml", ".py")
                and "__pycache__" not in p.parts]
    for root, paths in ((package, engine), (Path(problems_dir), problems)):
        for path in sorted(paths):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_bytes(problems_dir: Path, problems: list[Problem]) -> bytes:
    """The cache file's content for ``problems``, loaded from ``problems_dir`` as it is now."""
    document = {"format": FORMAT, "fingerprint": fingerprint(problems_dir), "problems": problems_document(problems),
                "about": "Written by `python -m autograder build`; used only while the fingerprint matches the specs."}
    return (json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n").encode()


def load_cache(problems_dir: Path, stamp: str) -> list[Problem] | None:
    """The cached problems, or None when there is no cache or it does not carry ``stamp`` (the specs' fingerprint)."""
    path = Path(problems_dir) / CACHE_NAME
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_bytes())
        if document.get("format") != FORMAT or document.get("fingerprint") != stamp:
            return None
        return problems_from_document(document["problems"], Path(problems_dir))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
