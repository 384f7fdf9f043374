"""Progress bars that appear on a terminal and stay silent in pipes, logs and tests."""
from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress(total: float | None = None, desc: str = "", unit: str = "it", enabled: bool | None = None,
             **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr, disabled unless stderr is a terminal (or `enabled` forces it)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, leave=False, **kwargs)
