# Attack: farm follow-through credit with constants. Every function answers one fixed value, and
# each total is exactly what its constant parts add up to (1 * 7 + 7 for the classifier, 7 for the
# encoder, [7, 7, ...] for the network), so a total is "wrong only because a part is". Constants
# are not genuine parts: only the cases a constant happens to answer right may earn anything.
import numpy as np


def fc_layer_params(d_in, d_out):
    return 7


def mlp_layer_params(dims):
    return [7] * (len(dims) - 1)


def conv_layer_params(c_in, c_out, kernel_size):
    return 7


def conv_output_size(size_in, kernel_size, stride=1, padding=0):
    return 7


def num_conv_layers(size_in, size_out, kernel_size, stride=1, padding=0):
    return 1


def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    return 1 * 7 + 7


def conv2d(x, kernel):
    return np.zeros((2, 2))


def conv_transpose2d(x, kernel):
    return np.zeros((2, 2))


def num_downsampling_layers(size_in, size_latent, kernel_size):
    return 1


def downsampling_params(in_channels, channels, size_in, size_latent, kernel_size):
    return 7
