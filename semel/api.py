"""The Python face of semel: one call per job, mirroring the command line."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from semel.jobs.repair import RepairSummary, repair_file
from semel.repair import DEFAULT_MIN_CHARS, UNITS, RepairResult, Span
from semel.repair import repair as repair_document

if TYPE_CHECKING:  # dedup's modules load numba: imported when dedup() is first called
    from semel.config import DedupConfig
    from semel.result import DedupResult

__all__ = ["DEFAULT_MIN_CHARS", "RepairResult", "RepairSummary", "Span", "dedup", "repair", "repair_document",
           "repair_file"]


def repair(text: str, *, min_chars: int = DEFAULT_MIN_CHARS, units: tuple[str, ...] = UNITS) -> str:
    """The text without paragraphs, lines and sentences written twice in a row (first copies kept).

    >>> semel.repair("This paragraph was scraped twice.\\n\\nThis paragraph was scraped twice.\\n")
    'This paragraph was scraped twice.\\n'

    `semel.repair_document(text)` gives the full result (removed spans, counts); `semel.repair_file`
    repairs a collection (see `semel repair --help`).
    """
    return repair_document(text, min_chars=min_chars, units=units).text


def dedup(inputs: DedupConfig | str | list[str], output: str | None = None, *, engine: str = "local",
          master: str | None = None, conf: list[str] | dict[str, str] | None = None,
          spark: Any = None, **settings: Any) -> DedupResult:
    """Find exact and near-duplicate documents; same settings as `semel dedup` (see DedupConfig).

    >>> result = semel.dedup("corpus.jsonl", "out/", threshold=0.3)   # doctest: +SKIP
    >>> result.clusters.to_pandas()                                   # doctest: +SKIP
    """
    from semel.config import DedupConfig
    from semel.result import DedupResult

    if isinstance(inputs, DedupConfig):
        cfg = inputs
    else:
        if output is None:
            raise TypeError("dedup() needs an output folder")
        cfg = DedupConfig(inputs=[inputs] if isinstance(inputs, str) else list(inputs), output=output,
                          **settings)
    if engine == "spark" or spark is not None:
        from semel.engines.spark import run_dedup as run_spark

        clusters, stats = run_spark(cfg, master=master, conf=conf, spark=spark)
    elif engine == "local":
        from semel.engines.local import run_dedup

        clusters, stats = run_dedup(cfg)
    else:
        raise ValueError(f"engine must be 'local' or 'spark', got {engine!r}")
    return DedupResult(clusters=clusters, stats=stats, output=cfg.output)
