"""semel: find and remove duplicated text at every scale.

`semel.repair` is the function (the kernel module of the same name is imported first, so the function
wins the attribute). Dedup's names load numba and its kernels on first use only, so `semel --help` and
repair-only users do not pay for them.
"""
from __future__ import annotations

import importlib
import os as _os
import signal as _signal
import sys as _sys
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"


def _quiet_interrupt(signum: int, frame: object) -> None:
    """Ctrl-C while the `semel` command is still loading (numba takes a second): one line, no traceback.
    `semel.cli.main` puts Python's own handler back as soon as it starts."""
    _sys.stderr.write("semel: error: interrupted; no output was written\n")
    raise SystemExit(130)


if (_os.path.basename(_sys.argv[0] if _sys.argv else "") in ("semel", "semel.exe")
        and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler):  # not when Ctrl-C is ignored
    _signal.signal(_signal.SIGINT, _quiet_interrupt)

import semel.repair  # noqa: E402, F401  (bind the submodule before the function of the same name)
from semel import errors  # noqa: E402
from semel.api import (  # noqa: E402
    RepairResult,
    dedup,
    lines,
    repair,
    repair_document,
    substrings,
)

_LAZY = {  # name -> (module, attribute): loaded on first use
    "DedupConfig": ("semel.config", "DedupConfig"),
    "DedupResult": ("semel.result", "DedupResult"),
    "ColumnResult": ("semel.result", "ColumnResult"),
    "RepairSummary": ("semel.jobs.repair", "RepairSummary"),
    "repair_file": ("semel.jobs.repair", "repair_file"),
    "Client": ("semel.client", "Client"),
}

__all__ = ["__version__", "Client", "ColumnResult", "DedupConfig", "DedupResult", "RepairResult",
           "RepairSummary", "dedup", "errors", "lines", "repair", "repair_document", "repair_file",
           "substrings"]

if TYPE_CHECKING:
    from semel.client import Client
    from semel.config import DedupConfig
    from semel.jobs.repair import RepairSummary, repair_file
    from semel.result import ColumnResult, DedupResult


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'semel' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
