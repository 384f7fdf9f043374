"""The input description every job shares, and the canonical column names of a batch."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ID = "id"
TEXT = "text"
ROW = "__row"
RAW = "__raw"
SOURCE = "__source"
LINE = "__line"
CHANGED = "__changed"

FORMATS = ("jsonl", "parquet", "txt", "txtdir")


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
            raise ValueError(f"on_error must be 'fail' or 'skip', not {self.on_error!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {self.format!r}")
