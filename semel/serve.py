"""`semel serve INDEX`: a lookup service over HTTP with JSON bodies (standard library http.server).

    POST /check  {"text": ...}        -> {"duplicate": bool, "of" (the indexed id), "similarity",
                                          "reason", "why"}
    POST /check  {"texts": [...]}     -> {"results": [one answer per text, in order]}
    POST /add    {"id": ..., "text"}  -> {"added": bool, ...the check's fields}; durable when answered
    GET  /health                      -> {"ok": true, "documents": n}
    GET  /stats                       -> counts, segments, settings

Bound to 127.0.0.1 by default. Any other address needs a token (--token or SEMEL_TOKEN), which every
request must then carry as `Authorization: Bearer TOKEN`. One thread per connection (keep-alive):
lookups run in parallel (the kernels release the GIL) and never wait for adds (semel.index.live).
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from semel.errors import SemelError
from semel.index.live import LiveIndex
from semel.index.query import Match

MAX_BODY = 64 << 20
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


class Service:
    """The index, the token and the counters a server shares between its threads."""

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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client reuses one connection
    disable_nagle_algorithm = True  # else a reply's second segment waits for the client's delayed ACK (40 ms)
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        """The whole answer in one write (one system call and one packet on loopback)."""
        data = json.dumps(body).encode("utf-8")
        head = (f"{self.protocol_version} {status} {HTTPStatus(status).phrase}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                + ("Connection: close\r\n" if self.close_connection else "") + "\r\n")
        self.wfile.write(head.encode("latin-1") + data)

    def _authorised(self) -> bool:
        token = self.server.service.token
        if token is None:
            return True
        given = self.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
        self._send(401, {"error": "missing or wrong token (Authorization: Bearer TOKEN)"})
        return False

    def _body(self) -> dict[str, Any] | None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411, {"error": "a JSON body with Content-Length is needed"})
            return None
        if length > MAX_BODY:
            self._send(413, {"error": f"body over {MAX_BODY} bytes"})
            self.close_connection = True
            return None
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, {"error": "the body is not valid JSON"})
            return None
        texts = body.get("texts") if isinstance(body, dict) else None
        batch = self.path == "/check" and isinstance(texts, list) and all(isinstance(t, str) for t in texts)
        if not isinstance(body, dict) or not (isinstance(body.get("text"), str) or batch):
            self._send(400, {"error": "the body needs a string field 'text' (or, for /check, 'texts': a "
                             "list of strings)"})
            return None
        return body

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if not self._authorised():
            return
        service = self.server.service
        if self.path == "/health":
            self._send(200, {"ok": True, "documents": service.index.documents})
        elif self.path == "/stats":
            self._send(200, service.stats())
        else:
            self._send(404, {"error": f"no such endpoint: GET {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorised():
            return
        service = self.server.service
        if self.path not in ("/check", "/add"):
            self._send(404, {"error": f"no such endpoint: POST {self.path}"})
            return
        body = self._body()
        if body is None:
            service.count("errors")
            return
        threshold = service.index.index.cfg.threshold
        try:
            if self.path == "/check" and "text" not in body:  # a batch: one sketch for all
                service.count("check", len(body["texts"]))
                results = [answer(m, threshold) for m in service.index.check_many(body["texts"])]
                self._send(200, {"results": results})
                return
            if self.path == "/check":
                service.count("check")
                self._send(200, answer(service.index.check(body["text"]), threshold))
                return
            doc_id = body.get("id")
            if not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
                self._send(400, {"error": "/add needs an 'id' (string or integer)"})
                return
            service.count("add")
            match = service.index.add(str(doc_id), body["text"])
            if match is None:
                service.count("added")
            self._send(200, {"added": match is None, **answer(match, threshold)})
        except OSError as exc:  # the log could not be written: not acknowledged
            service.count("errors")
            self._send(503, {"error": f"not added: {exc.strerror or exc}"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        self.service = service
        super().__init__(address, Handler)


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
