"""The push endpoint: ``POST /v1/mentions`` for helpdesks, survey tools and shop apps that push.

Standard library only (``ThreadingHTTPServer``, with heads collected by ``push_http``, which
says why not waitress). It is meant to sit on 127.0.0.1 (the default) behind a reverse proxy
that terminates TLS. Each part has its own module: this one is the server (settings, connection
slots, the store, start and shutdown); ``push_http`` the framing and limits (head deadline,
body deadline, chunked decoding, rate buckets); ``push_checks`` the checks on a request (token,
content type, length, body); ``push_handler`` routing and replies; ``push_parse`` JSON to
``Mention``; ``push_ingest`` store. A push is stored *before* the 2xx goes out, so a sender
that saw ``202`` never needs to resend, and one that did not may resend safely (dedup by id).
It is stored pending and classified after the reply by the server's ``PendingWorker``
(``sentimon.pending``), so the reply never waits for the model.

Writes go through one store under a lock: the server starts a thread per request, and a
per-thread store (``App.store()``) would open, and keep, one SQLite connection per request.
On PostgreSQL (``[storage] url``) that store is the process's pool (``App.open_store``); the
metrics, too, read through store methods, so the endpoint runs on either backend.
The model never runs under the lock (nor, by default, in the request at all).
The token and request bodies are never logged.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sentimon.errors import ConfigError, SentimonError
from sentimon.mention import Mention
from sentimon.push_checks import token_digest
from sentimon.push_handler import MENTIONS_PATH, PushHandler  # noqa: F401  (re-export)
from sentimon.push_http import (
    BUSY_REPLY, HEAD_TIMEOUT, MAX_PENDING, RATE_BURST, RATE_PER_SECOND, HeadCollector, RateLimiter,
)
from sentimon.pending import PendingWorker
from sentimon.push_ingest import Turns, store_pending, store_pushed
from sentimon.push_parse import RequestError, parse_body  # noqa: F401  (re-exports)

if TYPE_CHECKING:
    from sentimon.mention_store import MentionStore
    from sentimon.server_settings import ServerSettings

log = logging.getLogger(__name__)

MIN_TOKEN_CHARS = 16       # shorter tokens are guessable (and too short for log masking)
SHUTDOWN_WAIT = 30.0       # how long shutdown waits for requests that are storing
MAX_CONNECTIONS = 64       # requests handled at once (a thread each, head complete); more: 503
_TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class PushServer(ThreadingHTTPServer):
    """The HTTP server, holding what handlers share: settings, limiter, store, counters."""

    daemon_threads = True       # idle connections must not hold up shutdown ...
    block_on_close = False      # ... requests that are storing are waited for in shutdown()

    def __init__(
        self, app: Any, host: str, port: int, *, rate: float = RATE_PER_SECOND,
        burst: int = RATE_BURST, max_connections: int = MAX_CONNECTIONS,
        head_timeout: float = HEAD_TIMEOUT, max_pending: int = MAX_PENDING,
        classify_in_request: bool = False,
    ) -> None:
        """``classify_in_request`` answers ``200`` once the batch is classified and stored,
        as before issue 19 (the push benchmark's "before"); by default it is stored pending,
        answered ``202`` and classified by ``self.worker`` in the background."""
        from sentimon.metrics import Counters

        settings: ServerSettings = app.config.server
        token = settings.token
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
        if not settings.source:
            raise ConfigError(
                f'{app.config.path}: server.source is empty; expected a name such as "webhook"'
            )
        self.app = app
        self.source = settings.source
        self.max_body = settings.max_body_bytes
        self.max_batch = settings.max_batch
        self.channels: tuple[str, ...] = tuple(settings.channels)
        self.metrics_enabled = settings.metrics
        self.token_digest = token_digest(token)
        self.limiter = RateLimiter(rate, burst)
        self.counters = Counters()
        self.store_lock = threading.Lock()
        self.turns = Turns()  # the model, one chunk at a time, in arrival order
        self.classify_in_request = classify_in_request
        self.worker = PendingWorker(app)
        self._store: MentionStore | None = None
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
            self._store = app.open_store()  # now: a bad database fails at start
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
    def waiting(self) -> int:
        """Connections accepted whose head is still arriving (``push_http.HeadCollector``)."""
        return self._heads.waiting

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def store(self) -> MentionStore:
        """The server's one connection (on PostgreSQL, the pool); call with ``store_lock`` held."""
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

    def ingest(self, mentions: list[Mention]) -> tuple[int, list[int] | None]:
        """Store ``mentions`` pending and wake the worker: (new, the id of each item). Or,
        ``classify_in_request``, classify and store them now: (new, None)."""
        started = time.monotonic()
        ids: list[int] | None = None
        if self.classify_in_request:
            new = store_pushed(mentions, store=self.store, lock=self.store_lock,
                               get_classifier=self.app.classifier, turns=self.turns)
        else:
            new, ids = store_pending(mentions, store=self.store, lock=self.store_lock)
            if new:
                self.worker.wake()
        self.counters.classified(len(mentions), new, time.monotonic() - started)
        return new, ids

    def busy(self, delta: int) -> None:
        with self._idle:
            self._busy += delta
            if self._busy == 0:
                self._idle.notify_all()

    def start(self) -> PushServer:
        self.worker.start()  # its first sweep classifies what an earlier run left pending
        self._heads.start()
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.1,), name="push-server", daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop accepting, let batches being stored finish (their senders get their 2xx),
        let the worker finish the batch it is classifying (the rest stays pending), close."""
        if self._thread is not None:
            super().shutdown()
            self._thread.join()
            self._thread = None
            self._heads.stop()
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=SHUTDOWN_WAIT)
        self.server_close()
        self.worker.stop(SHUTDOWN_WAIT)
        with self.store_lock:
            self._closed = True
            if self._store is not None:
                self.app.release_store(self._store)  # on PostgreSQL the pool stays the app's
                self._store = None
