# Attack: NaN and infinity where numbers are expected (which compare unequal to everything, or
# equal to themselves under a careless check). Wrong answers: the five functions earn nothing,
# the rest keep full marks, and results.json stays valid JSON (no NaN in it).
import numpy as np


def conv2d(x, kernel):
    return np.full((np.shape(x)[0] - np.shape(kernel)[0] + 1, np.shape(x)[1] - np.shape(kernel)[1] + 1), np.nan)


def conv_transpose2d(x, kernel):
    return np.full((np.shape(x)[0] + np.shape(kernel)[0] - 1, np.shape(x)[1] + np.shape(kernel)[1] - 1), np.inf)


def mlp_layer_params(dims):
    return [float("nan"), float("inf")]


def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    return float("inf")


def downsampling_params(in_channels, channels, size_in, size_latent, kernel_size):
    return np.float64("nan")
