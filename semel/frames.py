"""In-memory data for the Python API: list[str], Arrow, pandas, polars and Hugging Face `datasets` objects.

The jobs read files, so the API turns a data object into one Parquet file of the columns a job needs
(`to_arrow`), runs the path-based job in a temporary folder and maps its results back onto the object
(`take_rows`, `with_columns`): rows stay in input order, since every job numbers documents by their place
in the input. pandas, polars and datasets are recognised by the module their type comes from and are
never imported here unless the caller passed such an object.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semel.errors import SemelError

KINDS = ("list", "arrow", "batch", "pandas", "polars", "datasets", "spark")


def kind_of(data: Any) -> str | None:
    """Which kind of in-memory collection `data` is, or None (a path or something semel cannot take)."""
    if isinstance(data, pa.Table):
        return "arrow"
    if isinstance(data, pa.RecordBatch):
        return "batch"
    if isinstance(data, list | tuple) and all(isinstance(t, str) for t in data):
        return "list"
    root = type(data).__module__.split(".", 1)[0]
    name = type(data).__name__
    if root == "pandas" and name == "DataFrame":
        return "pandas"
    if root == "polars" and name == "DataFrame":
        return "polars"
    if root == "datasets" and name == "Dataset":
        return "datasets"
    if root == "pyspark" and name == "DataFrame":
        return "spark"
    return None


def _columns(data: Any, kind: str) -> list[str]:
    if kind in ("arrow", "batch"):
        return list(data.schema.names)
    if kind == "pandas":
        return [str(c) for c in data.columns]
    if kind == "polars":
        return list(data.columns)
    if kind == "datasets":
        return list(data.column_names)
    return []


def _select(data: Any, kind: str, names: list[str]) -> pa.Table:
    """The named columns of `data` as an Arrow table, in row order."""
    if kind == "arrow":
        return data.select(names)
    if kind == "batch":
        return pa.Table.from_batches([data]).select(names)
    if kind == "pandas":
        return pa.Table.from_pandas(data[names], preserve_index=False)
    if kind == "polars":
        return data.select(names).to_arrow()
    # datasets: the arrow view respects a selection or shuffle made on the Dataset (its indices mapping)
    return data.select_columns(names).with_format("arrow")[:]


def to_arrow(data: Any, kind: str, text: str, id: str | None, extra: tuple[str, ...] = ()) -> pa.Table:
    """`data` as a table of `id` (string), `text` (large_string) and the `extra` columns, ready to be
    written as a job's input. Without an id column (`id=None` and none named "id") documents get their
    0-based position as id."""
    n_rows = len(data) if kind != "batch" else data.num_rows
    if kind == "list":
        texts = pa.array(list(data), pa.large_string())
        return pa.table({"id": pa.array([str(i) for i in range(n_rows)], pa.string()), "text": texts})
    names = _columns(data, kind)
    if text not in names:
        raise SemelError(f"no text column {text!r} in the data (columns: {', '.join(names[:10])}); "
                         "pass text=NAME")
    if id is None and "id" in names and text != "id":
        id = "id"
    if id is not None and id not in names:
        raise SemelError(f"no id column {id!r} in the data; pass id=NAME or id=None")
    wanted = [text] + ([id] if id is not None and id != text else []) + [c for c in extra if c in names]
    table = _select(data, kind, list(dict.fromkeys(wanted)))
    texts = table.column(text)
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        raise SemelError(f"text column {text!r} has type {texts.type}, not string")
    if texts.null_count:
        first = int(np.flatnonzero(texts.is_null().to_numpy(zero_copy_only=False))[0])
        raise SemelError(f"text column {text!r} has {texts.null_count} missing values (the first at row "
                         f"{first}); drop or fill them first")
    if id is None:
        ids: pa.ChunkedArray | pa.Array = pa.array([str(i) for i in range(n_rows)], pa.string())
    else:
        ids = table.column(id)
        if not pa.types.is_string(ids.type):
            ids = pc.cast(ids, pa.string())
    columns = {"id": ids, "text": texts.cast(pa.large_string())}
    for name in extra:
        if name in table.schema.names and name not in columns:
            columns[name] = table.column(name)
    return pa.table(columns)


def length(data: Any, kind: str) -> int:
    return data.num_rows if kind in ("arrow", "batch") else len(data)


def take_rows(data: Any, kind: str, mask: np.ndarray) -> Any:
    """`data` filtered to the rows where `mask` is true, in order, as the same kind of object."""
    if length(data, kind) != len(mask):
        raise SemelError(f"the data has {length(data, kind):,} rows but the result is for {len(mask):,}; "
                         "pass the object the result was computed on")
    if kind == "list":
        return type(data)(t for t, keep in zip(data, mask, strict=True) if keep)
    if kind in ("arrow", "batch"):
        return data.filter(pa.array(mask))
    if kind == "pandas":
        return data[mask]
    if kind == "polars":
        import polars as pl

        return data.filter(pl.Series(mask))
    return data.select(np.flatnonzero(mask))


def with_columns(data: Any, kind: str, mask: np.ndarray, text: str, columns: pa.Table) -> Any:
    """The rows of `data` where `mask` is true, with `columns` (one row per kept row) set in place of or
    beside its own; for a list, the texts of `columns[text]`."""
    rows = take_rows(data, kind, mask)
    if kind == "list":
        return type(data)(columns.column(text).to_pylist())
    if kind == "arrow":
        for name in columns.schema.names:
            i = rows.schema.get_field_index(name)
            if i < 0:
                rows = rows.append_column(name, columns.column(name))
            else:  # the column's own type (string stays string)
                rows = rows.set_column(i, name, columns.column(name).cast(rows.schema.field(i).type))
        return rows
    if kind == "batch":
        return with_columns(pa.Table.from_batches([rows]), "arrow", np.ones(rows.num_rows, bool), text,
                            columns).combine_chunks().to_batches()[0] if rows.num_rows else rows
    if kind == "pandas":
        rows = rows.copy()
        for name in columns.schema.names:
            rows[name] = columns.column(name).to_pandas().to_numpy()
        return rows
    if kind == "polars":
        import polars as pl

        return rows.with_columns([pl.from_arrow(columns.column(name)).alias(name)
                                  for name in columns.schema.names])
    table = rows.with_format("arrow")[:]  # datasets: set the columns on its Arrow table, in place
    return type(rows)(with_columns(table, "arrow", np.ones(table.num_rows, bool), text, columns))
