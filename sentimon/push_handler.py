"""The push endpoint's request handling: routing, the checks in order, the two actions (store
a push, render the metrics) and the replies. A stored push is answered ``202 Accepted``
with the id of each item's mention; the model reads it afterwards (``sentimon.pending``).

One handler thread runs per request whose head is complete (``server.PushServer`` gives out the
slots). Every request is checked in the cheapest order before its body is read (route, bearer
token, rate, content type, declared length; ``push_checks``), so a refused sender costs no
body read and no model time. Replies are JSON, always close the connection, and a refused
upload is drained briefly so the sender sees the reply rather than a reset. The token and
request bodies are never logged.
"""

from __future__ import annotations

import io
import json
import logging
import math
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Callable

from sentimon.errors import SentimonError
from sentimon.push_checks import (
    authorized, check_content_type, declared_length, read_body,
)
from sentimon.push_http import BODY_TIMEOUT, DeadlineReader, printable
from sentimon.push_parse import RequestError, parse_body

if TYPE_CHECKING:
    from sentimon.server import PushServer

log = logging.getLogger("sentimon.server")  # one name for the endpoint's lines, as before the split

MENTIONS_PATH = "/v1/mentions"
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SOCKET_TIMEOUT = 15.0      # a client that stalls mid-request is dropped after this long
DRAIN_SECONDS = 1.0        # after an early error, read what the client is still sending


