# Attack: find the reference solvers and specs on disk (the repo checkout, Gradescope's
# /autograder/source, the test's layout, the grader's cwd through /proc, a walk of the whole
# disk, a symlink or hard link made in the worker's own folder, an import through sys.path) and
# answer conv2d and conv_transpose2d with them. Nothing may be found; those two earn nothing;
# the honest functions keep full marks. The test fills in the real places (the checkout,
# wherever it is, and the folders that hold problems/ on this machine), so every probe aims at a file that exists: it must be refused (a permission error), and a
# FileNotFoundError means the probe tested nothing, which the test fails.
import importlib
import os
import sys
import time

import numpy as np

_STOLEN = {}
_REPO = "__REPO__"
_ROOTS = [*__ROOTS__, f"/proc/{os.getppid()}/cwd"]


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
        raise PermissionError(f"nothing readable found below {top}")
    return found


def _import_reference(root):
    os.stat(f"{root}/problems/q3a/reference.py")  # refused, or there: never absent
    sys.path[:0] = [root]
    importlib.invalidate_caches()
    try:
        module = importlib.import_module("problems.q3a.reference")
    except ImportError as error:  # the file is there (stat said so): the import was refused
        raise PermissionError(f"import refused: {error}") from None
    finally:
        sys.path.remove(root)
    return _steal(module.__file__)


def _linked(make_link, name):
    make_link(f"{_REPO}/problems/q3a/reference.py", name)
    return _steal(name)


for _root in _ROOTS:
    _probe(f"read {_root}/problems", lambda: [_steal(f"{_root}/problems/{q}/{f}") for q in ("q3a", "q3b") for f in ("reference.py", "spec.yaml")])
_probe("read the checkout's solutions/ps3.py", lambda: _steal(f"{_REPO}/solutions/ps3.py"))
_probe("walk /", lambda: _walk("/", 3))
_probe("walk the checkout's folder", lambda: _walk(os.path.dirname(_REPO), 2))
_probe("walk /tmp", lambda: _walk("/tmp", 2))
for _root in __ROOTS__:
    _probe(f"import problems.q3a.reference from {_root}", lambda: _import_reference(_root))
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
