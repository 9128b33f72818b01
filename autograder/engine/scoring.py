"""Every point rule in one place: case shares, follow-through credit, totals.

A problem's points are split over its cases by weight; a passed case earns
its share; a wrong one earns the follow-through fraction it was granted; a
Python check earns what pytest's outcome gives it (see checks.py). Totals
count a report's tests alike, cases and checks (model.Graded), joined to their
problem by the problem's key: results.json's score, the terminal's table and
batch's grades.csv and report.html all take their figures from here.
"""

from __future__ import annotations

from autograder.model import CaseResult, Problem, Report


def assign_max_scores(problem: Problem) -> None:
    """Split ``problem.points`` over its cases by weight, exactly: the last share takes the rounding."""
    total_weight = sum(case.weight for case in problem.cases)
    remaining = float(problem.points)
    for case in problem.cases[:-1]:
        case.max_score = round(problem.points * case.weight / total_weight, 4)
        remaining -= case.max_score
    if problem.cases:
        problem.cases[-1].max_score = round(remaining, 4)


def score_case(result: CaseResult) -> None:
    """A passed case earns its share; a wrong one the follow-through fraction it was granted."""
    maximum = result.case.max_score
    result.score = maximum if result.verdict.passed else round(maximum * result.credit, 4)


def total(report: Report) -> float:
    """The submission's score: every test's points, cases and checks alike."""
    return round(sum(test.score for test in report.tests), 4)


def possible(report: Report) -> float:
    """The most :func:`total` can be: every autograded problem's points, with its Python checks'."""
    points = sum(problem.points for problem in report.problems if not problem.graded_by_hand)
    return round(points + sum(check.max_score for check in report.checks), 4)


def earned(report: Report, problem: Problem) -> tuple[float, float]:
    """(points earned, points possible) on one problem, its cases and its checks together."""
    own = [test for test in report.tests if test.problem == problem.key]
    checks = sum(check.max_score for check in report.checks if check.problem == problem.key)
    return round(sum(test.score for test in own), 4), round(problem.points + checks, 4)


def per_problem(report: Report) -> dict[str, tuple[float, float]]:
    """:func:`earned` for every autograded problem, by key: what batch's records keep."""
    return {problem.key: earned(report, problem) for problem in report.problems if not problem.graded_by_hand}
