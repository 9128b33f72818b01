# Attack: the worker's stdout knows the grader's end-of-call marker (it must write it). Print it,
# again and again, each after almost a call's allowance of text, so that the grader would keep each
# piece as a call's output of its own: a gigabyte at import and another from conv2d, everything right.
import os
import sys

_piece = b"A" * 15000 + sys.stdout._marker


def _forge(total: int) -> None:
    chunk, sent = _piece * 4, 0
    while sent < total:
        sent += os.write(2, chunk)


_forge(1 << 30)
_honest_conv2d = conv2d


def conv2d(x, kernel):
    _forge(1 << 29)
    return _honest_conv2d(x, kernel)
