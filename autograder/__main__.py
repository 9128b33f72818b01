"""``python -m autograder``: the current folder is taken off the import path before anything else.

``python -m`` puts it first, so a student's folder holding a ``numpy.py`` would
otherwise be imported into the grader.
"""

import os
import sys

sys.path[:] = [entry for entry in sys.path if entry not in ("", ".", os.getcwd())]

from autograder.apps.cli import main  # noqa: E402 - only after the path is safe

sys.exit(main())
