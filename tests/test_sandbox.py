"""The worker boundary: what crosses, what a broken or hostile function costs, and restarts."""

from __future__ import annotations

import os
import re
import resource
import site
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from autograder.engine.compare import judge
from autograder.engine.outcomes import failure, not_called
from autograder.model import Comparison
from autograder.sandbox.gate import CallGate
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Call, Sandbox

SOURCE = """
import numpy as np, os, sys, time
print("imported")

def add(a, b):
    return a + b

def same(x):
    return x

def scalar():
    return np.float32(2.5)

def shout():
    print("x" * 100_000)
    return 1

def fails():
    raise ValueError("bad input")

def exits():
    sys.exit(3)

def interrupted():
    raise KeyboardInterrupt

def dies():
    os._exit(7)

def dies_as_if_unisolated():
    os._exit(71)

def hangs():
    while True:
        pass

def mutates(a):
    a[0, 0] = 99
    return a.sum()

def gives_object():
    return object()

def gives_dict():
    return {"a": 1}

def gives_set():
    return {1, 2}

def broken(:
    pass

undefined_name_at_import

def after_errors():
    return "still here"

def forges_markers(pieces):
    os.write(2, (b"x" * 100 + sys.stdout._marker) * pieces)
    return pieces

def engine_modules():
    return sorted(name for name in sys.modules if name.split(".")[0] == "autograder")

class _Unsayable(ValueError):
    def __str__(self):
        raise SystemExit("no")

class _NotText(ValueError):
    def __str__(self):
        return 42

class _SlyText(str):
    def __getitem__(self, index):
        raise RuntimeError("sliced")

class _Sly(ValueError):
    def __str__(self):
        return _SlyText("sly")

class _Nameless(type):
    @property
    def __name__(cls):
        raise RuntimeError("no name")

class _Anonymous(ValueError, metaclass=_Nameless):
    pass

def raises_unreadable(kind):
    raise {"unsayable": _Unsayable, "not text": _NotText, "sly": _Sly, "anonymous": _Anonymous}[kind]()
"""


@pytest.fixture
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CallGate]:
    path = tmp_path_factory.mktemp("sub") / "submission.py"
    path.write_text(SOURCE)
    with CallGate.started(Sandbox(path, Limits(call_timeout=2, output_bytes=2000))) as started:
        yield started


def test_values_round_trip_with_their_types(gate: CallGate) -> None:
    assert gate.call("add", [2, 3]).value == 5
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    back = gate.call("same", [array]).value
    assert back.dtype == np.int16 and np.array_equal(back, array)
    assert gate.call("same", [(1, [2.5, None], "s")]).value == (1, [2.5, None], "s")
    scalar = gate.call("scalar", []).value
    assert isinstance(scalar, np.float32) and scalar == 2.5
    assert gate.call("add", [], {"a": 1, "b": 2}).value == 3
    several = gate.call("same", [(array, np.float64(1.5), [array.T.copy(), np.array(["a", "bc"])])]).value  # blobs in one request
    assert np.array_equal(several[0], array) and several[1] == 1.5
    assert np.array_equal(several[2][0], array.T) and list(several[2][1]) == ["a", "bc"]


def test_the_worker_reports_its_first_exception_with_the_traceback_module_its_launcher_imported(tmp_path: Path) -> None:
    path = tmp_path / "submission.py"
    path.write_text("import sys\n\ndef loaded(name):\n    return name in sys.modules\n\ndef fails():\n    raise ValueError\n")
    with CallGate.started(Sandbox(path)) as gate:
        assert gate.call("loaded", ["traceback"]).value is True  # before any exception: no worker pays for its import
        assert gate.call("fails", []).error["traceback"].startswith("Traceback (most recent call last):")


def test_a_traceback_shows_the_students_frames_and_the_libraries_they_called_never_the_workers(tmp_path: Path) -> None:
    """The worker's own frame (where it made the call) is noise to a student, and names a file they never wrote."""
    path = tmp_path / "submission.py"
    path.write_text(
        "import numpy as np\n\ndef inner(x):\n    raise ValueError(x)\n\ndef outer():\n    return inner(3)\n\n"
        "def singular():\n    return np.linalg.inv(np.zeros((2, 2)))\n"
    )
    with CallGate.started(Sandbox(path)) as gate:
        raised = gate.call("outer", []).error["traceback"]
        in_numpy = gate.call("singular", []).error["traceback"]
    frames = re.findall(r'^  File "([^"]+)", line (\d+), in (\w+)$', raised, flags=re.M)
    assert frames == [("submission.py", "7", "outer"), ("submission.py", "4", "inner")], raised
    assert raised.endswith("ValueError: 3\n")
    files = re.findall(r'^  File "([^"]+)"', in_numpy, flags=re.M)
    assert files[0] == "submission.py" and len(files) > 1 and all(name.endswith(".py") for name in files), in_numpy  # NumPy's own frames
    assert not {"worker.py", "loader.py"} & set(files), in_numpy


