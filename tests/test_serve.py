"""The lookup service on loopback: answers, tokens, concurrent reads while adding, and durability
(kill -9 during adds loses nothing acknowledged and serves nothing half-written)."""
from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

import semel
from semel.client import Client
from semel.config import DedupConfig
from semel.errors import SemelError
from semel.index.build import build_index
from semel.index.wal import WAL_FILE, encode
from semel.serve import make_server
from tests.corpus import make_corpus, make_text, write_jsonl


@pytest.fixture(scope="module")
def base_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict]]:
    root = str(tmp_path_factory.mktemp("serve"))
    docs, _ = make_corpus(30, seed=5, langs=("en", "it", "de"))
    write_jsonl(os.path.join(root, "a.jsonl"), docs)
    cfg = DedupConfig(inputs=[os.path.join(root, "a.jsonl")], output=os.path.join(root, "out"),
                      keep_work=True, progress=False)
    semel.dedup(cfg)
    build_index(os.path.join(root, "out", "_work"), os.path.join(root, "out", "clusters.parquet"), cfg,
                os.path.join(root, "index"))
    return os.path.join(root, "index"), docs


@pytest.fixture
def index_copy(base_index: tuple[str, list[dict]], tmp_path: str) -> str:
    path = str(tmp_path / "index")
    shutil.copytree(base_index[0], path)
    return path


def new_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [make_text(rng, "en", 80) for _ in range(n)]


@pytest.fixture
def server(index_copy: str) -> Iterator[tuple[str, Client]]:
    srv = make_server(index_copy, port=0, token=None)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    host, port = srv.server_address[:2]
    yield index_copy, Client(f"http://{host}:{port}")
    srv.shutdown()
    srv.server_close()
    srv.service.index.close()


def test_check_add_health_stats(server: tuple[str, Client], base_index: tuple[str, list[dict]]) -> None:
    _, client = server
    docs = base_index[1]
    start = client.health()["documents"]
    found = client.check(docs[0]["text"])
    assert found["duplicate"] and found["reason"] == "exact" and found["of"] and "exact copy" in found["why"]
    text = new_texts(1, 1)[0]
    assert client.check(text)["duplicate"] is False
    assert client.add("new-1", text)["added"] is True
    again = client.add("new-2", text + " And one more sentence.")
    assert again["added"] is False and again["of"] == "new-1" and again["reason"] == "near"
    assert client.check(text)["of"] == "new-1"
    many = client.check_many([text, docs[0]["text"], "nothing like anything indexed at all"])
    assert [m["of"] for m in many] == ["new-1", found["of"], None]
    stats = client.stats()
    assert stats["documents"] == start + 1 and stats["requests"]["added"] == 1
    with pytest.raises(SemelError, match="string field 'text'"):
        client._request("POST", "/check", {"txt": "x"})
    with pytest.raises(SemelError, match="no such endpoint"):
        client._request("GET", "/nope")


def test_added_documents_are_seen_by_other_readers(server: tuple[str, Client]) -> None:
    """An index opened elsewhere (semel check, dedup --against) also searches what the log holds."""
    from semel.index.query import Index

    path, client = server
    text = new_texts(1, 9)[0]
    assert client.add("logged-1", text)["added"]
    other = Index(path)
    try:
        match = other.check(text)
        assert match is not None and match.id == "logged-1"
    finally:
        other.close()


