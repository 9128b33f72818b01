# True convolution instead of cross-correlation: the kernel is rotated 180 degrees.
# On the problem-set instance K is symmetric, so only asymmetric cases catch it.
_right_conv2d, _right_conv_transpose2d = conv2d, conv_transpose2d


def conv2d(x, kernel):
    return _right_conv2d(x, np.asarray(kernel)[::-1, ::-1])


def conv_transpose2d(x, kernel):
    return _right_conv_transpose2d(x, np.asarray(kernel)[::-1, ::-1])
