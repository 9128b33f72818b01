"""Hostile submissions (tests/attacks/*.py), each run end to end through the real run_autograder.

Each test asserts the exact outcome: which functions keep full marks and which earn nothing,
what the student is told, which files were never created, and that no process of the worker's
user is left. Most attacks are the instructor's solution with a hostile part appended, so the
honest functions must still earn their points.

The harness (tests/helpers.py) places conftest's GradescopeLayout under a world-traversable folder
(pytest's own temporary folder is closed to other users, which would stop the worker before the
engine's own protections were ever tried). The worker's folders go into a folder of the test's own
(TMPDIR), so the worker's processes can be told apart from those of other grading runs on the machine.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import socket
from pathlib import Path

import pytest
from helpers import (
    ALL_FUNCTIONS,
    WORKER_UID,
    Harness,
    Results,
    as_root,
    assert_clean,
    assert_scores,
    attack,
    cases_of,
    hostile,
    printed,
    process_status,
    status_uid,
)

from conftest import REPO, SOLUTION, scores_by_function, spec_problems, total_points

pytestmark = [pytest.mark.slow, pytest.mark.ps3]  # hostile submissions against PS3, through run_autograder: `make test-slow`

TOTAL = total_points()  # the autograded total assignment.yaml sets: the solution's score
GRADER_PEAK_MB = 400  # the grader's own memory, whatever a submission returns (Gradescope gives 768 MB in all)


def probed(name: str, **values: object) -> str:
    """Solution, then the probe recorder (mlp_layer_params prints the probes), then the attack."""
    return hostile("_probes") + "\n\n" + attack(name, **values)


def probes(data: Results) -> dict[str, str]:
    """Each probe's name and what it got: "denied" or "OPEN" and what was read."""
    return {
        name: "denied" if result.startswith("denied (") else result
        for name, result in re.findall(r"^PROBE (.+?): (denied \(\w+\)|OPEN .*)$", printed(data), flags=re.M)
    }


def assert_all_denied(data: Results, expected: set[str]) -> None:
    found = probes(data)
    assert set(found) == expected, f"probes reported: {found}"
    opened = {name: result for name, result in found.items() if result != "denied"}
    assert not opened, f"the worker got through: {opened}"


# --------------------------------------------------------------------------- the grader's own judgement


def test_patched_comparison_functions_fool_nobody(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("patch_comparisons")})
    data = harness.run()
    assert_scores(data, zero={"conv2d", "conv_transpose2d", "downsampling_params"})
    assert_clean(harness)


def test_objects_claiming_equality_earn_nothing(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("lying_objects")})
    data = harness.run()
    assert_scores(
        data,
        zero={"conv2d", "conv_transpose2d", "mlp_layer_params", "conv_classifier_params", "num_downsampling_layers", "downsampling_params"},
    )
    assert all(t["status"] == "failed" for f in ("conv2d", "mlp_layer_params") for t in cases_of(data, f))
    assert "received [-1, -1" in printed(data, "mlp_layer_params"), printed(data, "mlp_layer_params")  # its items, not its claim
    assert_clean(harness)


def test_unpicklable_payloads_never_run(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("pickle_payloads", mark=harness.mark)})
    data = harness.run()
    assert_scores(data, zero={"conv2d", "conv_transpose2d", "mlp_layer_params", "conv_classifier_params", "downsampling_params"})
    grader_side = [m for m in harness.marks() if not m.endswith("-worker")]
    assert grader_side == [], "the grader unpickled a payload"
    if os.geteuid() == 0:  # the worker's own os.system is stopped by its sandbox (Landlock, separate user)
        assert harness.marks() == []
    assert "could not be read safely" in printed(data, "mlp_layer_params")
    assert_clean(harness)


def test_expected_values_are_not_in_the_workers_stack_or_heap(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("stack_snoop")})
    data = harness.run()
    assert_scores(data, zero={"conv2d"})
    assert_clean(harness)


