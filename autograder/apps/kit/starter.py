"""The starter file students begin from: every function's signature and docstring, bodies that raise NotImplementedError."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autograder.apps.course import Course
from autograder.apps.kit.cases import KitError
from autograder.model import Problem

STARTER_HEAD = '''"""{title}: your answers.

Write the body of each function below; keep its name and parameters. Until you
do, it raises NotImplementedError and scores 0 ("not implemented yet").
Check your work with:  python -m autograder check {name}
"""

from __future__ import annotations  # the annotations are the reference's, as written: never evaluated here
'''
NUMPY_IMPORT = "\nimport numpy as np\n"  # when the course lets students import NumPy


def starter_source(problems: list[Problem], solvers: dict[str, Callable[..., Any]], course: Course, checked: Sequence[str] = ()) -> str:
    """The starter file (the course's first submission name) with every student function's signature and
    docstring and a NotImplementedError body: those the cases call, then those only the Python checks call
    (``checked``: what they called on the reference, as validate ran them).

    Signatures and docstrings come from the reference solvers (never their
    bodies); a function without a reference solver gets ``(*args, **kwargs)``.
    """
    graded_in: dict[str, list[str]] = {}
    for problem in problems:
        for case in problem.cases:
            labels = graded_in.setdefault(case.function, [])
            if problem.number not in labels:
                labels.append(problem.number)
    head = STARTER_HEAD.format(title=course.title, name=course.starter_name)
    lines, written = [head + (NUMPY_IMPORT if "numpy" in course.package_names else "")], set()
    for problem in problems:
        functions = [name for name in dict.fromkeys(case.function for case in problem.cases) if name not in written]
        if functions:
            lines.append(f"\n# {'-' * 75}\n# {problem.title}\n")
        for name in functions:
            written.add(name)
            lines.append(_stub(name, solvers.get(name), f"Graded in question {', '.join(graded_in[name])}."))
    by_checks = [name for name in dict.fromkeys(checked) if name not in written]
    if by_checks:
        lines.append(f"\n# {'-' * 75}\n# Graded by the Python checks\n")
    lines += [_stub(name, solvers.get(name), "Graded by the course's Python checks.") for name in by_checks]
    return "\n".join(lines)


def student_functions(problems: list[Problem], checked: Sequence[str] = ()) -> list[str]:
    """Every function students write, as the starter lists them: those the cases call, then the checks' others."""
    return list(dict.fromkeys([*(case.function for problem in problems for case in problem.cases), *checked]))


def _stub(name: str, solver: Callable[..., Any] | None, graded: str) -> str:
    import inspect

    signature = _signature_text(solver) if solver else "(*args, **kwargs)"
    doc = (inspect.getdoc(solver) or "") if solver else ""
    doc = (doc + "\n\n" if doc else "") + graded
    doc = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    indented = "\n".join(f"    {line}" if line else "" for line in doc.splitlines())
    return f'\ndef {name}{signature}:\n    """{indented.lstrip()}\n    """\n    raise NotImplementedError("{name}")\n'


class _Annotation(str):
    """An annotation's source text, which prints without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _signature_text(function: Callable[..., Any]) -> str:
    """The solver's parameters and defaults (as values), with its annotations as its source writes them
    (``np.ndarray``, not ``numpy.ndarray``): the starter has ``from __future__ import annotations``, so an
    annotation naming something only the reference imports is never evaluated."""
    import inspect

    written = _written_annotations(function)

    def annotation(name: str, value: Any) -> Any:
        if name in written:
            return _Annotation(written[name])
        return _Annotation(value) if isinstance(value, str) else value

    signature = inspect.signature(function)
    parameters = [p.replace(annotation=annotation(p.name, p.annotation)) for p in signature.parameters.values()]
    return str(signature.replace(parameters=parameters, return_annotation=annotation("return", signature.return_annotation)))


def _written_annotations(function: Callable[..., Any]) -> dict[str, str]:
    """Each annotated parameter's annotation (and ``return``'s) as the function's source writes it; {} without source."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return {}
    node = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if node is None:
        return {}
    arguments = node.args
    every = [
        *arguments.posonlyargs,
        *arguments.args,
        *([arguments.vararg] if arguments.vararg else []),
        *arguments.kwonlyargs,
        *([arguments.kwarg] if arguments.kwarg else []),
    ]
    written = {argument.arg: ast.unparse(argument.annotation) for argument in every if argument.annotation is not None}
    if node.returns is not None:
        written["return"] = ast.unparse(node.returns)
    return written


def check_starter(source: str, names: set[str], file_name: str) -> None:
    """Run the starter once, so a signature that cannot be defined stops the build, not a student."""
    namespace: dict[str, Any] = {}
    try:
        # dont_inherit: this module's own future flags must not stand in for the starter's.
        exec(compile(source, file_name, "exec", dont_inherit=True), namespace)
    except Exception as error:  # noqa: BLE001
        raise KitError(
            f"the generated starter {file_name} does not run ({type(error).__name__}: {error}); "
            "check the annotations of the reference solvers"
        ) from None
    missing = names - {name for name, value in namespace.items() if callable(value)}
    if missing:
        raise KitError(f"the generated starter {file_name} lacks {', '.join(sorted(missing))}")
