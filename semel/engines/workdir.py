"""The work directory and stage runner both dedup engines use: one manifest, one resume rule, one fault hook.

A run's stages leave their files under the work directory (default OUT/_work) and a `<stage>/_DONE.json`
marker when they finish. The manifest holds a fingerprint of everything that shapes those files
(settings, batch size, semel's version, the engine, each input's identity), so `--resume` never mixes
runs. The resume rule: `sketch` and `cluster` (work files only) are skipped when their marker exists;
`keep` and `write` always run, because what they make is the user's output, which appears only when the
whole run succeeds. Semel removes only what it put there: a work directory holding anything else is
refused.

File operations go through `Files`: `LocalFiles` here (os, atomic renames), and the Spark engine's
Hadoop-FileSystem implementation for HDFS/S3/GCS paths (semel.engines.spark.fs).
"""
from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any, Protocol

from semel import __version__
from semel.config import DedupConfig
from semel.errors import InputError, SemelError, escape
from semel.io import atomic_path
from semel.io.atomic import remove_path
from semel.io.formats import input_identity
from semel.io.outputs import TEMP_NAME
from semel.stages import StageStats, peak_rss_mb

WORK_STAGES = ("sketch", "cluster", "keep", "write")
#: Stages whose products are work files only: a finished one is skipped on --resume.
RESUMABLE = ("sketch", "cluster")
WORK_MANIFEST = "manifest.json"
DONE_FILE = "_DONE.json"


def fault_point(where: str) -> None:
    """Fault injection for the resume tests: SEMEL_KILL_AT=<stage>, sketch:<batch> or write:batch stops
    the run right after that point: SIGKILL, exactly as an out-of-memory killer or a pre-empted node
    would, or with SEMEL_KILL_HOW=interrupt a KeyboardInterrupt (a lost driver, for in-process tests
    that share a Spark session). commit:<n>, after n outputs were renamed, is in semel.io.outputs."""
    if os.environ.get("SEMEL_KILL_AT") == where:
        if os.environ.get("SEMEL_KILL_HOW") == "interrupt":
            raise KeyboardInterrupt(f"SEMEL_KILL_AT={where}")
        os.kill(os.getpid(), signal.SIGKILL)


class Files(Protocol):
    """The few file operations the work directory needs, on one kind of filesystem."""

    def join(self, root: str, *parts: str) -> str: ...
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def listdir(self, path: str) -> list[str]: ...
    def read_text(self, path: str) -> str | None: ...
    def write_text(self, path: str, text: str) -> None: ...
    def makedirs(self, path: str) -> None: ...
    def delete(self, path: str) -> None: ...


class LocalFiles:
    """`Files` on this machine's filesystem; writes go to a temporary name and are renamed."""

    def join(self, root: str, *parts: str) -> str:
        return os.path.join(root, *parts)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def read_text(self, path: str) -> str | None:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError:
            return None

    def write_text(self, path: str, text: str) -> None:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def delete(self, path: str) -> None:
        remove_path(path)


def write_json(files: Files, path: str, data: dict) -> None:
    files.write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str))


def resume_fingerprint(cfg: DedupConfig, engine: str, inputs: list[Any] | None = None) -> dict:
    """Everything that shapes the work files: the settings, the batch size (the embedded engine's sketch
    parts are batches), semel's version, the engine, and each input's identity (size, time, first and
    last blocks; `inputs` when the engine lists them itself, e.g. on a cluster filesystem)."""
    if inputs is None:
        inputs = [input_identity(p) for p in cfg.inputs]
    return {"settings": cfg.fingerprint(), "batch_size": cfg.batch_size, "version": __version__,
            "engine": engine, "inputs": inputs}


def _fingerprint_change(old: dict, new: dict) -> str | None:
    """What differs between two fingerprints, in words (None when they match)."""
    if old.get("version") != new["version"]:
        return f"semel's version changed ({old.get('version')} then)"
    if old.get("engine") != new["engine"]:
        return f"the engine changed ({old.get('engine')} then)"
    if old.get("settings") != new["settings"]:
        return "the settings changed"
    if old.get("batch_size") != new["batch_size"]:
        return f"--batch-size changed ({old.get('batch_size')} then)"
    old_inputs = old.get("inputs") or []
    if [i[0] for i in old_inputs] != [i[0] for i in new["inputs"]]:
        return "the inputs changed"
    for before, now in zip(old_inputs, new["inputs"], strict=True):
        if list(before) != list(now):
            return f"the input {escape(now[0])} changed (size, time or content)"
    return None


