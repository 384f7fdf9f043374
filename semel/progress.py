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
