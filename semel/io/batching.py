"""Re-cut a stream of tables into batches of at most N documents and B text bytes."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semel.io.spec import TEXT


def _text_bytes(table: pa.Table) -> np.ndarray:
    """Cumulative text bytes per row (1-based: result[i] = bytes of rows 0..i)."""
    lengths = pc.binary_length(table.column(TEXT)).to_numpy(zero_copy_only=False)
    return np.cumsum(lengths, dtype=np.int64)


def rebatch(tables: Iterable[pa.Table], batch_size: int, batch_bytes: int) -> Iterator[pa.RecordBatch]:
    """Yield RecordBatches with <= batch_size rows and <= batch_bytes of text (at least one row each).

    Pieces with the same schema are joined across table boundaries, so batches are full-sized except the
    last one before a schema change or the end.
    """
    pending: list[pa.Table] = []
    pending_rows = 0
    pending_bytes = 0

    def flush() -> Iterator[pa.RecordBatch]:
        nonlocal pending, pending_rows, pending_bytes
        if pending_rows:
            table = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
            yield from table.combine_chunks().to_batches(max_chunksize=max(pending_rows, 1))
        pending, pending_rows, pending_bytes = [], 0, 0

    for table in tables:
        if table.num_rows == 0:
            continue
        if pending and not table.schema.equals(pending[0].schema):
            yield from flush()
        cum = _text_bytes(table)
        start = 0
        n = table.num_rows
        while start < n:
            room_rows = batch_size - pending_rows
            base = cum[start - 1] if start else 0
            # rows that fit in the remaining byte budget
            fit = int(np.searchsorted(cum, base + (batch_bytes - pending_bytes), side="right")) - start
            take = min(room_rows, n - start, fit)
            if take <= 0:
                if pending_rows:
                    yield from flush()
                    continue
                take = 1  # a single document larger than the byte cap gets a batch of its own
            piece = table.slice(start, take)
            pending.append(piece)
            pending_rows += take
            pending_bytes += int(cum[start + take - 1] - base)
            start += take
            if pending_rows >= batch_size or pending_bytes >= batch_bytes:
                yield from flush()
    yield from flush()
