"""``python -m autograder``: the current folder is taken off the import path before anything else.

``python -m`` puts it first, so a student's folder holding a ``numpy.py`` would
otherwise be imported into the grader.
"""

import importlib.util
import os
import sys

sys.path[:] = [entry for entry in sys.path if entry not in ("", ".", os.getcwd())]

from autograder.apps.cli import GRADING_COMMANDS, main  # noqa: E402 - only after the path is safe

if sys.argv[1:2] and sys.argv[1] in GRADING_COMMANDS:
    # One grade allocates little that refers to itself, and the process ends with it: Python's cyclic garbage
    # collector, which would walk every object of NumPy's and the engine's again and again as they are imported,
    # only costs time here (about 3% of a grade). Every process forked from this one (the workers' launcher, so
    # every worker) collects as usual, with what it inherits frozen: never walked, so its pages stay shared.
    import gc

    def collect_as_usual() -> None:
        gc.freeze()
        gc.enable()

    gc.disable()
    os.register_at_fork(after_in_child=collect_as_usual)

    # The workers' launcher is forked before the command line is parsed (and after the collector is set up for it):
    # what a worker could find of that in the launcher's memory (argparse's objects, the frames holding them) is
    # not there to find (red team). Without NumPy, cli.main says what to install instead.
    if importlib.util.find_spec("numpy") is not None:
        from autograder.sandbox import zygote

        zygote.start_here()

code = main()
# Everything is written (results.json atomically) and the workers' launcher has ended: skip the
# interpreter's teardown, which with NumPy loaded is about 12 ms of every student's wait.
for stream in (sys.stdout, sys.stderr):
    try:
        stream.flush()
    except (OSError, ValueError):  # a reader that went away, a closed stream: nothing more can be shown
        pass
os._exit(code)
