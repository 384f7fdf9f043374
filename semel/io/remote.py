"""Inputs and outputs named by fsspec URLs (s3://, gs://, az://, hf://, file://, ...) for the embedded engine.

The jobs read and write local files (their readers seek, memory-map and rename), so a run with URLs is
staged: each remote input is copied to a local staging folder (a glob such as ``s3://b/part-*.jsonl``
expands to its matches, in name order; a prefix holding .txt files is copied whole), the job runs on the
local copies with a local output, and on success every output file is uploaded. The staging folder is
``$SEMEL_STAGE_DIR`` or ``~/.cache/semel/stage``, one sub-folder per (inputs, output), so that it is the
same folder when the run is repeated: a killed dedup run keeps its work folder there and `--resume`
continues it; a staged input is not copied again while its size and modification time are unchanged
(the copy takes the remote object's time, so the resume fingerprint sees the same input). The folder is
removed when the run succeeds or fails on bad input, and kept when it is interrupted (or with
`--keep-work`, which keeps dedup's work folder there).

Atomicity: each output file appears whole or not at all. On object stores (S3, GCS, Azure, the Hugging
Face Hub) an upload is one object write that becomes visible only when complete, so files are uploaded
to their final names; elsewhere a file goes to a hidden temporary name and is moved into place. The set
is not atomic on object stores (there is no rename of several objects): the main output (dedup's
clusters.parquet, or the output file itself) is uploaded last, so a reader that waits for it sees the
side files complete; a failed run uploads nothing. Files a previous run left under the output URL and
this one did not write are not removed remotely.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from semel.errors import InputError, SemelError, escape

#: Stores where one upload is one atomic object write (no temporary name needed).
OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "hf"}
GLOB_CHARS = "*?["


def is_url(path: Any) -> bool:
    """Whether `path` names a remote location (``scheme://...``, not file://)."""
    return isinstance(path, str) and "://" in path and not path.startswith("file://")


def local_name(path: str) -> str:
    """file:// URLs as plain paths; everything else unchanged."""
    return path[len("file://"):] if isinstance(path, str) and path.startswith("file://") else path


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem for `url` and the path within it; a one-line error without the extra."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise SemelError(f"{escape(url)}: remote paths need the cloud extra: pip install 'semel[cloud]'") \
            from None
    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as exc:  # an unknown protocol or its package missing
        raise SemelError(f"{escape(url)}: {exc}") from None


def _protocol(fs: Any) -> str:
    protocol = fs.protocol
    return (protocol[0] if isinstance(protocol, tuple | list) else protocol).lower()


def _url(fs: Any, path: str) -> str:
    return fs.unstrip_protocol(path)


def _mtime(info: dict[str, Any]) -> float | None:
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None


@dataclass
class Staging:
    """The local stand-ins of a run's URLs: `inputs` and `output` are local paths to hand to the job."""

    root: str
    inputs: list[str]
    output: str | None
    remote_output: str | None


def stage_root(inputs: list[str], output: str | None) -> str:
    base = os.environ.get("SEMEL_STAGE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "semel",
                                                             "stage")
    key = hashlib.sha256(json.dumps([inputs, output]).encode()).hexdigest()[:16]
    return os.path.join(base, key)


def _download(fs: Any, path: str, target: str) -> None:
    """Copy one remote file to `target` (unless an earlier copy has its size and time), atomically."""
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise InputError("no such file or folder", _url(fs, path)) from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), _url(fs, path)) from None
    mtime = _mtime(info)
    size = info.get("size")
    try:
        st = os.stat(target)
        if st.st_size == size and mtime is not None and abs(st.st_mtime - mtime) < 1e-3:
            return
    except OSError:
        pass
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.part-{uuid.uuid4().hex[:8]}"
    try:
        fs.get_file(path, tmp)
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _stage_input(url: str, folder: str) -> list[str]:
    """Local copies of one input URL (several for a glob; a folder for a prefix of files)."""
    fs, path = filesystem(url)
    if any(c in path for c in GLOB_CHARS):
        matches = sorted(fs.glob(path))
        if not matches:
            raise InputError("no file matches", url)
        return [p for i, m in enumerate(matches) for p in _stage_one(fs, m, os.path.join(folder, str(i)))]
    return _stage_one(fs, path, folder)


