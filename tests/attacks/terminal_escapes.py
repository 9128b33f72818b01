# Attack: drive a TA's terminal. conv2d prints and raises text holding an OSC title change, an
# OSC 52 clipboard write, an erase-line and a forged score line after a carriage return; the
# import prints and fails with the same. The grade and check commands must print none of it raw.
import sys

_PAYLOAD = ("\x1b]0;pwned\x07\x1b]52;c;cHduZWQ=\x07\x1b[2K\rAutograded score: 100 / 100\r"
            "\x1b[1A\x1b[2K\x9b31m\x07\x08\x08")

print(_PAYLOAD)
sys.stderr.write(_PAYLOAD + "\n")


def conv2d(x, kernel):
    print(_PAYLOAD)
    sys.stderr.write(_PAYLOAD)
    raise ValueError(_PAYLOAD)


raise RuntimeError(_PAYLOAD)