def test_reads_while_adding(server: tuple[str, Client], base_index: tuple[str, list[dict]]) -> None:
    """Checks of indexed documents keep answering right while another thread adds."""
    _, client = server
    docs = base_index[1]
    expected = {d["id"]: client.check(d["text"])["of"] for d in docs[:20]}
    errors: list[str] = []
    added: list[str] = []

    def adder() -> None:
        for i, text in enumerate(new_texts(60, 2)):
            if client.add(f"a{i}", text)["added"]:
                added.append(text)

    def reader() -> None:
        for _ in range(3):
            for d in docs[:20]:
                got = client.check(d["text"])["of"]
                if got != expected[d["id"]]:
                    errors.append(f"{d['id']}: {got}")

    threads = [threading.Thread(target=adder)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(added) == 60
    assert all(client.check(t)["duplicate"] for t in added)


def test_one_writer_at_a_time(server: tuple[str, Client]) -> None:
    """A second server, or a dedup --update-index, on an index a server is adding to: refused, one line."""
    path, _ = server
    with pytest.raises(SemelError, match="being written by another process"):
        make_server(path, port=0)


def test_non_loopback_needs_a_token(index_copy: str, tmp_path) -> None:
    with pytest.raises(SemelError, match="needs a token"):
        make_server(index_copy, host="0.0.0.0", port=0)
    with pytest.raises(SemelError, match="not a semel index"):
        make_server(str(tmp_path / "nothing-here"), port=0)


def test_token_is_required_when_set(index_copy: str) -> None:
    srv = make_server(index_copy, port=0, token="s3cret")
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://{}:{}".format(*srv.server_address[:2])
    try:
        with pytest.raises(SemelError, match="token"):
            Client(url).health()
        with pytest.raises(SemelError, match="token"):
            Client(url, token="wrong").check("x")
        assert Client(url, token="s3cret").health()["ok"]
    finally:
        srv.shutdown()
        srv.server_close()
        srv.service.index.close()


def _start(index: str) -> tuple[subprocess.Popen, Client]:
    proc = subprocess.Popen([sys.executable, "-m", "semel.cli", "serve", index, "--port", "0"],
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = re.search(r"http://[\d.]+:(\d+)", line)
    assert m, line
    return proc, Client(f"http://127.0.0.1:{m.group(1)}")


def test_kill_9_during_adds_loses_nothing_acknowledged(index_copy: str) -> None:
    proc, client = _start(index_copy)
    start = client.health()["documents"]
    acked: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def adder(worker: int) -> None:
        c = Client(f"http://{client.host}:{client.port}")
        for i, text in enumerate(new_texts(400, 100 + worker)):
            if stop.is_set():
                return
            try:
                result = c.add(f"w{worker}-{i}", text)
            except SemelError:
                return  # the server died under this request: not acknowledged
            if result["added"]:
                with lock:
                    acked[f"w{worker}-{i}"] = text

    threads = [threading.Thread(target=adder, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    deadline = time.time() + 30
    while len(acked) < 40 and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of adds
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 40
    with open(os.path.join(index_copy, WAL_FILE), "ab") as f:  # and a torn record at the end of the log
        f.write(encode(10**9, {"id": "torn", "text": "half written " * 50})[:-7])

    proc, client = _start(index_copy)
    try:
        assert client.health()["documents"] >= start + len(acked)
        for doc_id, text in acked.items():
            got = client.check(text)
            assert got["duplicate"] and got["of"] == doc_id and got["reason"] == "exact", doc_id
        assert not client.check("half written " * 50)["duplicate"]
        # the log was folded into a segment: a second restart serves the same
        assert client.stats()["wal_records"] == 0
    finally:
        proc.kill()
        proc.wait()
    proc, client = _start(index_copy)
    try:
        assert all(client.check(t)["of"] == i for i, t in list(acked.items())[:10])
    finally:
        proc.kill()
        proc.wait()


def _raw(host: str, port: int, data: bytes, expect_close: bool = True) -> bytes:
    """Send raw bytes; return everything the server sends until it closes (or 2 s of silence)."""
    with socket.create_connection((host, port), timeout=2) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            assert not expect_close, out
        return out


def test_http_edges(server: tuple[str, Client]) -> None:
    """What curl, proxies and broken clients send: each answered in one line, the server keeps serving."""
    _, client = server
    host, port = client.host, client.port
    body = b'{"text": "nothing like anything indexed at all"}'
    post = b"POST /check HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    # two pipelined requests, then one asking to close: three answers in order, then the server closes
    out = _raw(host, port, post + b"\r\n" + body + b"GET /health HTTP/1.1\r\n\r\n"
               + post + b"Connection: close\r\n\r\n" + body)
    assert out.count(b"HTTP/1.1 200 OK") == 3 and b'"ok": true' in out.split(b"HTTP/1.1 200")[2]
    assert out.rstrip().endswith(b'"no indexed document is a copy of it"}')
    # curl sends Expect: 100-continue for bodies over 1 KiB and waits for the go-ahead
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(post + b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(body)
        assert s.recv(100).startswith(b"HTTP/1.1 200 OK")
    assert b"400 Bad Request" in _raw(host, port, b"HELLO\r\n\r\n")
    assert b"400 Bad Request" in _raw(host, port, b"GET /health HTTP/1.1\r\nno colon here\r\n\r\n")
    chunked = b"POST /check HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert b"411 Length Required" in _raw(host, port, chunked)
    assert b"411 Length Required" in _raw(host, port, b"POST /check HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"413" in _raw(host, port, b"POST /check HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (1 << 40))
    assert b"431" in _raw(host, port, b"GET /health HTTP/1.1\r\nX: " + b"y" * (70 << 10))
    assert b"405" in _raw(host, port, b"DELETE /check HTTP/1.1\r\nConnection: close\r\n\r\n")
    # a client that goes away in the middle of a body, and one that sends half a head: no harm done
    _raw(host, port, post + b"\r\n" + body[:10], expect_close=False)
    assert client.check("nothing like anything indexed at all")["duplicate"] is False
    assert client.stats()["requests"]["errors"] == 6  # the unreadable requests


def test_warm_reads_the_index_files_before_serving(index_copy: str) -> None:
    """--warm reads every segment file once (all of their bytes) and then serves as usual."""
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(index_copy) for f in fs
               if os.path.basename(d).startswith("seg-"))
    proc = subprocess.Popen([sys.executable, "-m", "semel.cli", "serve", index_copy, "--port", "0", "--warm"],
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first, second = proc.stderr.readline(), proc.stderr.readline()
        assert f"read {size / 1e9:.2f} GB of index files" in first
        port = re.search(r"http://[\d.]+:(\d+)", second)
        assert port, second
        assert Client(f"http://127.0.0.1:{port.group(1)}").health()["ok"]
    finally:
        proc.kill()
        proc.wait()
    from semel.index.query import Index

    index = Index(index_copy)
    try:
        assert index.read_into_cache() == size > 0
    finally:
        index.close()
