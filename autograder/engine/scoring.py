"""Every point rule in one place: case shares, follow-through credit, totals.

A problem's points are split over its cases by weight; a passed case earns
its share; a wrong one earns the follow-through fraction it was granted; a
Python check earns what pytest's outcome gives it (see checks.py). Totals
count a report's tests alike, cases and checks (model.Graded), joined to their
problem by the problem's key: results.json's score, the terminal's table and
batch's grades.csv and report.html all take their figures from here.
"""

from __future__ import annotations

from collections.abc import Iterable

from autograder.model import Case, CaseResult, Graded, Problem, Report


def assign_max_scores(problem: Problem) -> None:
    """Split ``problem.points`` over its cases by weight: each case's exact ``share``, and its ``max_score``, the share
    as shown (4 decimals; the last takes the rounding, so the shown shares add up to the points)."""
    total_weight = sum(case.weight for case in problem.cases)
    remaining = float(problem.points)
    for case in problem.cases:
        case.share = problem.points * case.weight / total_weight
    for case in problem.cases[:-1]:
        case.max_score = round(case.share, 4)
        remaining -= case.max_score
    if problem.cases:
        problem.cases[-1].max_score = round(remaining, 4)


def score_case(result: CaseResult) -> None:
    """A passed case earns its share; a wrong one the follow-through fraction it was granted."""
    maximum = result.case.max_score
    result.score = maximum if result.verdict.passed else round(maximum * result.credit, 4)


def exactly(tests: Iterable[Graded]) -> float:
    """What ``tests`` earned together, from each case's exact share: rounded shares would make half of 10 points
    over 12 cases 4.9998, not 5 (a check's score is its own)."""
    return round(sum(_exact(test) for test in tests), 4)


def _exact(test: Graded) -> float:
    if not isinstance(test, CaseResult):
        return test.score
    share = case_share(test.case)
    return share if test.verdict.passed else share * test.credit


def case_share(case: Case) -> float:
    """A case's exact share of its problem's points (a case scored without assign_max_scores has only max_score)."""
    return case.share or case.max_score


def total(report: Report) -> float:
    """The submission's score: every test's points, cases and checks alike."""
    return exactly(report.tests)


def possible(report: Report) -> float:
    """The most :func:`total` can be: every autograded problem's points, with its Python checks'."""
    points = sum(problem.points for problem in report.problems if not problem.graded_by_hand)
    return round(points + sum(check.max_score for check in report.checks), 4)


def earned(report: Report, problem: Problem) -> tuple[float, float]:
    """(points earned, points possible) on one problem, its cases and its checks together."""
    own = [test for test in report.tests if test.problem == problem.key]
    checks = sum(check.max_score for check in report.checks if check.problem == problem.key)
    return exactly(own), round(problem.points + checks, 4)


def per_problem(report: Report) -> dict[str, tuple[float, float]]:
    """:func:`earned` for every autograded problem, by key: what batch's records keep."""
    return {problem.key: earned(report, problem) for problem in report.problems if not problem.graded_by_hand}
