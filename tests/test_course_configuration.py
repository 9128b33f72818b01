"""The front ends follow the course configuration: a fixture assignment (tests/fixtures/lab1), another problems/
and assignment.yaml, is graded with its own file names, total, packages, limits and checks, and no engine change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import ASSIGNMENTS, FIXTURES, REPO, GradescopeLayout

if TYPE_CHECKING:
    from autograder.apps.kit.validate import Validation

LAB = FIXTURES / "lab1"


@pytest.fixture
def lab(tmp_path: Path) -> GradescopeLayout:
    return GradescopeLayout(tmp_path / "autograder", assignment=LAB)


def test_a_second_assignment_grades_end_to_end(lab: GradescopeLayout) -> None:
    lab.submit({"lab1.py": (LAB / "lab1.py").read_text()})
    data = lab.run()
    assert data["score"] == 12  # 4 + 6 points of cases, and the Python check's 2
    assert "Graded `lab1.py`" in data["output"] and "P2: running sums: 8 / 8" in data["output"]
    for other in ASSIGNMENTS:  # nothing of the repository's own courses leaks into another's results
        assert not any(name in test["output"] for name in other.course.module_names for test in data["tests"]), other


def test_its_own_submission_names_and_known_mistakes(lab: GradescopeLayout) -> None:
    lab.submit({"answers.py": "def square(x):\n    return 2 * x\n"})
    data = lab.run()
    assert "No lab1.py was found, so the only Python file, `answers.py`, was graded. Name it lab1.py next time." in data["output"]
    square = [t for t in data["tests"] if (t.get("tags") or [None])[0] == "square"]
    assert all(t["score"] == 0 and "This is 2·x, not x·x." in t["output"] for t in square)


def test_validate_checks_the_configured_total_and_packages_come_from_the_configuration(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO, capture_output=True, text=True, check=False)

    assert cli("validate", "--problems", str(LAB / "problems")).returncode == 0
    assert cli("packages", "--problems", str(LAB / "problems")).stdout.split("\n")[0].startswith("numpy==")
    copy = tmp_path / "lab"
    import shutil

    shutil.copytree(LAB, copy)
    config = copy / "assignment.yaml"
    config.write_text(config.read_text().replace("total_points: 12", "total_points: 15"))
    done = cli("validate", "--problems", str(copy / "problems"))
    assert done.returncode == 1 and "add up to 12, not 15" in done.stderr


@pytest.mark.parametrize("command", [["validate"], ["build", "--out", "dist"], ["grade", "lab1.py"], ["packages"]])
def test_a_command_run_in_another_courses_folder_without_problems_says_which_course_it_uses(tmp_path: Path, command: list[str]) -> None:
    """The installed ``autograder`` command (or ``python -m`` with the engine installed) in a course's own folder
    used the engine's bundled problems, and validated, built and graded the wrong course without a word (an adopter
    nearly uploaded it). validate and build refuse and say to pass --problems; a grade (the folder may be a
    student's, whose problems must never be loaded) is made against the engine's course and says so."""
    course = _lab_copy(tmp_path)
    engine = {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "autograder", *args], cwd=course, env=engine, capture_output=True, text=True, check=False
        )

    untold = run(*command)
    assert "--problems problems" in untold.stderr and "Lab 1" not in untold.stdout + untold.stderr
    if command[0] in ("validate", "build"):
        assert untold.returncode == 2 and "holds a course of its own" in untold.stderr and not (course / "dist").exists()
    else:
        assert untold.returncode == 0 and "is not used" in untold.stderr
    told = run(*command, "--problems", "problems")
    assert told.returncode == 0 and "is not used" not in told.stderr, told.stderr
    if command[0] == "validate":
        assert "All specs are valid." in told.stdout and "Total: 12 points" in told.stdout


@pytest.mark.parametrize("requirement", ["numpy====", "numpy==2.4.6;", "numpy 2.4.6", "numpy==2.4.6; python_version <"])
def test_validate_refuses_a_student_package_that_is_no_pip_requirement(tmp_path: Path, requirement: str) -> None:
    """``numpy====`` passed validate and build, and then failed setup.sh on Gradescope and every student's install
    (adopter): each line is read by pip's own parser (packaging), and one it refuses is an error, at its line."""
    config, found = _validated_with_packages(tmp_path, ["numpy==2.4.6", requirement])
    errors = [e for e in found.errors if "student_packages" in e]
    assert len(errors) == 1 and f"{config}:" in errors[0] and f"{requirement!r} is not a pip requirement" in errors[0], errors


@pytest.mark.parametrize("requirement", ["numpy>=2", "numpy==2.*", "numpy>=2,==2.4.6", "numpy"])
def test_validate_warns_of_a_student_package_pinned_to_no_one_version(tmp_path: Path, requirement: str) -> None:
    _, found = _validated_with_packages(tmp_path, [requirement])
    warnings = [w for w in found.warnings if "student_packages" in w]
    assert len(warnings) == 1 and "names no one version" in warnings[0], warnings


def _validated_with_packages(tmp_path: Path, requirements: list[str]) -> tuple[Path, Validation]:
    """A copy of Lab 2 whose student_packages are ``requirements``: its assignment.yaml, and validate's findings."""
    from autograder.apps.kit.validate import validate

    course = _lab_copy(tmp_path)
    config = course / "assignment.yaml"
    text = config.read_text()
    packages = text[text.index("student_packages:") : text.index("limits:")]
    config.write_text(text.replace(packages, "student_packages:\n" + "".join(f'  - "{r}"\n' for r in requirements)))
    return config, validate(course / "problems", mutants=False)


def test_validate_warns_of_a_student_package_unpinned_or_not_installed(tmp_path: Path) -> None:
    """An adopter's misspelled package passed validate and would only have failed setup.sh on Gradescope; an
    unpinned one installs whatever is newest on the day the autograder is built."""
    from autograder.apps.kit.validate import validate

    course = _lab_copy(tmp_path)
    config = course / "assignment.yaml"
    text = config.read_text()
    packages = text[text.index("student_packages:") : text.index("limits:")]
    config.write_text(text.replace(packages, 'student_packages:\n  - "numpy"\n  - "surely-not-a-package-here==2.4.0"\n'))
    warnings = [w for w in validate(course / "problems", mutants=False).warnings if "student_packages" in w]
    assert len(warnings) == 2, warnings
    assert "'numpy' names no one version: pin it (numpy==VERSION)" in warnings[0]
    assert "'surely-not-a-package-here' is not installed here: check its name on pypi.org" in warnings[1]
    # each at its own line of assignment.yaml
    lines = config.read_text().splitlines()
    assert [w.split(": student_packages")[0] for w in warnings] == [
        f"{config}:{lines.index(text) + 1}" for text in ('  - "numpy"', '  - "surely-not-a-package-here==2.4.0"')
    ]


def _lab_copy(tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "lab"
    shutil.copytree(LAB, copy)
    return copy


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("limits:\n  call_timout: 3\n", "unknown limit 'call_timout'"),
        ("limits:\n  call_timeout: -5\n", "limit call_timeout must be more than 0"),
        ("limits:\n  call_timeout: .nan\n", "limit call_timeout must be more than 0"),
        ("limits:\n  call_timeout: five\n", "limit call_timeout must be a number of seconds, not 'five'"),
        ("limits:\n  import_timeout: 1.0e300\n", "limit import_timeout must be more than 0 and at most"),  # a number in YAML 1.2
        ("limits:\n  data_mb: 0.5\n", "limit data_mb must be a whole number"),
        ("limits: 5\n", "limits must be a mapping"),
        ("total_points: fifteen\n", "total_points must be a number more than 0, not 'fifteen'"),
        ("total_points: .nan\n", "total_points must be a number more than 0"),
        ("submission_names: 5\n", "submission_names must list at least one plain file name"),
        ("submission_names: [../../etc/passwd]\n", "submission_names must list at least one plain file name"),
        ("submission_names: [hw2.pyy, hw2.ipynb]\n", "'hw2.pyy' is neither a Python file (.py) nor a notebook (.ipynb)"),
        ("submission_names: [hw2.txt]\n", "'hw2.txt' is neither a Python file (.py) nor a notebook (.ipynb)"),
        ("submission_max_bytes: .nan\n", "submission_max_bytes must be a whole number of bytes"),
        ("student_packages: numpy\n", "student_packages must list pip requirements"),
        ("total_pionts: 12\n", "unknown key 'total_pionts'; did you mean 'total_points'?"),
    ],
)
def test_a_bad_course_setting_is_refused_at_its_line(tmp_path: Path, setting: str, message: str) -> None:
    """Each once passed validate and then crashed every grade, or silently failed every student (call_timeout: -5)."""
    from autograder.apps import course

    (tmp_path / "problems").mkdir()
    text = 'title: "Lab"\nsubmission_names: [lab.py]\n' if not setting.startswith("submission_names") else 'title: "Lab"\n'
    (tmp_path / "assignment.yaml").write_text(text + setting)
    line = text.count("\n") + (2 if setting.startswith("limits:\n") else 1)
    with pytest.raises(course.CourseError) as caught:
        course.load(tmp_path / "problems")
    assert str(caught.value).startswith(f"{tmp_path / 'assignment.yaml'}:{line}: ") and message in str(caught.value), caught.value


