# Attack: find the reference solvers and specs on disk (the repo checkout, Gradescope's
# /autograder/source, the test's layout, the grader's cwd through /proc, a walk of the whole
# disk, a symlink or hard link made in the worker's own folder, an import through sys.path) and
# answer conv2d and conv_transpose2d with them. Nothing may be found; those two earn nothing;
# the honest functions keep full marks.
import importlib
import os
import sys
import time

import numpy as np

_STOLEN = {}
_ROOTS = ["/work/main", "/autograder/source", "__ROOT__/source", f"/proc/{os.getppid()}/cwd", os.path.realpath("..")]


def _steal(path):
    with open(path) as handle:
        _STOLEN[path] = handle.read()
    return path


def _walk(top, seconds):
    found, stop = [], time.monotonic() + seconds
    for directory, subfolders, files in os.walk(top):
        subfolders[:] = [d for d in subfolders if d not in ("proc", "sys", "dev")]
        for name in files:
            if name in ("reference.py", "spec.yaml") or (name == "ps3.py" and "solution" in directory):
                found.append(_steal(os.path.join(directory, name)))
        if time.monotonic() > stop:
            break
    if not found:
        raise FileNotFoundError(top)
    return found


def _import_reference():
    sys.path[:0] = ["/work/main", "__ROOT__/source"]
    module = importlib.import_module("problems.q3a.reference")
    return _steal(module.__file__)


def _linked(make_link, name):
    make_link("/work/main/problems/q3a/reference.py", name)
    return _steal(name)


for _root in _ROOTS:
    _probe(f"read {_root}/problems", lambda: [_steal(f"{_root}/problems/{q}/{f}") for q in ("q3a", "q3b") for f in ("reference.py", "spec.yaml")])
_probe("read /work/main/solutions/ps3.py", lambda: _steal("/work/main/solutions/ps3.py"))
_probe("walk /", lambda: _walk("/", 3))
_probe("walk /work", lambda: _walk("/work", 2))
_probe("walk /tmp", lambda: _walk("/tmp", 2))
_probe("import problems.q3a.reference", _import_reference)
_probe("symlink to a reference", lambda: _linked(os.symlink, "symlinked.py"))
_probe("hard link to a reference", lambda: _linked(os.link, "hardlinked.py"))


def _stolen_solver(name):
    for path, text in _STOLEN.items():
        if path.endswith(".py") and f"def {name}(" in text:
            namespace = {"__name__": "stolen"}
            exec(compile(text, path, "exec"), namespace)
            return namespace[name]
    return None


def conv2d(x, kernel):
    solver = _stolen_solver("conv2d")
    return solver(x, kernel) if solver else np.full((1, 1), -1.0)


def conv_transpose2d(x, kernel):
    solver = _stolen_solver("conv_transpose2d")
    return solver(x, kernel) if solver else np.full((1, 1), -1.0)
