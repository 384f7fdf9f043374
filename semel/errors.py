"""Errors semel reports to the user as one line, without a traceback."""
from __future__ import annotations


class SemelError(Exception):
    """An error whose message is meant for the user as it stands."""


class InputError(SemelError):
    """Bad input, located as precisely as we can (file and line)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