def test_a_course_file_that_is_not_yaml_is_refused_at_its_line_and_where_its_bracket_opened(tmp_path: Path) -> None:
    """It was PyYAML's own multi-line dump ("while parsing a flow sequence in '<unicode string>', line 3, column 19")."""
    from autograder.apps import course

    (tmp_path / "problems").mkdir()
    (tmp_path / "assignment.yaml").write_text('title: "Lab"\nsubmission_names: [lab.py\ntotal_points: 12\n')
    with pytest.raises(course.CourseError) as caught:
        course.load(tmp_path / "problems")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'assignment.yaml'}:3: invalid YAML: ") and "\n" not in message, message
    assert message.endswith("(while parsing a flow sequence that begins at line 2)"), message


def test_a_bad_limit_in_the_environment_is_refused_by_name() -> None:
    from autograder.sandbox.limits import Limits

    with pytest.raises(ValueError, match=r"AUTOGRADER_CALL_TIMEOUT='-5': must be more than 0"):
        Limits.from_environment({"AUTOGRADER_CALL_TIMEOUT": "-5"})
    with pytest.raises(ValueError, match=r"AUTOGRADER_RUN_DEADLINE='nan': must be more than 0"):
        Limits.from_environment({"AUTOGRADER_RUN_DEADLINE": "nan"})


