"""How long one Gradescope grade takes, end to end, against the in-process peer.

Runs the real run_autograder on solutions/ps3.py in a temporary Gradescope
layout like the one autograder.zip unpacks to (with problems/compiled.json;
--no-cache grades from the YAML), as root with every protection, and the
typical in-process gradescope-utils suite (inprocess_baseline.py) on the same
file. Prints the median, min and max of each and their ratio.
Usage: python benchmarks/bench_grade.py [--runs 5] [--no-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.engine.compiled import CACHE_NAME, cache_bytes  # noqa: E402
from autograder.engine.problemset import load as load_problems  # noqa: E402


def timed(command: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def describe(name: str, times: list[float]) -> str:
    return f"{name:<34} median {statistics.median(times):.3f} s   min {min(times):.3f}   max {max(times):.3f}   (n={len(times)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-cache", action="store_true", help="grade from the YAML specs, without compiled.json")
    arguments = parser.parse_args()
    runs = arguments.runs
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / "autograder"
        problems = root / "source" / "problems"
        shutil.copytree(REPO / "problems", problems, ignore=shutil.ignore_patterns("__pycache__", CACHE_NAME))
        if not arguments.no_cache:  # as `python -m autograder build` lays out autograder.zip
            (problems / CACHE_NAME).write_bytes(cache_bytes(problems, load_problems(problems, use_cache=False)))
        (root / "submission").mkdir()
        shutil.copy(REPO / "solutions" / "ps3.py", root / "submission" / "ps3.py")
        os.chmod(temporary, 0o755)
        env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable,
                   PYTHONPATH=str(REPO))
        sandboxed = [timed(["bash", str(REPO / "run_autograder")], env) for _ in range(runs)]
        results = json.loads((root / "results" / "results.json").read_text())
        baseline_out = Path(temporary) / "baseline.json"
        baseline = [timed([sys.executable, str(REPO / "benchmarks" / "inprocess_baseline.py"), str(root / "submission"),
                           str(baseline_out)]) for _ in range(runs)]
        bare = [timed([sys.executable, "-c", "import numpy"]) for _ in range(runs)]
    cases = sum(1 for t in results["tests"] if t.get("max_score"))
    environment = next(t["output"] for t in results["tests"] if t["name"].startswith("Grading environment"))
    print(describe("run_autograder (sandboxed)", sandboxed))
    print(describe("in-process gradescope-utils suite", baseline))
    print(describe("bare python -c 'import numpy'", bare))
    print(f"ratio sandboxed / in-process: {statistics.median(sandboxed) / statistics.median(baseline):.2f}x")
    print(f"score {results['score']} over {cases} cases ({cases - 5}+ more than the in-process suite checks)")
    print(environment)


if __name__ == "__main__":
    main()