def test_mutated_inputs_do_not_reach_the_grader(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("mutate_inputs")})
    data = harness.run()
    assert data["score"] == TOTAL
    assert_scores(data)
    assert "conv2d([[2, 0, -1, -1], [0, 1, 0, 2], [-2, 0, 1, 1], [1, 1, 0, -1]], [[1, -1, 1], [0, 1, 0], [1, -1, 1]])" in printed(
        data, "conv2d"
    )
    assert_clean(harness)


def test_nan_and_infinity_are_wrong_answers(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("nan_inf")})
    data = harness.run()
    assert_scores(data, zero={"conv2d", "conv_transpose2d", "mlp_layer_params", "conv_classifier_params", "downsampling_params"})
    assert "NaN or infinite" in printed(data, "conv2d") and "not a whole number" in printed(data, "conv_classifier_params")
    json.loads(harness.layout.results_file.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in results.json"))
    assert_clean(harness)


def test_integers_too_large_for_a_float_are_wrong_answers(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("huge_int")})
    data = harness.run()
    assert_scores(data, zero={"conv_classifier_params", "mlp_layer_params"})
    assert_clean(harness)


def test_deeply_nested_answers(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("deep_nesting")})
    data = harness.run()
    assert_scores(data, zero={"conv_classifier_params", "mlp_layer_params", "downsampling_params"})
    assert_clean(harness)


# --------------------------------------------------------------------------- follow-through credit


def test_follow_through_credit_cannot_be_rigged_by_stateful_parts(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("follow_through_rigging")})
    data = harness.run()
    mlp = cases_of(data, "mlp_layer_params")
    assert [t["score"] for t in mlp] == [t["max_score"] if t["status"] == "passed" else 0 for t in mlp], [
        (t["name"], t["score"], t["output"][-160:]) for t in mlp if t["status"] == "failed"
    ]
    assert not any("Follow-through" in t["output"] for t in data["tests"])
    # The armed fc_layer_params answers 0 to whichever calls come next, graded ones included, and
    # conv_classifier_params uses it; every function that does not touch it keeps full marks.
    touched = {"mlp_layer_params", "fc_layer_params", "conv_classifier_params"}
    assert {
        name: earned == possible for name, (earned, possible) in scores_by_function(data).items() if name not in touched
    } == dict.fromkeys(ALL_FUNCTIONS - touched, True)
    assert_clean(harness)


def test_follow_through_on_a_hostile_part_answer_keeps_the_graders_memory_small(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("follow_through_memory")})
    data = harness.run()
    classifier = cases_of(data, "conv_classifier_params")
    # Lost: each classifier case whose layer count is the attack's (224 down to 8 with 7x7 kernels)
    hit = [case for problem in spec_problems() for case in problem.cases if case.function == "conv_classifier_params"]
    hit = [case for case in hit if (case.args[0][1], case.args[1], case.args[2]) == (224, 7, 8)]
    assert [t["status"] for t in classifier].count("failed") == len(hit) >= 1 and classifier[0]["status"] == "failed"
    assert classifier[0]["score"] == 0 and "Follow-through" not in classifier[0]["output"]
    layers = cases_of(data, "num_conv_layers")
    assert [t["status"] for t in layers].count("failed") == 1 and layers[0]["status"] == "failed"  # the part lost points
    losing = {n for n, (earned, possible) in scores_by_function(data).items() if earned != possible}
    assert losing == {"conv_classifier_params", "num_conv_layers"}
    assert harness.grader_peak_mb < GRADER_PEAK_MB, f"the grader grew to {harness.grader_peak_mb:.0f} MB"
    assert_clean(harness)


# --------------------------------------------------------------------------- what leaves the worker


def test_a_hundred_million_entry_answer_costs_its_case_only(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("huge_array")})
    data = harness.run()
    for function in ("conv2d", "conv_transpose2d"):
        failed = [t for t in cases_of(data, function) if t["status"] == "failed"]
        # Exactly the cases with the instance's shapes (a 4x4 input, a 3x3 kernel): Q3a also has them again, hidden.
        instance_cases = ("I convolved with K", "Q3a's shapes again with new values (hidden case)", "transposed convolution of I with K")
        assert failed and all(t["name"].endswith(instance_cases) for t in failed), [t["name"] for t in failed]
    assert "over the limit" in printed(data, "conv2d") and "MemoryError" in printed(data, "conv_transpose2d")
    assert harness.grader_peak_mb < GRADER_PEAK_MB, f"the grader grew to {harness.grader_peak_mb:.0f} MB"
    assert_clean(harness)


