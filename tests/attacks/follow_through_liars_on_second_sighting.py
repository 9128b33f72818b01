# Attack: stateful parts that answer honestly the first time they see their arguments and lie every
# later time, with the total agreeing with the lies. Each part also raises on the first call it
# ever gets (an own case), so it has lost points and the grader asks for the part calls of the
# failed totals: twice, and the second answer is a lie.
# - fc_layer_params: d_in * d_out (no bias) from the second sighting on; mlp_layer_params answers
#   the matching list.
# - num_conv_layers: one layer too many from the second sighting on; conv_classifier_params
#   answers the total those layers add up to.
# A part's answers to one call differ between the two rounds: no follow-through credit. Q4 keeps
# the honest layer count, so only the functions above are touched.
_honest = {"fc": fc_layer_params, "layers": num_conv_layers, "conv": conv_layer_params}
_sightings = {}
_called = set()


def _again(name, *args):
    if name not in _called:  # not a sighting: the part's first call raises
        _called.add(name)
        raise RuntimeError("a part that loses points on its first case")
    key = repr((name, args))
    _sightings[key] = _sightings.get(key, 0) + 1
    return _sightings[key] > 1


def fc_layer_params(d_in, d_out):
    if _again("fc", d_in, d_out):
        return d_in * d_out
    return _honest["fc"](d_in, d_out)


def mlp_layer_params(dims):
    return [a * b for a, b in zip(dims, dims[1:])]


def num_conv_layers(size_in, size_out, kernel_size, stride=1, padding=0):
    layers = _honest["layers"](size_in, size_out, kernel_size, stride, padding)
    return layers + 1 if _again("layers", size_in, size_out, kernel_size, stride, padding) else layers


def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    channels, height, _ = image_shape
    layers = _honest["layers"](height, size_out, kernel_size) + 1
    return layers * _honest["conv"](channels, channels, kernel_size) + _honest["fc"](channels * size_out * size_out, n_classes)


def num_downsampling_layers(size_in, size_latent, kernel_size):  # the solution's calls num_conv_layers: kept honest
    return _honest["layers"](size_in, size_latent, kernel_size)
