"""What a submission may import in the worker: the same everywhere it is graded.

Gradescope's image holds Python, the engine and the packages the course lists
(setup.sh installs them with their dependencies, nothing else). A TA's or a
student's machine holds more: pandas for their own work, SciPy for the
engine's tests. A file importing one of those would pass there and fail on
Gradescope, so the worker refuses any third-party module that the grading
image would not have: a top-level module that is neither the standard
library, nor a file in the submission's folder, nor part of a distribution in
the dependency closure of the engine and the course's packages. The refusal is
the ModuleNotFoundError Python raises for a module that is not installed, so
libraries that try optional imports behave as they do on Gradescope.

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

ENGINE_DISTRIBUTION = "gradescope-sandbox-autograder"  # pyproject.toml's name: its dependencies are on every image
STANDARD_LIBRARY = os.path.dirname(os.path.abspath(os.__file__))  # lib-dynload and site-packages are inside it
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def restrict(packages: Sequence[str], folder: str) -> None:
    """From now on, refuse top-level imports outside the closure of ``packages`` (distribution names), the
    engine's, the standard library and ``folder``'s own modules."""
    sys.meta_path.insert(0, _Finder([ENGINE_DISTRIBUTION, *packages], folder))


class _Finder:
    """A meta path finder that finds nothing: it only refuses what the grading image would not have."""

    def __init__(self, distributions: list[str], folder: str) -> None:
        self.distributions = distributions
        self.folder = os.path.realpath(folder)
        self.allowed: frozenset[str] | None = None  # top-level module names of the closure, read when first needed

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> ModuleSpec | None:
        if path is not None or name in sys.stdlib_module_names or name == __name__.partition(".")[0]:
            return None  # a submodule (its package was let in), the standard library, the engine itself
        found = PathFinder.find_spec(name)
        if found is None or _inside(found, self.folder) or _inside(found, STANDARD_LIBRARY, but_not=("site-packages", "dist-packages")):
            return None  # not installed (Python's own error follows), the student's own module, or the standard library's
        if self.allowed is None:
            self.allowed = frozenset(top_level_names(self.distributions, sys.path))
        if name in self.allowed:
            return None
        raise ModuleNotFoundError(
            f"No module named '{name}' where your work is graded: it is installed on this computer, "
            "but it is not one of the packages this course lets you import",
            name=name,
        )


def _inside(spec: ModuleSpec, folder: str, but_not: tuple[str, ...] = ()) -> bool:
    """Whether the module ``spec`` finds is in ``folder`` (not in its subfolders named ``but_not``).

    The standard library's own folder holds modules that sys.stdlib_module_names does not list (Debian's
    ``_sysconfigdata__x86_64-linux-gnu``, which sysconfig imports by a computed name).
    """
    places = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    for place in filter(None, places):
        for seen in (os.path.abspath(place), os.path.realpath(place)):  # Debian's sitecustomize.py links to /etc
            relative = os.path.relpath(seen, folder)
            if not relative.startswith(os.pardir) and relative.split(os.sep)[0] not in but_not:
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
    return [match.group() for match in map(_NAME.match, (line.strip() for line in required)) if match]


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


def _read(folder: str, name: str) -> str:
    try:
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return ""


def _normalized(name: str) -> str:
    """The PEP 503 form: ``PyYAML`` and ``pyyaml``, ``typing_extensions`` and ``typing-extensions`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()