def test_a_check_that_cannot_import_fails_validate_and_build(tmp_path: Path) -> None:
    from autograder.apps.cli import main

    copy = _lab_copy(tmp_path)
    (copy / "problems" / "p2" / "test_broken.py").write_text("import no_such_module\n\ndef test_x(student):\n    pass\n")
    assert main(["validate", "--problems", str(copy / "problems")]) == 1
    assert main(["build", "--problems", str(copy / "problems"), "--out", str(tmp_path / "dist")]) == 1
    assert not (tmp_path / "dist" / "autograder.zip").exists()


def test_a_check_that_fails_on_the_reference_is_an_error_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from autograder.apps.cli import main

    copy = _lab_copy(tmp_path)
    (copy / "problems" / "p1" / "test_wrong.py").write_text(
        "import pytest\n\n\n@pytest.mark.weight(1)\ndef test_square_of_two(student):\n    assert student.square(2) == 5\n"
    )
    assert main(["validate", "--problems", str(copy / "problems")]) == 1
    err = capsys.readouterr().err
    assert "problems/p1/test_wrong.py:4: the check 'test_square_of_two' does not pass on the reference solution" in err


def test_validate_counts_check_weights_in_every_total(capsys: pytest.CaptureFixture[str]) -> None:
    from autograder.apps.cli import main

    assert main(["validate", "--problems", str(LAB / "problems")]) == 0
    out = capsys.readouterr().out
    assert "P2: running sums\n       8 points; 1 visible and 3 hidden cases and 1 Python check" in out
    assert "Total: 12 points" in out


def test_a_check_without_a_number_follows_its_problems_cases(lab: GradescopeLayout) -> None:
    lab.submit({"lab1.py": (LAB / "lab1.py").read_text()})
    data = lab.run()
    (check,) = [t for t in data["tests"] if t["name"].endswith("The last running sum is the total")]
    cases = [t for t in data["tests"] if t.get("number", "").startswith("2.") and "extra_data" in t and "case" in t["extra_data"]]
    assert check["number"] == f"2.{len(cases) + 1}"


