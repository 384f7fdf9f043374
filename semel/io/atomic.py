"""Write-then-rename, so a failed or interrupted run never leaves a half-written output behind."""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


def _temp_name(path: str) -> str:
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def commit(temp: str, path: str) -> None:
    """Move `temp` (a file or a folder) onto `path`, replacing what was there."""
    if os.path.isdir(temp) and os.path.isdir(path) and not os.path.islink(path):
        aside = _temp_name(path) + ".old"
        os.replace(path, aside)
        os.replace(temp, path)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        os.replace(temp, path)


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temp path beside `path`; rename it onto `path` on success, delete it on any failure.

    The caller creates a file (or a folder) at the yielded path. Same directory, so the rename is atomic.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temp = _temp_name(path)
    try:
        yield temp
    except BaseException:
        _remove(temp)
        raise
    if not os.path.exists(temp):
        raise FileNotFoundError(f"nothing was written to the temporary path for {path}")
    try:
        commit(temp, path)
    except BaseException:
        _remove(temp)
        raise
