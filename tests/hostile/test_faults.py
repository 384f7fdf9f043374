"""Faults at every stage boundary and inside writes: a SIGKILL (SEMEL_KILL_AT, as an out-of-memory killer
or a pre-empted node), or a full disk (an injected OSError ENOSPC), then `--resume`: the outputs are
byte-identical to an uninterrupted run's, and no temporary file is left. A full disk is one error line,
and the output folder keeps the previous run's files, untouched."""
from __future__ import annotations

import errno
import importlib
import os
import signal
from collections.abc import Callable
from typing import Any

import pytest

from tests.corpus import make_corpus
from tests.hostile.helpers import cli, listing, one_error, run_semel, write_lines

OUTPUTS = ("clusters.parquet", "kept.jsonl", "errors.jsonl", "rejected.parquet")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, bytes]]:
    """~150 documents with planted copies and two bad records, and the outputs of an uninterrupted run."""
    import json

    docs, _ = make_corpus(n_bases=36, seed=10)
    lines = [json.dumps(d, ensure_ascii=False).encode() + b"\n" for d in docs]
    lines.insert(17, b'{"id": "broken", "text": \n')
    lines.insert(90, b"[1, 2, 3]\n")
    folder = tmp_path_factory.mktemp("faults")
    path = write_lines(str(folder / "corpus.jsonl"), lines)
    clean = str(folder / "clean")
    proc = run_semel(*_args(path, clean))
    assert proc.returncode == 0, proc.stderr
    return path, {name: open(os.path.join(clean, name), "rb").read() for name in OUTPUTS}


def _args(path: str, out: str) -> list[str]:
    return ["dedup", path, "-o", out, "--batch-size", "40", "--workers", "1", "--on-error", "skip", "-q"]


def _same_as_clean(out: str, clean: dict[str, bytes]) -> None:
    files = listing(out)
    for name in OUTPUTS:
        assert files[name] == clean[name], name
    assert not [f for f in files if ".tmp-" in f or f.startswith("_work")], sorted(files)


@pytest.mark.parametrize("kill_at", ["sketch:0", "sketch:2", "sketch", "cluster", "keep", "write:batch",
                                     "write", "commit:0", "commit:2"])
def test_sigkill_then_resume_is_byte_identical(corpus, tmp_path, capsys, kill_at: str) -> None:
    path, clean = corpus
    out = str(tmp_path / "out")
    proc = run_semel(*_args(path, out), env={"SEMEL_KILL_AT": kill_at})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    rc, _, err = cli(capsys, *_args(path, out), "--resume")
    assert rc == 0, err
    _same_as_clean(out, clean)


def _full_disk_on(call: int) -> Callable[..., Any]:
    """A wrapper factory: the `call`-th call of the wrapped function raises ENOSPC."""
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        count = [0]

        def failing(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            if count[0] == call:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[-1]) if args else None)
            return fn(*args, **kwargs)

        return failing
    return wrap


@pytest.mark.parametrize("target,call", [
    ("semel.engines.local:_save_npy", 3),          # a sketch part
    ("semel.engines.workdir:LocalFiles.write_text", 2),  # a stage marker
    ("semel.io.writer:Writer.write_lines", 1),     # the kept documents (JSON lines copied as bytes)
    ("semel.io.errors_log:ErrorLog.write", 2),     # errors.jsonl in OUT (the first goes to the work folder)
    ("os:replace", 5),                             # a rename: of a work file or of an output into place
])
def test_full_disk_is_one_line_then_resume(corpus, tmp_path, capsys, monkeypatch, target: str,
                                           call: int) -> None:
    path, clean = corpus
    out = str(tmp_path / "out")
    # a previous run's outputs in the folder: a failed run must leave them as they were
    stale = write_lines(str(tmp_path / "old.jsonl"), [b'{"id": "old", "text": "an older run"}\n'])
    assert cli(capsys, "dedup", stale, "-o", out, "-q")[0] == 0
    before = listing(out)
    module, _, attribute = target.partition(":")
    owner: Any = importlib.import_module(module)
    *classes, name = attribute.split(".")
    for cls in classes:
        owner = getattr(owner, cls)
    monkeypatch.setattr(owner, name, _full_disk_on(call)(getattr(owner, name)))
    rc, _, err = cli(capsys, *_args(path, out))
    monkeypatch.undo()
    assert rc == 1 and "No space left on device" in one_error(err)
    assert {k: v for k, v in listing(out).items() if not k.startswith("_work/")} == before
    rc, _, err = cli(capsys, *_args(path, out), "--resume")
    assert rc == 0, err
    _same_as_clean(out, clean)
