# Attack: sys.exit, SystemExit and KeyboardInterrupt raised inside functions, and SystemExit at
# top level after the definitions. The worker reports them as exceptions and carries on: the three
# functions earn nothing, the other seven keep full marks.
import sys


def conv2d(x, kernel):
    sys.exit(0)


def conv_transpose2d(x, kernel):
    raise KeyboardInterrupt


def mlp_layer_params(dims):
    raise SystemExit(3)


raise SystemExit("the top-level statement stops here, the definitions above stay")
