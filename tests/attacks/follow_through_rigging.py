# Attack: game follow-through credit. mlp_layer_params answers garbage (all zeros) and arms
# fc_layer_params to answer 0 for the next calls, which are the grader's own follow-through calls
# for that case; when graded directly, fc_layer_params answers right. The parts are right, so the
# zeros are not "wrong only because a part is": mlp_layer_params must earn only what its
# answers earn on their own; everything else keeps full marks.
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
