"""The engine's one error type for an instructor's mistake in a problem set."""

from __future__ import annotations

from pathlib import Path


class SpecError(Exception):
    """A spec, reference or check that cannot be used: where (file and line) and what to fix."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}{f':{line}' if line else ''}: {message}")
