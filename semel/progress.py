"""Progress bars on stderr (rate, and ETA where the total is known) that appear on a terminal or in a
Jupyter notebook (as its widget) and stay silent in pipes, logs and tests."""
from __future__ import annotations

import importlib.util
import sys
from typing import Any

from tqdm import tqdm


def in_notebook() -> bool:
    """Whether we run inside a Jupyter kernel (stderr is no terminal there, yet a bar is wanted)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress(total: float | None = None, desc: str = "", unit: str = "it", enabled: bool | None = None,
             **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr, disabled unless stderr is a terminal or this is a notebook (or `enabled`
    forces it). In a notebook it is tqdm's widget when ipywidgets is installed, text otherwise."""
    notebook = in_notebook()
    if enabled is None:
        enabled = notebook or sys.stderr.isatty()
    if enabled and notebook and importlib.util.find_spec("ipywidgets") is not None:  # else the text bar
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm(total=total, desc=desc, unit=unit, leave=False, **kwargs)
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, leave=False, **kwargs)


def input_total(paths: list[str]) -> tuple[int | None, str]:
    """What a bar over reading the inputs counts to, so it can show an ETA: (rows, "doc") when every input
    is a Parquet file (from the file footers), (bytes, "B") when every input is an uncompressed JSONL file
    (each record's line is counted as it is read), else (None, "doc"): a rate without an ETA."""
    import os

    from semel.io.formats import detect_format, split_compression

    try:
        formats = [detect_format(p) if p != "-" else None for p in paths]
        if paths and all(f == "parquet" for f in formats):
            import pyarrow.parquet as pq

            return sum(pq.ParquetFile(p).metadata.num_rows for p in paths), "doc"
        if paths and all(f == "jsonl" and split_compression(p)[1] is None for p, f in zip(paths, formats,
                                                                                          strict=True)):
            return sum(os.path.getsize(p) for p in paths), "B"
    except Exception:  # an unreadable input: the reader reports it, the bar only loses its ETA
        pass
    return None, "doc"


class ReadingBar:
    """A bar over one pass of reading a collection: it counts documents, or the bytes of their JSONL lines,
    to the total `input_total` finds, so long passes show an ETA (a rate only where there is no total)."""

    def __init__(self, paths: list[str], desc: str, enabled: bool | None) -> None:
        total, self.unit = input_total(paths)
        self.bar = progress(total=total, desc=desc, unit=self.unit, enabled=enabled,
                            unit_scale=self.unit == "B")

    def moved(self, batch: Any) -> int:
        """How far a read batch moves the bar (safe to call from worker threads)."""
        if self.unit == "doc":
            return batch.num_rows
        import pyarrow.compute as pc

        from semel.io.spec import RAW

        return int(pc.sum(pc.binary_length(batch.column(RAW))).as_py() or 0)

    def update(self, *batches: Any) -> None:
        self.bar.update(sum(self.moved(b) for b in batches))

    def close(self) -> None:
        self.bar.close()
