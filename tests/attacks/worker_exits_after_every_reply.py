# Attack: every function ends its worker right after answering (the red team's round 6): the next
# request finds no worker, and the same call in a fresh worker answers. Every answer is right, so the
# grader used to forgive each death, and started a worker (namespaces, a cgroup, a reaper) per call:
# 158 of them, 9 s for a 0.3 s grade, at full marks. Each death is now charged to the function that
# ran last, and a function charged twice is not called again.
import functools

import __main__ as _worker

_answered = []
_honest_read = _worker.RequestPipe.read


def _read_until_answered(self):
    if _answered:
        raise EOFError  # "no more requests": the worker ends as if the grader were done
    return _honest_read(self)


def _then_end(function):
    @functools.wraps(function)
    def answered(*args, **kwargs):
        result = function(*args, **kwargs)
        _answered.append(True)
        return result

    return answered


_worker.RequestPipe.read = _read_until_answered
for _name in (
    "fc_layer_params", "mlp_layer_params", "conv_output_size", "conv_layer_params", "num_conv_layers",
    "conv_classifier_params", "conv2d", "conv_transpose2d", "num_downsampling_layers", "downsampling_params",
):
    globals()[_name] = _then_end(globals()[_name])
