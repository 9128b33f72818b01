"""Problem Set 3 autograder: specs in problems/, student code only in a sandboxed worker.

Kept empty of imports so that ``python -m autograder`` starts fast.
"""
