"""`semel serve INDEX`: a lookup service over HTTP/1.1 with JSON bodies.

    POST /check  {"text": ...}        -> {"duplicate": bool, "of" (the indexed id), "similarity",
                                          "reason", "why"}
    POST /check  {"texts": [...]}     -> {"results": [one answer per text, in order]}
    POST /add    {"id": ..., "text"}  -> {"added": bool, ...the check's fields}; durable when answered
    GET  /health                      -> {"ok": true, "documents": n}
    GET  /stats                       -> counts, segments, settings

Bound to 127.0.0.1 by default. Any other address needs a token (--token or SEMEL_TOKEN), which every
request must then carry as `Authorization: Bearer TOKEN`.

One event loop (asyncio) reads every connection and answers single checks itself, one after another;
adds (which wait for the log's fsync) and batches of checks run on a small thread pool, so a lookup
never waits for an add (semel.index.live). A thread per connection, as http.server gives, made
concurrent clients fight for the GIL: with four clients on two cores the 99th percentile reached 32 ms
against 7 ms with one (docs/benchmarks.md).
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from semel.errors import SemelError
from semel.index.live import LiveIndex
from semel.index.query import Match

MAX_BODY = 64 << 20
MAX_HEAD = 64 << 10
SLOW_BODY = 256 << 10  # a single check of a longer text runs on the pool
POOL_THREADS = 4
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def answer(match: Match | None, threshold: float) -> dict[str, Any]:
    """A lookup's JSON answer, with the reason in words."""
    if match is None:
        return {"duplicate": False, "of": None, "similarity": None, "reason": None,
                "why": "no indexed document is a copy of it"}
    if match.reason == "exact":
        why = f"exact copy of {match.id!r} (the same words in the same order)"
    else:
        why = (f"near copy of {match.id!r}: weighted similarity {match.similarity:.3f} (threshold "
               f"{threshold}), overlapping like a copy and not like two instances of one template")
    return {"duplicate": True, "of": match.id, "similarity": match.similarity, "reason": match.reason,
            "why": why}


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    keep_alive: bool


Reply = tuple[int, dict[str, Any]]


class Service:
    """The index, the token and the counters; answers requests (whatever thread calls it)."""

    def __init__(self, index: LiveIndex, token: str | None) -> None:
        self.index = index
        self.token = token
        self.started = time.time()
        self.counts = {"check": 0, "add": 0, "added": 0, "errors": 0}
        self.count_lock = threading.Lock()

    def count(self, name: str, n: int = 1) -> None:
        with self.count_lock:
            self.counts[name] += n

    def stats(self) -> dict[str, Any]:
        m = self.index.index.manifest
        return {"documents": self.index.documents, "segments": len(self.index.index.segments),
                "tail_segments": len(self.index.tail), "added_since_start": self.index.added,
                "wal_records": self.index.seq - m.wal_through, "requests": dict(self.counts),
                "uptime_s": round(time.time() - self.started, 1), "settings": m.settings}

    @staticmethod
    def slow(req: Request) -> bool:
        """Does answering wait for a disk (an add's fsync) or take long (a batch, a long text)? Then it
        runs on the pool, not on the loop that reads every connection."""
        if req.method != "POST":
            return False
        return req.path == "/add" or len(req.body) > SLOW_BODY or b'"texts"' in req.body

    def respond(self, req: Request) -> Reply:
        """The status and JSON answer to a request."""
        if self.token is not None and not hmac.compare_digest(
                req.headers.get("authorization", "").encode(), f"Bearer {self.token}".encode()):
            return 401, {"error": "missing or wrong token (Authorization: Bearer TOKEN)"}
        if req.method == "GET":
            if req.path == "/health":
                return 200, {"ok": True, "documents": self.index.documents}
            if req.path == "/stats":
                return 200, self.stats()
            return 404, {"error": f"no such endpoint: GET {req.path}"}
        if req.method != "POST":
            return 405, {"error": f"method {req.method} not allowed (GET or POST)"}
        if req.path not in ("/check", "/add"):
            return 404, {"error": f"no such endpoint: POST {req.path}"}
        body = self._body(req)
        if isinstance(body, tuple):
            self.count("errors")
            return body
        threshold = self.index.index.cfg.threshold
        try:
            if req.path == "/check" and "text" not in body:  # a batch: one sketch for all
                self.count("check", len(body["texts"]))
                return 200, {"results": [answer(m, threshold) for m in self.index.check_many(body["texts"])]}
            if req.path == "/check":
                self.count("check")
                return 200, answer(self.index.check(body["text"]), threshold)
            doc_id = body.get("id")
            if not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
                return 400, {"error": "/add needs an 'id' (string or integer)"}
            self.count("add")
            match = self.index.add(str(doc_id), body["text"])
            if match is None:
                self.count("added")
            return 200, {"added": match is None, **answer(match, threshold)}
        except OSError as exc:  # the log could not be written: not acknowledged
            self.count("errors")
            return 503, {"error": f"not added: {exc.strerror or exc}"}

    @staticmethod
    def _body(req: Request) -> dict[str, Any] | Reply:
        try:
            body = json.loads(req.body)
        except ValueError:
            return 400, {"error": "the body is not valid JSON"}
        texts = body.get("texts") if isinstance(body, dict) else None
        batch = req.path == "/check" and isinstance(texts, list) and all(isinstance(t, str) for t in texts)
        if not isinstance(body, dict) or not (isinstance(body.get("text"), str) or batch):
            return 400, {"error": "the body needs a string field 'text' (or, for /check, 'texts': a list of "
                         "strings)"}
        return body