def test_an_empty_answer_of_a_billion_rows_is_described_by_its_shape(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("empty_rows")})
    data = harness.run(timeout=120)
    assert_scores(data, zero={"mlp_layer_params"})
    assert "received <array of shape (50000000, 0), dtype float64>" in printed(data)
    assert harness.grader_peak_mb < GRADER_PEAK_MB, f"the grader grew to {harness.grader_peak_mb:.0f} MB"
    assert_clean(harness)


def test_many_large_replies_within_every_limit_are_not_all_kept(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("many_large_replies")})
    data = harness.run()
    assert data["score"] == 0 and all(t["status"] == "failed" for t in data["tests"] if t.get("max_score"))
    assert harness.grader_peak_mb < GRADER_PEAK_MB, f"the grader grew to {harness.grader_peak_mb:.0f} MB"
    assert_clean(harness)


def test_a_long_vector_for_a_list_of_integers_is_cheap_to_reject(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("huge_int_vector")})
    data = harness.run()
    failed = [t["name"] for t in cases_of(data, "mlp_layer_params") if t["status"] == "failed"]
    assert failed == ["Q2a · mlp_layer_params: Q2a: the whole network, per layer"]
    assert data["score"] == pytest.approx(TOTAL - cases_of(data, "mlp_layer_params")[0]["max_score"])
    assert harness.grader_peak_mb < GRADER_PEAK_MB, f"the grader grew to {harness.grader_peak_mb:.0f} MB"
    assert_clean(harness)


def test_forged_npy_headers_are_refused_not_allocated(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("forged_npy")})
    data = harness.run()
    assert_scores(data, zero={"conv2d", "conv_transpose2d"})
    assert "could not be read safely" in printed(data, "conv2d")
    assert_clean(harness)


def test_hidden_inputs_cannot_be_smuggled_into_visible_feedback(harness: Harness) -> None:
    import numpy as np

    from autograder.engine.problemset import load as load_problems

    harness.submit({"ps3.py": hostile("hidden_exfiltration")})
    data = harness.run()
    assert_scores(data, zero={"conv2d"})
    seen = "\n".join(t["name"] + t.get("output", "") for t in data["tests"] if t["visibility"] == "visible")
    shown = {text.rstrip(".") for text in re.findall(r"\d+x\d+:[-\d.e,]+", seen)}
    problems = load_problems(REPO / "problems")
    cases = [c for p in problems for c in p.cases if c.function == "conv2d"]

    def spelled(value: object) -> str:  # as the attack spells an input
        x = np.asarray(value, dtype=float)
        return "x".join(map(str, x.shape)) + ":" + ",".join(f"{v:g}" for v in x.ravel()[:6])

    hidden = {spelled(c.args[0]) for c in cases if c.hidden} - {spelled(c.args[0]) for c in cases if not c.hidden}
    assert len(hidden) >= 10
    assert shown, "the attack printed nothing at all: the test is not testing anything"
    assert not shown & hidden, f"hidden inputs visible to the student: {sorted(shown & hidden)[:3]}"
    assert_clean(harness)


# --------------------------------------------------------------------------- ending the worker


def test_os_exit_at_import_fails_the_file_and_says_why(harness: Harness) -> None:
    harness.submit({"ps3.py": attack("exit_at_import") + "\n" + SOLUTION.read_text()})
    data = harness.run()
    assert_scores(data, zero=ALL_FUNCTIONS, imports_cleanly=False)
    assert data["score"] == 0 and "exited with code 7" in data["output"]
    assert_clean(harness)


def test_exit_and_interrupt_inside_functions_are_ordinary_errors(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("exits_in_functions")})
    data = harness.run()
    assert_scores(data, zero={"conv2d", "conv_transpose2d", "mlp_layer_params"}, imports_cleanly=False)
    assert "raised SystemExit" in printed(data, "conv2d")
    assert "raised KeyboardInterrupt" in printed(data, "conv_transpose2d")
    assert "SystemExit at line" in data["output"]
    assert_clean(harness)


