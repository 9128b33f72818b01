# Attack (round 3, memory outside the data limit): mlp_layer_params fills anonymous files (memfd_create), 15 MB
# each (under the worker's file size limit), maps each, touches it and closes the file: the mappings keep 1.5 GB
# alive that no data limit counts. seccomp refuses memfd_create; were it allowed, the worker's cgroup (or the
# kernel's preference for the worker) would stop it. The grader survives, mlp_layer_params earns nothing.
import mmap as _mmap
import os as _os

_PIECE = 15 << 20


def mlp_layer_params(dims):
    kept = []
    for number in range(100):
        fd = _os.memfd_create(f"hoard{number}")
        _os.ftruncate(fd, _PIECE)
        piece = _mmap.mmap(fd, _PIECE, flags=_mmap.MAP_SHARED)
        _os.close(fd)
        for offset in range(0, _PIECE, _mmap.PAGESIZE):
            piece[offset] = 1
        kept.append(piece)
    return "still alive with 1.5 GB of memfd pages"
