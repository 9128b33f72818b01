# Attack: fill the grader's memory with replies that are each within every limit. Every graded function
# answers every call with a fresh 4 MB array (half a million floats: a legal reply, 16 times under the cap),
# a different one each time. Judged wrong, each was kept in the grader until the end of the grade: 160 cases,
# 640 MB, past Gradescope's 768 MB with the worker's share. Answers are let go once judged, unless
# follow-through may read them, and those only within a small allowance.
import itertools

import numpy as np

_calls = itertools.count()


def _large(*args, **kwargs):
    return np.full(500_000, float(next(_calls)))


fc_layer_params = mlp_layer_params = conv_layer_params = conv_output_size = num_conv_layers = _large
conv_classifier_params = conv2d = conv_transpose2d = num_downsampling_layers = downsampling_params = _large