def worker_restarts(data: Results) -> int:
    """How many times the grading's worker was started again, from the staff's "Grading environment" note."""
    staff = next(t["output"] for t in data["tests"] if t["name"] == "Grading environment (staff only)")
    found = re.search(r"worker restarts: (\d+)", staff)
    return int(found.group(1)) if found else 0


def test_a_worker_that_exits_after_answering_does_not_cost_the_next_function(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("worker_exits_after_reply", root=harness.root)})
    data = harness.run()
    assert data["score"] == TOTAL, [(t["name"], t["output"][:200]) for t in data["tests"] if t.get("status") == "failed"]
    assert worker_restarts(data) == 1  # the attack did end its worker once
    assert_clean(harness)


def test_functions_that_end_the_worker_after_every_answer_are_struck_not_forgiven_forever(harness: Harness) -> None:
    """Each death is charged to the function that ran last; twice, and it is not called again. Before, every death
    was forgiven: full marks, and a new worker (namespaces, a cgroup, a reaper) per call, 158 in all."""
    harness.submit({"ps3.py": hostile("worker_exits_after_every_reply")})
    data = harness.run()
    assert data["score"] < TOTAL / 2
    assert "ended the process running your code 2 times after returning" in printed(data, "conv2d")
    # Per function: the two deaths it is charged, and the one after its last call, charged but unfelt.
    assert len(ALL_FUNCTIONS) <= worker_restarts(data) <= 3 * len(ALL_FUNCTIONS)
    assert_clean(harness)


def test_a_segfault_costs_only_its_function(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("recursion_crash")})
    data = harness.run()
    assert_scores(data, zero={"conv_classifier_params"})
    assert "segmentation fault" in printed(data, "conv_classifier_params")
    assert_clean(harness)


def test_a_memory_bomb_is_a_memory_error_in_the_worker(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("memory_bomb")})
    data = harness.run()
    assert_scores(data, zero={"conv_transpose2d"})
    assert "raised MemoryError" in printed(data, "conv_transpose2d")
    assert harness.grader_peak_mb < GRADER_PEAK_MB
    assert_clean(harness)


def test_an_infinite_loop_ignoring_every_signal_times_out(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRADER_CALL_TIMEOUT", "2")  # the default 5 s proves no more, at 2.5 times the cost
    harness.submit({"ps3.py": hostile("ignore_signals_loop")})
    data = harness.run()
    assert_scores(data, zero={"conv2d"})
    outputs = [t["output"] for t in cases_of(data, "conv2d")]
    assert sum("did not return within" in o for o in outputs) == 2
    # The rest were not run: visible cases say why, hidden ones only the fixed phrase.
    assert sum("already timed out 2 times" in o or o.endswith(("was not run.", "was not run).")) for o in outputs) == len(outputs) - 2
    assert_clean(harness)


def test_an_import_that_sleeps_for_an_hour_is_cut_off(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRADER_IMPORT_TIMEOUT", "3")  # the default 30 s proves no more, at ten times the cost
    harness.submit({"ps3.py": attack("import_sleeps") + "\n" + SOLUTION.read_text()})
    data = harness.run(timeout=120)  # an import left to sleep its hour would reach this bound
    assert_scores(data, zero=ALL_FUNCTIONS, imports_cleanly=False)
    assert re.search(r"took longer than (3|2\.7) s", data["output"]), data["output"]  # the grader's limit, or the worker's share
    assert_clean(harness)


# --------------------------------------------------------------------------- output


def test_a_hundred_megabytes_of_output_is_capped(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("print_flood")})
    data = harness.run()
    assert data["score"] == TOTAL
    assert_scores(data)
    shown = printed(data, "conv2d")
    assert "BBBB" in shown and shown.count("B") < 20_000
    assert len(harness.layout.results_file.read_bytes()) < 1_000_000
    assert_clean(harness)


def test_the_student_is_told_that_their_output_was_cut(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("print_flood")})
    data = harness.run()
    first = cases_of(data, "conv2d")[0]["output"]
    assert "BBBB" in first
    assert re.search(r"\d+ more (bytes|characters)", first), first[-300:]
    assert_clean(harness)


