"""One grade exactly as run_autograder runs it (``python -m autograder gradescope``), timed by stage: for bench_grade.py.

Where the time of a grade goes cannot be read from outside, and the engine
carries no timers of its own; so this script runs ``autograder.__main__`` as
``python -m`` does, after wrapping the engine's stage functions as each module is
imported (the import order, the launcher's fork and every protection stay as
they are). Each stage's time is exclusive (an import inside judging counts as
an import), in the grader's CPU and in wall time; on one pinned core a stage's
wall time also holds whatever the worker ran meanwhile.

Usage (from ROOT/source, as run_autograder): python grade_timed.py ROOT OUT_JSON
"""

from __future__ import annotations

import builtins
import json
import os
import resource
import runpy
import sys
import time
from collections.abc import Callable, Generator
from typing import Any, NoReturn

_usage = resource.getrusage(resource.RUSAGE_SELF)
STARTED_CPU = _usage.ru_utime + _usage.ru_stime  # the interpreter's own start-up, before this line


class Stages:
    """Exclusive time per stage: the innermost stage running is charged, the others wait."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.stack: list[str] = ["other"]
        self.mark = (time.process_time(), time.perf_counter())

    def _charge(self) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        top = self.stack[-1]
        self.cpu[top] = self.cpu.get(top, 0.0) + cpu - self.mark[0]
        self.wall[top] = self.wall.get(top, 0.0) + wall - self.mark[1]
        self.mark = (cpu, wall)

    def enter(self, stage: str) -> None:
        self._charge()
        self.stack.append(stage)

    def leave(self) -> None:
        self._charge()
        self.stack.pop()

    def timed(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.enter(stage)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        return wrapper

    def timed_generator(self, stage: str, function: Callable[..., Generator[Any, None, None]]) -> Callable[..., Generator[Any, None, None]]:
        """A generator function whose every step (and its closing) is charged to ``stage``."""

        def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, None, None]:
            inner = function(*args, **kwargs)
            try:
                while True:
                    self.enter(stage)
                    try:
                        item = next(inner)
                    except StopIteration:
                        return
                    finally:
                        self.leave()
                    yield item
            finally:
                self.enter(stage)
                try:
                    inner.close()
                finally:
                    self.leave()

        return wrapper


STAGES = Stages()

# module -> (attribute path, stage, is a generator function); the attribute is replaced as soon as the module is loaded.
TIMED: dict[str, list[tuple[str, str, bool]]] = {
    "autograder.sandbox.zygote": [("start_here", "forks: the launcher", False), ("spawn", "forks: a worker", False)],
    "autograder.sandbox.process": [
        ("Sandbox.__init__", "sandbox set-up and teardown", False),
        ("Sandbox.start", "sandbox set-up and teardown", False),
        ("Sandbox.stop", "sandbox set-up and teardown", False),
        ("Sandbox.ready", "waiting for the worker to load the submission", False),
    ],
    "autograder.sandbox.gate": [("CallGate.stream", "calls (requests, replies, the worker's run)", True)],
    "autograder.apps.course": [("load", "course and specs loading", False)],
    "autograder.engine.problemset": [("load_with_fingerprint", "course and specs loading", False)],
    "autograder.engine.runner": [
        ("_checked", "judging", False),
        ("_Run.follow_through", "judging", False),
        ("publish_hidden", "judging", False),
    ],
    "autograder.engine.scoring": [("score_case", "judging", False)],
    "autograder.engine.follow_through": [
        ("call_key", "follow-through: call keys and records", False),
        ("Recorder.record", "follow-through: call keys and records", False),
        ("Recorder.own_case", "follow-through: call keys and records", False),
    ],
    "argparse": [
        ("ArgumentParser.__init__", "the command line (argparse)", False),
        ("_ActionsContainer.add_argument", "the command line (argparse)", False),
        ("ArgumentParser.parse_args", "the command line (argparse)", False),
        ("_SubParsersAction.add_parser", "the command line (argparse)", False),
    ],
    "autograder.output.results": [("gradescope_json", "writing: results built", False)],
    "autograder.output.files": [("write_json", "writing: results.json written", False)],
}


MISSING: list[str] = []  # stage functions the engine no longer has (renamed or moved): their time counts as "other"


def _patch(module_name: str) -> None:
    module = sys.modules[module_name]
    for path, stage, generator in TIMED.pop(module_name):
        owner_name, _, attribute = path.rpartition(".")
        owner = getattr(module, owner_name, None) if owner_name else module
        original = (owner.__dict__ if isinstance(owner, type) else vars(owner)).get(attribute) if owner is not None else None
        if not callable(original):  # a classmethod or staticmethod too: time the function it wraps instead
            MISSING.append(f"{module_name}.{path}")
            continue
        setattr(owner, attribute, (STAGES.timed_generator if generator else STAGES.timed)(stage, original))


_import = builtins.__import__


def _timed_import(name: str, *args: Any, **kwargs: Any) -> Any:
    """Every import statement: charged to the imports (NumPy's own first import apart), then the new modules' stages wrapped."""
    if name in sys.modules and not kwargs.get("fromlist", args[2] if len(args) > 2 else None):
        return _import(name, *args, **kwargs)  # an import statement run again (in a function): nothing new, not timed
    nested = STAGES.stack[-1].startswith("imports")
    if not nested:
        STAGES.enter("imports: NumPy" if name == "numpy" and "numpy" not in sys.modules else "imports: standard library and engine")
    loaded = len(sys.modules)
    try:
        return _import(name, *args, **kwargs)
    finally:
        if not nested:
            STAGES.leave()
        if len(sys.modules) != loaded:
            for module_name in [ready for ready in TIMED if _loaded(ready)]:
                _patch(module_name)  # before the importing module binds any of its names


def _loaded(module_name: str) -> bool:
    """The module is imported and its body has run (importlib marks a module still running as initializing)."""
    module = sys.modules.get(module_name)
    return module is not None and not getattr(module.__spec__, "_initializing", False)


def main() -> None:
    root, out = sys.argv[1], sys.argv[2]
    sys.argv = [sys.argv[0], "gradescope", "--root", root]
    sys.path[:] = [entry for entry in sys.path if entry != os.path.dirname(os.path.abspath(__file__))]
    grader, exit_now = os.getpid(), os._exit

    def record_then_exit(status: int) -> NoReturn:
        """autograder/__main__.py ends with os._exit: the record is written then, by the grader only."""
        if os.getpid() == grader:
            STAGES.leave()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the launcher has ended, after reaping every reaper
            record = {
                "cpu": STAGES.cpu,
                "wall": STAGES.wall,
                "start_up_cpu": STARTED_CPU,
                "children_cpu": children.ru_utime + children.ru_stime,
                "unpatched": sorted([*TIMED, *MISSING]),
            }
            with open(out, "w") as stream:
                json.dump(record, stream)
        exit_now(status)

    os._exit = record_then_exit
    builtins.__import__ = _timed_import
    runpy.run_module("autograder", run_name="__main__", alter_sys=True)  # as python -m autograder runs it


if __name__ == "__main__":
    main()
