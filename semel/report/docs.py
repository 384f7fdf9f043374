"""Fetch the texts of a few documents by id from a run's inputs, streaming: never load a collection.

The report and `explain` need the texts of a sample (a few dozen ids) out of possibly millions of
documents. Reading batch by batch and keeping only the matching rows costs one pass over the input and
memory for one batch plus the sample; the pass stops as soon as every wanted id was seen.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from semel.io import ID, RAW, ROW, TEXT, ErrorLog, InputSpec, read_batches


def inputs_available(paths: list[str]) -> bool:
    """Whether the inputs can be read again (stdin cannot; moved or deleted files cannot)."""
    return bool(paths) and all(p != "-" and os.path.exists(p) for p in paths)


def fetch_texts(paths: list[str], ids: Iterable[str], *, id_field: str = "id", text_field: str = "text",
                on_row: Callable[[pa.RecordBatch], None] | None = None, stop_early: bool = True
                ) -> dict[str, str]:
    """id -> text for the wanted ids found in `paths` (first occurrence of an id wins).

    `on_row`, if given, sees every batch (for totals computed in the same pass, e.g. bytes removed);
    then the whole input is read. Otherwise reading stops once all ids were found.
    """
    wanted = sorted(set(ids))
    found: dict[str, str] = {}
    if not inputs_available(paths) or (not wanted and on_row is None):
        return found
    wanted_arr = pa.array(wanted, pa.string())
    spec = InputSpec(paths=list(paths), id_field=id_field, text_field=text_field, on_error="skip")
    for batch in read_batches(spec, ErrorLog()):
        if on_row is not None:
            on_row(batch)
        if len(found) < len(wanted):
            mask = pc.is_in(batch.column(ID).cast(pa.string()), value_set=wanted_arr)
            if pc.any(mask).as_py():
                sel = batch.filter(mask)
                for doc_id, text in zip(sel.column(ID).to_pylist(), sel.column(TEXT).to_pylist(),
                                        strict=True):
                    found.setdefault(doc_id, text or "")
        if stop_early and on_row is None and len(found) >= len(wanted):
            break
    return found


class RemovedBytes:
    """Sums the UTF-8 bytes of removed documents while the input streams past (rows in input order)."""

    def __init__(self, removed: np.ndarray) -> None:
        self.removed = removed
        self.total = 0
        self.removed_bytes = 0

    def __call__(self, batch: pa.RecordBatch) -> None:
        lengths = pc.binary_length(batch.column(TEXT).fill_null("")).to_numpy(zero_copy_only=False)
        rows = batch.column(ROW).to_numpy(zero_copy_only=False)
        ok = rows < len(self.removed)
        self.total += int(lengths.sum())
        self.removed_bytes += int(lengths[ok][self.removed[rows[ok]]].sum())


def span_column(batch: pa.RecordBatch, name: str) -> list[Any] | None:
    """The per-document values of output field `name` (a column, or a field of the raw JSON records);
    None when the batch has neither."""
    if name in batch.schema.names:
        return batch.column(name).to_pylist()
    if RAW in batch.schema.names:
        return [orjson.loads(raw).get(name) if raw is not None else None
                for raw in batch.column(RAW).to_pylist()]
    return None