def test_forged_end_of_call_markers_keep_the_graders_memory_bounded(harness: Harness) -> None:
    """Each marker beyond the outputs still owed is printed text, under the cap: not another output to keep. Past
    the cap the grader reads in pauses, so the gigabyte written at import runs past the loading time: the rest of
    the file is not run (its conv2d wrapper among it), which costs the submission nothing here."""
    harness.submit({"ps3.py": hostile("forged_markers")})
    data = harness.run()
    assert data["score"] == TOTAL
    assert_scores(data, imports_cleanly=False)
    assert "Problems loading your file" not in data["output"] or "LoadingTooLong" in data["output"], data["output"]
    assert harness.grader_peak_mb < GRADER_PEAK_MB, f"the grader grew to {harness.grader_peak_mb:.0f} MB"
    assert all(len(case["output"]) < 40_000 for case in cases_of(data, "conv2d")), "a call's output is no longer capped"
    assert_clean(harness)


@as_root
def test_endless_writers_on_the_output_pipe_neither_hang_nor_survive(harness: Harness) -> None:
    """Four processes writing raw to the output forever: the grade ends, no writer survives it, and what the flood
    costs is the submission's own (a call whose end-of-call marker the flood held up past its time limit, and what
    the gate then no longer makes), never an answer judged wrong, and never the grader's CPU (read in pauses past
    the cap: test_sandbox)."""
    harness.submit({"ps3.py": hostile("output_flood_daemons")})
    data = harness.run(timeout=300)  # a grader left draining the pipe forever would reach this bound
    lost = [case for case in data["tests"] if case.get("max_score") and case["score"] < case["max_score"]]
    assert all(case["extra_data"]["outcome"] != "returned" for case in lost), [case["extra_data"] for case in lost][:3]
    assert_clean(harness)


def test_a_worker_that_closes_its_output_does_not_make_the_grader_spin(harness: Harness) -> None:
    """An output at its end is always readable: watched still, every wait for a reply was a busy loop (the grader
    at full CPU for as long as the student's calls took). The waits now cost next to nothing."""
    harness.submit({"ps3.py": hostile("closed_output_then_slow")})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = harness.run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert data["score"] == TOTAL
    assert harness.seconds > 2.0 and cpu < harness.seconds / 2, (cpu, harness.seconds)
    assert_clean(harness)


# --------------------------------------------------------------------------- processes


@as_root
def test_a_fork_bomb_is_bounded_and_swept(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("fork_bomb")})
    data = harness.run()
    assert_scores(data, zero={"conv2d"})
    counts = [int(n) for n in re.findall(r"FORKED (\d+)", printed(data, "conv2d"))]
    assert counts and max(counts) > 10 and all(n < 64 for n in counts), counts
    assert_clean(harness)


@as_root
def test_the_grader_cannot_be_killed_or_stopped(harness: Harness) -> None:
    harness.submit({"ps3.py": probed("kill_grader")})
    data = harness.run(timeout=120)
    assert data["score"] == TOTAL
    assert_all_denied(
        data,
        {
            "SIGSTOP the grader",
            "SIGTERM the grader",
            "SIGKILL the grader",
            "SIGKILL the grader's group",
            "SIGKILL graders found in /proc",
            "SIGKILL every pid",
        },
    )
    assert_clean(harness)


