"""How long the grader takes on the hostile submissions whose cost is the point of their defence.

The attack tests (tests/test_attacks.py, tests/test_source_loading.py) assert what is graded, counted and
left behind; a wall-clock bound there would fail on a busy machine and prove nothing on an idle one. The
times are measured here instead, each the median of a few runs through the real run_autograder (tests/helpers.py's
harness), beside the bound the tests once held them to:

  a 16-million-entry answer for a list of integers   whole grade, and results.json's execution_time  (was < 10 s)
  an import that sleeps for an hour (3 s import limit) whole grade                                  (was < 20 s)
  four children flooding the output pipe (root only)   whole grade                                  (was < 30 s)
  1.5 MB of binary garbage as ps3.py                   whole grade                                  (was < 60 s)
  printing 50 MB in one call                           the call, through the sandbox                (was < 1.5 s)

Needs the test tools (``make test-env``); as root every protection is on, as on Gradescope.

Usage: python benchmarks/bench_attacks.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import attack, hostile, new_harness  # noqa: E402

from autograder.sandbox.gate import CallGate  # noqa: E402
from autograder.sandbox.limits import Limits  # noqa: E402
from autograder.sandbox.process import Sandbox  # noqa: E402

from conftest import SOLUTION  # noqa: E402

CHATTY = b"def chatty(n):\n    for _ in range(500_000):\n        print('x' * 99)\n    return n + 1\n"


def graded(submission: Callable[[], bytes | str], environment: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds of run_autograder, results.json's execution_time, the grader's peak MB) for one grade."""
    saved = dict(os.environ)
    with new_harness() as harness:
        os.environ.update(environment or {}, TMPDIR=str(harness.workers))
        try:
            harness.submit({"ps3.py": submission()})
            data = harness.run(timeout=600)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return harness.seconds, float(data.get("execution_time", 0.0)), harness.grader_peak_mb


def printing_call() -> float:
    """Seconds for one call that prints 50 MB, kept to 16 kB, through a started sandbox."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ps3.py"
        path.write_bytes(CHATTY)
        with CallGate.started(Sandbox(path, Limits(call_timeout=120, output_bytes=16_000), worker_user=None)) as gate:
            assert not gate.imported.fatal  # the import is waited for, so the call alone is timed
            started = time.monotonic()
            outcome = gate.call("chatty", [41])
            seconds = time.monotonic() - started
    assert outcome.kind == "returned", outcome
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    grades: dict[str, tuple[Callable[[], bytes | str], dict[str, str]]] = {
        "16M-entry answer": (lambda: hostile("huge_int_vector"), {}),
        "import sleeps 1 h": (lambda: attack("import_sleeps") + "\n" + SOLUTION.read_text(), {"AUTOGRADER_IMPORT_TIMEOUT": "3"}),
        "1.5 MB binary garbage": (lambda: random.Random(3).randbytes(1_500_000), {}),
    }
    if os.geteuid() == 0:
        grades["output flood daemons"] = (lambda: hostile("output_flood_daemons"), {})
    else:
        print("output flood daemons: not measured (only a root grader contains them)")
    print(f"{'submission':24} {'wall s':>8} {'exec s':>8} {'grader MB':>10}   (median of {rounds})")
    for name, (submission, environment) in grades.items():
        runs = [graded(submission, environment) for _ in range(rounds)]
        wall, executed, peak = (statistics.median(column) for column in zip(*runs, strict=True))
        print(f"{name:24} {wall:8.2f} {executed:8.2f} {peak:10.0f}")
    calls = [printing_call() for _ in range(rounds)]
    print(f"{'print 50 MB, one call':24} {statistics.median(calls):8.2f}")


if __name__ == "__main__":
    main()
