"""How fast ``python -m autograder batch`` grades a class, and what one hanging submission costs it.

Builds a Gradescope export (submission_<id>/ folders and submission_metadata.yml)
of a generated class in a temporary folder: right answers, known mistakes
(solutions/mistakes/*.py appended to solutions/ps3.py), and broken files
(syntax errors, binary garbage, empty files); no hang. Then it runs, each as
``python -m autograder batch EXPORT --out OUT --jobs N`` in a child process
(wall time from this process, CPU of the child and its descendants from os.wait4):

1. the class: submissions per second (target >= 30);
2. one submission that hangs in every graded function (a busy loop), alone;
3. the class plus that submission (placed first, in the middle or last of the
   export's order; the batch grades in that order): the other submissions must
   be done within the class's own time plus 10% (the hang is put off behind
   them, its worker stopped), and the whole within that plus (2).

Other work on the machine skews every figure: each line prints the load
average the run began under, and quiet figures need an otherwise idle machine.

Usage: python benchmarks/bench_batch.py [--size 300] [--jobs N] [--class-runs 1] [--hang-at middle,last] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.apps.batch.grading import default_jobs  # noqa: E402
from autograder.engine.problemset import load as load_problems  # noqa: E402

RATE_TARGET = 30.0
HANG_SLACK = 0.10
SOLUTION = (REPO / "solutions" / "ps3.py").read_text()
MISTAKES = sorted((REPO / "solutions" / "mistakes").glob("*.py"))
NAMES = ["Zoë Ångström", "José Núñez", "李小龙", "Mary Ann O'Neil", "Ólafur Arnalds", "Priya Raman", "Ngozi Okafor", "Łukasz Nowak"]


def broken_files() -> dict[str, bytes]:
    garbage = random.Random(3).randbytes(4096)
    return {
        "syntax error": (SOLUTION + "\ndef broken(:\n    pass\n").encode(),
        "syntax error at line 1": b"def ps3(\n",
        "binary garbage": garbage,
        "binary garbage with a NUL": b"\x00\xff\xfe" + garbage[:512],
        "empty file": b"",
    }


def hanging_source() -> str:
    """The solution with every graded function replaced by a busy loop."""
    functions = sorted({case.function for problem in load_problems(REPO / "problems") for case in problem.cases})
    loops = "".join(f"\n\ndef {name}(*args, **kwargs):\n    while True:\n        pass\n" for name in functions)
    return SOLUTION + loops


def class_plan(size: int) -> list[tuple[str, bytes]]:
    """``size`` (kind, ps3.py bytes): every 10th broken, the rest right answers and known mistakes in turn."""
    broken = list(broken_files().items())
    good = [("right", SOLUTION.encode())] * 4 + [(f"mistake: {p.stem}", (SOLUTION + "\n\n" + p.read_text()).encode()) for p in MISTAKES]
    plan = []
    for number in range(size):
        if number % 10 == 9:
            plan.append(broken[number // 10 % len(broken)])
        else:
            plan.append(good[number % len(good)])
    return plan


def write_export(folder: Path, entries: list[tuple[str, bytes]]) -> dict[str, str]:
    """A Gradescope export of ``entries`` in that order (ids ascend); return id -> kind."""
    folder.mkdir(parents=True)
    kinds, metadata = {}, []
    for number, (kind, content) in enumerate(entries):
        identifier = str(200_000 + number)
        submission = folder / f"submission_{identifier}"
        submission.mkdir()
        (submission / "ps3.py").write_bytes(content)
        kinds[identifier] = kind
        name = f"{NAMES[number % len(NAMES)]} {number}"
        metadata.append(
            f"submission_{identifier}:\n  :submitters:\n  - :name: \"{name}\"\n    :sid: '{identifier}'\n"
            f"    :email: s{number}@example.edu\n  :created_at: 2024-02-01 10:00:00.000000000 -08:00\n"
            f"  :score: 0.0\n"
        )
    (folder / "submission_metadata.yml").write_text("".join(metadata), encoding="utf-8")
    return kinds


def batch(export: Path, out: Path, jobs: int, log: Path) -> dict[str, Any]:
    """Run the batch command as a child; wall seconds, CPU seconds (child + descendants), largest process's peak RSS."""
    command = [
        sys.executable,
        "-m",
        "autograder",
        "batch",
        str(export),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--problems",
        str(REPO / "problems"),
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with log.open("wb") as stream:
        load = os.getloadavg()[0]
        started, clock = time.perf_counter(), time.time()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=stream, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"batch failed with exit code {code}; its output:\n{log.read_text(errors='replace')[-3000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024,
        "code": code,
        "started_at": clock,
        "load": load,
    }


def finished(out: Path, started_at: float, ids: set[str]) -> tuple[float, float]:
    """Seconds from the batch's start until the last of ``ids`` was written, and the most one of them took to grade."""
    summaries = [out / name / "summary.json" for name in ids]
    last = max(path.stat().st_mtime for path in summaries) - started_at
    longest = max(json.loads(path.read_text()).get("seconds") or 0.0 for path in summaries)
    return last, longest