def test_unsupported_objects_arrive_as_type_names_only(gate: CallGate) -> None:
    assert repr(gate.call("gives_object", []).value) == "<object of type object>"
    assert repr(gate.call("gives_set", []).value) == "<object of type set>"
    assert gate.call("gives_dict", []).value == {"a": 1}  # plain data: a dict crosses as one


def test_exceptions_including_exit_and_interrupt_are_replies(gate: CallGate) -> None:
    for function, name in (("fails", "ValueError"), ("exits", "SystemExit"), ("interrupted", "KeyboardInterrupt")):
        outcome = gate.call(function, [])
        assert outcome.kind == "raised" and outcome.error["type"] == name
    assert gate.call("add", [1, 1]).value == 2


def test_an_exception_whose_text_or_name_cannot_be_read_is_still_a_reply(gate: CallGate) -> None:
    """A __str__ that raises (even SystemExit), returns no str, or a str whose slicing raises, and a class name
    behind a metaclass's property: each ended the worker (a restart a call, "your file stopped the process").
    Each is an ordinary raise, with what could be read of it, and the same worker answers the next call."""
    pid = gate.sandbox.process.pid if gate.sandbox.process else None
    shown = {}
    for kind in ("unsayable", "not text", "sly", "anonymous"):
        outcome = gate.call("raises_unreadable", [kind])
        assert outcome.kind == "raised", (kind, outcome.detail)
        shown[kind] = (outcome.error["type"], outcome.error["message"])
    assert shown == {
        "unsayable": ("_Unsayable", "<exception str() failed>"),
        "not text": ("_NotText", "<exception str() failed>"),
        "sly": ("_Sly", "sly"),
        "anonymous": ("_Anonymous", "(its message could not be read)"),
    }
    assert gate.call("raises_unreadable", ["anonymous"]).error["mro"][:2] == ["_Anonymous", "ValueError"]  # a raises: still sees it
    assert gate.call("add", [1, 1]).value == 2 and (gate.sandbox.process.pid if gate.sandbox.process else None) == pid


def test_output_is_captured_and_capped(gate: CallGate) -> None:
    outcome = gate.call("shout", [])
    assert outcome.value == 1
    assert len(outcome.output) < 2100 and "more bytes of output not kept" in outcome.output


def test_forged_end_of_call_markers_are_printed_text_under_the_cap(gate: CallGate) -> None:
    """A marker closes an output only while one is owed (one per call in flight): of ten thousand forged ones, the
    first two end the two calls' outputs and the rest are text under the cap, not ten thousand outputs kept for
    calls that were never made. (Under which call a forger's own text is shown is theirs to muddle.)"""
    calls = [Call("forges_markers", [10_000], {}), Call("add", [2, 2], {})]
    outcomes = [*gate.stream(calls), gate.call("add", [3, 3])]
    assert [outcome.value for outcome in outcomes] == [10_000, 4, 6]
    assert gate.sandbox._finished == []
    assert all(len(outcome.output) < 2100 for outcome in outcomes)
    assert "more bytes of output not kept" in outcomes[2].output  # the forged rest, cut to the cap


def test_syntax_error_and_import_error_cost_only_what_they_break(gate: CallGate) -> None:
    report = gate.imported
    assert "broken" not in report.functions and "after_errors" in report.functions
    problems = {p["type"]: p for p in report.problems}
    assert problems["SyntaxError"]["names"] == ["broken"]
    assert problems["NameError"]["where"].startswith("line")
    assert gate.call("after_errors", []).value == "still here"


def test_a_hang_times_out_and_the_worker_restarts(gate: CallGate) -> None:
    started = time.monotonic()
    outcome = gate.call("hangs", [])
    assert 2 <= time.monotonic() - started < 6
    # the limit it reached, however late a loaded host noticed: the student reads the limit the guide states
    assert outcome.kind == "timeout" and outcome.seconds == 2
    assert failure(outcome, "").detail == "did not return within 2.0 s (an infinite loop?)"
    assert gate.call("add", [4, 4]).value == 8


def test_the_worker_lists_none_of_the_engines_modules(gate: CallGate) -> None:
    """As in a fresh interpreter: the modules the launcher inherited from the grader are unlisted (kept, not freed)."""
    assert gate.call("engine_modules", []).value == []


def test_a_crash_is_reported_and_the_worker_restarts(gate: CallGate) -> None:
    outcome = gate.call("dies", [])
    assert outcome.kind == "crashed" and "exited with code 7" in outcome.detail
    assert gate.call("add", [5, 5]).value == 10


