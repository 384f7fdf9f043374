"""The Python face of semel: one call per job, mirroring the command line.

Each job takes either paths (with an output, as on the command line) or data held in memory: a list of
strings, a pyarrow Table or RecordBatch, a pandas or polars DataFrame, a `datasets.Dataset`. In-memory
data is written to one Parquet file in a temporary folder, the path-based job runs on it there, and the
folder is removed after; results come back in input order (see semel.frames).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from semel.repair import DEFAULT_MIN_CHARS, UNITS, RepairResult, Span
from semel.repair import repair as repair_document

if TYPE_CHECKING:  # the jobs load numba and pyarrow: imported when a job is first called
    from semel.config import DedupConfig
    from semel.jobs.repair import RepairSummary
    from semel.result import ColumnResult, DedupResult

__all__ = ["DEFAULT_MIN_CHARS", "RepairResult", "Span", "dedup", "lines", "repair", "repair_document",
           "substrings"]

ROW_FIELD = "semel_row"  # the input position carried through a column job's temporary files


def _in_memory_kind(data: Any, output: str | None, job: str) -> str | None:
    """The kind of in-memory data, or None for paths (which need an output, except for repair)."""
    from semel import frames

    if isinstance(data, str | os.PathLike) or output is not None:
        return None
    kind = frames.kind_of(data)
    if kind == "list" and data and all(os.path.isfile(t) for t in data[:100]):
        raise TypeError(f"{job}() was given file names and no output: pass an output "
                        f"({job}(paths, 'out/')), or the texts themselves")
    if kind is None:
        raise TypeError(f"{job}() takes paths with an output, a list of strings, a pyarrow Table or "
                        f"RecordBatch, a pandas or polars DataFrame or a datasets.Dataset, not "
                        f"{type(data).__name__}")
    return kind


def repair(data: Any, output: str | None = None, *, text: str = "text", id: str | None = None,
           min_chars: int = DEFAULT_MIN_CHARS, units: tuple[str, ...] = UNITS,
           **settings: Any) -> str | ColumnResult | RepairSummary:
    """Remove paragraphs, lines and sentences written twice in a row (first copies kept).

    A string gives the repaired string:

    >>> semel.repair("This paragraph was scraped twice.\\n\\nThis paragraph was scraped twice.\\n")
    'This paragraph was scraped twice.\\n'

    A collection in memory (list of strings, Arrow, pandas, polars, datasets; `text` names the column)
    gives a ColumnResult: `.text` the repaired column, `.fields` repair_removed_chars, repair_removed and
    repair_stats per document, `.apply(data)` the object with both. Paths with an output run
    `repair_file` (see `semel repair --help`); `semel.repair_document(text)` gives one text's spans.
    """
    if isinstance(data, str) and output is None:
        return repair_document(data, min_chars=min_chars, units=units).text
    from semel.jobs.repair import repair_file

    settings.update(min_chars=min_chars, units=units)
    kind = _in_memory_kind(data, output, "repair")
    if kind is None:
        return _on_paths(repair_file, data, output, _path_fields(text, id, settings))
    if kind == "spark":
        raise TypeError("repair() of a Spark DataFrame: use semel repair --engine spark on its files")
    return _column_job(data, kind, text, id, lambda src, out: repair_file(src, out, **settings))


def lines(data: Any, output: str | None = None, *, text: str = "text", id: str | None = None,
          **settings: Any) -> Any:
    """Remove boilerplate lines found in many documents (see `semel lines --help` for the settings).

    Paths with an output run `semel.jobs.lines.lines_file`; in-memory data gives a ColumnResult (fields
    lines_removed, chars_removed, ..., and `.extra["lines"]`, the removed lines with their counts); a
    Spark DataFrame gives a DataFrame (semel.engines.spark_spans.lines_spark)."""
    from semel.jobs.lines import lines_file

    kind = _in_memory_kind(data, output, "lines")
    if kind is None:
        return _on_paths(lines_file, data, output, _path_fields(text, id, settings))
    if kind == "spark":
        from semel.engines.spark_spans import lines_spark

        return lines_spark(data, text_col=text, **settings)
    return _column_job(data, kind, text, id, lambda src, out: lines_file(src, out, **settings),
                       extra={"lines": ".lines.parquet"})


def substrings(data: Any, output: str | None = None, *, text: str = "text", id: str | None = None,
               **settings: Any) -> Any:
    """Cut long passages that other documents have too (see `semel substrings --help`).

    Paths with an output run `semel.jobs.substrings.substrings_file`; in-memory data gives a ColumnResult
    (fields substrings_removed, substrings_removed_chars); a Spark DataFrame gives a DataFrame
    (semel.engines.spark_spans.substrings_spark)."""
    from semel.jobs.substrings import substrings_file

    kind = _in_memory_kind(data, output, "substrings")
    if kind is None:
        return _on_paths(substrings_file, data, output, _path_fields(text, id, settings))
    if kind == "spark":
        from semel.engines.spark_spans import substrings_spark

        return substrings_spark(data, text_col=text, **settings)
    return _column_job(data, kind, text, id, lambda src, out: substrings_file(src, out, **settings))


def _on_paths(job: Callable[..., Any], data: Any, output: str | None, settings: dict[str, Any]) -> Any:
    """A path-based column job; URLs among the paths are staged locally (semel.io.remote)."""
    from semel.io import remote

    paths = [os.fspath(data)] if isinstance(data, str | os.PathLike) else [os.fspath(p) for p in data]
    with remote.staged(paths, output or "-", folder=False) as staging:
        return job(staging.inputs, staging.output, **settings)


def _path_fields(text: str, id: str | None, settings: dict[str, Any]) -> dict[str, Any]:
    """`text=`/`id=` as the path-based jobs name them (text_field/id_field, which win when given)."""
    settings.setdefault("text_field", text)
    if id is not None:
        settings.setdefault("id_field", id)
    return settings


def _column_job(data: Any, kind: str, text: str, id: str | None, run: Callable[[str, str], Any],
                extra: dict[str, str] | None = None) -> ColumnResult:
    """Run a path-based column job on in-memory data: written to Parquet with each row's position, run,
    read back, mapped onto the input's rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from semel import frames
    from semel.result import ColumnResult

    table = frames.to_arrow(data, kind, text, id)
    table = table.append_column(ROW_FIELD, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    with tempfile.TemporaryDirectory(prefix="semel-") as tmp:
        src, out = os.path.join(tmp, "data.parquet"), os.path.join(tmp, "out.parquet")
        pq.write_table(table, src)
        summary = run(src, out)
        result = pq.read_table(out)
        tables = {name: pq.read_table(out + suffix) for name, suffix in (extra or {}).items()
                  if os.path.exists(out + suffix)}
    for name in ("output", "stats_path", "lines_path", "errors_path", "dropped_path"):
        if hasattr(summary, name):
            setattr(summary, name, None)  # the temporary folder is gone
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[result.column(ROW_FIELD).to_numpy()] = True
    fields = result.drop_columns(["id", "text", ROW_FIELD])
    return ColumnResult(text=result.column("text"), fields=fields, mask=mask, job_summary=summary, kind=kind,
                        text_name=text, extra=tables)


def dedup(data: Any, output: str | None = None, *, text: str = "text", id: str | None = None,
          engine: str = "local", master: str | None = None, conf: list[str] | dict[str, str] | None = None,
          spark: Any = None, **settings: Any) -> DedupResult:
    """Find exact and near-duplicate documents; same settings as `semel dedup` (see DedupConfig).

    `data` is paths (with an `output` folder, as `semel dedup`), a DedupConfig, or a collection in
    memory: a list of strings, a pyarrow Table/RecordBatch, a pandas or polars DataFrame, a
    `datasets.Dataset` (`text` and `id` name the columns; without an id column documents are numbered
    from 0). In memory nothing is written but a temporary folder, removed after:

    >>> result = semel.dedup(df, text="body", threshold=0.3)   # doctest: +SKIP
    >>> result.clusters                                         # the clusters.parquet table  # doctest: +SKIP
    >>> unique = result.kept(df)                                # a DataFrame again          # doctest: +SKIP
    """
    from semel.config import DedupConfig
    from semel.result import DedupResult

    if engine not in ("local", "spark"):
        raise ValueError(f"engine must be 'local' or 'spark', got {engine!r}")
    if isinstance(data, DedupConfig):
        return _run_dedup(data, engine, master, conf, spark)
    kind = _in_memory_kind(data, output, "dedup")
    if kind is None:
        if output is None:
            raise TypeError("dedup() of a path needs an output folder: semel.dedup(path, 'out/'); pass "
                            "in-memory data (a list of strings, a DataFrame, ...) to need none")
        from semel.io import remote

        inputs = [os.fspath(data)] if isinstance(data, str | os.PathLike) else [os.fspath(p) for p in data]
        if engine == "spark" or spark is not None:  # Spark reads URLs itself, through Hadoop
            cfg = DedupConfig(inputs=inputs, output=output, **_path_fields(text, id, settings))
            return _run_dedup(cfg, engine, master, conf, spark)
        with remote.staged(inputs, output, folder=True) as staging:
            cfg = DedupConfig(inputs=staging.inputs, output=staging.output or output,
                              **_path_fields(text, id, settings))
            result = _run_dedup(cfg, engine, master, conf, spark)
        result.output = output
        return result
    if kind == "spark":  # the Spark engine, clusters as a DataFrame
        from semel.spark_frames import dedup_frame

        return dedup_frame(data, text, id, settings, master, conf)
    import pyarrow.parquet as pq

    from semel import frames

    settings["write_kept"] = False
    keep = str(settings.get("keep", "first"))
    extra = (keep.split(":", 1)[1],) if keep.startswith("field:") else ()
    table = frames.to_arrow(data, kind, text, id, extra)
    with tempfile.TemporaryDirectory(prefix="semel-") as tmp:
        path = os.path.join(tmp, "data.parquet")
        pq.write_table(table, path)
        cfg = DedupConfig(inputs=[path], output=os.path.join(tmp, "out"), **settings)
        result = _run_dedup(cfg, engine, master, conf, spark)
    return DedupResult(clusters=result.clusters, stats=result.stats, output=None, kind=kind)


def _run_dedup(cfg: DedupConfig, engine: str, master: str | None, conf: Any, spark: Any) -> DedupResult:
    from semel.result import DedupResult

    clusters, stats = run_engine(cfg, engine, master, conf, spark)
    return DedupResult(clusters=clusters, stats=stats, output=cfg.output)


def run_engine(cfg: DedupConfig, engine: str, master: str | None, conf: Any, spark: Any) -> tuple[Any, Any]:
    """The one place that picks the engine for a dedup run: (clusters table, stats)."""
    if engine == "spark" or spark is not None:
        from semel.engines.spark import run_dedup as run_spark

        return run_spark(cfg, master=master, conf=conf, spark=spark)
    from semel.engines.local import run_dedup
    from semel.startup import small_pages

    with small_pages():
        return run_dedup(cfg)
