"""Gradescope's side: find the submission, grade it, always write a valid results.json.

``run_autograder`` calls :func:`run`. The root (``/autograder`` on Gradescope)
can be moved with ``AUTOGRADER_ROOT`` so tests run this exact entry point in a
temporary folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from autograder.apps.course import CourseError, load
from autograder.apps.submission import NoSubmission, find_submission
from autograder.output.files import write_json
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox


def run(root: Path | None = None) -> dict[str, Any]:
    """Grade ``root/submission`` against ``root/source/problems`` into ``root/results/results.json``."""
    root = Path(root or os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    started = time.monotonic() - seconds_since_process_start()
    gate = None
    try:
        _protect(root)
        problems = root / "source" / "problems"
        course = load(problems)
        submission, note = find_submission(root / "submission", course)
        gate = CallGate.started(
            Sandbox(submission, course.make_limits(), packages=course.package_names, hidden=course.private_folders)
        )  # first: the worker loads the submission meanwhile
        from autograder.engine.runner import grade, load_problem_set
        from autograder.output.notes import graded_json

        report = grade(gate, load_problem_set(problems), packages=course.package_names, module_names=course.module_names)
        data = graded_json(report, note)
    except (NoSubmission, CourseError) as problem:
        from autograder.output.results import error_json
        from autograder.text import Trusted

        message = problem.message if isinstance(problem, NoSubmission) else Trusted(str(problem))
        data = error_json(message, time.monotonic() - started)
    except Exception:  # noqa: BLE001 - the student still gets a valid result, staff the traceback
        import traceback

        from autograder.output.results import grader_failure_json

        data = grader_failure_json(traceback.format_exc(), time.monotonic() - started)
    finally:
        if gate is not None:
            gate.stop()  # every process of the worker's user, daemons too, before the result is written; never raises
    data.setdefault("extra_data", {}).update(submission_metadata(root / "submission_metadata.json"))
    data["execution_time"] = round(time.monotonic() - started, 3)  # from the process's start to this write
    write_json(root / "results" / "results.json", data)
    return data


def seconds_since_process_start() -> float:
    """How long this process has run, as the kernel counts it, so execution_time covers the interpreter's start-up too.

    The kernel stamps a process's start on the boot-time clock, so it is read
    against that same clock (``CLOCK_BOOTTIME``, which a container's time
    namespace shifts alike), not against ``/proc/uptime``, which tools such as
    LXCFS rewrite per container: mixing the two would lose the start-up.
    """
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        now = time.clock_gettime(time.CLOCK_BOOTTIME)
        return max(now - ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError, AttributeError):  # AttributeError: not Linux
        return 0.0


def submission_metadata(path: Path) -> dict[str, Any]:
    """The submission's id and time from Gradescope's submission_metadata.json, for tools reading results."""
    import json

    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(metadata, dict):
        return {}
    found = {"submission_id": metadata.get("id"), "submitted_at": metadata.get("created_at")}
    return {key: value for key, value in found.items() if isinstance(value, (str, int)) and not isinstance(value, bool)}


def _protect(root: Path) -> None:
    """As root, make the autograder's files and the results folder root's alone.

    The worker runs as another user; with these modes it can neither read the
    specs and reference solvers nor write a results.json of its own.
    """
    if os.geteuid() != 0:
        return
    (root / "results").mkdir(parents=True, exist_ok=True)
    for folder in (root / "source", root / "results"):
        if folder.is_dir():
            folder.chmod(0o700)
    submission = root / "submission"
    if submission.is_dir():
        submission.chmod(0o700)
