# Attack: parts that raise on their own cases and answer only when the call looks like a
# follow-through call, with totals that agree with those answers.
# - fc_layer_params raises the first time it sees its arguments and answers d_in * d_out (no
#   bias) every later time: a part call is made twice, an own case usually once.
# - num_downsampling_layers raises unless downsampling_params was the call just before it
#   (its parts come right after the previous total); then it answers one layer too many.
# The totals answer what those answers add up to. No part earns anything on its own cases, so no
# stateless submission could earn follow-through credit here: neither may this one.
_honest = {"fc": fc_layer_params, "layers": num_downsampling_layers, "conv": conv_layer_params}
_sightings = {}
_after_total = [False]


def fc_layer_params(d_in, d_out):
    _after_total[0] = False
    key = repr((d_in, d_out))
    _sightings[key] = _sightings.get(key, 0) + 1
    if _sightings[key] == 1:
        raise RuntimeError("not a part call")
    return d_in * d_out


def mlp_layer_params(dims):
    _after_total[0] = False
    return [a * b for a, b in zip(dims, dims[1:])]


def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    _after_total[0] = False
    channels, height, _ = image_shape
    layers = num_conv_layers(height, size_out, kernel_size)
    return layers * _honest["conv"](channels, channels, kernel_size) + _honest["fc"](channels * size_out * size_out, n_classes)


def num_downsampling_layers(size_in, size_latent, kernel_size):
    armed, _after_total[0] = _after_total[0], False
    if not armed:
        raise RuntimeError("not a part call")
    try:
        return _honest["layers"](size_in, size_latent, kernel_size) + 1
    except ValueError:
        raise RuntimeError("no such layers") from None


def downsampling_params(in_channels, channels, size_in, size_latent, kernel_size):
    layers = _honest["layers"](size_in, size_latent, kernel_size) + 1
    sizes = [in_channels] + [channels[min(i, len(channels) - 1)] for i in range(layers)]
    total = sum(_honest["conv"](sizes[i], sizes[i + 1], kernel_size) for i in range(layers))
    _after_total[0] = True
    return total
