# Returns the transpose of the right output (rows and columns swapped).
_right_conv2d, _right_conv_transpose2d = conv2d, conv_transpose2d


def conv2d(x, kernel):
    return _right_conv2d(x, kernel).T


def conv_transpose2d(x, kernel):
    return _right_conv_transpose2d(x, kernel).T
