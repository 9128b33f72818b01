# Attack: steer the follow-through credit of VISIBLE cases from the hidden phase.
# fc_layer_params answers its own visible cases (the kit shows them) right and leaves the bias out
# of every other call, so the solution's mlp_layer_params and conv_classifier_params, which call
# it, answer what these parts add up to on their visible cases. From the first call that no
# visible case makes (the hidden phase has begun) it either keeps leaving the bias out
# (mode "fail": it fails its hidden cases) or answers right (mode "pass"). Were the visible
# composites' credit decided after the hidden phase, it would differ between the two modes: a bit
# of the hidden phase in every visible case.
_MODE = "__MODE__"
_OWN = __OWN__  # (d_in, d_out) of fc_layer_params's visible cases
_VISIBLE = __VISIBLE__  # (d_in, d_out) of every call of it a visible case makes, its own and its composites'
_honest_fc = fc_layer_params
_hidden_phase = [False]


def fc_layer_params(d_in, d_out):
    key = (int(d_in), int(d_out))
    _hidden_phase[0] = _hidden_phase[0] or key not in _VISIBLE
    if key in _OWN or (_hidden_phase[0] and _MODE == "pass"):
        return _honest_fc(d_in, d_out)
    return d_in * d_out
