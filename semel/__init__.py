"""semel: find and remove duplicated text at every scale.

`semel.repair` is the function (the kernel module of the same name is imported first, so the function
wins the attribute). Dedup's names load numba and its kernels on first use only, so `semel --help` and
repair-only users do not pay for them.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

import semel.repair  # noqa: E402, F401  (bind the submodule before the function of the same name)
from semel import errors  # noqa: E402
from semel.api import (  # noqa: E402
    RepairResult,
    RepairSummary,
    dedup,
    repair,
    repair_document,
    repair_file,
)

_LAZY = {"DedupConfig": "semel.config", "DedupResult": "semel.result"}

__all__ = ["__version__", "DedupConfig", "DedupResult", "RepairResult", "RepairSummary", "dedup", "errors",
           "repair", "repair_document", "repair_file"]

if TYPE_CHECKING:
    from semel.config import DedupConfig
    from semel.result import DedupResult


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'semel' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
