"""What every hostile test checks: a run either succeeds with every document accounted for, or fails with
one `semel: error:` line and leaves its output folder as it was."""
from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

import pyarrow.parquet as pq
import pytest
import zstandard

from semel.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Stdin:
    """A stand-in for sys.stdin (main() reads sys.stdin.buffer)."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `semel ARGV` in this process: (exit status, stdout, stderr). A traceback would raise here."""
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # a misused flag (argparse)
        rc = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return rc, out, err


def run_semel(*argv: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """`python -m semel.cli ARGV` in a child process (for kills and signals)."""
    full_env = dict(os.environ, **(env or {}))
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), ROOT) if p)
    return subprocess.run([sys.executable, "-m", "semel.cli", *map(str, argv)], env=full_env, input=stdin,
                          capture_output=True, timeout=timeout)


def one_error(err: str) -> str:
    """The single `semel: error:` line of a failed run (no traceback, nothing else)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("semel: error: "), err
    assert "Traceback" not in err
    return lines[0]


def listing(folder: str) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too) with its bytes; {} when it does not exist."""
    out: dict[str, bytes] = {}
    if not os.path.isdir(folder):
        return out
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


def write_lines(path: str, lines: Iterable[bytes], codec: str | None = None) -> str:
    data = b"".join(lines)
    if codec == "gzip":
        data = gzip.compress(data, mtime=0)
    elif codec == "zstd":
        data = zstandard.ZstdCompressor(write_checksum=True).compress(data)
    with open(path, "wb") as f:
        f.write(data)
    return path


def records(n: int, prefix: str = "d", words: int = 12) -> list[dict[str, Any]]:
    """n distinct documents (no two near each other)."""
    return [{"id": f"{prefix}{i}", "text": " ".join(f"w{i}x{j}" for j in range(words))} for i in range(n)]


def jsonl(recs: Iterable[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in recs]


def clusters(out: str) -> list[dict[str, Any]]:
    return pq.read_table(os.path.join(out, "clusters.parquet")).to_pylist()


def nonblank(data: bytes) -> int:
    """Records in JSONL bytes as semel counts them: lines that are not blank (a leading BOM ignored)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return sum(1 for line in data.split(b"\n") if line.strip())