def outcomes(out: Path, kinds: dict[str, str]) -> dict[str, Counter[str]]:
    """Per kind of submission, how the grades came out: a check that the class behaved as designed."""
    with (out / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    table: dict[str, Counter[str]] = {}
    for row in rows:
        total = float(row["total"] or 0)
        verdict = "full marks" if total == 100 else "zero" if total == 0 else "partial"
        table.setdefault(kinds[row["submission_id"]], Counter())[verdict] += 1
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="submissions in the class (default 300)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="--jobs for the batch command (default: its own, 2 per CPU and 1)")
    parser.add_argument(
        "--hang-at",
        default="middle,last",
        help="where the hanging submission goes in the export's order: "
        "any of first, middle, last, comma-separated, one class run each (default middle,last); '' for none",
    )
    parser.add_argument("--class-runs", type=int, default=1, help="run the class alone this many times; the fastest counts (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print where it is")
    arguments = parser.parse_args()
    positions = [p.strip() for p in arguments.hang_at.split(",") if p.strip()]
    if not set(positions) <= {"first", "middle", "last"}:
        parser.error("--hang-at takes first, middle, last")
    temporary = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    os.chmod(temporary, 0o755)
    rows = []
    try:
        plan = class_plan(arguments.size)
        kinds = write_export(temporary / "class", plan)
        hang = ("hangs in every function", hanging_source().encode())
        print(
            f"class: {arguments.size} submissions ({dict(Counter(k.split(':')[0] for k, _ in plan))}); "
            f"python -m autograder batch --jobs {arguments.jobs} on {os.cpu_count()} CPUs; "
            f"{'root: one sandbox user per slot' if os.geteuid() == 0 else 'NOT root: no separate users'}",
            flush=True,
        )

        runs = [
            batch(temporary / "class", temporary / f"out_class_{run}", arguments.jobs, temporary / f"class_{run}.log")
            for run in range(arguments.class_runs)
        ]
        steady = min(runs, key=lambda run: run["wall"])  # the least disturbed by other work on the machine
        if len(runs) > 1:
            walls = ", ".join(f"{run['wall']:.1f} s (load {run['load']:.2f})" for run in runs)
            print(f"class runs: {walls}; the fastest counts")
        rate = arguments.size / steady["wall"]
        print(
            f"\n1. class, no hang: {arguments.size} in {steady['wall']:.1f} s = {rate:.2f} submissions/s; "
            f"CPU {steady['cpu']:.1f} s ({steady['cpu'] / arguments.size * 1000:.0f} ms per submission, "
            f"{steady['cpu'] / steady['wall']:.2f} cores busy on average); largest process peak RSS {steady['maxrss_mb']:.0f} MB; "
            f"load average at the start {steady['load']:.2f}",
            flush=True,
        )
        for kind, counts in sorted(outcomes(temporary / f"out_class_{runs.index(steady)}", kinds).items()):
            print(f"     {kind:<28} {dict(counts)}")
        rows.append(("class rate (submissions/s)", f"{rate:.2f}", f">= {RATE_TARGET:.0f}", rate >= RATE_TARGET))

        if positions:  # none: the class rate alone
            write_export(temporary / "hang_alone", [hang])
            alone = batch(temporary / "hang_alone", temporary / "out_hang_alone", arguments.jobs, temporary / "hang_alone.log")
            print(
                f"\n2. the hanging submission alone: {alone['wall']:.1f} s (CPU {alone['cpu']:.1f} s; load {alone['load']:.2f})", flush=True
            )
            for kind, counts in outcomes(temporary / "out_hang_alone", {"200000": hang[0]}).items():
                print(f"     {kind:<28} {dict(counts)}")

            slack = steady["wall"] * (1 + HANG_SLACK)
            bound = slack + alone["wall"]
            for position in positions:
                at = {"first": 0, "middle": arguments.size // 2, "last": arguments.size}[position]
                entries = [*plan[:at], hang, *plan[at:]]
                name = f"class_hang_{position}"
                kinds_with = write_export(temporary / name, entries)
                whole = batch(temporary / name, temporary / f"out_{name}", arguments.jobs, temporary / f"{name}.log")
                print(
                    f"\n3. class + the hang ({position}, #{at + 1} of {len(entries)}): {whole['wall']:.1f} s "
                    f"(CPU {whole['cpu']:.1f} s; load {whole['load']:.2f}); bound class {steady['wall']:.1f} s + 10% + hang alone "
                    f"{alone['wall']:.1f} s = {bound:.1f} s; over the class alone: +{whole['wall'] - steady['wall']:.1f} s",
                    flush=True,
                )
                hung = outcomes(temporary / f"out_{name}", kinds_with).get(hang[0], Counter())
                hang_id = next(key for key, kind in kinds_with.items() if kind == hang[0])
                others, _ = finished(temporary / f"out_{name}", whole["started_at"], set(kinds_with) - {hang_id})
                hang_done, hang_own = finished(temporary / f"out_{name}", whole["started_at"], {hang_id})
                print(
                    f"     the hanging one: {dict(hung)}; graded in {hang_own:.1f} s of its own, done at {hang_done:.1f} s "
                    f"(so it began at about {hang_done - hang_own:.1f} s); the other {len(kinds_with) - 1} were all done by {others:.1f} s"
                )
                rows.append((f"class + hang ({position}) wall", f"{whole['wall']:.1f} s", f"<= {bound:.1f} s", whole["wall"] <= bound))
                rows.append(
                    (f"  ({position}) the other {len(kinds_with) - 1} done by", f"{others:.1f} s", f"<= {slack:.1f} s", others <= slack)
                )
    finally:
        if arguments.keep:
            print(f"\nkept {temporary}")
        else:
            shutil.rmtree(temporary, ignore_errors=True)
    print("\nsummary")
    print(f"  {'measure':<34} {'value':>10}  {'target':<12} met")
    for name, value, target, met in rows:
        print(f"  {name:<34} {value:>10}  {target:<12} {'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
