# Attack (round 3, memory outside the data limit): mlp_layer_params writes 1.5 GB into files in memory-backed
# folders (/dev/shm, the worker's own folder, /tmp), 15 MB a file (under the file size limit). Such files are
# page cache that outlives the worker and no process limit counts. The worker may write nothing (Landlock;
# read-only mounts for a grader that is not root), so every file is refused: the grader survives, nothing is
# left behind, mlp_layer_params earns nothing, every other function keeps full marks.
import os as _os

_PIECE = 15 << 20
_TAG = "__TAG__"


def mlp_layer_params(dims):
    refused = []
    for folder in ("/dev/shm", _os.getcwd(), "/tmp"):
        try:
            for number in range(100):
                with open(_os.path.join(folder, f"{_TAG}-{number}"), "wb") as hoard:
                    hoard.write(b"\1" * _PIECE)
            return f"1.5 GB written to {folder}"
        except OSError as error:
            refused.append(f"{folder}: {type(error).__name__}")
    raise PermissionError("; ".join(refused))
