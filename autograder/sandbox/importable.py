"""What a submission may import in the worker: the same everywhere it is graded.

Gradescope's image holds Python, the engine with its own requirements (PyYAML,
IPython, pytest, ...) and the packages the course lists. A TA's or a student's
machine holds more (pandas for their own work, SciPy for the engine's tests), and
the student kit less (no IPython for a course that takes no notebook). So the
worker does not find any third-party module outside the dependency closure of
the course's packages: a top-level module that is neither the standard library
nor part of a distribution the course lists or one of those requires. The
engine's own packages are the engine's, not the course's: the kit does not
install them all, and students are told the course's list, so they are hidden
everywhere alike. (NumPy is loaded into every worker before the submission, see
zygote.py, so ``import numpy`` works even for a course that does not list it,
in the kit and on Gradescope alike.) Importing a hidden module fails with
Python's own ModuleNotFoundError for a module that is not installed, so libraries
that try optional imports, and code that probes with importlib.util.find_spec,
behave as they do where it is missing.

This is a fidelity rule, not a protection: student code can undo it, and gains
nothing by doing so, since the module it reaches is missing where it is graded.
Runs in the worker, standard library only; the installed metadata is read once,
and only when a module outside the standard library is first imported.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from collections.abc import Iterable, Sequence
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType

# The Python that grades on Gradescope: setup.sh installs into the system Python of its Ubuntu 22.04 image. A newer
# Python here grades as that one would: the grammar of that version (loader.py) and none of the standard modules
# added since, whose import fails there.
GRADESCOPE_PYTHON = (3, 10)
NEWER_STANDARD_MODULES = {"tomllib": (3, 11), "annotationlib": (3, 14), "compression": (3, 14)}
STANDARD_LIBRARY = os.path.dirname(os.path.abspath(os.__file__))  # lib-dynload and site-packages are inside it
# What the standard library's folder holds besides the modules sys.stdlib_module_names lists and a program may use:
# the platform's own, which the library imports (Debian's sysconfig data, under a computed name, and site hooks).
# Not CPython's test modules (_testinternalcapi, _testcapi, xxlimited...): _testinternalcapi.get_configs() showed a
# worker the grader's command line (red team).
PLATFORM_MODULES = ("_sysconfigdata_", "sitecustomize", "_distutils_system_mod")
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")  # PEP 508's name, at a requirement's start


def restrict(packages: Sequence[str]) -> None:
    """From now on, hide the top-level modules outside the standard library and the closure of ``packages`` (the
    course's, as distribution names): Python's path finder is replaced by one that does not find them."""
    finder = _Finder(list(packages))
    sys.meta_path[:] = [finder if entry is PathFinder else entry for entry in sys.meta_path]


class _Finder:
    """Python's path finder, blind to what the grading image would not have.

    Not found, rather than refused: ``import pandas`` then fails with the ModuleNotFoundError of a package that is
    not installed, and ``importlib.util.find_spec("pandas")``, the usual probe for an optional package, returns
    None, as on Gradescope. Everything else (importlib.metadata's distributions, the caches) is PathFinder's own.
    """

    def __init__(self, distributions: list[str]) -> None:
        self.distributions = distributions
        self.allowed: frozenset[str] | None = None  # top-level module names of the closure, read when first needed

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> ModuleSpec | None:
        found = PathFinder.find_spec(name, path, target)
        if found is not None and path is None and NEWER_STANDARD_MODULES.get(name, (0, 0)) > GRADESCOPE_PYTHON:
            return None
        if found is None or path is not None or name in sys.stdlib_module_names or name == __name__.partition(".")[0]:
            return found  # a submodule (its package was let in), the standard library, the engine itself
        if _in_standard_library(found):  # only the platform's own, not CPython's test modules beside them
            return found if name.startswith(PLATFORM_MODULES) else None
        if self.allowed is None:
            self.allowed = frozenset(top_level_names(self.distributions, sys.path))
        return found if name in self.allowed else None

    def __getattr__(self, attribute: str) -> object:
        return getattr(PathFinder, attribute)  # find_distributions, invalidate_caches


def _in_standard_library(spec: ModuleSpec) -> bool:
    """Whether the module ``spec`` finds is in the standard library's folder, outside its site-packages.

    That folder holds modules that sys.stdlib_module_names does not list (Debian's
    ``_sysconfigdata__x86_64-linux-gnu``, which sysconfig imports by a computed name).
    """
    places = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    for place in filter(None, places):
        for seen in (os.path.abspath(place), os.path.realpath(place)):  # Debian's sitecustomize.py links to /etc
            relative = os.path.relpath(seen, STANDARD_LIBRARY)
            if not relative.startswith(os.pardir) and relative.split(os.sep)[0] not in ("site-packages", "dist-packages"):
                return True
    return False


def top_level_names(distributions: Iterable[str], search_path: Sequence[str]) -> set[str]:
    """The top-level modules of ``distributions`` and of everything they require (extras left out), as installed
    on ``search_path``.

    Read from the installed metadata folders as plain files: ``importlib.metadata`` parses every file list and
    header into objects, 80 ms for the engine's dependencies, against a few ms this way.
    """
    installed = _installed(search_path)
    names: set[str] = set()
    seen: set[str] = set()
    pending = [*distributions]
    while pending:
        wanted = _normalized(pending.pop())
        if wanted in seen or wanted not in installed:
            continue  # already read, or not installed here (so nothing of it can be imported either)
        seen.add(wanted)
        folder = installed[wanted]
        names.update(_modules_of(folder))
        pending.extend(_requirements(folder))
    return names


def import_names(distribution: str, search_path: Sequence[str]) -> set[str]:
    """The top-level modules ``distribution`` itself installed on ``search_path`` (none when it is not installed)."""
    folder = _installed(search_path).get(_normalized(distribution))
    return _modules_of(folder) if folder else set()


def _installed(search_path: Sequence[str]) -> dict[str, str]:
    """Each installed distribution's metadata folder, by normalized name; the first on the path wins, as in import."""
    found: dict[str, str] = {}
    for entry in search_path:
        try:
            listed = os.listdir(entry or os.curdir)
        except OSError:
            continue
        for name in listed:
            if name.endswith((".dist-info", ".egg-info")):
                found.setdefault(_normalized(name.rpartition(".")[0].partition("-")[0]), os.path.join(entry, name))
    return found


def _requirements(folder: str) -> list[str]:
    """The distributions ``folder``'s distribution requires, but for extras: the ``Requires-Dist`` headers of a
    wheel's METADATA, or the lines of an egg's requires.txt outside ``[extra]`` sections."""
    required = []
    if folder.endswith(".dist-info"):
        for line in _read(folder, "METADATA").split("\n\n", 1)[0].splitlines():
            if line.startswith("Requires-Dist:") and "extra" not in line.partition(";")[2]:
                required.append(line.partition(":")[2])
    else:
        section = ""
        for line in _read(folder, "requires.txt").splitlines():
            if line.startswith("["):
                section = line.strip("[]").partition(":")[0]  # "[test]" is an extra; "[:python_version < '3.11']" is not
            elif not section:
                required.append(line)
    return [name for name in map(requirement_name, required) if name]


def _modules_of(folder: str) -> set[str]:
    """What a distribution puts at the top of site-packages: its top_level.txt, else the files of its RECORD."""
    declared = _read(folder, "top_level.txt")
    if declared:
        return {line.strip() for line in declared.splitlines() if line.strip()}
    modules = set()
    for line in _read(folder, "RECORD").splitlines():
        path = next(csv.reader([line]))[0] if line.startswith('"') else line.partition(",")[0]  # quoted: it holds a comma
        parts = path.split("/", 2)[:2]
        if len(parts) == 2 and not parts[0].endswith((".dist-info", ".data", ".egg-info")) and parts[0] not in ("..", "__pycache__"):
            modules.add(parts[0])  # a package's folder
        elif len(parts) == 1 and parts[0].endswith((".py", ".so", ".pyd")):
            modules.add(parts[0].partition(".")[0])  # a single module: six.py, _cffi_backend.cpython-311-x86_64-linux-gnu.so
    return modules


def requirement_name(requirement: str) -> str:
    """The package a pip requirement names (PEP 508): ``numpy`` of ``numpy==2.2.6; python_version < '3.11'``, of
    ``scipy~=1.14``, of ``torch[cpu]>=2`` or of ``mylib @ https://example.org/mylib.whl``; "" when it names none."""
    found = _NAME.match(requirement)
    return found.group(1) if found else ""


def _read(folder: str, name: str) -> str:
    try:
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return ""


def _normalized(name: str) -> str:
    """The PEP 503 form: ``PyYAML`` and ``pyyaml``, ``typing_extensions`` and ``typing-extensions`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()
