"""What a command-line run does before its job starts, to start sooner."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.abc import MetaPathFinder
from typing import Any


class _NoPandas(MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".", 1)[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def arrow_without_pandas() -> None:
    """pyarrow imports pandas (0.4-0.9 s here) the first time it converts any array, only to ask whether
    the array is a pandas object, and remembers the answer. A command-line run of the embedded engine
    never holds one, so pyarrow is asked once while pandas is hidden. Not for Python callers (they may
    pass DataFrames) nor Spark runs (pyspark converts through pandas)."""
    if "pandas" in sys.modules or os.path.basename(sys.argv[0] if sys.argv else "") not in ("semel",
                                                                                          "semel.exe"):
        return  # the `semel` executable only: a Python process calling semel.cli.main may hold DataFrames
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        import pyarrow as pa

        pa.array([0])  # pyarrow's pandas check runs here, finds none, and keeps that answer
    finally:
        sys.meta_path.remove(finder)


def _set_huge_pages(enabled: bool) -> bool:
    """numpy's own switch (numpy._core.multiarray._set_madvise_hugepage); returns the previous setting.
    Where a numpy lacks it, nothing changes."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # type: ignore[attr-defined]
    except ImportError:
        return enabled
    return bool(_set_madvise_hugepage(enabled))


def numpy_small_pages() -> None:
    """numpy asks Linux for 2 MiB pages (madvise MADV_HUGEPAGE) on every array of 4 MiB or more, which the
    kernel zeroes in full on first touch. semel allocates and frees such arrays per batch and touches
    hash tables sparsely: on the 50k-document news corpus that zeroing was 41% of the run's CPU time and
    sys time fell from 4.4-5.9 s to 1.4 s without it (sketch stage 4.4 s -> 2.2 s). For the `semel` command
    and Spark's worker processes, which run semel only."""
    _set_huge_pages(False)


def reuse_freed_memory() -> None:
    """Keep freed memory in the process for the next batch instead of handing it back to Linux.

    glibc serves blocks of 128 KiB and more (growing to 32 MiB) with fresh mmap'd pages and unmaps them on
    free, and gives the top of its heap back above 128 KiB: every per-batch array then costs a page fault
    and a zeroed page per 4 KiB. On the 200k news corpus that was 470k faults and 2.4-3 s of sys time; with
    these two limits at 1 GiB, 200-260k faults, ~1.5-2 s sys and 0.2-0.5 s of wall time less (alternating
    runs), for a 10-15% higher peak RSS. For the `semel` command only: a Python caller's process keeps its
    allocator settings. No-op where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    for option in (m_mmap_threshold, m_trim_threshold):
        mallopt(ctypes.c_int(option), ctypes.c_int(1 << 30))


@contextmanager
def small_pages() -> Iterator[None]:
    """`numpy_small_pages` for the duration of one job called from Python, the caller's setting restored."""
    previous = _set_huge_pages(False)
    try:
        yield
    finally:
        _set_huge_pages(previous)
