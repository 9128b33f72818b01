"""Before grading where a person is watching: refuse, naming the fix, when student code could not run safely.

On Gradescope nobody watches the run, so a misconfigured image still writes a
result for every submission ("the autograder is misconfigured, not your
fault"). A TA's ``grade`` or ``batch`` is different: grading a class of zeros
with status "graded" and exit code 0 would be worse than stopping. So these
commands ask the sandbox, before anything is graded, whether it could run a
worker at all, and stop with exit code 2 and the fix when it could not.
"""

from __future__ import annotations

import os
import sys

from autograder.sandbox.isolation import DEFAULT_WORKER_USER, Isolation

ALLOW_UNISOLATED = "--allow-unisolated"


def refusal(worker_user: str | None = DEFAULT_WORKER_USER, allow_unisolated: bool = True) -> str | None:
    """Why no submission should be graded here, with what to do about it; None when grading can go on.

    Always a refusal: root that cannot drop to the worker's user. Unless
    ``allow_unisolated``: a kernel that leaves the grader's own processes or
    files within a hostile submission's reach (Isolation.weaknesses).
    """
    isolation = Isolation.detect(worker_user)
    if isolation.refusal is not None:
        return (
            f"student code cannot be run safely here: {isolation.refusal}. Nothing was graded. "
            "(On Gradescope, setup.sh makes this check when the image is built.)"
        )
    weaknesses = [] if allow_unisolated else isolation.weaknesses()
    if weaknesses:
        return (
            f"student code would not be isolated here: {'; '.join(weaknesses)}. Nothing was graded. Run as root "
            f"(sudo) to give student code a user of its own, or pass {ALLOW_UNISOLATED} to grade anyway."
        )
    return None


def warn_if_unisolated(worker_user: str | None = DEFAULT_WORKER_USER) -> None:
    """Say what this machine cannot keep a file's code from, where a command runs it anyway (a student's ``check`` of
    their own file): without user namespaces or Landlock (macOS, an old Linux) check ran a file with its user's own
    rights and said nothing, though students are told it runs in the sandbox (red team)."""
    weaknesses = Isolation.detect(worker_user).weaknesses()
    if weaknesses:
        print(
            f"note: this machine cannot isolate the code being checked ({'; '.join(weaknesses)}), so it runs with your own "
            "rights, as running the file yourself would: check only code you trust.",
            file=sys.stderr,
        )


def refuse_if_unsafe(worker_user: str | None = DEFAULT_WORKER_USER, allow_unisolated: bool = True) -> bool:
    """Print the refusal, if there is one, as the command's error; whether the command must stop."""
    reason = refusal(worker_user, allow_unisolated)
    if reason:
        print(f"error: {reason}", file=sys.stderr)
    return reason is not None


PROBE = """\
import colorsys  # a module of the standard library that the grader never loads: read from disk as the worker's user
import os

import numpy
{imports}

def identity():
    return [os.getuid(), int(numpy.arange(7).sum() * 2)]
"""


def _import_names(packages: list[str]) -> list[str]:
    """A module each package is imported by (``yaml`` for pyyaml, ``sklearn`` for scikit-learn), read from what it
    installed; its own name where it is not installed here (the import then fails, and says so)."""
    import sys

    from autograder.sandbox.importable import import_names

    chosen = []
    for package in packages:
        public = sorted(name for name in import_names(package, sys.path) if name.isidentifier() and not name.startswith("_"))
        chosen.append(public[0] if public else package.replace("-", "_"))
    return chosen


def prove_the_worker_runs(packages: list[str], worker_user: str | None = DEFAULT_WORKER_USER) -> str | None:
    """Run a tiny submission through the real sandbox; why it failed, or None when it ran as it must.

    The real thing, not a look at permissions: the worker must start, import
    NumPy, every package students may import and the submission, run as the
    worker's user (as root) and answer.
    setup.sh calls this, so that an image whose worker cannot run fails to build.
    """
    import pwd
    import tempfile
    from pathlib import Path

    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.limits import Limits
    from autograder.sandbox.process import Sandbox

    if reason := refusal(worker_user):
        return reason
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe.py"
        probe.write_text(PROBE.format(imports="\n".join(f"import {name}" for name in _import_names(packages))), encoding="utf-8")
        with Sandbox(probe, Limits.from_environment(), worker_user, packages) as box:
            loaded = box.ready()
            if loaded.fatal or loaded.problems:
                return f"the worker could not load a two-line submission: {loaded.fatal or loaded.problems[0].get('message')}"
            outcome = CallGate.started(box).call("identity", [])
    expected_uid = pwd.getpwnam(worker_user).pw_uid if worker_user and os.geteuid() == 0 else os.getuid()
    if outcome.kind != "returned":
        return f"the worker could not run a function ({outcome.kind}: {outcome.detail or outcome.error.get('message', '')})"
    if outcome.value != [expected_uid, 42]:
        return f"the worker answered {outcome.value!r} where [{expected_uid}, 42] (its user id, and NumPy's sum) was due"
    return None
