# Shared by the probing attacks (the test puts it after the solution and before the attack):
# every attempt is recorded as one line, and the first call of mlp_layer_params (a visible case;
# no composition or other function calls it) prints them, so the test can read in results.json what each
# attempt got.

_PROBES = []


def _probe(name, attempt):
    try:
        got = attempt()
    except BaseException as error:  # noqa: BLE001 - a refusal of any kind is the expected answer
        _PROBES.append(f"PROBE {name}: denied ({type(error).__name__})")
    else:
        _PROBES.append(f"PROBE {name}: OPEN {str(got)[:50]!r}")


def _refused(result):
    """For calls that report failure by a return value (ctypes syscalls)."""
    if result in (-1, 0, None, False):
        raise PermissionError(f"refused: {result}")
    return result


_honest_mlp_layer_params = mlp_layer_params


def mlp_layer_params(dims):
    while _PROBES:
        print(_PROBES.pop(0))
    return _honest_mlp_layer_params(dims)
