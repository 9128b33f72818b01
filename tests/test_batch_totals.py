"""Batch's figures come from where results.json's score comes from: Python-check points included everywhere.

The fixture assignment tests/fixtures/lab1 has a Python check worth points
(problems/p2/test_running_sum.py). A class of its solution and of a running
sum that is wrong (so the check fails too) is graded by ``batch``; every
column header, total, maximum and statistic of grades.csv and report.html must
agree with the results.json written for the same submission.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from html import unescape
from pathlib import Path

import pytest

from autograder.apps.cli import main

from conftest import REPO, Results, course_config, spec_problems

LAB1 = REPO / "tests" / "fixtures" / "lab1"
SOLUTION = (LAB1 / "lab1.py").read_text()
WRONG_SUM = SOLUTION + "\n\ndef running_sum(values):\n    return np.asarray(values, dtype=float) * 0\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lab1 graded by batch: one right submission, one whose running sum (and so its check) is wrong."""
    root = tmp_path_factory.mktemp("lab1-batch")
    root.chmod(0o755)  # the worker's user reads the submissions when the tests run as root
    for student, source in (("right", SOLUTION), ("wrong", WRONG_SUM)):
        folder = root / "export" / student
        folder.mkdir(parents=True)
        (folder / "lab1.py").write_text(source)
    for path in [root / "export", *(root / "export").rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    out = root / "out"
    assert main(["batch", str(root / "export"), "--out", str(out), "--problems", str(LAB1 / "problems"), "--jobs", "1"]) == 0
    return out


def results(out: Path, student: str) -> Results:
    data: Results = json.loads((out / student / "results.json").read_text(encoding="utf-8"))
    return data


def worth(data: Results) -> dict[str, float]:
    """Each problem's points as results.json counts them: its tests' maxima, cases and checks alike."""
    points: dict[str, float] = defaultdict(float)
    for test in data["tests"]:
        if test.get("max_score"):
            points[test["extra_data"]["problem"]] += test["max_score"]
    return {key: round(value, 4) for key, value in points.items()}


def test_the_fixture_has_a_check_worth_points(graded: Path) -> None:
    checks = [t for t in results(graded, "right")["tests"] if "check" in t.get("extra_data", {})]
    assert checks and all(t["max_score"] > 0 for t in checks)  # else this file would test nothing
    p2 = next(problem for problem in spec_problems(LAB1 / "problems") if problem.key == "p2")
    assert worth(results(graded, "right"))["p2"] > p2.points  # the check adds to the spec's points


def test_grades_csv_counts_the_checks_points_as_results_json_does(graded: Path) -> None:
    with (graded / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = {row["submission_id"]: row for row in csv.DictReader(stream)}
    right = results(graded, "right")
    points = worth(right)
    problems = {problem.key: problem for problem in spec_problems(LAB1 / "problems") if not problem.graded_by_hand}
    header = list(rows["right"])
    for key, problem in problems.items():
        assert f"{problem.label} (/{points[key]:g})" in header, header
    whole = sum(points.values())
    assert whole == course_config(LAB1 / "problems").total_points  # the course's total, checks included
    assert float(rows["right"]["total"]) == float(rows["right"]["max_score"]) == right["score"] == whole
    wrong = results(graded, "wrong")
    assert float(rows["wrong"]["total"]) == wrong["score"] < whole and float(rows["wrong"]["max_score"]) == whole
    for student, data in (("right", right), ("wrong", wrong)):
        for key, problem in problems.items():
            earned = sum(t["score"] for t in data["tests"] if t.get("max_score") and t["extra_data"]["problem"] == key)
            assert float(rows[student][f"{problem.label} (/{points[key]:g})"]) == pytest.approx(earned)


def test_report_html_counts_the_checks_points_as_results_json_does(graded: Path) -> None:
    page = unescape((graded / "report.html").read_text(encoding="utf-8"))
    right, wrong = results(graded, "right"), results(graded, "wrong")
    points = worth(right)
    whole = sum(points.values())
    assert f"Score out of {whole:g}:" in page
    assert f"highest {right['score']:g}" in page and f"lowest {wrong['score']:g}" in page
    assert f'aria-label="Histogram of 2 scores out of {whole:g}"' in page
    problems_section = page.split('<section id="problems">')[1].split("</section>")[0]
    students_section = page.split('<section id="students">')[1].split("</section>")[0]
    for problem in spec_problems(LAB1 / "problems"):
        if problem.graded_by_hand:
            continue
        mean = (
            sum(
                t["score"]
                for data in (right, wrong)
                for t in data["tests"]
                if t.get("max_score") and t["extra_data"]["problem"] == problem.key
            )
        ) / 2
        row = re.search(rf"<td>{re.escape(problem.title)}</td><td[^>]*>([\d.]+) / ([\d.]+) ", problems_section)
        assert row, problems_section
        assert float(row.group(1)) == pytest.approx(mean, abs=0.01) and float(row.group(2)) == points[problem.key]
        assert f"{problem.label} (/{points[problem.key]:g})" in students_section


def test_report_html_lists_each_python_check_with_its_pass_rate(graded: Path) -> None:
    """The class report listed the cases' pass rates only: an adopter's checks-only functions never appeared."""
    page = unescape((graded / "report.html").read_text(encoding="utf-8"))
    check = next(t for t in results(graded, "right")["tests"] if "check" in t.get("extra_data", {}))
    row = re.search(rf"<td>{re.escape(check['number'])}</td><td>\(Python check\)</td><td>([^<]*)</td><td[^>]*>(\d) / 2</td>", page)
    assert row, page
    assert row.group(1) == "The last running sum is the total" and row.group(2) == "1"  # the right one passes, the wrong one fails