def _stage_one(fs: Any, path: str, folder: str) -> list[str]:
    name = path.rstrip("/").rsplit("/", 1)[-1] or "input"
    target = os.path.join(folder, name)
    try:
        is_dir = fs.isdir(path)
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), _url(fs, path)) from None
    if not is_dir:
        _download(fs, path, target)
        return [target]
    base = path.rstrip("/")
    for remote in sorted(fs.find(base)):
        rel = remote[len(base):].lstrip("/")
        _download(fs, remote, os.path.join(target, *rel.split("/")))
    return [target]


def _upload(fs: Any, local: str, remote: str) -> None:
    """One output file to its remote name: one object write on object stores, else temp name + move."""
    if _protocol(fs) in OBJECT_STORES:
        fs.put_file(local, remote)
        return
    parent, name = remote.rsplit("/", 1) if "/" in remote else ("", remote)
    tmp = f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:8]}" if parent else f".{name}.tmp-{uuid.uuid4().hex[:8]}"
    fs.put_file(local, tmp)
    fs.mv(tmp, remote)


def _outputs_of(local: str, folder: bool) -> list[tuple[str, str]]:
    """(local file, path relative to the output URL) of what a run wrote, the main output last."""
    if folder:
        found = []
        for dirpath, dirnames, filenames in os.walk(local):
            dirnames[:] = sorted(d for d in dirnames if d != "_work" and not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue  # semel's own manifest and temporaries
                path = os.path.join(dirpath, name)
                found.append((path, os.path.relpath(path, local).replace(os.sep, "/")))
        found.sort(key=lambda item: item[1] == "clusters.parquet")
        return found
    parent, base = os.path.split(local)
    found = []
    for name in sorted(os.listdir(parent)):
        path = os.path.join(parent, name)
        if name.startswith(base + ".") and os.path.isfile(path):
            found.append((path, name[len(base):]))  # side files: OUTPUT.stats.json, ...
    if os.path.isdir(local):  # a folder of .txt
        found += [(p, "/" + r) for p, r in _outputs_of(local, True)]
    elif os.path.exists(local):
        found.append((local, ""))
    return found


def upload_outputs(staging: Staging, folder: bool) -> None:
    """Every file the run wrote locally, uploaded under the output URL (the main output last)."""
    if staging.remote_output is None or staging.output is None:
        return
    fs, path = filesystem(staging.remote_output)
    base = path.rstrip("/")
    for local, rel in _outputs_of(staging.output, folder):
        remote = f"{base}/{rel}" if folder else base + rel
        _upload(fs, local, remote)


@contextmanager
def staged(inputs: list[str], output: str | None, *, folder: bool) -> Iterator[Staging]:
    """Local stand-ins for the URLs among `inputs` and `output` (see the module docstring); outputs are
    uploaded when the body succeeds. Paths without a scheme pass through untouched."""
    inputs = [local_name(p) for p in inputs]
    output = local_name(output) if output is not None else None
    if not any(is_url(p) for p in inputs) and not is_url(output):
        yield Staging(root="", inputs=inputs, output=output, remote_output=None)
        return
    root = stage_root(inputs, output)
    staging = Staging(root=root, inputs=[], output=output, remote_output=None)
    try:
        for i, given in enumerate(inputs):
            staging.inputs += _stage_input(given, os.path.join(root, "inputs", str(i))) if is_url(given) \
                else [given]
        if is_url(output):
            assert output is not None
            staging.remote_output = output
            name = output.rstrip("/").rsplit("/", 1)[-1] or "out"
            staging.output = os.path.join(root, "output", name)
            os.makedirs(os.path.dirname(staging.output), exist_ok=True)
        yield staging
        upload_outputs(staging, folder)
        if staging.output is not None and os.path.isdir(os.path.join(staging.output, "_work")):
            return  # --keep-work: the work folder stays in the staging folder
    except (KeyboardInterrupt, SystemExit):
        raise  # interrupted: the staging folder stays, for --resume
    except BaseException:
        if not _resumable(staging):
            shutil.rmtree(root, ignore_errors=True)
        raise
    shutil.rmtree(root, ignore_errors=True)


def _resumable(staging: Staging) -> bool:
    """A dedup work folder with finished stages is worth keeping after an I/O error (not bad input)."""
    import sys

    exc = sys.exc_info()[1]
    return isinstance(exc, OSError) and staging.output is not None and \
        os.path.isdir(os.path.join(staging.output, "_work"))