def test_a_function_whose_crashes_cost_two_time_outs_of_reloading_is_struck_and_the_others_still_run(tmp_path: Path) -> None:
    """Each crash reloads the file in a new worker: with a file that takes 0.6 s to load and 1 s calls, a function is
    struck once its crashes have cost 2 s (two time-outs' worth), so a slow notebook with one crashing function
    does not spend the whole run's time reloading; a function that answers is still called afterwards."""
    path = tmp_path / "submission.py"
    path.write_text("import os, time\ntime.sleep(0.6)\ndef dies(x):\n    os._exit(3)\ndef add(a, b):\n    return a + b\n")
    with CallGate.started(Sandbox(path, Limits(call_timeout=1), worker_user=None)) as gate:
        started = time.monotonic()
        outcomes = list(gate.stream([Call("dies", [n], {}) for n in range(12)]))
        spent = time.monotonic() - started
        kinds = [outcome.kind for outcome in outcomes]
        assert kinds[0] == "crashed" and "skipped" in kinds, kinds
        struck = kinds.index("skipped")
        assert 2 <= struck <= 4 and set(kinds[struck:]) == {"skipped"}, kinds
        said = not_called(outcomes[-1], "dies")  # a call that died unanswered was made twice: both stops count
        assert re.fullmatch(
            r"was not run: `dies` already stopped the worker \d+ times, each time reloading your file \(\d+ s in all\)", said
        ), said
        assert spent < 12 * 0.6, spent  # not a reload for every call
        assert gate.call("add", [2, 3]).value == 5


def test_the_time_the_grader_takes_judging_an_answer_is_not_the_next_calls(tmp_path: Path) -> None:
    """Calls are sent ahead, so the next call's clock ran while the grader judged the answer before it: a slow
    verdict (seconds, on a huge wrong answer) made the next, quick, call time out (red team)."""
    path = tmp_path / "submission.py"
    path.write_text("import time\n\ndef quick(x):\n    time.sleep(0.2)\n    return x\n")
    with CallGate.started(Sandbox(path, Limits(call_timeout=1), worker_user=None)) as gate:
        outcomes = []
        for outcome in gate.stream([Call("quick", [n], {}) for n in range(3)]):
            outcomes.append(outcome)
            time.sleep(1.5)  # judging, as slowly as a huge answer can make it
    assert [outcome.kind for outcome in outcomes] == ["returned"] * 3, [outcome.detail for outcome in outcomes]


def test_a_crash_is_charged_the_files_load_time_not_the_graders_own_before_it_asked(tmp_path: Path) -> None:
    """The load time a crash costs again was measured to when the grader read the ready message, after loading its
    own problems: a file that loads at once was struck after a crash or two when the grader was slow to start
    (a newcomer's review). The worker says how long loading took."""
    path = tmp_path / "submission.py"
    path.write_text("import os\n\ndef dies(x):\n    os._exit(3)\n")
    with CallGate.started(Sandbox(path, Limits(call_timeout=1), worker_user=None)) as gate:
        time.sleep(2.5)  # the grader loading its problems, say
        kinds = [outcome.kind for outcome in gate.stream([Call("dies", [n], {}) for n in range(4)])]
        assert kinds == ["crashed"] * 4 and gate.sandbox.load_seconds < 1, (kinds, gate.sandbox.load_seconds)


def test_a_death_that_a_retry_shows_was_not_the_calls_own_is_charged_to_the_function_that_left_it(tmp_path: Path) -> None:
    """f leaves a thread that kills the worker while g runs: g's call dies unanswered, is made again in a fresh
    worker, and answers. The death was f's doing, so g is never struck for it (red team: g was, after three);
    f is, after two (red team, round 6: a file whose every function did so scored 100 over 158 workers)."""
    path = tmp_path / "submission.py"
    path.write_text(
        "import os, threading, time\ntime.sleep(0.5)\n\ndef f(x):\n    threading.Timer(0.05, os._exit, [9]).start()\n"
        "    return x\n\ndef g(x):\n    time.sleep(0.3)\n    return x\n"
    )
    with CallGate.started(Sandbox(path, Limits(call_timeout=1), worker_user=None)) as gate:
        outcomes = list(gate.stream([Call(name, [n], {}) for n in range(5) for name in ("f", "g")]))
        assert [outcome.kind for outcome in outcomes[1::2]] == ["returned"] * 5, [(o.kind, o.reason) for o in outcomes]
        assert "g" not in gate.stops and "g" not in gate.left_dead
        # f's third call was already on its way when g's retry answered and charged f its second death.
        assert [outcome.kind for outcome in outcomes[::2]] == ["returned"] * 3 + ["skipped"] * 2
        assert "ended the process running your code 2 times after returning" in outcomes[-2].detail


