"""What a command-line run does before its job starts, to start sooner."""
from __future__ import annotations

import os
import sys
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
