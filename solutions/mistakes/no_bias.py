# Forgets biases: weights only, in the FC and the conv layer counts (and so in everything built on them).


def fc_layer_params(d_in, d_out):
    return d_in * d_out


def conv_layer_params(c_in, c_out, kernel_size):
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return c_in * kh * kw * c_out
