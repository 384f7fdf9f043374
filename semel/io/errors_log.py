"""The side file of records skipped with `on_error="skip"`: nothing disappears without a trace."""
from __future__ import annotations

from collections import Counter

import orjson

from semel.io.atomic import atomic_path


class ErrorLog:
    """Counts and lists skipped records; written as JSONL {"path", "line", "reason"}."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, int | None, str]] = []

    def add(self, path: str, line: int | None, reason: str) -> None:
        self.entries.append((path, line, reason))

    @property
    def count(self) -> int:
        return len(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def summary(self) -> dict[str, int]:
        """Skipped records per reason (the text before any ':' detail), for reports."""
        return dict(Counter(reason.split(" (")[0] for _, _, reason in self.entries))

    def write(self, path: str) -> None:
        """Write the log atomically; no file at all when nothing was skipped."""
        if not self.entries:
            return
        with atomic_path(path) as temp, open(temp, "wb") as out:
            for p, line, reason in self.entries:
                out.write(orjson.dumps({"path": p, "line": line, "reason": reason}) + b"\n")
