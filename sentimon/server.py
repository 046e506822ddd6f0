"""The push endpoint: ``POST /v1/mentions`` for helpdesks, survey tools and shop apps that push.

Standard library only (``ThreadingHTTPServer``, with heads collected by ``push_http``, which
says why not waitress). It is meant to sit on 127.0.0.1 (the default) behind a reverse proxy
that terminates TLS. Every request is checked in the cheapest order, before the body is read:
route, bearer token (constant time), rate (a token bucket per token for authenticated
requests, per client address for everything refused, so a flood of wrong tokens never spends a
genuine sender's bucket), content type and declared length. The body is then read up to
``max_body_bytes`` within ``BODY_TIMEOUT``, parsed into ``Mention``s (``push_parse``), and
classified and stored (``push_ingest``) *before* the 2xx goes out, so a sender that saw
``200`` never needs to resend, and one that did not may resend safely (dedup by id).

Writes go through one Store under a lock: the server starts a thread per request, and a
per-thread store (``App.store()``) would open, and keep, one SQLite connection per request.
The lock is never held while the model reads, so a small push is not kept behind a large one.
The token and request bodies are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import math
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sentimon.errors import ConfigError, SentimonError
from sentimon.mention import Mention
from sentimon.push_http import (
    BODY_TIMEOUT, BUSY_REPLY, HEAD_TIMEOUT, MAX_PENDING, RATE_BURST, RATE_PER_SECOND,
    DeadlineReader, FramingError, HeadCollector, RateLimiter, printable, read_chunked,
)
from sentimon.push_ingest import Turns, store_pushed
from sentimon.push_parse import RequestError, parse_body  # noqa: F401  (parse_body: re-export)

if TYPE_CHECKING:
    from sentimon.store import Store

log = logging.getLogger(__name__)

MENTIONS_PATH = "/v1/mentions"
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MIN_TOKEN_CHARS = 16       # shorter tokens are guessable (and too short for log masking)
SOCKET_TIMEOUT = 15.0      # a client that stalls mid-request is dropped after this long
DRAIN_SECONDS = 1.0        # after an early error, read what the client is still sending
SHUTDOWN_WAIT = 30.0       # how long shutdown waits for requests that are storing
MAX_CONNECTIONS = 64       # requests handled at once (a thread each, head complete); more: 503
_TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def _digest(value: str) -> bytes:
    # Comparing fixed-length digests keeps even the token's length out of the timing.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


class PushServer(ThreadingHTTPServer):
    """The HTTP server, holding what handlers share: settings, limiter, store, counters."""

    daemon_threads = True       # idle connections must not hold up shutdown ...
    block_on_close = False      # ... requests that are storing are waited for in shutdown()

    def __init__(
        self, app: Any, host: str, port: int, *, rate: float = RATE_PER_SECOND,
        burst: int = RATE_BURST, max_connections: int = MAX_CONNECTIONS,
        head_timeout: float = HEAD_TIMEOUT, max_pending: int = MAX_PENDING,
    ) -> None:
        from sentimon.metrics import Counters

        settings = app.config.server
        token = settings.get("token") or ""
        if not token:
            raise ConfigError(
                f"{app.config.path}: server.token is empty; the push endpoint always needs a "
                'bearer token: set token = "${SENTIMON_PUSH_TOKEN}" in [server] and export a long '
                f"random value, e.g. from: {_TOKEN_HINT}"
            )
        if len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"{app.config.path}: server.token is {len(token)} characters; use at least "
                f"{MIN_TOKEN_CHARS} ({_TOKEN_HINT})"
            )
        if not settings.get("source"):
            raise ConfigError(
                f'{app.config.path}: server.source is empty; expected a name such as "webhook"'
            )
        self.app = app
        self.source: str = settings["source"]
        self.max_body: int = settings["max_body_bytes"]
        self.max_batch: int = settings["max_batch"]
        self.channels: tuple[str, ...] = tuple(settings.get("channels") or ())
        self.metrics_enabled: bool = bool(settings.get("metrics"))
        self.token_digest = _digest(token)
        self.limiter = RateLimiter(rate, burst)
        self.counters = Counters()
        self.store_lock = threading.Lock()
        self.turns = Turns()  # the model, one chunk at a time, in arrival order
        self._store: Store | None = None
        self._busy = 0
        self._failing = False
        self._closed = False
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(max_connections)
        self._received: dict[int, bytes] = {}  # id(socket) -> its head, for the handler
        self._heads = HeadCollector(self._dispatch, deadline=head_timeout, max_pending=max_pending)
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, port), PushHandler)
        except OSError as exc:
            reason = exc.strerror or exc
            raise SentimonError(f"push endpoint: cannot listen on {host}:{port}: {reason}") from exc
        try:
            self._store = app.open_store()  # now, so a bad database fails at start
        except SentimonError:
            self.server_close()
            raise

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up in DNS (getfqdn); nothing here needs that.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        """A new connection waits, without a thread, until its head is in (``push_http``)."""
        if not self._heads.add(request, client_address):
            self._refuse_busy(request)

    def _dispatch(self, request: socket.socket, client_address: Any, received: bytes) -> None:
        """A complete head: a handler thread, but only so many at once (else 503)."""
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(request)
            return
        self._received[id(request)] = received
        super().process_request(request, client_address)

    def _refuse_busy(self, request: socket.socket) -> None:
        try:
            request.sendall(BUSY_REPLY)
        except OSError:
            pass
        self.shutdown_request(request)

    def received(self, request: socket.socket) -> bytes:
        """What the head collector read from this connection (the handler reads on from it)."""
        return self._received.pop(id(request), b"")

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is routine; anything else is a bug worth a traceback in the
        log (the base class prints it to stderr, past the log's secret masking)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            log.debug("connection from %s: %s", client_address[0], type(exc).__name__)
        else:
            log.error("push endpoint: error handling a request from %s", client_address[0],
                      exc_info=exc)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def store(self) -> Store:
        """The server's one connection; call with ``store_lock`` held."""
        if self._closed:
            raise SentimonError("the push endpoint is shutting down")
        if self._store is None:
            self._store = self.app.open_store()
        return self._store

    def health(self) -> bool:
        """Whether pushes can be stored now (the database file is the one opened). The
        reason is logged once when it starts, not told to unauthenticated callers."""
        try:
            with self.store_lock:
                self.store().check_file()
        except SentimonError as exc:
            if not self._failing:
                log.error("push endpoint not accepting: %s", exc)
            self._failing = True
            return False
        self._failing = False
        return True

    def ingest(self, mentions: list[Mention]) -> int:
        """Classify outside ``store_lock``, write under it (``push_ingest`` says why)."""
        started = time.monotonic()
        new = store_pushed(mentions, store=self.store, lock=self.store_lock,
                           get_classifier=self.app.classifier, turns=self.turns)
        self.counters.classified(len(mentions), new, time.monotonic() - started)
        return new

    def busy(self, delta: int) -> None:
        with self._idle:
            self._busy += delta
            if self._busy == 0:
                self._idle.notify_all()

    def start(self) -> PushServer:
        self._heads.start()
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.1,), name="push-server", daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop accepting, let batches being stored finish (their senders get their 2xx), close."""
        if self._thread is not None:
            super().shutdown()
            self._thread.join()
            self._thread = None
            self._heads.stop()
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=SHUTDOWN_WAIT)
        self.server_close()
        with self.store_lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
                self._store = None


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

    def _guarded(self, action) -> None:
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
        if self._authorized():
            self._limit("token")  # one bucket per token (there is one token)
        else:
            self._limit(f"client:{self.client_address[0]}")
            raise RequestError(
                401, "missing or wrong bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": 'Bearer realm="sentimon"'},
            )
        if path == MENTIONS_PATH and self.command == "POST":
            self._check_content_type()
            self._declared_length()

    def _authorized(self) -> bool:
        values = self.headers.get_all("Authorization") or []
        scheme, _, presented = (values[0] if len(values) == 1 else "").strip().partition(" ")
        # The digest comparison runs for every request, token or not, so timing tells nothing.
        good = hmac.compare_digest(_digest(presented.strip()), self.server.token_digest)
        return good and scheme.lower() == "bearer"

    def _limit(self, bucket: str) -> None:
        wait = self.server.limiter.take(bucket)
        if wait:
            retry = {"Retry-After": str(math.ceil(wait))}
            raise RequestError(429, "too many requests; slow down", headers=retry)

    def _check_content_type(self) -> None:
        media, _, params = (self.headers.get("Content-Type") or "").partition(";")
        media = media.strip().lower()
        charset = next((p.split("=", 1)[1].strip().strip('"').lower() for p in params.split(";")
                        if p.strip().lower().startswith("charset=")), "utf-8")
        json_like = media.startswith("application/") and media.endswith("+json")
        if media != "application/json" and not json_like:
            raise RequestError(415, "expected Content-Type: application/json")
        if charset not in ("utf-8", "utf8"):
            raise RequestError(415, "expected UTF-8 JSON (charset=utf-8)")

    def _declared_length(self) -> int | None:
        """The Content-Length, checked against the cap; None for a chunked body."""
        lengths = self.headers.get_all("Content-Length") or []
        if len(set(lengths)) > 1:
            raise RequestError(400, "conflicting Content-Length headers")
        length = lengths[0] if lengths else None
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if chunked and length is not None:
            raise RequestError(400, "both Content-Length and Transfer-Encoding sent")
        if chunked:
            return None
        if length is None:
            raise RequestError(411, "Content-Length required")
        if not length.strip().isdigit():
            raise RequestError(400, "Content-Length is not a number")
        if int(length) > self.server.max_body:
            raise RequestError(413, f"body of {int(length)} bytes; at most {self.server.max_body}")
        return int(length)

    def _read_body(self) -> bytes:
        length = self._declared_length()
        try:
            body = (read_chunked(self.rfile, self.server.max_body) if length is None
                    else self.rfile.read(length))
        except TimeoutError:
            self._body_read = True  # nothing more is coming; do not wait to drain it
            raise RequestError(408, f"body not received within {BODY_TIMEOUT:.0f}s") from None
        except FramingError as exc:
            raise RequestError(exc.status, str(exc)) from None
        if length is not None and len(body) != length:
            raise RequestError(400, "body shorter than its Content-Length")
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
            new = self.server.ingest(mentions)
        except SentimonError as exc:
            log.error("push from %s: could not store %d mentions: %s", client, len(mentions), exc)
            raise RequestError(  # chunks before the failure may be stored (push_ingest)
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
        self._reply(200, {"accepted": len(mentions), "new": new})

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
