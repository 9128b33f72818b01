"""Problem Set 3: the instructor's solution (full marks)."""

import numpy as np


def fc_layer_params(d_in, d_out):
    """Weights plus biases of one fully connected layer."""
    return d_in * d_out + d_out


def mlp_layer_params(dims):
    """Per-layer parameter counts of a fully connected net dims[0] -> dims[1] -> ..."""
    return [fc_layer_params(a, b) for a, b in zip(dims, dims[1:])]


def conv_layer_params(c_in, c_out, kernel_size):
    """Weights plus one bias per output channel; kernel_size is an int or a (kh, kw) pair."""
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return (c_in * kh * kw + 1) * c_out


def conv_output_size(size_in, kernel_size, stride=1, padding=0):
    """(size_in + 2 * padding - kernel_size) // stride + 1; ValueError if the kernel does not fit."""
    padded = size_in + 2 * padding
    if kernel_size > padded:
        raise ValueError("kernel larger than the padded input")
    return (padded - kernel_size) // stride + 1


def num_conv_layers(size_in, size_out, kernel_size, stride=1, padding=0):
    """Fewest identical conv layers that take size_in exactly to size_out."""
    sizes = [size_in]
    while sizes[-1] > size_out:
        smaller = conv_output_size(sizes[-1], kernel_size, stride, padding)
        if smaller >= sizes[-1]:
            raise ValueError("these layers do not shrink the input")
        sizes.append(smaller)
    if sizes[-1] != size_out:
        raise ValueError(f"the sizes {sizes[-2:]} step over {size_out}")
    return len(sizes) - 1


def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    """Conv layers C -> C down to size_out, then flatten and one fully connected layer."""
    channels, height, _ = image_shape
    layers = num_conv_layers(height, size_out, kernel_size)
    return layers * conv_layer_params(channels, channels, kernel_size) + fc_layer_params(channels * size_out * size_out, n_classes)


def conv2d(x, kernel):
    """Valid 2-D cross-correlation, stride 1."""
    x, kernel = np.asarray(x, dtype=float), np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i : i + kh, j : j + kw] * kernel)
    return out


def conv_transpose2d(x, kernel):
    """Transposed convolution, stride 1, no padding: O[i:i+kh, j:j+kw] += x[i, j] * K."""
    x, kernel = np.asarray(x, dtype=float), np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out = np.zeros((x.shape[0] + kh - 1, x.shape[1] + kw - 1))
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i : i + kh, j : j + kw] += x[i, j] * kernel
    return out


def num_downsampling_layers(size_in, size_latent, kernel_size):
    """Valid convs, stride 1, until size_latent."""
    return num_conv_layers(size_in, size_latent, kernel_size)


def downsampling_params(in_channels, channels, size_in, size_latent, kernel_size):
    """Layer i maps c_{i-1} -> c_i; after the list ends, channels[-1] repeats."""
    total, c_prev = 0, in_channels
    for i in range(num_downsampling_layers(size_in, size_latent, kernel_size)):
        c = channels[min(i, len(channels) - 1)]
        total += conv_layer_params(c_prev, c, kernel_size)
        c_prev = c
    return total
