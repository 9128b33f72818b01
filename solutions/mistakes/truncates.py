# Integer output buffers: np.zeros_like on an int input, or int(...) on each sum, truncates floats.


def conv2d(x, kernel):
    x, kernel = np.asarray(x), np.asarray(kernel)
    kh, kw = kernel.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1), dtype=int)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = int(np.sum(x[i : i + kh, j : j + kw] * kernel))
    return out


def conv_transpose2d(x, kernel):
    x, kernel = np.asarray(x).astype(int), np.asarray(kernel).astype(int)
    kh, kw = kernel.shape
    out = np.zeros((x.shape[0] + kh - 1, x.shape[1] + kw - 1), dtype=int)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i : i + kh, j : j + kw] += x[i, j] * kernel
    return out
