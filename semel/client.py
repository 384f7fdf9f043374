"""`semel.Client`: the Python client of `semel serve` (standard library only; one keep-alive connection
per thread, so one client may be shared by threads)."""
from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from semel.errors import SemelError


class Client:
    """>>> c = semel.Client("http://127.0.0.1:8765")       # doctest: +SKIP
    >>> c.add("doc-1", text); c.check(text)["duplicate"]    # doctest: +SKIP
    True
    """

    def __init__(self, url: str = "http://127.0.0.1:8765", token: str | None = None,
                 timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise SemelError(f"the server URL must look like http://HOST:PORT, not {url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (0, 1):  # a kept-alive connection the server closed: reconnect once
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                conn.close()
                self._local.conn = None
                if attempt or path == "/add":  # an add is not retried: it may have been applied
                    raise SemelError(f"cannot reach semel serve at {self.host}:{self.port}: {exc}") from None
        try:
            result = json.loads(payload)
        except ValueError:
            raise SemelError(f"semel serve answered {response.status} with a body that is not JSON") from None
        if response.status != 200:
            raise SemelError(f"semel serve: {result.get('error', response.status)}")
        return result

    def check(self, text: str) -> dict[str, Any]:
        """Is `text` a copy of an indexed document? {duplicate, of, similarity, reason, why}."""
        return self._request("POST", "/check", {"text": text})

    def check_many(self, texts: list[str]) -> list[dict[str, Any]]:
        """Several texts in one request (one sketch pass on the server): one answer each, in order."""
        return self._request("POST", "/check", {"texts": list(texts)})["results"]

    def add(self, doc_id: str | int, text: str) -> dict[str, Any]:
        """Add a document unless it copies an indexed one; durable once this returns. {added, ...}."""
        return self._request("POST", "/add", {"id": doc_id, "text": text})

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/health")

    def stats(self) -> dict[str, Any]:
        return self._request("GET", "/stats")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
