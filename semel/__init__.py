"""semel: find and remove duplicated text at every scale."""
from __future__ import annotations

__version__ = "0.1.0"

from semel.api import RepairResult, RepairSummary, repair, repair_document, repair_file  # noqa: E402

__all__ = ["__version__", "RepairResult", "RepairSummary", "repair", "repair_document", "repair_file"]
