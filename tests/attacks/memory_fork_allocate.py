# Attack (round 3, memory outside the data limit): mlp_layer_params forks four children that each allocate and
# touch 400 MB, under the 512 MB data limit each process has, and hold it together: 1.6 GB in all, twice the
# container. RLIMIT_DATA is per process. The worker's cgroup (or, without one, the kernel's preference for the
# worker's processes) must stop them: the grader survives, mlp_layer_params earns nothing, the rest full marks.
import os as _os
import time as _time

import numpy as _np


def mlp_layer_params(dims):
    children = []
    for _ in range(4):
        pid = _os.fork()
        if pid == 0:
            try:
                hoard = _np.ones(50_000_000)  # 400 MB, every page written
                _time.sleep(3)
                _os._exit(0 if hoard[-1] == 1 else 1)
            finally:
                _os._exit(1)
        children.append(pid)
    statuses = [_os.waitpid(pid, 0)[1] for pid in children]
    if any(statuses):
        raise MemoryError(f"children ended with {statuses}")
    return "four children held 1.6 GB"
