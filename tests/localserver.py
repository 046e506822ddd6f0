"""A small threaded HTTP server on 127.0.0.1 that replays canned responses and records requests.

Connector tests point real clients (praw, requests, feedparser input) at it instead of the
internet. Routes are matched on method, path and (optionally) a subset of query parameters;
each route holds a queue of replies, served in order, the last one repeating, so "500 then
success" is ``server.add("/feed", Reply(500), Reply(200, body))``. A reply may also be a
function of the request, for sources whose answer depends on parameters.

    with LocalServer() as server:
        server.add("/x", Reply.json({"ok": True}))
        requests.get(server.url + "/x")
        assert server.requests[0].path == "/x"

``local_server`` is a pytest fixture, made available to every test module by conftest.py.
``cassette_routes`` loads a betamax cassette (PRAW's recordings) into such routes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Reply:
    """One canned response; ``delay`` (seconds) before answering simulates a slow server."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> "Reply":
        return cls(
            status, json.dumps(data), {"Content-Type": "application/json", **(headers or {})}
        )


@dataclass
class Request:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


Responder = Reply | Callable[[Request], Reply]


@dataclass
class _Route:
    method: str
    path: str
    query: dict[str, str | None]
    replies: list[Responder]

    def matches(self, request: Request) -> bool:
        if request.method != self.method or request.path.rstrip("/") != self.path.rstrip("/"):
            return False
        for key, value in self.query.items():
            if value is None:  # the parameter must be absent
                if key in request.query:
                    return False
            elif request.query.get(key) != value:
                return False
        return True


class LocalServer:
    """Threaded server bound to 127.0.0.1 on a free port (or ``port``, so a service can be down
    and come back at the same URL); ``url`` has no trailing slash."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Request] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def add(
        self,
        path: str,
        *replies: Responder,
        method: str = "GET",
        query: dict[str, str | None] | None = None,
    ) -> None:
        """Route ``method path`` to ``replies``; later routes win over earlier ones."""
        with self._lock:
            self._routes.insert(
                0, _Route(method, path, dict(query or {}), list(replies) or [Reply()])
            )

    def clear(self) -> None:
        with self._lock:
            self._routes.clear()
            self.requests.clear()

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def _reply_for(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            for route in self._routes:
                if route.matches(request):
                    responder = route.replies.pop(0) if len(route.replies) > 1 else route.replies[0]
                    break
            else:
                return Reply.json(
                    {"error": f"no route for {request.method} {request.path}"}, status=404
                )
        return responder(request) if callable(responder) else responder

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={
                        k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()
                    },
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length) if length else b"",
                )
                reply = server._reply_for(request)
                if reply.delay:  # not time.sleep: tests patch that to skip backoff waits
                    threading.Event().wait(reply.delay)
                body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD" and reply.status not in (204, 304):
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        return Handler

    def __enter__(self) -> "LocalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


# Response headers of a recording that must not be replayed as they were.
_HOP_HEADERS = {
    "content-length",
    "transfer-encoding",
    "connection",
    "content-encoding",
    "set-cookie",
}


def cassette_routes(path: Path) -> list[tuple[str, str, dict[str, str | None], Reply]]:
    """(method, path, query, reply) for every interaction of a betamax cassette, so a test
    serves Reddit's recorded answers. Query keys that shape the listing (``before``,
    ``after``) are kept for matching; the rest (limit, raw_json, ...) are ignored."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    routes = []
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        parts = urlsplit(request["uri"])
        query: dict[str, str | None] = {"before": None, "after": None}  # absent unless recorded
        query.update({k: v[-1] for k, v in parse_qs(parts.query).items() if k in query})
        headers = {
            k: v[-1] for k, v in response["headers"].items() if k.lower() not in _HOP_HEADERS
        }
        body = response["body"].get("string", "")
        routes.append(
            (request["method"], parts.path, query, Reply(response["status"]["code"], body, headers))
        )
    return routes
