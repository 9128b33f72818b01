# Attack: answer integer cases with integers too large for a float (10^400, and -10^400 in a
# list). Wrong answers: those two functions earn nothing, the rest keep full marks, and the
# grader does not fail while describing how far off they are.
def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    return 10**400


def mlp_layer_params(dims):
    return [-(10**400)] * (len(dims) - 1) or [10**400]
