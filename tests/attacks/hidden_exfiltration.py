# Attack: smuggle hidden cases' inputs into what the student sees before grades are published.
# conv2d raises an exception whose class name spells its input, which a hidden case's summary
# would show; every function prints every input seen so far, which later visible cases (of other
# problems) would show. The test checks that no hidden conv2d input appears in any student-visible
# output. conv2d earns nothing; the rest keep full marks.
import numpy as np

_SEEN = []


def _spell(x):
    x = np.asarray(x, dtype=float)
    return "x".join(map(str, x.shape)) + ":" + ",".join(f"{v:g}" for v in x.ravel()[:6])


def conv2d(x, kernel):
    _SEEN.append(_spell(x))
    raise type("Leak" + _spell(x), (Exception,), {})()


def _leaking(function):
    def wrapper(*args, **kwargs):
        print("SEEN " + " | ".join(_SEEN))
        return function(*args, **kwargs)
    return wrapper


conv_transpose2d = _leaking(conv_transpose2d)
num_downsampling_layers = _leaking(num_downsampling_layers)
downsampling_params = _leaking(downsampling_params)
