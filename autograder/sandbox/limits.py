"""Resource limits on the worker and time limits kept by the grader."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

MEMORY_MARGIN_MB = 128  # the interpreter, NumPy's code and the stack, beyond the data limit
MAX_SECONDS = 86_400.0  # a day: any longer is a typo (and select() refuses timeouts past about 2**31 s)
MAX_COUNT = 1 << 40  # of megabytes, bytes or processes: past any machine


@dataclass
class Limits:
    """Resource limits on the worker; defaults fit Gradescope's 768 MB container.

    Each process's memory is bounded by RLIMIT_DATA (heap and private writable
    mappings: what arrays use), not by the address space: libraries such as
    PyTorch reserve large stretches of address space they never touch, and
    abort at import under an address-space limit. RLIMIT_DATA counts neither
    shared memory nor the worker's children, nor the kernel's page tables of a
    huge read-only mapping touched a byte every 2 MB (2 GB of them held by one
    worker under a 512 MB data limit, in a red-team pass), so the total of the
    worker and all it starts is bounded by ``memory_mb`` in a cgroup of its own
    where the grader, as root, can make one (cgroups.py, which counts page
    tables too); everywhere, the kernel's OOM killer takes the worker's
    processes before the grader's.
    """

    call_timeout: float = 5.0
    import_timeout: float = 30.0
    run_deadline: float = 480.0  # the whole submission, well inside Gradescope's 10 minutes
    data_mb: int = 512
    memory_mb: int = 0  # the worker and everything it starts, shared memory included (a cgroup); 0: data_mb + MEMORY_MARGIN_MB
    cpu_seconds: int = 120
    processes: int = 64
    file_size_mb: int = 16
    open_files: int = 64
    output_bytes: int = 16_000
    reply_bytes: int = 64 << 20  # .npy data: compact, loads into an array of the same size
    reply_json_bytes: int = 2 << 20  # the JSON part: parsed into Python objects, so ~30x its size

    def worker_memory_bytes(self) -> int:
        """The bound on all the worker's processes hold together: ``memory_mb``, else the data limit and room for the interpreter."""
        return (self.memory_mb or self.data_mb + MEMORY_MARGIN_MB) << 20

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, defaults: Limits | None = None) -> Limits:
        """``defaults`` (the course's, else these), overridden by ``AUTOGRADER_<FIELD>`` variables (e.g. AUTOGRADER_CALL_TIMEOUT=10)."""
        environ = os.environ if environ is None else environ
        limits = replace(defaults) if defaults is not None else cls()
        for name, default in vars(cls()).items():
            value = environ.get(f"AUTOGRADER_{name.upper()}")
            if value is not None:
                try:
                    parsed = type(default)(value)
                except ValueError:
                    raise ValueError(f"AUTOGRADER_{name.upper()}={value!r} is not a {type(default).__name__}") from None
                if wrong := limit_problem(name, parsed):
                    raise ValueError(f"AUTOGRADER_{name.upper()}={value!r}: {wrong}")
                setattr(limits, name, parsed)
        return limits


def limit_problem(name: str, value: object) -> str | None:
    """What is wrong with ``value`` for the limit ``name`` (a course's, or an AUTOGRADER_ variable's); None if nothing.

    Every limit is a finite positive number of its field's kind (seconds may be fractions; the rest are whole),
    ``memory_mb`` may be 0 (its default: the data limit and a margin). A limit of -5 s made every call of every
    student time out at once, NaN or a string stopped every grade with a traceback.
    """
    default = getattr(Limits(), name)
    whole = isinstance(default, int)
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        return f"must be a {'whole number' if whole else 'number of seconds'}, not {value!r}"
    lowest = 0 if name == "memory_mb" else (1 if whole else 0)
    highest = MAX_COUNT if whole else MAX_SECONDS
    if not math.isfinite(value) or not lowest <= value <= highest or (not whole and value == 0):
        most = f"{highest:,}" if whole else f"{highest:,g}"
        return f"must be {'at least ' + str(lowest) if whole else 'more than 0'} and at most {most}, not {value!r}"
    return None
