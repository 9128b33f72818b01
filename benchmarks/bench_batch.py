"""How fast ``python -m autograder batch`` grades a class, and what the grader itself costs per submission.

Builds a Gradescope export of a varied class in a temporary folder: right
answers, known mistakes (solutions/mistakes/*.py appended to solutions/ps3.py),
submissions that crash in every way we know, a few with no ps3.py, and a few
that hang. Then it grades:

1. the class without its hanging submissions: the steady-state rate;
2. the whole class, from scratch: the rate a TA sees, hangs included;
3. a few right answers one at a time (--jobs 1): the wall time per submission,
   split into the grader's own CPU and the worker's, against a bare
   ``python -c "import numpy"`` (the least any sandboxed worker costs).

Peak memory is ``getrusage``: the grader process (self) and the largest single
worker (children). Usage: python benchmarks/bench_batch.py [--size 200] [--hanging 6] [--jobs N]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.apps.cli import main as autograder  # noqa: E402 - after the path is set

SOLUTION = (REPO / "solutions" / "ps3.py").read_text()
MISTAKES = sorted((REPO / "solutions" / "mistakes").glob("*.py"))

CRASHES = {
    "exits at import": "import os\nos._exit(1)\n",
    "segfaults at import": "import ctypes\nctypes.string_at(0)\n",
    "syntax error": SOLUTION + "\ndef broken(:\n    pass\n",
    "raises at import": SOLUTION + "\nraise RuntimeError('left a test in')\n",
    "kills its worker in a call": SOLUTION + "\nimport os\ndef conv2d(x, k):\n    os._exit(3)\n",
    "runs out of memory": SOLUTION + "\nimport numpy as np\ndef conv2d(x, k):\n    return np.ones(1 << 34)\n",
    "recurses forever": SOLUTION + "\ndef conv_output_size(*args):\n    return conv_output_size(*args)\n",
    "prints 10 MB a call": SOLUTION + "\ndef fc_layer_params(d_in, d_out):\n    print('x' * 10_000_000)\n    return 0\n",
}
HANGS = {
    "sleeps at import": "import time\ntime.sleep(1000)\n",
    "loops in conv2d": SOLUTION + "\ndef conv2d(x, k):\n    while True:\n        pass\n",
    "sleeps in fc_layer_params": SOLUTION + "\nimport time\ndef fc_layer_params(d_in, d_out):\n    time.sleep(1000)\n",
}
NAMES = ["Zoë Ångström", "José Núñez", "李小龙", "Mary Ann O'Neil", "Ólafur Arnalds", "Priya Raman", "Ngozi Okafor", "Łukasz Nowak"]


def make_class(folder: Path, size: int, hanging: int) -> dict[str, str]:
    """Write an export of ``size`` submissions, ``hanging`` of them spread through it hanging; return id -> kind."""
    kinds: dict[str, str] = {}
    hang_at = {int((index + 0.5) * size / hanging): index for index in range(hanging)} if hanging else {}
    plan = [("right", SOLUTION)] * 8 + [(f"mistake: {p.stem}", SOLUTION + "\n\n" + p.read_text()) for p in MISTAKES]
    crashes, hangs = list(CRASHES.items()), list(HANGS.items())
    metadata = []
    for number in range(size):
        identifier = str(200_000 + number)
        if number in hang_at:
            kind, source = hangs[hang_at[number] % len(hangs)]
        elif number % 25 == 24:
            kind, source = "no ps3.py", None
        elif number % 9 == 8:
            kind, source = crashes[number // 9 % len(crashes)]
        else:
            kind, source = plan[number % len(plan)]
        submission = folder / f"submission_{identifier}"
        submission.mkdir(parents=True)
        if source is None:
            (submission / "answers.py").write_text("x = 1\n")
            (submission / "scratch.py").write_text("y = 2\n")
        else:
            (submission / "ps3.py").write_text(f"# submission {identifier}\n{source}")
        kinds[identifier] = kind
        name = f"{NAMES[number % len(NAMES)]} {number}"
        metadata.append(f"submission_{identifier}:\n  :submitters:\n  - :name: \"{name}\"\n    :sid: '{identifier}'\n"
                        f"    :email: s{number}@example.edu\n  :created_at: 2024-02-01 10:00:00.000000000 -08:00\n"
                        f"  :score: {100.0 if kind == 'right' else 50.0}\n")
    (folder / "submission_metadata.yml").write_text("".join(metadata), encoding="utf-8")
    return kinds


def cpu() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def grade(export: Path, out: Path, jobs: int) -> tuple[float, float, float, str]:
    """Run the batch command in this process; return wall seconds, grader CPU, worker CPU, its last line."""
    captured = io.StringIO()
    before, started = cpu(), time.perf_counter()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        code = autograder(["batch", str(export), "--out", str(out), "--jobs", str(jobs), "--problems", str(REPO / "problems")])
    wall, after = time.perf_counter() - started, cpu()
    if code not in (0, 1):
        sys.exit(f"batch failed with exit code {code}:\n{captured.getvalue()}")
    summary = next((line for line in captured.getvalue().splitlines() if line.startswith("Graded ")), "")
    return wall, after[0] - before[0], after[1] - before[1], summary


def outcomes(out: Path, kinds: dict[str, str]) -> dict[str, Counter]:
    """Per kind of submission, how the grades came out: a check that the class behaved as designed."""
    with (out / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    table: dict[str, Counter] = {}
    for row in rows:
        total = float(row["total"] or 0)
        verdict = "full marks" if total == 100 else "zero" if total == 0 else "partial"
        table.setdefault(kinds[row["submission_id"]], Counter())[verdict] += 1
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200, help="submissions in the class (default 200)")
    parser.add_argument("--hanging", type=int, default=6, help="how many of them hang (default 6)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel slots (default: CPUs)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print where it is")
    arguments = parser.parse_args()
    temporary = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    os.chmod(temporary, 0o755)
    try:
        whole = temporary / "whole"
        kinds = make_class(whole, arguments.size, arguments.hanging)
        steady = temporary / "no_hangs"
        shutil.copytree(whole, steady)
        for identifier, kind in kinds.items():
            if kind in HANGS:
                shutil.rmtree(steady / f"submission_{identifier}")
        healthy = arguments.size - arguments.hanging
        print(f"class: {arguments.size} submissions ({healthy} without hangs), {arguments.jobs} slots, "
              f"{'root: one sandbox user per slot' if os.geteuid() == 0 else 'not root: no separate users'}")

        wall, own, workers, _summary = grade(steady, temporary / "out_steady", arguments.jobs)
        print(f"\nwithout the {arguments.hanging} hanging: {healthy} in {wall:.1f} s = {healthy / wall:.2f} submissions/s "
              f"(grader CPU {own / healthy * 1000:.0f} ms, workers' CPU {workers / healthy * 1000:.0f} ms per submission)")
        wall_all, *_ = grade(whole, temporary / "out_whole", arguments.jobs)
        print(f"whole class, hangs included: {arguments.size} in {wall_all:.1f} s = {arguments.size / wall_all:.2f} submissions/s")
        for kind, counts in sorted(outcomes(temporary / "out_whole", kinds).items()):
            print(f"  {kind:<30} {dict(counts)}")

        few = temporary / "one_at_a_time"
        few.mkdir()
        for identifier, kind in list(kinds.items())[:40]:
            if kind == "right" and len(list(few.iterdir())) < 10:
                shutil.copy(whole / f"submission_{identifier}" / "ps3.py", few / f"s{identifier}.py")
        count = len(list(few.iterdir()))
        wall_one, own_one, workers_one, _ = grade(few, temporary / "out_one", 1)
        bare = []
        for _ in range(10):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import numpy"], check=True)
            bare.append(time.perf_counter() - started)
        per = wall_one / count
        print(f"\none at a time ({count} right answers, --jobs 1): {per * 1000:.0f} ms per submission "
              f"(grader CPU {own_one / count * 1000:.0f} ms, worker CPU {workers_one / count * 1000:.0f} ms)")
        print(f"bare python -c 'import numpy': median {statistics.median(bare) * 1000:.0f} ms")
        print(f"grader overhead beyond a bare NumPy start: {(per - statistics.median(bare)) * 1000:.0f} ms per submission "
              f"({per / statistics.median(bare):.1f}x the bare start)")
    finally:
        if arguments.keep:
            print(f"\nkept {temporary}")
        else:
            shutil.rmtree(temporary, ignore_errors=True)
    own_peak, child_peak = (resource.getrusage(who).ru_maxrss / 1024 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"peak memory: grader {own_peak:.0f} MB, largest worker {child_peak:.0f} MB")


if __name__ == "__main__":
    main()
