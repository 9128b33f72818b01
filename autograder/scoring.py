"""Points: each case gets its weight's share of its problem's points."""

from __future__ import annotations

from autograder.spec import Problem


def assign_max_scores(problem: Problem) -> None:
    """Split ``problem.points`` over its cases by weight, exactly: the last share takes the rounding."""
    total_weight = sum(case.weight for case in problem.cases)
    remaining = float(problem.points)
    for case in problem.cases[:-1]:
        case.max_score = round(problem.points * case.weight / total_weight, 4)
        remaining -= case.max_score
    if problem.cases:
        problem.cases[-1].max_score = round(remaining, 4)
