# Attack: deeply nested lists. conv_classifier_params returns 100,000 levels (the worker's own
# depth check refuses them); mlp_layer_params lifts that check and the recursion limit and
# returns 990 levels (just under what JSON decoding accepts, so they reach the grader);
# downsampling_params returns a list that contains itself. Those three earn nothing; the grader
# neither recurses to death nor fails; the rest keep full marks.
import sys

import __main__ as _worker

sys.setrecursionlimit(5000)


def _nested(depth):
    value = [1]
    for _ in range(depth):
        value = [value]
    return value


def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    _worker.MAX_DEPTH = 32
    return _nested(100_000)


def mlp_layer_params(dims):
    _worker.MAX_DEPTH = 10**9
    return _nested(990)


def downsampling_params(in_channels, channels, size_in, size_latent, kernel_size):
    _worker.MAX_DEPTH = 10**9
    loop = []
    loop.append(loop)
    return loop
