# Attack: game follow-through credit. mlp_layer_params answers garbage (all zeros) and arms
# fc_layer_params to answer 0 for the next calls, hoping they are the grader's follow-through
# calls for that case. fc_layer_params is right when not armed, so the zeros are not "wrong only
# because a part is": mlp_layer_params must earn only what its answers earn on their own.
_armed = [0]
_honest_fc_layer_params = fc_layer_params


def mlp_layer_params(dims):
    _armed[0] = len(dims) - 1
    return [0] * (len(dims) - 1)


def fc_layer_params(d_in, d_out):
    if _armed[0] > 0:
        _armed[0] -= 1
        return 0
    return _honest_fc_layer_params(d_in, d_out)