class WorkDir:
    """The work directory of one run: stage markers and the resume fingerprint (see the module doc)."""

    def __init__(self, cfg: DedupConfig, engine: str, files: Files | None = None,
                 inputs: list[Any] | None = None) -> None:
        self.files = files or LocalFiles()
        self.root = cfg.work_dir or self.files.join(cfg.output, "_work")
        if os.path.abspath(self.root) == os.path.abspath(cfg.output):
            raise SemelError("--work-dir must be a folder of its own, not the output folder")
        if isinstance(self.files, LocalFiles):
            real_root = os.path.realpath(self.root)
            for given in cfg.inputs:
                if given != "-" and os.path.realpath(given).startswith(real_root + os.sep):
                    raise InputError("is inside the work folder; move it or give another --work-dir", given)
        fp = resume_fingerprint(cfg, engine, inputs)
        old = self._read_manifest()
        foreign = self._foreign(old is not None)
        if foreign:
            names = ", ".join(escape(n) for n in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise SemelError(f"the work folder {escape(self.root)} holds files semel did not create "
                             f"({names}); give --work-dir a new or empty folder")
        if cfg.resume and old is not None:
            before = old.get("fingerprint") if isinstance(old.get("fingerprint"), dict) else {}
            change = _fingerprint_change(before, fp)
            if change is not None:
                raise SemelError(f"cannot resume: {change} since the interrupted run ({escape(self.root)} "
                                 "was made with other settings or input); drop --resume to start over")
            self.created = bool(old.get("created_root", True))
        else:
            self.created = (bool(old.get("created_root", True)) if old is not None
                            else not self.files.exists(self.root))
            self.clear()
        self.files.makedirs(self.root)
        write_json(self.files, self.path(WORK_MANIFEST),
                   {"written_by": "semel", "fingerprint": fp, "created_root": self.created})

    def _read_manifest(self) -> dict | None:
        text = self.files.read_text(self.path(WORK_MANIFEST))
        try:
            data = json.loads(text) if text is not None else None
        except ValueError:
            return None
        return data if isinstance(data, dict) and "fingerprint" in data else None

    @staticmethod
    def _owned(name: str) -> bool:
        """Semel's own entries: the manifest (or its temporary), the stage folders, and the checksum
        files Hadoop's local filesystem writes beside them (.NAME.crc)."""
        if name.startswith(".") and name.endswith(".crc"):
            name = name[1:-4]
        m = TEMP_NAME.match(name)
        return (name in (WORK_MANIFEST, *WORK_STAGES) or name == WORK_MANIFEST + ".tmp"
                or (m is not None and m.group("name") == WORK_MANIFEST))

    def _foreign(self, has_manifest: bool) -> list[str]:
        """Entries of an existing work folder that semel did not put there."""
        if not self.files.is_dir(self.root):
            return [os.path.basename(self.root)] if self.files.exists(self.root) else []
        return [e for e in self.files.listdir(self.root) if not has_manifest or not self._owned(e)]

    def clear(self) -> None:
        """Remove what semel put in the work folder."""
        if not self.files.is_dir(self.root):
            return
        for entry in self.files.listdir(self.root):
            if self._owned(entry):
                self.files.delete(self.path(entry))

    def remove(self) -> None:
        """Remove what semel put there, and the folder itself if semel made it."""
        self.clear()
        if self.created:
            try:
                if not self.files.listdir(self.root):
                    self.files.delete(self.root)
            except OSError:
                pass

    def path(self, *parts: str) -> str:
        return self.files.join(self.root, *parts)

    def done(self, stage: str) -> dict | None:
        text = self.files.read_text(self.path(stage, DONE_FILE))
        return None if text is None else json.loads(text)

    def mark_done(self, stage: str, info: dict) -> None:
        self.files.makedirs(self.path(stage))
        write_json(self.files, self.path(stage, DONE_FILE), info)


class StageRunner:
    """Runs the named stages of one run under the one resume rule, timing each (StageStats)."""

    def __init__(self, work: WorkDir, resume: bool) -> None:
        self.work = work
        self.resume = resume
        self.stages: list[StageStats] = []

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """fn's result, or the stage's marker when a finished resumable stage is skipped."""
        st = StageStats(name)
        t0 = time.perf_counter()
        done = self.work.done(name) if self.resume and name in RESUMABLE else None
        if done is not None:
            st.resumed = True
            result: Any = done
        else:
            result = fn()
        fault_point(name)
        st.seconds = round(time.perf_counter() - t0, 3)
        st.peak_rss_mb = peak_rss_mb()
        self.stages.append(st)
        return result

    def resumed(self, name: str) -> bool:
        return any(s.name == name and s.resumed for s in self.stages)
