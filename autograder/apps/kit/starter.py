"""The starter file students begin from: every function's signature and docstring, bodies that raise NotImplementedError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autograder.apps.course import Course
from autograder.apps.kit.cases import KitError
from autograder.model import Problem

STARTER_HEAD = '''"""{title}: your answers.

Write the body of each function below; keep its name and parameters. Until you
do, it raises NotImplementedError and scores 0 ("not implemented yet").
Check your work with:  python -m autograder check {name}
"""

import numpy as np
'''


def starter_source(problems: list[Problem], solvers: dict[str, Callable], course: Course) -> str:
    """The starter file (the course's first submission name) with every student function's signature and
    docstring and a NotImplementedError body.

    Signatures and docstrings come from the reference solvers (never their
    bodies); a function without a reference solver gets ``(*args, **kwargs)``.
    """
    graded_in: dict[str, list[str]] = {}
    for problem in problems:
        for case in problem.cases:
            labels = graded_in.setdefault(case.function, [])
            if problem.number not in labels:
                labels.append(problem.number)
    lines, written = [STARTER_HEAD.format(title=course.title, name=course.starter_name)], set()
    for problem in problems:
        functions = [name for name in dict.fromkeys(case.function for case in problem.cases) if name not in written]
        if functions:
            lines.append(f"\n# {'-' * 75}\n# {problem.title}\n")
        for name in functions:
            written.add(name)
            lines.append(_stub(name, solvers.get(name), graded_in[name]))
    return "\n".join(lines)


def _stub(name: str, solver: Callable | None, graded_in: list[str]) -> str:
    import inspect

    signature = _signature_text(solver) if solver else "(*args, **kwargs)"
    doc = (inspect.getdoc(solver) or "") if solver else ""
    doc = (doc + "\n\n" if doc else "") + f"Graded in question {', '.join(graded_in)}."
    doc = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    indented = "\n".join(f"    {line}" if line else "" for line in doc.splitlines())
    return f'\ndef {name}{signature}:\n    """{indented.lstrip()}\n    """\n    raise NotImplementedError("{name}")\n'


class _Annotation(str):
    """A string annotation (``from __future__ import annotations``) that prints without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _signature_text(function: Callable) -> str:
    import inspect

    def unquote(annotation: Any) -> Any:
        return _Annotation(annotation) if isinstance(annotation, str) else annotation

    signature = inspect.signature(function)
    parameters = [p.replace(annotation=unquote(p.annotation)) for p in signature.parameters.values()]
    return str(signature.replace(parameters=parameters, return_annotation=unquote(signature.return_annotation)))


def check_starter(source: str, names: set[str], file_name: str) -> None:
    """Run the starter once, so a signature that cannot be defined stops the build, not a student."""
    namespace: dict = {}
    try:
        exec(compile(source, file_name, "exec"), namespace)  # noqa: S102 - generated from the instructor's own files
    except Exception as error:  # noqa: BLE001
        raise KitError(f"the generated starter {file_name} does not run ({type(error).__name__}: {error}); "
                       "check the annotations of the reference solvers") from None
    missing = names - {name for name, value in namespace.items() if callable(value)}
    if missing:
        raise KitError(f"the generated starter {file_name} lacks {', '.join(sorted(missing))}")