def encode_reply(status: int, body: dict[str, Any], keep_alive: bool) -> bytes:
    """The whole answer as one buffer (one write, one packet on loopback)."""
    data = json.dumps(body).encode("utf-8")
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n" + ("" if keep_alive else "Connection: close\r\n") + "\r\n")
    return head.encode("latin-1") + data


class BadRequest(Exception):
    """A request that cannot be read: answered with `status` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_head(head: bytes) -> tuple[str, str, dict[str, str], bool]:
    """(method, path, headers, keep-alive) of a request head (without the blank line)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, f"not an HTTP/1.x request line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise BadRequest(400, f"malformed header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if parts[2] == "HTTP/1.1" else connection == "keep-alive"
    return parts[0], parts[1], headers, keep_alive


class Connection(asyncio.Protocol):
    """One client connection: requests parsed from the bytes as they arrive and answered in order (a
    request that runs on the pool holds back the ones pipelined after it)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.continued = False  # sent "100 Continue" for the request being received

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.serve_buffered()

    def serve_buffered(self) -> None:
        while not self.busy and not self.closed:
            try:
                req = self.next_request()
            except BadRequest as exc:
                self.server.service.count("errors")
                self.send(exc.status, {"error": str(exc)}, keep_alive=False)
                return
            if req is None:
                return
            service = self.server.service
            if service.slow(req):
                self.busy = True
                done = self.server.loop.run_in_executor(self.server.pool, self.server.respond, req)
                done.add_done_callback(lambda f, r=req: self.finish(f, r))
            else:
                self.send(*self.server.respond(req), keep_alive=req.keep_alive)

    def finish(self, done: asyncio.Future[Reply], req: Request) -> None:
        self.busy = False
        if not self.closed:
            self.send(*done.result(), keep_alive=req.keep_alive)
            self.serve_buffered()

    def next_request(self) -> Request | None:
        """The next whole request in the buffer, or None until more bytes arrive."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                raise BadRequest(431, f"request head over {MAX_HEAD} bytes")
            return None
        method, path, headers, keep_alive = parse_head(bytes(self.buffer[:end]))
        if "transfer-encoding" in headers:
            raise BadRequest(411, "a JSON body with Content-Length is needed (no chunked bodies)")
        try:
            length = int(headers.get("content-length", "0" if method != "POST" else ""))
        except ValueError:
            raise BadRequest(411, "a JSON body with Content-Length is needed") from None
        if length < 0:
            raise BadRequest(400, "a negative Content-Length")
        if length > MAX_BODY:
            raise BadRequest(413, f"body over {MAX_BODY} bytes")
        start = end + 4
        if len(self.buffer) < start + length:
            if headers.get("expect", "").lower() == "100-continue" and not self.continued:
                self.continued = True
                assert self.transport is not None
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return None
        body = bytes(self.buffer[start:start + length])
        del self.buffer[:start + length]
        self.continued = False
        return Request(method, path, headers, body, keep_alive)

    def send(self, status: int, body: dict[str, Any], keep_alive: bool) -> None:
        assert self.transport is not None
        self.transport.write(encode_reply(status, body, keep_alive))
        if not keep_alive:
            self.closed = True
            self.transport.close()


class Server:
    """The socket, the event loop that reads it, and the pool for slow requests. Bound on creation (so
    `server_address` is known and a taken port fails at once); `serve_forever` runs until `shutdown`."""

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        self.service = service
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(128)
        except OSError:
            self.socket.close()
            raise
        self.server_address = self.socket.getsockname()
        self.pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="semel-serve")
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._stopped = threading.Event()

    def respond(self, req: Request) -> Reply:
        """service.respond, with an unexpected error answered in one line (and logged), never a
        traceback to the client."""
        try:
            return self.service.respond(req)
        except Exception as exc:  # noqa: BLE001 (a server keeps serving)
            self.service.count("errors")
            print(f"semel serve: {req.method} {req.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 500, {"error": f"internal error: {type(exc).__name__}: {exc}"}

    def serve_forever(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self._stopped.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await self.loop.create_server(lambda: Connection(self), sock=self.socket)
        async with server:
            await self._stop.wait()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop serve_forever (from another thread) and wait for it to return."""
        def stop() -> None:
            if self._stop is not None:
                self._stop.set()
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(stop)
            self._stopped.wait(timeout)

    def server_close(self) -> None:
        self.pool.shutdown(wait=True)
        self.socket.close()
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()


def make_server(index_path: str, host: str = "127.0.0.1", port: int = 8765,
                token: str | None = None) -> Server:
    """A server over the index at `index_path` (not yet serving: call serve_forever)."""
    if not is_loopback(host) and not token:
        raise SemelError(f"serving on {host} (not loopback) needs a token: give --token or set SEMEL_TOKEN")
    index = LiveIndex(index_path)
    try:
        return Server((host, port), Service(index, token))
    except OSError:
        index.close()
        raise
