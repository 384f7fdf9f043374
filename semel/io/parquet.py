"""Parquet in and out: read by record batches (never a whole file), other columns pass through as they are."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from semel.errors import InputError, SemelError, escape
from semel.io.errors_log import ErrorLog
from semel.io.spec import ID, LINE, RAW, ROW, SOURCE, TEXT, name_text, note_missing_ids


def read_parquet(path: str, spec: Any, errors: ErrorLog | None, row0: int,
                 row_groups: list[int] | None = None, line0: int = 1, display: str | None = None
                 ) -> Iterator[pa.Table]:
    """Tables with id/text renamed in place (column order kept), plus __row, __source, __line: the whole
    file, or only `row_groups` (their first row numbered `line0`); messages name `display` (default: path)."""
    if path == "-":
        from semel.io import stdin

        opened = stdin.spooled("parquet")[0]
    else:
        opened = path
    shown = path if display is None else display
    try:
        pf = pq.ParquetFile(opened)
    except FileNotFoundError:
        raise InputError("no such file", shown) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", shown) from None
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", shown) from None
    names = pf.schema_arrow.names
    if spec.text_field not in names:
        raise InputError(f"missing text column '{spec.text_field}' (columns: {', '.join(names)})", shown)
    for name in names:
        if name in (spec.id_field, spec.text_field):
            continue
        if name in (ID, TEXT) or name.startswith("__"):
            raise InputError(f"column '{name}' clashes with semel's own column names; rename it", shown)
    text_type = pf.schema_arrow.field(spec.text_field).type
    if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)
            or pa.types.is_string_view(text_type)):
        raise InputError(f"text column '{spec.text_field}' has type {text_type}, not string", shown)
    if spec.id_field in names and spec.id_field != spec.text_field:
        id_type = pf.schema_arrow.field(spec.id_field).type
        if not (pa.types.is_string(id_type) or pa.types.is_large_string(id_type)
                or pa.types.is_string_view(id_type) or pa.types.is_integer(id_type)):
            raise InputError(f"id column '{spec.id_field}' has type {id_type}, not string or integer "
                             "(give another --id-field)", shown)
    basename = name_text(os.path.basename(shown))
    source = escape(shown)
    row = row0
    file_row = line0 - 1
    try:
        batches = pf.iter_batches(batch_size=max(1024, min(spec.batch_size, 65536)), row_groups=row_groups)
        for batch in batches:
            n = batch.num_rows
            line_nos = np.arange(file_row + 1, file_row + n + 1, dtype=np.int64)
            file_row += n
            text = batch.column(spec.text_field)
            keep = None
            if text.null_count:
                bad = np.flatnonzero(text.is_null().to_numpy(zero_copy_only=False))
                if spec.on_error == "fail":
                    raise InputError(f"text is null (row {line_nos[bad[0]]})", shown, int(line_nos[bad[0]]))
                for i in bad.tolist():
                    if errors is not None:
                        errors.add(shown, int(line_nos[i]), "text is null")
                keep = text.is_valid()
                batch = batch.filter(keep)
                line_nos = line_nos[keep.to_numpy(zero_copy_only=False)]
                n = batch.num_rows
                if n == 0:
                    continue
            cols: list[pa.Array] = []
            out_names: list[str] = []
            for name, col in zip(batch.schema.names, batch.columns, strict=True):
                if name == spec.text_field:
                    name, col = TEXT, col.cast(pa.large_string())
                elif name == spec.id_field:
                    name, col = ID, col if col.type == pa.string() else col.cast(pa.string())
                cols.append(col)
                out_names.append(name)
            if ID not in out_names:
                cols.insert(0, pa.array([f"{basename}:{i}" for i in line_nos.tolist()], pa.string()))
                out_names.insert(0, ID)
                note_missing_ids(errors, n, spec.id_field)
            else:
                ids = cols[out_names.index(ID)]
                if ids.null_count:
                    note_missing_ids(errors, ids.null_count, spec.id_field)
                    fill = pa.array([f"{basename}:{i}" for i in line_nos.tolist()], pa.string())
                    cols[out_names.index(ID)] = pc.if_else(ids.is_null(), fill, ids)
            cols += [pa.array(np.arange(row, row + n, dtype=np.int64)),
                     pa.array([source], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32))),
                     pa.array(line_nos)]
            out_names += [ROW, SOURCE, LINE]
            row += n
            yield pa.Table.from_arrays(cols, names=out_names)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"corrupt Parquet file ({exc})", shown) from None


def to_output_table(batch: pa.RecordBatch, text_field: str, id_field: str) -> pa.Table:
    """The user's columns: id/text under their original names, passthrough and added columns, no __*.

    For JSONL input the passthrough fields come from `__raw`, in the first record's key order (a field
    missing from the input, such as a generated id, is not invented); added columns go last.
    """
    names = batch.schema.names
    extra = [c for c in names if not c.startswith("__") and c not in (ID, TEXT)]
    if RAW in names:
        objs = [orjson.loads(r) for r in batch.column(RAW).to_pylist()]
        try:
            table = pa.Table.from_pylist(objs)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SemelError(f"the input's fields do not fit one Parquet schema ({exc}); "
                             "write JSONL instead") from None
        text = batch.column(TEXT)
        if text_field in table.column_names:
            table = table.set_column(table.column_names.index(text_field), text_field, text)
        else:
            table = table.append_column(text_field, text)
        for c in extra:
            if c in table.column_names:
                table = table.set_column(table.column_names.index(c), c, batch.column(c))
            else:
                table = table.append_column(c, batch.column(c))
        return table
    cols: list[pa.Array] = []
    out: list[str] = []
    for name, col in zip(names, batch.columns, strict=True):
        if name.startswith("__"):
            continue
        name = {ID: id_field, TEXT: text_field}.get(name, name)
        if name in out:
            raise SemelError(f"column '{name}' appears twice in the output")
        cols.append(col)
        out.append(name)
    return pa.Table.from_arrays(cols, names=out)
