"""One discipline for everything a run writes, whatever the job.

A run opens ``with Outputs(target, ...)`` around its work. While it is open:

- every file the run writes through `atomic_path` (and so every `Writer`, error log and stats file) goes to a
  hidden temporary name beside its target, and nothing is renamed into place until the run succeeds: a
  failed or interrupted run leaves the output folder exactly as it was;
- on success all the run's files are renamed into place together, the files the previous run wrote there
  and this one did not are removed, and the list of this run's files is recorded in a small manifest
  (``OUT/.semel-outputs.json`` for a folder of outputs, ``.NAME.semel-outputs.json`` beside an output
  file), so the folder always holds one run's files, all consistent;
- semel never deletes what it did not create: only names in the previous manifest, and its own temporary
  files left by a killed run (``.NAME.tmp-PID-XXXXXXXX`` whose process is gone);
- an output that is also an input, an input given twice, or an existing folder that semel did not write
  where a folder output goes are refused before any work is done.

`target` is either a folder that holds the outputs (``folder=True``: dedup's OUT) or one output (a file,
or a folder of .txt) with side files named after it (``OUTPUT.errors.jsonl``...). Records skipped by the
readers (every `ErrorLog` made while the run is open) and warnings are gathered here too, so the command
line can list them and warn once per run.
"""
from __future__ import annotations

import json
import os
import re
import signal
import threading
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from semel.errors import InputError, SemelError, SemelWarning, escape
from semel.io.atomic import remove_path

if TYPE_CHECKING:
    from semel.io.errors_log import ErrorLog

MANIFEST = ".semel-outputs.json"
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]{8}(?:\.old)?$")

_stack: list[Outputs] = []
_lock = threading.Lock()
#: The outermost run most recently finished or failed (the CLI words its interrupt message from it).
last: Outputs | None = None


def current() -> Outputs | None:
    """The run open in this process, if any."""
    return _stack[-1] if _stack else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _inside(path: str, folder: str) -> bool:
    return path != folder and path.startswith(folder.rstrip(os.sep) + os.sep)


def check_inputs(paths: Sequence[str]) -> None:
    """Refuse an input given twice (the same file by two names, or a file inside a folder also given):
    its documents would be counted twice and one copy of them lost when writing."""
    seen: dict[str, str] = {}
    folders: list[tuple[str, str]] = []
    for p in paths:
        if p == "-":
            if "-" in seen:
                raise InputError("stdin is given twice", "-")
            seen["-"] = p
            continue
        real = os.path.realpath(p)
        if real in seen:
            also = "" if seen[real] == p else f" (also as {escape(seen[real])})"
            raise InputError(f"given twice{also}; each input is read once", p)
        seen[real] = p
        if os.path.isdir(real):
            folders.append((real, p))
    for real, p in seen.items():
        for folder, given in folders:
            if _inside(real, folder) or (real != folder and _inside(folder, real)):
                raise InputError(f"given twice (it is inside {escape(given)}, also given)", p)