def test_a_worker_that_dies_between_streams_is_charged_too_as_a_python_checks_calls_are(tmp_path: Path) -> None:
    """Python checks call through the gate one call at a time, and a worker found dead before a stream begins was
    restarted silently: a function that ended its worker after every answer kept full marks there (review)."""
    path = tmp_path / "submission.py"
    path.write_text("import os, threading\n\ndef f(x):\n    threading.Timer(0.05, os._exit, [0]).start()\n    return x\n")
    with CallGate.started(Sandbox(path, Limits(call_timeout=1), worker_user=None)) as gate:
        outcomes = []
        for n in range(5):
            time.sleep(0.3)  # the worker is gone before the next call's stream begins
            outcomes.append(gate.call("f", [n]))
        assert [outcome.kind for outcome in outcomes] == ["returned"] * 2 + ["skipped"] * 3, [(o.kind, o.detail) for o in outcomes]
        assert gate.left_dead == {"f": 2} and gate.sandbox.workers_started == 2


def test_a_retry_that_times_out_charges_no_earlier_function(tmp_path: Path) -> None:
    """Only a retry that answers shows the death was not its own: one that hangs charges its own time-out, and the
    function before it nothing (review)."""
    path = tmp_path / "submission.py"
    path.write_text(
        "import os, threading\n\ndef f(x):\n    threading.Timer(0.05, os._exit, [3]).start()\n    return x\n\n"
        "def g(x):\n    while True:\n        pass\n"
    )
    with CallGate.started(Sandbox(path, Limits(call_timeout=1), worker_user=None)) as gate:
        kinds = [outcome.kind for outcome in gate.stream([Call("f", [1], {}), Call("g", [1], {})])]
        assert kinds == ["returned", "timeout"] and gate.left_dead == {} and "f" not in gate.stops
        assert gate.timeouts == {"g": 1}


def test_a_record_array_is_an_answer_of_the_wrong_kind_not_a_broken_worker(tmp_path: Path) -> None:
    """The grader reads no record's .npy header (red team): the worker says what it was, as for an object array,
    so an honest record costs its case and nothing more, with no restart (review)."""
    path = tmp_path / "submission.py"
    path.write_text("import numpy as np\n\ndef f(x):\n    return np.zeros(2, dtype=[('a', 'f8'), ('b', 'i4')])\n")
    with CallGate.started(Sandbox(path, Limits(call_timeout=1), worker_user=None)) as gate:
        outcomes = [gate.call("f", [n]) for n in range(3)]
        assert [outcome.kind for outcome in outcomes] == ["returned"] * 3 and gate.sandbox.workers_started == 1
        verdict = judge([[1.0, 2.0]], outcomes[0].value, Comparison("array"))
        assert "record array" in verdict.detail and "np.asarray(x, dtype=float)" in verdict.detail


def test_once_the_answers_hold_sixty_four_replies_worth_of_json_no_more_calls_are_made(tmp_path: Path) -> None:
    """Every reply within its own bound, but each costs the grader's CPU to parse: answering every call with the
    most JSON allowed cost 30 s of a grade (red team). A grading's replies may hold 64 times one reply's bound;
    the reply that would pass it is refused, and the gate makes no call after it."""
    path = tmp_path / "submission.py"
    path.write_text("def big(n):\n    return [n] * 80_000\n\ndef small(n):\n    return n\n")  # 240 kB of JSON
    with CallGate.started(Sandbox(path, Limits(reply_json_bytes=256 << 10), worker_user=None)) as gate:
        outcomes = list(gate.stream([Call("big", [1], {}) for _ in range(90)] + [Call("small", [2], {})]))
    kinds = [outcome.kind for outcome in outcomes]
    refused = kinds.index("broken")
    assert 66 <= refused <= 70 and set(kinds[:refused]) == {"returned"}, kinds  # 16 MB / 240 kB
    assert "over 16 MB of JSON" in outcomes[refused].detail
    assert set(kinds[refused + 1 :]) == {"skipped"} and outcomes[-1].reason == "answers too large", kinds
    assert not_called(outcomes[-1], "small") == "was not run: the answers before it held over 16 MB of JSON in all"


def test_the_bytes_of_arrays_count_against_the_answers_budget(tmp_path: Path) -> None:
    """An array of 64 MB with every answer, each within the reply's own bound, was 11 GB for the grader to read in a
    grade (24 s of its CPU, red team): an array's bytes are charged at a sixteenth, so a grading's replies hold at
    most 16 times the JSON budget in arrays (here 16 MB of JSON: 256 MB, 64 replies of 4 MB)."""
    path = tmp_path / "submission.py"
    path.write_text("import numpy as np\n\ndef big(n):\n    return np.full(1 << 19, float(n))\n\ndef small(n):\n    return n\n")
    with CallGate.started(Sandbox(path, Limits(reply_json_bytes=256 << 10), worker_user=None)) as gate:
        outcomes = list(gate.stream([Call("big", [1], {}) for _ in range(90)] + [Call("small", [2], {})]))
    kinds = [outcome.kind for outcome in outcomes]
    refused = kinds.index("broken")
    assert 62 <= refused <= 64 and set(kinds[:refused]) == {"returned"}, kinds
    assert set(kinds[refused + 1 :]) == {"skipped"} and outcomes[-1].reason == "answers too large", kinds


def test_blobs_count_against_the_answers_budget(tmp_path: Path) -> None:
    """Ten thousand tiny arrays in one reply each cost the grader a header to read, but no JSON: 38 s of grader
    CPU in a grade with the budget never spent (red team). Each blob is charged as 2 kB of JSON."""
    path = tmp_path / "submission.py"
    path.write_text("import numpy as np\n\ndef many(n):\n    return [np.array([i]) for i in range(5_000)]\n")
    with CallGate.started(Sandbox(path, Limits(reply_json_bytes=256 << 10), worker_user=None)) as gate:
        kinds = [outcome.kind for outcome in gate.stream([Call("many", [1], {}) for _ in range(40)])]
    assert 1 <= kinds.index("broken") <= 2 and set(kinds[kinds.index("broken") + 1 :]) == {"skipped"}, kinds  # 10 MB a reply


# The worker's encoder is the submission's to replace (it runs in the worker): every answer names one empty blob
# 5,000 times, each time with another shape, so each reference is one more array for the grader to make.
ONE_BLOB_NAMED_OFTEN = """\
import sys

worker = sys.modules["__main__"]


def many(n):
    return n


def _named_often(value, blobs):
    blobs.append(b"")
    return [{"$array": [0, "<f8", [0, shape]]} for shape in range(1, 5_001)]


worker.encode_returned = _named_often
"""