def test_an_engine_installed_without_a_course_says_to_pass_problems_and_where_build_runs(tmp_path: Path) -> None:
    """pip installs the engine without problems/, setup.sh or run_autograder beside it: grade and validate pointed at
    a site-packages/problems that does not exist ("the specs are broken"), and build said only that setup.sh was
    missing (an adopter). A grade in a course's folder now refuses and says to pass --problems; build says where it
    runs from."""
    import shutil

    course = _lab_copy(tmp_path)
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "autograder", site / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    engine = {"PYTHONPATH": str(site), "PATH": os.environ.get("PATH", "")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "autograder", *args], cwd=course, env=engine, capture_output=True, text=True, check=False
        )

    for command in (["grade", "lab1.py"], ["validate"]):
        untold = run(*command)
        assert untold.returncode == 2 and "uses the engine's own, and this engine has none" in untold.stderr, untold.stderr
        assert "Pass --problems problems" in untold.stderr
    built = run("build", "--problems", "problems", "--out", "dist")
    assert built.returncode != 0 and "run build from a clone of the repository" in built.stdout + built.stderr


@pytest.mark.parametrize(
    ("check", "reference", "said"),
    [
        (  # a function of the grader's cannot reach the student's code
            "def test_sorted_by_length(student):\n    assert student.ranked(['bb', 'a'], key=len) == ['a', 'bb']\n",
            "def ranked(words, key=None):\n    return sorted(words, key=key)\n",
            "the check calls ranked with a builtin_function_or_method, which cannot be sent to the student's code",
        ),
        (  # nor can a generator come back from it
            "def test_evens(student):\n    assert list(student.evens(3)) == [0, 2, 4]\n",
            "def evens(n):\n    return (2 * i for i in range(n))\n",
            "evens answers a generator, which cannot come back from the student's sandbox",
        ),
    ],
    ids=["an argument", "an answer"],
)
def test_a_check_that_passes_only_on_values_the_sandbox_cannot_carry_fails_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], check: str, reference: str, said: str
) -> None:
    """validate called the reference with the check's own values and gave it back its own answers, so a check
    passing ``key=len``, or reading a generator, passed there and failed for every student, the reference
    solution too, blamed on the student's function (an adopter's course: 95 of 100). validate now sends and
    receives them as grading does, and says which value cannot cross."""
    from autograder.apps.cli import main

    copy = _lab_copy(tmp_path)
    with (copy / "problems" / "p1" / "reference.py").open("a") as file:
        file.write("\n\n" + reference)
    (copy / "problems" / "p1" / "test_values.py").write_text(check)
    assert main(["validate", "--problems", str(copy / "problems")]) == 1
    err = capsys.readouterr().err
    assert "problems/p1/test_values.py:1: the check" in err and said in err, err


def test_a_courses_folder_is_what_the_worker_may_never_read() -> None:
    """Every front end gives the sandbox this as ``hidden`` (see tests/test_sandbox.py for what that keeps out)."""
    from autograder.apps.course import load

    assert load(REPO / "problems").private_folders == [REPO.resolve()]
    assert load(REPO / "assignments" / "lab2" / "problems").private_folders == [(REPO / "assignments" / "lab2").resolve()]


def test_validate_refuses_a_student_package_pinned_otherwise_than_constraints_txt(tmp_path: Path) -> None:
    """setup.sh installs the course's packages with constraints.txt: a package pinned in assignment.yaml to another
    version than there validated, and would only have failed setup.sh on Gradescope (adopter round 7)."""
    import shutil

    from autograder.apps.kit.validate import validate

    agreeing = ["numpy==2.2.6; python_version < '3.11'", "numpy==2.4.6; python_version >= '3.11'"]
    for name, requirements, contradicted in (
        ("agrees", agreeing, False),
        ("alike", ["numpy==2.2.6.0; python_version < '3.11'", "numpy==2.4.*; python_version >= '3.11'"], False),  # as pip reads them
        ("other", ["numpy==2.2.5; python_version < '3.11'", agreeing[1]], True),
    ):
        config, _ = _validated_with_packages(tmp_path / name, requirements)
        shutil.copy(REPO / "constraints.txt", config.parent / "constraints.txt")
        errors = [error for error in validate(config.parent / "problems", mutants=False).errors if "does not allow" in error]
        if contradicted:
            assert len(errors) == 1 and "numpy==2.2.5 does not allow 2.2.6, the version constraints.txt:" in errors[0], errors
            assert "on Gradescope's Python: setup.sh and make install with those constraints" in errors[0], errors
        else:
            assert errors == [], errors
