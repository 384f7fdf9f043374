"""Opening .npy files from several threads at once.

numpy parses a .npy header with `ast.literal_eval`, and CPython 3.11 keeps the AST constructor's recursion
depth per interpreter, not per thread (gh-106905): two threads parsing at once can fail with "SystemError:
AST constructor recursion depth mismatch" (seen in CI, on 3.11.7, in the cluster stage's band loaders).
Headers are therefore parsed one at a time; a memory map's data is read outside the lock, when used."""
from __future__ import annotations

import threading

import numpy as np

_HEADERS = threading.Lock()


def load(path: str, mmap_mode: str | None = None) -> np.ndarray:
    """np.load, safe to call from worker threads (`mmap_mode="r"` maps the data instead of reading it)."""
    with _HEADERS:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