class Outputs:
    """The outputs of one run (see the module docstring)."""

    def __init__(self, target: str, *, folder: bool = False, inputs: Sequence[str] = (),
                 reserved: Sequence[str] = ()) -> None:
        self.target = target
        self.folder = folder
        self.inputs = list(inputs)
        self.reserved = list(reserved)
        self.stdout = target == "-"
        self.pending: list[tuple[str, str]] = []
        self.direct: list[str] = []
        self.logs: list[ErrorLog] = []
        self.notes: dict[str, tuple[int, str]] = {}
        self.committed = False
        self._nested = False
        if self.stdout:
            self.base = ""
        else:
            absolute = os.path.abspath(target)
            self.base = absolute if folder else os.path.dirname(absolute)
            self.name = "" if folder else os.path.basename(absolute.rstrip(os.sep))

    # -------------------------------------------------------------------------------------- ownership
    @property
    def manifest(self) -> str | None:
        if self.stdout:
            return None
        return os.path.join(self.base, MANIFEST if self.folder else f".{self.name}{MANIFEST}")

    def owns(self, path: str) -> bool:
        """Whether `path` is one of this run's outputs (written at the end, not at once)."""
        if self.stdout:
            return False
        absolute = os.path.abspath(path)
        if os.path.dirname(absolute) != self.base:
            return False
        return self._owned_name(os.path.basename(absolute))

    def _owned_name(self, name: str) -> bool:
        if name in ("", ".", "..") or "/" in name or os.sep in name or name.endswith(MANIFEST):
            return False
        if self.folder:
            return True
        return name == self.name or name.startswith(self.name + ".")

    def previous(self) -> list[str]:
        """Names the previous run recorded in the manifest (those still owned by this target's rules)."""
        path = self.manifest
        if path is None:
            return []
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return []
        names = data.get("files") if isinstance(data, dict) else None
        if not isinstance(names, list):
            return []
        return [n for n in names if isinstance(n, str) and self._owned_name(n)]

    # -------------------------------------------------------------------------------------- checks
    def _check(self) -> None:
        if self.stdout:
            return
        real_target = os.path.realpath(self.target)
        if self.folder and os.path.exists(real_target) and not os.path.isdir(real_target):
            raise SemelError(f"{escape(self.target)} is a file; the output is a folder")
        owned = set(self.previous())
        foreign_folder = os.path.isdir(real_target) and self.name not in owned and os.listdir(real_target)
        if not self.folder and foreign_folder:
            raise SemelError(f"{escape(self.target)} is a folder with files semel did not write; give a new "
                             "or empty folder (or a file name)")
        for name in self.reserved:
            path = os.path.join(real_target, name)
            if os.path.isdir(path) and name not in owned and os.listdir(path):
                raise SemelError(f"{escape(os.path.join(self.target, name))} is a folder semel did not "
                                 "write; move it away or write to another folder")
        for given in self.inputs:
            if given == "-":
                continue
            real = os.path.realpath(given)
            if os.path.isdir(real) and (real == real_target or _inside(real_target, real)):
                raise InputError(f"the output {escape(self.target)} would be inside this input folder; "
                                 "write it elsewhere", given)
            if self.folder:
                clash = _inside(real, real_target) and (
                    os.path.relpath(real, real_target).split(os.sep)[0] in owned | set(self.reserved))
            else:
                clash = real == real_target or _inside(real, real_target) or (
                    os.path.dirname(real) == os.path.dirname(real_target)
                    and os.path.basename(real).startswith(os.path.basename(real_target) + "."))
            if clash:
                raise InputError("is also an output of this run; write the output elsewhere", given)

    def _clean_stale_temps(self) -> None:
        """Remove temporary files semel left here when a run was killed (their process is gone)."""
        if self.stdout or not os.path.isdir(self.base):
            return
        for entry in os.listdir(self.base):
            m = TEMP_NAME.match(entry)
            name = m.group("name") if m else ""
            ours = self._owned_name(name) or name == os.path.basename(self.manifest or "")
            if m and ours and not _alive(int(m.group("pid"))):
                remove_path(os.path.join(self.base, entry))

    # -------------------------------------------------------------------------------------- run
    def __enter__(self) -> Outputs:
        with _lock:
            top = _stack[-1] if _stack else None
            if top is not None and (top.target, top.folder) == (self.target, self.folder):
                self._nested = True
                return top
        check_inputs(self.inputs)
        self._check()
        self._new_base = bool(self.base) and not os.path.exists(self.base)
        self._clean_stale_temps()
        with _lock:
            _stack.append(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        global last
        if self._nested:
            return
        with _lock:
            if self in _stack:
                _stack.remove(self)
        last = self
        if exc_type is not None:
            self.discard()
            return
        try:
            self.commit()
        except BaseException:
            self.discard()
            raise
        self.emit_warnings()

    def defer(self, temp: str, path: str) -> None:
        """Rename `temp` onto `path` when the run succeeds (a later write of the same path wins)."""
        with _lock:
            for i, (old_temp, old_path) in enumerate(self.pending):
                if old_path == path:
                    remove_path(old_temp)
                    del self.pending[i]
                    break
            self.pending.append((temp, path))

    def produced(self, path: str) -> None:
        """Record an output that was written in place (not through `atomic_path`) as this run's."""
        with _lock:
            self.direct.append(os.path.basename(os.path.abspath(path)))

    def discard(self) -> None:
        """Drop every file the run wrote: the folder stays as the previous run left it."""
        with _lock:
            pending, self.pending = self.pending, []
        for temp, _ in pending:
            remove_path(temp)
        if getattr(self, "_new_base", False):  # a folder this run made for its outputs, left empty
            try:
                os.rmdir(self.base)
            except OSError:
                pass

    def commit(self) -> None:
        """Move the run's files into place, remove the previous run's leftovers, record the new list.

        If a rename fails (a full disk, a permission), the files already moved are put back as they were:
        the folder holds the previous run's files, untouched."""
        old = self.previous()
        names = [os.path.basename(os.path.abspath(p)) for _, p in self.pending] + self.direct
        for _, path in self.pending:
            name = os.path.basename(os.path.abspath(path))
            if os.path.isdir(path) and not os.path.islink(path) and name not in old and os.listdir(path):
                raise SemelError(f"{escape(path)} is a folder semel did not write; not replacing it")
        manifest = self.manifest
        renames = list(self.pending)
        if manifest is not None and (names or old):  # written first: a full disk fails before any rename
            renames.append((_write_manifest(manifest, names), manifest))
        with _no_interrupt():
            moved: list[tuple[str, str | None, bool]] = []  # (target, the previous file moved aside, renamed)
            try:
                for done, (temp, path) in enumerate(renames):
                    _fault_point(f"commit:{done}")
                    aside = None
                    if os.path.lexists(path):
                        aside = f"{temp}.old"
                        os.replace(path, aside)
                    moved.append((path, aside, False))
                    os.replace(temp, path)
                    moved[-1] = (path, aside, True)
            except BaseException:
                for path, aside, renamed in reversed(moved):
                    if renamed:
                        remove_path(path)
                    if aside is not None:
                        os.replace(aside, path)
                if manifest is not None and renames and renames[-1][1] == manifest:
                    remove_path(renames[-1][0])
                raise
            self.pending = []
            self.committed = True
            for _, aside, _ in moved:
                if aside is not None:
                    remove_path(aside)
            for name in old:
                if name not in names:
                    remove_path(os.path.join(self.base, name))

    # -------------------------------------------------------------------------------------- reporting
    def add_log(self, log: ErrorLog) -> None:
        self.logs.append(log)

    def skipped(self) -> list[tuple[str, int | None, str]]:
        """Every record skipped by this run's readers, once (a job that reads twice logs them twice)."""
        return list(dict.fromkeys(e for log in self.logs for e in log.entries))

    def note(self, kind: str, count: int, message: str) -> None:
        """A warning for the end of the run; `message` may use {n}. Repeated kinds keep the largest count
        (a job that reads its input twice sees the same records twice)."""
        if count <= 0:
            return
        old = self.notes.get(kind)
        if old is None or count > old[0]:
            self.notes[kind] = (count, message)

    def warnings(self) -> list[str]:
        """The run's warnings so far, from its readers and its own notes, one per kind."""
        notes = dict(self.notes)
        for log in self.logs:
            for kind, (count, message) in log.notes.items():
                if kind not in notes or count > notes[kind][0]:
                    notes[kind] = (count, message)
        return [message.format(n=f"{count:,}", s="" if count == 1 else "s")
                for count, message in notes.values()]

    def emit_warnings(self) -> None:
        for message in self.warnings():
            warnings.warn(message, SemelWarning, stacklevel=3)


def adopt(path: str) -> None:
    """Count `path`, written later beside a run's outputs (semel report's report.html), as one of that
    run's files, so the next run into the same place removes it with the rest."""
    absolute = os.path.abspath(path)
    directory, name = os.path.split(absolute)
    candidates = [Outputs(directory, folder=True)]
    candidates += [Outputs(os.path.join(directory, name[: i]))
                   for i in range(len(name)) if name[i] == "." and i > 0]
    for run in candidates:
        manifest = run.manifest
        if manifest is None or not os.path.isfile(manifest) or not run._owned_name(name):
            continue
        names = run.previous()
        if name not in names:
            os.replace(_write_manifest(manifest, [*names, name]), manifest)
        return


def _fault_point(where: str) -> None:
    """SEMEL_KILL_AT=commit:<n> SIGKILLs the run after n of its outputs were renamed (the resume tests)."""
    if os.environ.get("SEMEL_KILL_AT") == where:
        os.kill(os.getpid(), signal.SIGKILL)


def _write_manifest(path: str, names: list[str]) -> str:
    """The manifest listing `names`, written beside `path` under a temporary name (returned)."""
    directory, base = os.path.split(path)
    tmp = os.path.join(directory, f".{base}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"written_by": "semel", "files": names}, f, indent=1)
    except BaseException:
        remove_path(tmp)
        raise
    return tmp


@contextmanager
def _no_interrupt() -> Iterator[None]:
    """Hold Ctrl-C while the outputs are renamed into place (a few renames), then deliver it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda sig, frame: caught.append(sig))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt

