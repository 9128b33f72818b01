"""The grader's start-up cache (engine/compiled.py): arrays as raw bytes, and the course configuration already parsed.

tests/test_spec.py shows the cached problems standing in for the specs; here, what the cache's own
format adds: every kind of array comes back as it went in, a damaged cache is ignored, and a grade
reads assignment.yaml without PyYAML only while the cache holds a parse of that very text (the parse
is apps/course.py's: the engine only keeps it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.apps import course
from autograder.engine import compiled
from autograder.engine.problemset import load as load_problems

from conftest import FIXTURES, REPO

LAB = FIXTURES / "lab1"  # a fixture assignment: its running sums' answers are arrays

VALUES = [
    np.arange(6, dtype=np.int8).reshape(2, 3),
    np.ones((3, 4), dtype=np.float32, order="F"),  # column-major: stored and restored row by row
    np.arange(100.0).reshape(10, 10),  # past READABLE_ENTRIES
    np.array([1, -2, 3], dtype=">i4"),  # big-endian in, native out (as cases.json does)
    np.array([True, False]),
    np.zeros((0, 3)),
    np.array(2.5),  # no dimensions
    (np.int16(3), [np.uint8(4), 2.5, np.arange(3, dtype=np.uint64)]),
]


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same type all the way down (an array's dtype in native byte order)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and a.dtype == b.dtype.newbyteorder("=") and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_arrays_come_back_from_the_blob_as_they_went_in_fresh_and_writable(value: Any) -> None:
    blob = bytearray()
    stored = json.loads(json.dumps(compiled.encode_value(value, blob)))
    back = compiled.decode_value(stored, bytes(blob))
    assert _same(back, value)
    assert _same(compiled.decode_value(json.loads(json.dumps(compiled.encode_value(value)))), back)  # cases.json agrees
    for array in (back, *(back[1] if isinstance(back, tuple) else ())):
        if isinstance(array, np.ndarray):
            assert array.flags.writeable and array.dtype.isnative
            assert not blob or not np.shares_memory(array, np.frombuffer(blob, np.uint8))


def _problems_beside(tmp_path: Path, config: str | None) -> Path:
    """A copy of the problems, with ``config`` as the assignment.yaml beside them, and the cache built there as build does."""
    folder = tmp_path / "problems"
    shutil.copytree(LAB / "problems", folder, ignore=shutil.ignore_patterns("__pycache__", compiled.CACHE_NAME))
    if config is not None:
        (tmp_path / course.CONFIG_NAME).write_text(config, encoding="utf-8")
    cached = compiled.cache_bytes(folder, load_problems(folder, use_cache=False), course.cache_entry(folder))
    (folder / compiled.CACHE_NAME).write_bytes(cached)
    return folder


def _lab_config() -> str:
    text: str = (LAB / course.CONFIG_NAME).read_text(encoding="utf-8")
    return text


def test_the_cache_is_json_lines_then_the_arrays_bytes(tmp_path: Path) -> None:
    folder = _problems_beside(tmp_path, _lab_config())
    header, body, blob = (folder / compiled.CACHE_NAME).read_bytes().split(b"\n", 2)
    assert json.loads(header)["format"] == compiled.FORMAT and "problems" in json.loads(body)
    arrays = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            arrays.extend([node["$array"]] if "$array" in node else [])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(json.loads(body))
    assert arrays and all(set(array) == {"dtype", "shape", "at"} for array in arrays)  # numbers too are bytes in the blob
    sizes = {array["at"]: int(np.prod(array["shape"])) * np.dtype(array["dtype"]).itemsize for array in arrays}
    ends = [0, *(start + size for start, size in sorted(sizes.items()))]
    assert sorted(sizes) == ends[:-1] and ends[-1] == len(blob)  # one after another, and nothing else


def test_a_damaged_blob_makes_the_cache_stale_not_wrong(tmp_path: Path) -> None:
    folder = _problems_beside(tmp_path, None)
    path = folder / compiled.CACHE_NAME
    path.write_bytes(path.read_bytes()[:-8])
    assert compiled.load_cache(folder, compiled.fingerprint(folder)) is None
    assert load_problems(folder)  # the specs stand in


def test_a_grade_reads_the_course_from_the_cache_without_pyyaml(tmp_path: Path) -> None:
    folder = _problems_beside(tmp_path, _lab_config())
    assert compiled.stored_course(folder) == course.cache_entry(folder) is not None
    code = (
        "import sys; from pathlib import Path; from autograder.apps.course import load; "
        f"c = load(Path({str(folder)!r})); print('yaml' in sys.modules, c.title, c.submission_names, c.limits)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    expected = course.load(LAB / "problems")
    assert done.stdout.strip() == f"False {expected.title} {expected.submission_names} {expected.limits}"


def test_a_changed_course_file_is_parsed_again(tmp_path: Path) -> None:
    folder = _problems_beside(tmp_path, _lab_config())
    changed = re.sub(r"^title: .*$", 'title: "Changed"', _lab_config(), count=1, flags=re.M)
    (tmp_path / course.CONFIG_NAME).write_text(changed, encoding="utf-8")
    assert course.load(folder).title == "Changed"


@pytest.mark.parametrize("value", ["!!timestamp 2024-05-01", ".nan", "!!set {a, b}", "{1: one}"])  # 2024-05-01 is text in YAML 1.2
def test_yaml_that_json_cannot_carry_exactly_is_not_stored(tmp_path: Path, value: str) -> None:
    text = f"title: Lab\nsubmission_names: [lab.py]\nlimits: {{}}\nstudent_packages: []\nsubmission_max_bytes: 1000\nnote: {value}\n"
    folder = _problems_beside(tmp_path, text)
    assert course.cache_entry(folder) is None and compiled.stored_course(folder) is None
    with pytest.raises(course.CourseError, match="unknown key 'note'"):  # read from the YAML, as before
        course.load(folder)


def test_loading_from_the_cache_imports_no_spec_loader_and_no_checks(tmp_path: Path) -> None:
    """What only a stale cache or a problem with checks needs is imported only then."""
    folder = _problems_beside(tmp_path, _lab_config())
    code = (
        "import sys; from pathlib import Path; import autograder.engine.runner; from autograder.apps.course import load; "
        "from autograder.engine.problemset import find_checks, load_with_fingerprint; "
        f"folder = Path({str(folder)!r}); load(folder); problems, _ = load_with_fingerprint(folder); find_checks(folder); "
        "print(len(problems), sorted(m for m in ('yaml', 'autograder.engine.specs', 'autograder.engine.checks') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.split() == [str(len(load_problems(LAB / "problems"))), "[]"]
