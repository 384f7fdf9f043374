"""Write-then-rename, so a failed or interrupted run never leaves a half-written output behind."""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from semel.errors import SemelError, escape


def _temp_name(path: str) -> str:
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def remove_path(path: str) -> None:
    """Remove a file, link or folder; nothing if it is gone already."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


_remove = remove_path  # the old private name


def commit(temp: str, path: str, replace_folder: bool = False) -> None:
    """Move `temp` (a file or a folder) onto `path`, replacing what was there.

    A folder is replaced by a folder; a non-empty folder is replaced by a file only with `replace_folder`
    (a run that knows it wrote that folder), never by accident.
    """
    if os.path.isdir(temp) and os.path.isdir(path) and not os.path.islink(path):
        aside = _temp_name(path) + ".old"
        os.replace(path, aside)
        os.replace(temp, path)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        if os.path.isdir(path) and not os.path.islink(path):
            if os.listdir(path) and not replace_folder:
                raise SemelError(f"{escape(path)} is a folder; not replacing it with a file")
            shutil.rmtree(path)
        os.replace(temp, path)


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temp path beside `path`; rename it onto `path` on success, delete it on any failure.

    The caller creates a file (or a folder) at the yielded path. Same directory, so the rename is atomic.
    While a run is open (`semel.io.outputs.Outputs`) and `path` is one of its outputs, the rename waits
    for the end of the run, so all of a run's outputs appear together or not at all.
    """
    from semel.io import outputs

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temp = _temp_name(path)
    try:
        yield temp
    except BaseException:
        remove_path(temp)
        raise
    if not os.path.exists(temp):
        raise FileNotFoundError(f"nothing was written to the temporary path for {path}")
    run = outputs.current()
    if run is not None and run.owns(path):
        run.defer(temp, path)
        return
    try:
        commit(temp, path)
    except BaseException:
        remove_path(temp)
        raise
