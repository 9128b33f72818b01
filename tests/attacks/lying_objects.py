# Attack: return wrong answers dressed as objects that claim to equal anything: __eq__,
# __array_ufunc__, __array_function__ and __array__ overridden, on an ndarray subclass, a plain
# object, and int, float, list and NumPy-integer subclasses. The grader never lets a returned
# object compare itself: the six lying functions earn nothing, the honest four keep full marks.
import numpy as np


class _Liar:
    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False  # noqa: E731
    __hash__ = object.__hash__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.True_

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __bool__(self):
        return True


class _LyingArray(_Liar, np.ndarray):
    pass


class _LyingInt(_Liar, int):
    pass


class _LyingFloat(_Liar, float):
    pass


class _LyingList(_Liar, list):
    pass


class _LyingInt64(np.int64):
    def __eq__(self, other):
        return True

    __hash__ = np.int64.__hash__


def conv2d(x, kernel):
    return np.zeros((2, 2)).view(_LyingArray)


def conv_transpose2d(x, kernel):
    liar = _Liar()
    liar.__array__ = lambda *args, **kwargs: np.zeros((2, 2))
    return liar


def mlp_layer_params(dims):
    return _LyingList([-1] * len(dims))  # one entry too many, whatever it claims


def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    return _LyingInt(-1)


def num_downsampling_layers(size_in, size_latent, kernel_size):
    return _LyingInt64(-1)


def downsampling_params(in_channels, channels, size_in, size_latent, kernel_size):
    return _LyingFloat(0.5)
