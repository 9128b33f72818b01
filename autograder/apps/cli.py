"""``python -m autograder``: grade, and the Gradescope entry point.

argparse rather than a CLI library: it costs little at start-up, and the
start-up time of ``run_autograder`` is part of every student's wait. So little
that run_autograder's own call (``gradescope --root DIR``) skips even argparse:
building the parser, its help formatter's imports (shutil, bz2, lzma) and
gettext's (locale) are about 3 ms of a 130 ms grade.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

from autograder import __version__
from autograder.apps.paths import PACKAGE_ROOT, default_problems, holds_another_course

if TYPE_CHECKING:
    import argparse

    from autograder.apps.course import Course

# Commands that live in their own module. Each module defines
# ``add_arguments(parser, name)`` (the arguments of the command ``name``) and
# ``run(arguments) -> int``; it is imported only when its command runs, so the
# others cost nothing at start-up.
MODULE_COMMANDS = [
    ("check", "autograder.apps.kit.commands", "run the visible cases on your submission (students)"),
    ("validate", "autograder.apps.kit.commands", "check every spec against its reference solver (instructors)"),
    ("build", "autograder.apps.kit.commands", "write dist/autograder.zip and dist/student_kit.zip (instructors)"),
    ("batch", "autograder.apps.batch.grading", "grade a Gradescope export or a folder of submissions (TAs)"),
]
# Commands that grade one submission: their workers are forked from this process (sandbox/zygote.py).
# batch starts a launcher of its own instead (it loads the problems before its threads ask for workers).
GRADING_COMMANDS = ("grade", "gradescope", "check", "selfcheck")
COURSE_COMMANDS = ("grade", "validate", "build", "batch", "packages", "selfcheck")
INSTRUCTOR_COMMANDS = ("validate", "build")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    arguments = _run_autograders_call(argv) or _parse(argv)
    missing = [name for name in ("numpy", "yaml") if importlib.util.find_spec(name) is None]
    if missing and arguments.handler is not _packages:
        wanted = " ".join({"yaml": "pyyaml"}.get(name, name) for name in missing)
        print(
            f"error: this Python ({sys.executable}) lacks {wanted}. Install it in a virtual environment: "
            f"python3 -m venv .venv, then .venv/bin/pip install {wanted} (README.md has the steps for every system).",
            file=sys.stderr,
        )
        return 2
    # Commands that read the course from --problems, when it is not given, in a folder holding another course: an
    # instructor's validate or build there is refused (it would check and build the engine's course instead); a
    # grade is made, against the engine's course, and says so (the folder may be a student's, never to be loaded).
    if arguments.command in COURSE_COMMANDS and getattr(arguments, "problems", True) is None and holds_another_course(Path(".")):
        engine_has_a_course = default_problems().is_dir()  # not when installed with pip: no problems/ beside it
        if arguments.command in INSTRUCTOR_COMMANDS or not engine_has_a_course:
            engines = f"the engine's ({default_problems()})" if engine_has_a_course else "the engine's own, and this engine has none"
            print(
                f"error: this folder holds a course of its own, but without --problems {arguments.command} uses {engines}. "
                "Pass --problems problems to use this folder's.",
                file=sys.stderr,
            )
            return 2
        print(
            f"note: the course in this folder (its assignment.yaml or problems/) is not used: the engine's own is "
            f"({default_problems()}). If this folder is your course, pass --problems problems.",
            file=sys.stderr,
        )
    if arguments.command in GRADING_COMMANDS:
        from autograder.sandbox import zygote

        zygote.start_here()  # first: the workers' launcher is forked before anything of the grader's is loaded
    try:
        return int(arguments.handler(arguments))
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    finally:
        _end_worker_launcher()


def _run_autograders_call(argv: list[str]) -> argparse.Namespace | None:
    """The arguments of run_autograder's one call, ``gradescope [--root DIR]``, read without argparse (see above);
    None for anything else, which :func:`_parse` reads."""
    if argv[:1] != ["gradescope"] or is_student_kit() or not (len(argv) == 1 or (len(argv) == 3 and argv[1] == "--root")):
        return None
    root = Path(argv[2]) if len(argv) == 3 else None
    return cast("argparse.Namespace", SimpleNamespace(command="gradescope", root=root, handler=_gradescope))  # read by attribute only


def _parse(argv: list[str]) -> argparse.Namespace:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder", description="A sandboxed autograder: problems are folders.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    in_kit = is_student_kit()

    if not in_kit:
        grade = commands.add_parser("grade", help="grade one submission locally and print a table")
        grade.add_argument("submission", type=Path, help="a submission file, or a folder holding one")
        grade.add_argument("--problems", type=Path, default=None, help="the problems folder (default: the one beside the engine)")
        grade.add_argument("--verbose", "-v", action="store_true", help="every case with its spec line, every failure in full")
        grade.add_argument("--json", type=Path, metavar="FILE", help="also write Gradescope's results.json to FILE")
        grade.add_argument(
            "--allow-unisolated",
            action="store_true",
            help="grade even where this kernel cannot keep student code away from your processes and files",
        )
        grade.add_argument("--timeout", type=float, default=None, help="seconds allowed per call (default 5, or $AUTOGRADER_CALL_TIMEOUT)")
        grade.set_defaults(handler=_grade)

        gradescope = commands.add_parser("gradescope", help="what run_autograder runs: grade $AUTOGRADER_ROOT/submission")
        gradescope.add_argument("--root", type=Path, default=None, help="default: $AUTOGRADER_ROOT or /autograder")
        gradescope.set_defaults(handler=_gradescope)

        packages = commands.add_parser("packages", help="print the packages students may import, one requirement a line")
        packages.add_argument("--problems", type=Path, default=None, help="the problems folder (default: the one beside the engine)")
        packages.set_defaults(handler=_packages)

        selfcheck = commands.add_parser("selfcheck", help="prove that a worker runs here as it must: setup.sh's last step")
        selfcheck.add_argument("--problems", type=Path, default=None, help="the problems folder (default: the one beside the engine)")
        selfcheck.set_defaults(handler=_selfcheck)

    for name, module_name, summary in MODULE_COMMANDS:
        if in_kit and name != "check":
            continue  # a student kit has no problems: only check works there
        command = commands.add_parser(name, help=summary, description=summary)
        if argv[:1] == [name]:
            module = importlib.import_module(module_name)
            module.add_arguments(command, name)
            command.set_defaults(handler=module.run)

    return parser.parse_args(argv)


def _end_worker_launcher() -> None:
    """End the launcher of workers a command started (sandbox/zygote.py), so that nothing of ours outlives the command."""
    zygote = sys.modules.get("autograder.sandbox.zygote")
    if zygote is not None:
        zygote.shut_down()


def is_student_kit() -> bool:
    """A student kit has the visible cases beside the engine, and no problems."""
    return (PACKAGE_ROOT / "cases.json").is_file() and not (PACKAGE_ROOT / "problems").is_dir()


def _grade(arguments: argparse.Namespace) -> int:
    from autograder.apps.course import CourseError, load
    from autograder.apps.preflight import refuse_if_unsafe
    from autograder.apps.submission import NoSubmission, find_submission, named_file
    from autograder.engine.runner import grade, load_problem_set
    from autograder.output.files import write_json
    from autograder.output.progress import LiveProgress
    from autograder.output.results import gradescope_json
    from autograder.output.table import table
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox
    from autograder.text import Message, StudentText, Trusted, to_terminal

    target = arguments.submission
    problems = arguments.problems or default_problems()
    try:
        course = load(problems)
        if not target.exists() and not target.is_symlink():
            raise NoSubmission(Message(StudentText(str(target)), Trusted(f" does not exist. Pass the path of your {course.starter_name}.")))
        instead = "grade takes one student's file or folder; a class's (a folder of them, or Gradescope's export zip) is for batch"
        submission, note = (named_file(target, course, instead), Trusted("")) if not target.is_dir() else find_submission(target, course)
    except (NoSubmission, CourseError) as problem:
        print(f"error: {problem}", file=sys.stderr)
        if arguments.json and isinstance(problem, NoSubmission):  # as Gradescope would record it (a file too large...)
            from autograder.apps.gradescope import seconds_since_process_start
            from autograder.output.results import error_json

            write_json(arguments.json, error_json(problem.message, seconds_since_process_start()))
        return 2
    if refuse_if_unsafe(allow_unisolated=arguments.allow_unisolated):
        return 2
    limits = course.make_limits()
    limits.call_timeout = arguments.timeout or limits.call_timeout
    progress = LiveProgress()
    try:
        with CallGate.started(Sandbox(submission, limits, packages=course.package_names, hidden=course.private_folders)) as gate:
            report = grade(
                gate, load_problem_set(problems), watcher=progress, packages=course.package_names, module_names=course.module_names
            )
    finally:
        progress.close()
    if note:
        print(to_terminal(note))
    print(table(report, verbose=arguments.verbose))
    if arguments.json:
        from autograder.apps.gradescope import seconds_since_process_start

        data = gradescope_json(report)
        data["execution_time"] = round(seconds_since_process_start(), 3)  # as on Gradescope: the whole run
        write_json(arguments.json, data)
        print(f"\nresults.json written to {arguments.json}")
    return 1 if report.error else 0


def _gradescope(arguments: argparse.Namespace) -> int:
    from autograder.apps.gradescope import run

    run(arguments.root)
    return 0


def _course(arguments: argparse.Namespace) -> Course | None:
    """The course of ``--problems`` (default: the engine's own); None, with the error printed, when it is broken."""
    from autograder.apps.course import CourseError, load

    try:
        return load(arguments.problems or default_problems())
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _selfcheck(arguments: argparse.Namespace) -> int:
    from autograder.apps.preflight import prove_the_worker_runs

    course = _course(arguments)
    if course is None:
        return 2
    failure = prove_the_worker_runs(course.package_names)
    if failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    print("A worker started, loaded a submission and answered as it must: student code can be graded here.")
    return 0


def _packages(arguments: argparse.Namespace) -> int:
    """For setup.sh and `make grade`: ``pip install -r`` of this output installs the student environment."""
    course = _course(arguments)
    if course is None:
        return 2
    print("\n".join(course.student_packages))
    return 0
