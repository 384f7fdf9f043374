"""semel: find and remove duplicated text at every scale."""
from __future__ import annotations

__version__ = "0.1.0"

from semel import errors  # noqa: E402
from semel.api import (  # noqa: E402
    RepairResult,
    RepairSummary,
    dedup,
    repair,
    repair_document,
    repair_file,
)
from semel.config import DedupConfig  # noqa: E402
from semel.result import DedupResult  # noqa: E402

__all__ = ["__version__", "DedupConfig", "DedupResult", "RepairResult", "RepairSummary", "dedup", "errors",
           "repair", "repair_document", "repair_file"]
