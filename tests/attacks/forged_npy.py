# Attack: a patched worker encoder sends, as conv2d's answer, a .npy blob whose header claims
# 10^12 float64 entries (7 TiB) with a few bytes of data, and as conv_transpose2d's a header whose
# shape overflows. The grader must refuse them as unreadable answers, not allocate for them or
# fail: those two earn nothing, the rest keep full marks.
import __main__ as _worker


def _npy_header(shape):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': %r, }" % (shape,)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64


_honest_encode = _worker.encode


def _forging_encode(value, blobs, depth=0):
    if isinstance(value, tuple) and value[:1] == ("forge",):
        blobs.append(_npy_header(value[1]))
        return {"$array": len(blobs) - 1}
    return _honest_encode(value, blobs, depth)


_worker.encode = _forging_encode


def conv2d(x, kernel):
    return ("forge", (10**12,))


def conv_transpose2d(x, kernel):
    return ("forge", (2**62, 2**62))
