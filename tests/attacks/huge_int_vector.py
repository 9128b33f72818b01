# Attack: answer one list-of-integers case (mlp_layer_params on the Q2a network) with a
# 16-million-entry int8 vector: 16 MB on the wire, well under the reply limit, but millions of
# Python objects if the grader turns it into a list before looking at its length. It costs that
# case only; the grader's memory and time stay small.
import numpy as np

_honest_mlp_layer_params = mlp_layer_params


def mlp_layer_params(dims):
    if list(dims) == [150528, 75264, 100]:
        return np.zeros(16_000_000, dtype=np.int8)
    return _honest_mlp_layer_params(dims)
