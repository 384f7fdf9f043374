"""The input description every job shares, and the canonical column names of a batch."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from semel.errors import SettingError, check_choice

ID = "id"
TEXT = "text"
ROW = "__row"
RAW = "__raw"
SOURCE = "__source"
LINE = "__line"
CHANGED = "__changed"

FORMATS = ("jsonl", "parquet", "txt", "txtdir")


def name_text(name: str) -> str:
    """A file name as text for ids: bytes that are not UTF-8 (kept by Python as surrogate escapes, which
    Arrow cannot store) become %XX."""
    if not any("\udc80" <= c <= "\udcff" for c in name):
        return name
    return "".join(f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else c for c in name)


def note_missing_ids(errors: Any, count: int, id_field: str) -> None:
    """Count records without an id (they get "<file name>:<line>"), for one warning at the end of the run."""
    if errors is not None and count:
        field_name = id_field.replace("{", "{{").replace("}", "}}")
        errors.note("missing_id", count, f"{{n}} record{{s}} without an id field '{field_name}': their id "
                    "is <file name>:<line> (--id-field names another field)")


@dataclass
class InputSpec:
    """Where documents come from and how to read them; several paths form one collection, in order."""

    paths: list[str] = field(default_factory=list)
    id_field: str = "id"
    text_field: str = "text"
    on_error: Literal["fail", "skip"] = "fail"
    batch_size: int = 8192
    format: str | None = None
    batch_bytes: int = 64 << 20  # cap on text bytes per batch, so memory stays flat with long documents

    def __post_init__(self) -> None:
        if isinstance(self.paths, str):
            self.paths = [self.paths]
        if self.on_error not in ("fail", "skip"):
            raise SettingError(f"on_error must be 'fail' or 'skip', not {self.on_error!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise SettingError(f"batch size must be an integer >= 1, not {self.batch_size!r}")
        if self.format is not None:
            check_choice("format", self.format, FORMATS, SettingError)
