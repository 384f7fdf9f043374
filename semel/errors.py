"""Errors semel reports to the user as one line, without a traceback, and warnings it reports once a run."""
from __future__ import annotations

import re
from collections.abc import Sequence

_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def escape(text: str) -> str:
    """`text` safe to print on one line: control characters and undecodable bytes of file names
    (surrogate escapes) shown as backslash escapes, everything else as it is."""
    def one(m: re.Match[str]) -> str:
        c = m.group()
        if "\udc80" <= c <= "\udcff":  # a byte of a non-UTF-8 file name (surrogateescape)
            return f"\\x{ord(c) - 0xDC00:02x}"
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(c) or (
            f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")

    return _CONTROL.sub(one, text)


class SemelError(Exception):
    """An error whose message is meant for the user as it stands."""


class SettingError(SemelError, ValueError):
    """A setting out of its range (a ValueError too, for Python callers)."""


def check_choice(name: str, value: object, choices: Sequence[str],
                 error: type[ValueError] = ValueError) -> None:
    """`error` naming the setting, the values it takes and the one given, when `value` is not one of
    `choices`."""
    if value not in choices:
        raise error(f"{name} must be one of {', '.join(choices)}, not {value!r}")


class InputError(SemelError):
    """Bad input, located as precisely as we can (file and line); the file name is escaped."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            name = escape(path)
            where = f"{name}:{line}: " if line is not None else f"{name}: "
        super().__init__(f"{where}{message}")


class SemelWarning(UserWarning):
    """Something a run did on purpose that the user may not expect (shown once per run, with a count)."""