@as_root
def test_results_json_and_the_graders_files_cannot_be_forged_even_after_the_run(harness: Harness) -> None:
    source = harness.root / "source"
    before = {p: p.read_bytes() for p in source.rglob("*") if p.is_file()}
    harness.submit({"ps3.py": probed("results_write", root=harness.root)})
    data = harness.run()
    written = harness.layout.results_file.read_bytes()
    assert data["score"] == TOTAL
    assert_all_denied(
        data, {"write results.json", "create in results/", "append to a spec", "append to a reference", "replace run_autograder"}
    )
    started = re.search(r"^DAEMON (.+)$", printed(data), flags=re.M)
    assert started and started.group(1).isdigit(), started and started.group(0)
    daemon = int(started.group(1))
    assert harness.leftovers() == []
    # Dead now (gone, a zombie, or its pid another user's), it can write nothing later: no need to wait and see.
    status = process_status(daemon)
    assert not status or status_uid(status) != WORKER_UID or status.get("State", "").startswith("Z"), (
        f"the daemon {daemon} survived the run"
    )
    assert harness.layout.results_file.read_bytes() == written
    assert sorted(p.name for p in harness.layout.results_file.parent.iterdir()) == ["results.json"]
    assert {p: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before
    assert_clean(harness)


# --------------------------------------------------------------------------- reading what it must not


@as_root
def test_reference_solvers_and_specs_cannot_be_found_or_read(harness: Harness) -> None:
    repo = REPO
    roots = [str(repo), f"{harness.root}/source"] + (["/autograder/source"] if Path("/autograder/source/problems").is_dir() else [])
    harness.submit({"ps3.py": probed("steal_reference", repo=repo, roots=repr(roots))})
    data = harness.run()
    assert_scores(data, zero={"conv2d", "conv_transpose2d"})
    assert_all_denied(
        data,
        {f"read {root}/problems" for root in roots}
        | {f"import problems.q3a.reference from {root}" for root in roots}
        | {
            "read the checkout's solutions/ps3.py",
            "walk /",
            "walk the checkout's folder",
            "walk /tmp",
            "symlink to a reference",
            "hard link to a reference",
        }
        | {p for p in probes(data) if p.startswith("read /proc/")},
    )
    assert any(p.startswith("read /proc/") for p in probes(data))
    # Refused, not absent: a probe aimed at a file that is not there tested nothing.
    absent = re.findall(r"^PROBE (.+?): denied \((FileNotFoundError|NotADirectoryError)\)$", printed(data), flags=re.M)
    assert absent == [], f"these probes found nothing to steal, so they tested nothing: {absent}"
    assert_clean(harness)


@as_root
def test_the_graders_process_cannot_be_read_or_traced(harness: Harness) -> None:
    harness.submit({"ps3.py": probed("proc_snoop")})
    data = harness.run()
    assert data["score"] == TOTAL
    assert_all_denied(
        data,
        {
            "list /proc",
            "grader environ",
            "grader cmdline",
            "grader maps",
            "grader mem",
            "grader cwd listing",
            "grader open files",
            "ptrace attach",
            "pidfd_getfd",
            "setuid root",
            "read /etc/shadow",
        },
    )
    assert_clean(harness)


def _host_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address: str = probe.getsockname()[0]
            return address
        except OSError:
            return "127.0.0.1"


@as_root
def test_no_connection_leaves_the_worker(harness: Harness) -> None:
    tcp = socket.create_server(("0.0.0.0", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", 0))
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    name = f"ag-attack-{os.getpid()}-{random.randrange(1 << 30)}"
    abstract.bind("\0" + name)
    abstract.listen()
    listeners = (tcp, udp, abstract)
    try:
        for listener in listeners:
            listener.setblocking(False)
        harness.submit(
            {
                "ps3.py": probed(
                    "network", tcp_port=tcp.getsockname()[1], udp_port=udp.getsockname()[1], abstract=name, host_ip=_host_address()
                )
            }
        )
        data = harness.run()
        arrived = []
        for _listener, receive in ((tcp, tcp.accept), (udp, lambda: udp.recvfrom(100)), (abstract, abstract.accept)):
            try:
                arrived.append(receive())
            except BlockingIOError:
                pass
    finally:
        for listener in listeners:
            listener.close()
    assert arrived == []
    assert data["score"] == TOTAL
    assert_all_denied(
        data, {"tcp loopback", "tcp own address", "udp loopback", "udp own address", "abstract unix socket", "dns", "tcp internet"}
    )
    assert_clean(harness)


@as_root
def test_no_connection_reaches_a_unix_socket_on_the_machine(harness: Harness) -> None:
    path = harness.base / "listening.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        path.chmod(0o777)
        listener.listen()
        listener.setblocking(False)
        harness.submit({"ps3.py": probed("unix_socket", socket_path=path)})
        data = harness.run()
        try:
            arrived = listener.accept()[0].recv(100)
        except BlockingIOError:
            arrived = b""
    finally:
        listener.close()
    assert data["score"] == TOTAL
    assert arrived == b"", f"the worker sent {arrived!r} to a Unix socket outside its sandbox"
    assert_all_denied(data, {"unix socket on a path"})
    assert_clean(harness)


# --------------------------------------------------------------------------- the submission itself


def test_a_symlinked_ps3_is_not_followed(harness: Harness) -> None:
    reference = harness.root / "source" / "problems" / "q3a" / "reference.py"
    (harness.layout.submission / "ps3.py").symlink_to(reference)
    (harness.layout.submission / "solution").symlink_to(SOLUTION.parent, target_is_directory=True)
    data = harness.run()
    assert data["score"] == 0 and data["tests"] == []
    assert re.search(r"ps3\.py`? is a symbolic link, which is not graded", data["output"]) and "upload the file itself" in data["output"]
    assert_clean(harness)


@pytest.mark.parametrize("command", ["grade FILE", "grade FOLDER", "check FILE", "batch"])
def test_a_symlinked_submission_is_refused_by_every_command(traversable_tmp: Path, command: str) -> None:
    """A student's zip unpacks its links as they are: ``grade FILE`` followed one to the course's own solution (full
    marks) or, as root, to /etc/shadow, while ``grade FOLDER`` and batch skipped it and said the folder held no
    Python file (an adopter). Every command now refuses a link, naming it, and grades nothing through it."""
    import subprocess
    import sys

    student = traversable_tmp / "students" / "ana"
    student.mkdir(parents=True)
    (student / "ps3.py").symlink_to(SOLUTION)
    out = traversable_tmp / "out"
    arguments = {
        "grade FILE": ["grade", str(student / "ps3.py")],
        "grade FOLDER": ["grade", str(student)],
        "check FILE": ["check", str(student / "ps3.py")],
        "batch": ["batch", str(student.parent), "--out", str(out), "--jobs", "1"],
    }[command]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "AUTOGRADER_"))}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", *arguments],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = done.stdout + done.stderr + ((out / "ana" / "results.json").read_text() if command == "batch" else "")
    assert re.search(r"ps3\.py`? is a symbolic link, which is not graded", said), said
    assert "100" not in said.replace("100 points", ""), said  # nothing was graded through the link
    if command != "batch":
        assert done.returncode == 2 or (command == "check FILE" and done.returncode != 0), said


