# Looks for the grader's environment in the worker's own memory: os.environ, libc's environ, and the
# top of the stack, where the kernel put the environment strings beside argv when the grader started.
# A worker forked from the grader (the launcher, zygote.py) must hold none of it. Prints what it finds.
import ctypes
import os
import re

_NAME = "GRADER_" + "SECRET_" + "TOKEN"  # split, so that the name followed by a value is not in this text
_FOUND = re.compile((_NAME + "=").encode() + rb"([0-9a-f]{32})")


def _stack_top() -> bytes:
    """The readable pages from argv[0]'s string to the end of the stack.

    Each page is written to a pipe first: the kernel copies it, or fails with EFAULT where nothing is mapped,
    so the scan stops there rather than crash (msync, the usual probe, is not among the worker's calls).
    """
    libc = ctypes.CDLL(None)
    libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    page = os.sysconf("SC_PAGE_SIZE")
    address = ctypes.c_void_p.in_dll(libc, "program_invocation_name").value
    address -= address % page
    chunks = []
    reader, writer = os.pipe()
    try:
        while len(chunks) < 4096 and libc.write(writer, address, page) == page:
            chunks.append(os.read(reader, page))
            address += page
    finally:
        os.close(reader)
        os.close(writer)
    return b"".join(chunks)


def _libc_environ() -> bytes:
    libc = ctypes.CDLL(None)
    array = ctypes.POINTER(ctypes.c_char_p).in_dll(libc, "environ")
    found, index = [], 0
    while array and array[index] is not None and index < 10000:
        found.append(array[index])
        index += 1
    return b"\n".join(found)


def environment_scan() -> str:
    sources = {"os.environ": repr(dict(os.environ)).encode(), "libc environ": _libc_environ()}
    try:
        sources["stack"] = _stack_top()
    except Exception as error:  # noqa: BLE001
        print("stack scan failed:", type(error).__name__, error)
    found = sorted({f"{name}:{match.group(1).decode()}" for name, blob in sources.items() for match in _FOUND.finditer(blob)})
    return f"ENV-SCAN read {len(sources.get('stack', b''))} stack bytes; found {', '.join(found) or 'nothing'}"


_honest_mlp_layer_params = mlp_layer_params  # noqa: F821 - the solution's, defined above this attack


def mlp_layer_params(dims):
    print(environment_scan())
    return _honest_mlp_layer_params(dims)
