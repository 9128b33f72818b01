"""A sandboxed autograder: problems are folders, student code runs only in a separate worker.

Kept free of imports so that ``python -m autograder`` starts fast.
"""

__version__ = "2.0.0"