def test_files_beside_ps3_are_never_run(harness: Harness) -> None:
    shadow = attack("shadow_modules", mark=harness.mark)
    harness.submit(
        {
            "ps3.py": SOLUTION.read_text(),
            "conftest.py": shadow,
            "test_ps3.py": shadow,
            "numpy.py": shadow,
            "sitecustomize.py": shadow,
            "usercustomize.py": shadow,
        }
    )
    data = harness.run()
    assert data["score"] == TOTAL
    assert harness.marks() == []
    assert_clean(harness)


def test_binary_garbage_gets_a_valid_zero(harness: Harness) -> None:
    garbage = random.Random(3).randbytes(1_500_000)
    harness.submit({"ps3.py": garbage})
    data = harness.run()
    assert_scores(data, zero=ALL_FUNCTIONS, imports_cleanly=False)
    assert "Problems loading your file" in data["output"]
    assert all("defines no function named" in t["output"] for t in data["tests"] if t.get("max_score") and "visible" in t["tags"])
    assert all(t["output"].endswith(("was not run.", "was not run).")) for t in data["tests"] if "hidden" in t.get("tags", []))
    assert_clean(harness)


def test_a_fifty_megabyte_ps3_is_refused_unread(harness: Harness) -> None:
    big = harness.layout.submission / "ps3.py"
    with big.open("wb") as handle:
        handle.write(SOLUTION.read_bytes())
        handle.truncate(50_000_000)
    data = harness.run()
    assert data["score"] == 0 and data["tests"] == []
    assert "50,000,000 bytes" in data["output"]
    assert_clean(harness)
