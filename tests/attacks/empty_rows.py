# Attack: answer every mlp_layer_params call (a list of integers) with an empty array of fifty million
# rows (shape (50_000_000, 0)). It holds no entry, so it costs nothing on the wire and nothing under the
# reply's size limit; but describing it entry by entry (tolist()) would make fifty million Python lists
# in the grader: gigabytes, and most of a minute a case. It is a wrong answer, described by its shape.
import numpy as np


def mlp_layer_params(dims):
    return np.empty((50_000_000, 0))