class PushHandler(BaseHTTPRequestHandler):
    server: PushServer
    protocol_version = "HTTP/1.1"  # chunked bodies are legal; still one request per connection
    server_version = "sentimon"
    sys_version = ""
    timeout = SOCKET_TIMEOUT

    def setup(self) -> None:
        """Read on from what the head collector received, within one deadline for the body."""
        super().setup()
        self.rfile.close()
        self.reader = DeadlineReader(
            self.connection, self.server.received(self.request), time.monotonic() + BODY_TIMEOUT
        )
        self.rfile = io.BufferedReader(self.reader)

    # --- routing ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            if self.server.health():
                self._reply(200, {"status": "ok"})
            else:
                self._reply(503, {"status": "failing", "error": "cannot store pushes; see the log"})
        elif path == "/metrics" and self.server.metrics_enabled:
            self._guarded(self._metrics)
        elif path == MENTIONS_PATH:
            self._fail(RequestError(405, "use POST", headers={"Allow": "POST"}))
        else:
            self._unrouted(RequestError(404, "not found"))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == MENTIONS_PATH:
            self._guarded(self._push)
        elif path == "/healthz" or (path == "/metrics" and self.server.metrics_enabled):
            self._unrouted(RequestError(405, "use GET", headers={"Allow": "GET"}))
        else:
            self._unrouted(RequestError(404, "not found"))

    def _other_method(self) -> None:
        self._unrouted(RequestError(405, f"method {self.command} not allowed"))

    def _unrouted(self, exc: RequestError) -> None:
        """Refused before auth (no such route or method): counted in the client's bucket."""
        try:
            self._limit(f"client:{self.client_address[0]}")
        except RequestError as limited:
            exc = limited
        self._fail(exc)

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _other_method

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue`` (curl, for bodies over 1 KB): refuse before the upload."""
        if self.command != "POST" or self.path.split("?", 1)[0] != MENTIONS_PATH:
            return super().handle_expect_100()
        try:
            self._precheck()
        except RequestError as exc:
            self._fail(exc)
            return False
        return super().handle_expect_100()

    # --- the checks -------------------------------------------------------------------------

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            self._precheck()
            action()
        except RequestError as exc:
            self._fail(exc)

    def _precheck(self) -> None:
        """Cheap checks before any of the body is read; run once per request."""
        if getattr(self, "_checked", False):
            return
        self._checked = True
        path = self.path.split("?", 1)[0]
        if authorized(self.headers, self.server.token_digest):
            self._limit("token")  # one bucket per token (there is one token)
        else:
            self._limit(f"client:{self.client_address[0]}")
            raise RequestError(
                401, "missing or wrong bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": 'Bearer realm="sentimon"'},
            )
        if path == MENTIONS_PATH and self.command == "POST":
            check_content_type(self.headers)
            declared_length(self.headers, self.server.max_body)

    def _limit(self, bucket: str) -> None:
        wait = self.server.limiter.take(bucket)
        if wait:
            retry = {"Retry-After": str(math.ceil(wait))}
            raise RequestError(429, "too many requests; slow down", headers=retry)

    def _read_body(self) -> bytes:
        try:
            body = read_body(self.rfile, declared_length(self.headers, self.server.max_body),
                             self.server.max_body)
        except RequestError as exc:
            # A timeout (408) means nothing more is coming: do not wait to drain it.
            self._body_read = exc.status == 408
            raise
        self._body_read = True
        return body

    # --- actions ----------------------------------------------------------------------------

    def _push(self) -> None:
        body = self._read_body()
        mentions = parse_body(body, self.server.source, max_batch=self.server.max_batch,
                              channels=self.server.channels)
        client = self.client_address[0]
        if not self.server.health():
            raise RequestError(
                503, "cannot store pushes now; retry later", headers={"Retry-After": "30"}
            )
        self.server.busy(+1)
        try:
            new, ids = self.server.ingest(mentions)
        except SentimonError as exc:
            log.error("push from %s: could not store %d mentions: %s", client, len(mentions), exc)
            raise RequestError(  # pending: nothing stored; in-request: chunks may be stored
                503, "could not store all the mentions; resend later (an id is stored once)",
                headers={"Retry-After": "30"},
            ) from None
        except Exception:
            log.exception("push from %s: unexpected error storing %d mentions", client,
                          len(mentions))
            raise RequestError(500, "internal error; the mentions were not stored") from None
        finally:
            self.server.busy(-1)
        log.info("push from %s: accepted %d, new %d", client, len(mentions), new)
        if ids is None:  # classified in the request (PushServer(classify_in_request=True))
            self._reply(200, {"accepted": len(mentions), "new": new})
        else:  # stored: the sender is done; the model reads them next (sentimon.pending)
            self._reply(202, {"accepted": len(mentions), "new": new, "pending": new, "ids": ids})

    def _metrics(self) -> None:
        from sentimon.metrics import render

        try:
            with self.server.store_lock:
                text = render(self.server.store(), self.server.counters)
        except SentimonError as exc:
            log.error("metrics: %s", exc)
            raise RequestError(503, "database unavailable") from None
        self._reply(200, text.encode("utf-8"), content_type=PROMETHEUS_TYPE)

    # --- responses --------------------------------------------------------------------------

    def _fail(self, exc: RequestError) -> None:
        level = {401: logging.WARNING, 429: logging.DEBUG}.get(exc.status, logging.INFO)
        where = f" (item {exc.index}, field {exc.field})" if exc.index is not None else ""
        path = printable(self.path.split("?", 1)[0], 100)
        log.log(level, "%s %s from %s refused: %d%s", printable(self.command, 20), path,
                self.client_address[0], exc.status, where)
        self._reply(exc.status, exc.payload(), headers=exc.headers)

    def _reply(
        self, status: int, payload: Any, *, content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        if getattr(self, "path", "").split("?", 1)[0] == MENTIONS_PATH:
            self.server.counters.request(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True
        if status >= 400 and self.command == "POST" and not getattr(self, "_body_read", False):
            self._drain()

    def _drain(self) -> None:
        """Read (and drop) what a refused client is still uploading for a moment, so it sees
        the reply instead of a connection reset."""
        try:
            self.connection.settimeout(0.2)
            deadline = time.monotonic() + DRAIN_SECONDS
            while time.monotonic() < deadline and self.connection.recv(65536):
                pass
        except OSError:
            pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own errors (bad request line, 501), as JSON too."""
        self.close_connection = True
        try:
            self._reply(code, {"error": message or self.responses.get(code, ("error",))[0]})
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        # The base class writes every request line to stderr; sentimon's own lines say enough.
        log.debug("%s %s", self.client_address[0], printable(format % args, 300))
