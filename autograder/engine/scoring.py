"""Every point rule in one place: case shares, follow-through credit, totals.

A problem's points are split over its cases by weight; a passed case earns
its share; a wrong one earns the follow-through fraction it was granted; a
Python check earns what pytest's outcome gives it (see checks.py). Totals
join cases and checks to their problem by the problem's key.
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
    return round(sum(result.score for result in report.results) + sum(check.score for check in report.checks), 4)


def possible(report: Report) -> float:
    points = sum(problem.points for problem in report.problems if not problem.graded_by_hand)
    return round(points + sum(check.max_score for check in report.checks), 4)


def earned(report: Report, problem: Problem) -> tuple[float, float]:
    """(points earned, points possible) on one problem, its cases and its checks together."""
    checks = [check for check in report.checks if check.problem == problem.key]
    got = sum(r.score for r in report.results if r.case.problem == problem.key) + sum(c.score for c in checks)
    return round(got, 4), round(problem.points + sum(c.max_score for c in checks), 4)