def test_array_references_count_against_the_answers_budget(tmp_path: Path) -> None:
    """55,000 references to one empty blob in each reply, within every other bound (2 MB of JSON, one blob, no
    bytes), cost the grader 30 s of a grade making arrays (red team). Each reference is charged as
    ``REFERENCE_COST`` bytes of JSON: with 16 MB of JSON allowed, about the eleventh such reply here is refused
    (none of the 40 without the charge), and no call is made after it."""
    from autograder.sandbox.reply import REFERENCE_COST

    path = tmp_path / "submission.py"
    path.write_text(ONE_BLOB_NAMED_OFTEN)
    with CallGate.started(Sandbox(path, Limits(reply_json_bytes=256 << 10), worker_user=None)) as gate:
        outcomes = list(gate.stream([Call("many", [1], {}) for _ in range(40)]))
        assert gate.sandbox.workers_started == 1  # none started after the refusal only to have its calls refused
    kinds = [outcome.kind for outcome in outcomes]
    refused = kinds.index("broken")
    charged = 5_000 * REFERENCE_COST + len(_named_reply_json())  # about 1.4 MB a reply, and a little more for its frame
    assert refused in ((16 << 20) // charged - 1, (16 << 20) // charged) and set(kinds[:refused]) == {"returned"}, kinds
    assert set(kinds[refused + 1 :]) == {"skipped"} and outcomes[-1].reason == "answers too large", kinds
    assert len(outcomes[0].value) == 5_000 and outcomes[0].value[-1].shape == (0, 5_000)


ONE_BIG_BLOB_NAMED_OFTEN = """\
import sys

worker = sys.modules["__main__"]


def many(n):
    return n


def _named_often(value, blobs):
    blobs.append(bytes(1 << 20))  # 1 MB: 131,072 float64 zeros, named 40 times
    return [{"$array": [0, "<f8", [1 << 17]]} for _ in range(40)]


worker.encode_returned = _named_often
"""


def test_each_further_name_for_a_blob_is_charged_its_bytes(tmp_path: Path) -> None:
    """A blob's bytes were charged once, however often the reply named it, while the grader copies, hashes (for
    follow-through) or prints each array named in full: one 16 MB blob named 1,000 times cost it 31 s (red team).
    Each name after the first is charged as the blob's bytes are: here a 1 MB blob named 40 times in each reply
    spends 16 MB of budget within seven replies (without the charge, none of the forty was refused)."""
    path = tmp_path / "submission.py"
    path.write_text(ONE_BIG_BLOB_NAMED_OFTEN)
    with CallGate.started(Sandbox(path, Limits(reply_json_bytes=256 << 10), worker_user=None)) as gate:
        outcomes = list(gate.stream([Call("many", [1], {}) for _ in range(40)]))
    kinds = [outcome.kind for outcome in outcomes]
    refused = kinds.index("broken")
    assert 5 <= refused <= 7 and set(kinds[:refused]) == {"returned"}, kinds  # 16 MB / (39 x 64 kB + 64 kB + 2 kB)
    assert set(kinds[refused + 1 :]) == {"skipped"} and outcomes[-1].reason == "answers too large", kinds


def _named_reply_json() -> str:
    import json

    return json.dumps([{"$array": [0, "<f8", [0, shape]]} for shape in range(1, 5_001)])


def test_a_student_exit_code_that_the_launcher_uses_is_not_taken_for_the_launchers(gate: CallGate) -> None:
    """71 says "the worker could not be isolated" only before the worker's hello: after it, the student chose it."""
    from autograder.sandbox.zygote import ISOLATION_FAILED

    assert ISOLATION_FAILED == 71
    outcome = gate.call("dies_as_if_unisolated", [])
    assert outcome.kind == "crashed" and outcome.detail.endswith("exited with code 71"), outcome.detail
    assert gate.call("add", [5, 5]).value == 10


def test_inputs_mutated_in_the_worker_do_not_change_the_graders_copy(gate: CallGate) -> None:
    array = np.zeros((2, 2))
    assert gate.call("mutates", [array]).value == 99
    assert not array.any()


def test_an_import_that_hangs_fails_every_call_once(tmp_path: Path) -> None:
    """A hang the worker's own stop cannot reach (its alarm ignored): the grader's deadline ends the worker."""
    path = tmp_path / "submission.py"
    path.write_text("import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(3600)\ndef f():\n    return 1\n")
    with CallGate.started(Sandbox(path, Limits(import_timeout=2))) as gate:
        first = gate.call("f", [])
        assert first.kind == "skipped" and first.reason == "not loaded" and "took longer than 2 s" in first.detail
        assert gate.sandbox.process is None  # the hung import's worker is gone, and no other is started
        second = gate.call("f", [])
        assert second == first and gate.sandbox.process is None


def test_an_import_that_exits_the_process(tmp_path: Path) -> None:
    path = tmp_path / "submission.py"
    path.write_text("import os\nprint('bye')\nos._exit(0)\n")
    with CallGate.started(Sandbox(path)) as gate:
        outcome = gate.call("f", [])
        assert outcome.kind == "skipped" and "stopped the Python process" in outcome.detail and "bye" in outcome.detail


FORGER = """
import __main__

_real_send = __main__._send

def _forged_send(fd, message, blobs=None):
    if message.get("type") == "ready":
        message["problems"] = [{"names": 5, "type": {"x": 1}}, "junk", {"names": ["f", 7]}]
        message["functions"] = [1, "f", None]
    _real_send(fd, message, blobs)

__main__._send = _forged_send
__main__.loader.describe = lambda error: {"type": ["ValueError"], "mro": 5, "message": None}

def f():
    raise ValueError("x")
"""


def test_forged_worker_messages_are_reduced_to_plain_data(tmp_path: Path) -> None:
    """Student code can rewrite the worker's own functions; the grader must not trust their shape."""
    path = tmp_path / "submission.py"
    path.write_text(FORGER)
    with CallGate.started(Sandbox(path)) as gate:
        report = gate.imported
        assert report.functions == ["f"]
        assert report.problems[0]["names"] == [] and report.problems[0]["type"] == "{'x': 1}"
        assert report.problems[2]["names"] == ["f"]
        outcome = gate.call("f", [])
        assert outcome.kind == "raised" and outcome.error["mro"] == [] and outcome.error["type"] == "['ValueError']"


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_environment({"AUTOGRADER_CALL_TIMEOUT": "1.5", "AUTOGRADER_DATA_MB": "256"})
    assert limits.call_timeout == 1.5 and limits.data_mb == 256 and limits.import_timeout == 30
    with pytest.raises(ValueError, match="AUTOGRADER_PROCESSES='many' is not a int"):
        Limits.from_environment({"AUTOGRADER_PROCESSES": "many"})


def test_a_memory_bomb_hits_the_data_limit(tmp_path: Path) -> None:
    path = tmp_path / "submission.py"
    path.write_text(
        "import numpy as np\n\ndef bomb():\n    return len(bytearray(2 * 1024**3))\n\n"
        "def array_bomb():\n    return float(np.ones(10**9).sum())\n\ndef fine():\n    return 1\n"
    )
    with CallGate.started(Sandbox(path, Limits(data_mb=256))) as gate:
        outcome = gate.call("array_bomb", [])
        assert outcome.kind == "raised" and outcome.error["type"] == "MemoryError"
        outcome = gate.call("bomb", [])
        assert outcome.kind == "raised" and outcome.error["type"] == "MemoryError"
        assert gate.call("fine", []).value == 1


TAKE_TURNS = """
import sys
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox
with CallGate.started(Sandbox(sys.argv[1])) as gate:
    print(gate.call("slow", []).value)
"""


@pytest.mark.needs_root(reason="runs as the autograder-worker user")
def test_gradings_sharing_a_user_take_turns_instead_of_killing_each_other(tmp_path: Path) -> None:
    """Ending a grading kills every process of the worker's user: two at once must not overlap."""
    path = tmp_path / "submission.py"
    path.write_text("import time\ndef slow():\n    time.sleep(1)\n    return 'done'\n")
    command = [sys.executable, "-c", TAKE_TURNS, str(path)]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    assert [p.communicate(timeout=60)[0].strip() for p in processes] == ["done", "done"]


@pytest.mark.needs_root(reason="runs as the autograder-worker user")
def test_one_process_cannot_run_two_sandboxes_as_the_same_user(tmp_path: Path) -> None:
    path = tmp_path / "submission.py"
    path.write_text("def f():\n    return 1\n")
    with CallGate.started(Sandbox(path)) as first:
        assert first.call("f", []).value == 1
        with pytest.raises(RuntimeError, match="already in use by another sandbox in this process"):
            Sandbox(path).start()
        assert first.call("f", []).value == 1
    with CallGate.started(Sandbox(path)) as again:
        assert again.call("f", []).value == 1


def test_a_workers_folder_is_private_new_and_removed_whatever_it_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's folder is made without tempfile (a grade does not import it) yet as mkdtemp makes one: new, 0700, in
    $TMPDIR; removing it takes what a worker without Landlock could have written there, folders too."""
    from autograder.sandbox import process

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    first, second = process._new_folder(), process._new_folder()
    assert first != second and first.parent == second.parent == tmp_path
    assert first.stat().st_mode & 0o777 == 0o700
    (first / "ps3.py").write_text("x = 1\n")
    (second / "ps3.py").write_text("x = 1\n")
    (second / "made by the worker" / "deeper").mkdir(parents=True)
    process._remove(first)
    process._remove(second)
    assert list(tmp_path.iterdir()) == []


def test_results_are_written_whole_with_no_partial_file_left(tmp_path: Path) -> None:
    from autograder.output.files import write_json

    target = tmp_path / "results" / "results.json"
    write_json(target, {"score": 1.0, "tests": [{"name": "a"}]})
    write_json(target, {"score": 2.0, "tests": []})
    assert target.read_text().startswith("{\n") and '"score": 2.0' in target.read_text()
    assert target.stat().st_mode & 0o777 == 0o644
    assert [path.name for path in target.parent.iterdir()] == ["results.json"]


def test_a_workers_folder_is_made_elsewhere_when_tmpdir_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As tempfile.gettempdir would, a $TMPDIR that refuses a new folder is passed over for /tmp."""
    from autograder.sandbox import process

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    original_mkdir = Path.mkdir

    def refused_in_tmpdir(self: Path, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        if self.parent == tmp_path:
            raise PermissionError(13, "Permission denied", str(self))  # as for a user who may not write there (root may)
        original_mkdir(self, mode, parents, exist_ok)

    monkeypatch.setattr(Path, "mkdir", refused_in_tmpdir)
    folder = process._new_folder()
    try:
        assert folder.parent == Path("/tmp") and folder.stat().st_mode & 0o777 == 0o700
    finally:
        process._remove(folder)
    assert not folder.exists()


FLOODED = """\
import os, time

if os.fork() == 0:  # a process of the submission's writing raw to its output forever, past every cap
    while True:
        os.write(2, b"x" * 65536)


def slow(n):
    time.sleep(1.0)
    return n
"""


def test_output_flooded_past_its_cap_is_read_in_pauses_not_at_pipe_speed(tmp_path: Path) -> None:
    """A process writing raw to the worker's output forever while calls slept within their time made the grader read
    at pipe speed: 18.9 s of its CPU for six slow calls (red team), in a batch taken from the other slots. Past the
    call's cap the grader reads in pauses; the flood may then hold up the worker's own end-of-call marker, and so its
    answer: that costs the flooding submission's calls alone, never the grader's time."""
    path = tmp_path / "submission.py"
    path.write_text(FLOODED)
    with CallGate.started(Sandbox(path, Limits(call_timeout=3, output_bytes=2000))) as gate:
        assert not gate.imported.fatal
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        outcomes = list(gate.stream([Call("slow", [n], {}) for n in range(2)]))
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - started
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert {outcome.kind for outcome in outcomes} <= {"returned", "timeout"}, outcomes
    assert all(len(outcome.output) < 2100 for outcome in outcomes)
    assert wall >= 1.0 and cpu < wall / 10, (cpu, wall)


TRICKLED = """\
import fcntl, os, sys, termios, time

worker = sys.modules["__main__"]  # the worker, whose own reply writer this replaces
honest_send, trickling = worker._send, []


def pending(fd):
    count = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return int.from_bytes(count, "little")


def trickle(fd, data, seconds):
    # A child writes one byte, waits until the grader has read it, and so on; then the rest at once.
    if os.fork() == 0:
        end, at = time.monotonic() + seconds, 0
        while at < len(data) - 1 and time.monotonic() < end:
            os.write(fd, data[at : at + 1])
            at += 1
            while pending(fd):
                pass
        os.write(fd, data[at:])
        os._exit(0)
    os.wait()


def send(fd, message, blobs=None):
    if trickling and message.get("type") == "returned":
        trickling.clear()
        return trickle(fd, worker.frame(message, [*(blobs or []), bytes(1 << 20)]), 1.5)
    return honest_send(fd, message, blobs)


worker._send = send


def trickled_reply(n):
    trickling.append(True)
    return n


def trickled_output(n):
    trickle(1, b"x" * 1_000_000, 1.5)
    return n
"""


@pytest.mark.parametrize("function", ["trickled_reply", "trickled_output"])
def test_a_reply_or_output_trickled_a_byte_at_a_time_costs_the_grader_next_to_nothing(tmp_path: Path, function: str) -> None:
    """A child of the worker wrote a right answer's reply (padded to 1 MB) one byte per read of the grader's, watching
    the pipe drain: every byte woke the grader, 31 s of its CPU for 29 such answers (red team), and output under its
    cap the same way. A read that brings a few bytes of an unfinished reply or output is followed by a pause, so the
    grader's cost is bounded by the bytes, not by how the worker cuts them; the answer still counts."""
    path = tmp_path / "submission.py"
    path.write_text(TRICKLED)
    with CallGate.started(Sandbox(path, Limits(call_timeout=4, output_bytes=1 << 20))) as gate:
        assert not gate.imported.fatal, gate.imported
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        (outcome,) = gate.stream([Call(function, [7], {})])
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - started
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert outcome.kind == "returned" and outcome.value == 7, outcome
    assert wall >= 1.5 and cpu < wall / 10, (cpu, wall)


READS = """\
def read(path):
    try:
        with open(path) as stream:
            return stream.read()
    except OSError as error:
        return type(error).__name__
"""


def test_a_course_inside_the_python_installation_is_out_of_the_workers_reach(
    traversable_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A virtual environment made at the root of a course's checkout (``python -m venv .``), with the course on the
    import path, made the course part of the Python installation, all of which the worker could read: a submission
    imported the references and scored 100, and once those were hidden, took the solution from .git (red team). The
    course's whole folder is hidden now, but for the library folders inside it, which hold packages only."""
    course = traversable_tmp / "course"  # as root, only the sandbox may keep the worker's user out, not the folders' modes
    files = {
        "reference": course / "problems" / "q1" / "reference.py",
        "solution": course / "solutions" / "ps3.py",
        "history": course / ".git" / "objects" / "pack" / "pack-1.pack",
        "notes": course / "notes.txt",
        "package": course / "lib" / "site-packages" / "helper.py",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("ANSWER = 42\n")
    for path in (traversable_tmp, *traversable_tmp.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    own_packages = site.getsitepackages()  # this Python's own, which the worker needs for NumPy
    monkeypatch.setattr(sys, "prefix", str(course))
    monkeypatch.setattr(sys, "path", [*sys.path, str(course)])
    monkeypatch.setattr(site, "getsitepackages", lambda: [*own_packages, str(course / "lib" / "site-packages")])
    submission = traversable_tmp / "submission.py"
    submission.write_text(READS)
    with CallGate.started(Sandbox(submission, Limits(call_timeout=5), hidden=[course])) as gate:
        assert not gate.imported.fatal, gate.imported.fatal
        if "applied" not in str(gate.sandbox.protections.get("filesystem", "")):
            pytest.fail(f"this test needs Landlock, which keeps the worker's reading to what it is given: {gate.sandbox.protections}")
        read = {name: gate.call("read", [str(path)]).value for name, path in files.items()}
    assert read == {
        "reference": "PermissionError",
        "solution": "PermissionError",
        "history": "PermissionError",
        "notes": "PermissionError",
        "package": "ANSWER = 42\n",
    }, read
