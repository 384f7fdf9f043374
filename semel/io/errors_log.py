"""The side file of records skipped with `on_error="skip"`: nothing disappears without a trace."""
from __future__ import annotations

from collections import Counter

import orjson

from semel.errors import escape
from semel.io.atomic import atomic_path


class ErrorLog:
    """Counts and lists skipped records; written as JSONL {"path", "line", "reason"}.

    It also counts what the readers did on purpose but the user may not expect (`note`: e.g. records
    without an id field), for a warning at the end of the run. A log made while a run is open
    (`semel.io.outputs`) reports to that run.
    """

    def __init__(self) -> None:
        from semel.io import outputs

        self.entries: list[tuple[str, int | None, str]] = []
        self.notes: dict[str, tuple[int, str]] = {}
        run = outputs.current()
        if run is not None:
            run.add_log(self)

    def add(self, path: str, line: int | None, reason: str) -> None:
        self.entries.append((path, line, reason))

    def note(self, kind: str, count: int, message: str) -> None:
        """Add `count` to the warning `kind`; `message` may use {n} for the total."""
        if count:
            old = self.notes.get(kind, (0, message))[0]
            self.notes[kind] = (old + count, message)

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
                out.write(orjson.dumps({"path": escape(p), "line": line, "reason": escape(reason)}) + b"\n")

    @classmethod
    def read(cls, path: str) -> ErrorLog:
        """A log written by `write` (a resumed run gets back the records its first part skipped)."""
        log = cls()
        try:
            with open(path, "rb") as f:
                for raw in f:
                    rec = orjson.loads(raw)
                    log.add(rec["path"], rec["line"], rec["reason"])
        except FileNotFoundError:
            pass
        return log
