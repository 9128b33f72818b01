# Attack (round 3, memory outside the data limit): mlp_layer_params touches 1.5 GB of shared anonymous memory
# (MAP_SHARED | MAP_ANONYMOUS). Shared pages are not "data": RLIMIT_DATA does not count them, and seccomp must
# allow shared mappings (NumPy and multiprocessing use them). In a 768 MB container the worker's cgroup, or
# without one the kernel's preference for killing the worker (oom_score_adj 1000), must stop it: the grader
# survives and writes its result, mlp_layer_params earns nothing, every other function keeps full marks.
import mmap as _mmap

_SIZE = 1536 << 20


def mlp_layer_params(dims):
    hoard = _mmap.mmap(-1, _SIZE, flags=_mmap.MAP_SHARED | _mmap.MAP_ANONYMOUS)
    for offset in range(0, _SIZE, _mmap.PAGESIZE):
        hoard[offset] = 1
    return "still alive with 1.5 GB of shared memory"
