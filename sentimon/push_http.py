"""HTTP framing and limits for the push endpoint: request heads, bodies, rate buckets, log text.

``ThreadingHTTPServer`` gives every accepted connection a thread, and its timeout is per read,
so a client sending one header byte every few seconds holds a thread (one of the capped
slots) for as long as it likes: 70 such connections starved every genuine sender. Here one
selector thread (``HeadCollector``) reads the heads of all waiting connections, without a
thread each, and each head has one *total* deadline; only a complete head takes a handler
slot. A body is read through ``DeadlineReader``, which turns the per-read timeout into one
deadline for the whole body too.

A maintained server was considered: waitress also reads requests in a selector loop, but its
``channel_timeout`` counts *inactivity* ("has received no data"), so a byte every few
seconds keeps a connection forever, and its ``connection_limit`` (100) is a slot cap like
ours: the same starvation, plus a dependency. What the endpoint needs is the total deadline,
which is small enough to own (``tests/test_push_limits.py`` measures it under attack).
"""

from __future__ import annotations

import io
import math
import queue
import re
import selectors
import socket
import threading
import time
from typing import Callable

HEAD_TIMEOUT = 10.0        # the whole request head (line and headers) must arrive in this time
BODY_TIMEOUT = 60.0        # the whole body, once the head is in (5 MB at about 700 kbit/s)
MAX_HEAD_BYTES = 64 * 1024  # a longer head is refused (431)
MAX_PENDING = 512          # connections whose head is still arriving; more get a 503
RATE_PER_SECOND = 10.0     # sustained requests per bucket
RATE_BURST = 60            # requests a bucket allows at once before 429
_MAX_BUCKETS = 10_000      # rate-limit buckets kept; idle (full) ones are dropped first
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,8}")  # no sign, prefix or underscore; under 4 GiB
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


class FramingError(Exception):
    """The request's framing is wrong (a bad chunk, too big); ``status`` is the reply."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def canned_reply(status: int, reason: str, message: str, headers: str = "") -> bytes:
    """A complete JSON error reply, for connections refused before any handler runs."""
    body = b'{"error": "%s"}' % message.encode()
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s"
        % (status, reason.encode(), headers.encode(), len(body), body)
    )


BUSY_REPLY = canned_reply(503, "Service Unavailable", "server busy; retry later", "Retry-After: 5\r\n")
_SLOW_REPLY = canned_reply(408, "Request Timeout", "request head not received in time")
_LONG_REPLY = canned_reply(431, "Request Header Fields Too Large", "request head too large")


def printable(text: str, limit: int = 200) -> str:
    """``text`` for a log line: control characters (terminal escapes) written as ``\\xNN``."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])


def _send_and_close(sock: socket.socket, reply: bytes) -> None:
    try:
        sock.setblocking(False)
        sock.send(reply)  # best effort: a slow reader does not get to hold us up either
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class HeadCollector:
    """Reads request heads for every waiting connection in one thread; ``dispatch(sock,
    address, received)`` gets each complete head (and any body bytes after it)."""

    def __init__(
        self, dispatch: Callable[[socket.socket, tuple, bytes], None], *,
        deadline: float = HEAD_TIMEOUT, max_pending: int = MAX_PENDING,
        max_head: int = MAX_HEAD_BYTES,
    ) -> None:
        self.dispatch = dispatch
        self.deadline = deadline
        self.max_pending = max_pending
        self.max_head = max_head
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._count = 0
        self._count_lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="push-heads", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Connections accepted whose head is still arriving (no handler thread yet)."""
        return self._count

    def add(self, sock: socket.socket, address: tuple) -> bool:
        """Queue a new connection; False (and nothing kept) when too many are waiting."""
        with self._count_lock:
            if self._count >= self.max_pending or self._stopping:
                return False
            self._count += 1
        self._inbox.put((sock, address, time.monotonic() + self.deadline))
        self._wake()
        return True

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # the buffer is full: the loop is awake anyway
            pass

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        pending: dict[socket.socket, tuple[tuple, float, bytearray]] = {}
        try:
            while not self._stopping:
                while not self._inbox.empty():
                    sock, address, deadline = self._inbox.get()
                    sock.setblocking(False)
                    pending[sock] = (address, deadline, bytearray())
                    selector.register(sock, selectors.EVENT_READ)
                soonest = min((d for _, d, _ in pending.values()), default=time.monotonic() + 1)
                for key, _ in selector.select(max(0.0, min(1.0, soonest - time.monotonic()))):
                    if key.fileobj is self._wake_r:
                        self._drain_wake()
                    else:
                        self._receive(key.fileobj, pending, selector)
                now = time.monotonic()
                for sock in [s for s, (_, d, _) in pending.items() if d <= now]:
                    self._forget(sock, pending, selector)
                    _send_and_close(sock, _SLOW_REPLY)
        finally:
            for sock in list(pending):
                self._forget(sock, pending, selector)
                _send_and_close(sock, BUSY_REPLY)
            selector.close()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _receive(self, sock, pending, selector) -> None:
        address, _, received = pending[sock]
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client gave up
            self._forget(sock, pending, selector)
            sock.close()
            return
        received += data
        end = received.find(b"\r\n\r\n")
        end = received.find(b"\n\n") if end < 0 else end
        if end < 0 and len(received) <= self.max_head:
            return
        self._forget(sock, pending, selector)
        if end < 0 or end > self.max_head:
            _send_and_close(sock, _LONG_REPLY)
            return
        sock.setblocking(True)
        self.dispatch(sock, address, bytes(received))

    def _forget(self, sock, pending, selector) -> None:
        del pending[sock]
        selector.unregister(sock)
        with self._count_lock:
            self._count -= 1


class DeadlineReader(io.RawIOBase):
    """A connection's bytes: first those the collector already read, then the socket's, each
    read given only what is left of one ``deadline`` (``time.monotonic()``): TimeoutError after."""

    def __init__(self, sock: socket.socket, received: bytes, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._received = memoryview(received)
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._received:
            n = min(len(buffer), len(self._received))
            buffer[:n] = self._received[:n]
            self._received = self._received[n:]
            return n
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


def read_chunked(rfile: io.BufferedIOBase, limit: int) -> bytes:
    """A ``Transfer-Encoding: chunked`` body, at most ``limit`` bytes; FramingError if bad.

    A chunk size is 1-8 hex digits and nothing else: ``int(text, 16)`` alone accepts ``-1``,
    ``+5``, ``0x10`` and ``1_0``, and ``read(-1)`` reads to the end of the stream, past the cap."""
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = rfile.readline(1026).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise FramingError(400, "malformed chunked body (bad chunk size)")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > limit:
            raise FramingError(413, f"body over {limit} bytes")
        chunk = rfile.read(size)
        if len(chunk) != size or rfile.readline(3).strip():
            raise FramingError(400, "malformed chunked body (chunk shorter than its size)")
        parts.append(chunk)
    for _ in range(100):  # trailer lines, up to the blank one
        if rfile.readline(8192).strip() == b"":
            break
    return b"".join(parts)


class RateLimiter:
    """A token bucket per key: ``burst`` at once, then ``rate`` per second. The endpoint keys
    authenticated requests by token and everything else (wrong tokens, unknown paths) by
    client address, so a flood of refused requests never spends a genuine sender's bucket."""

    def __init__(
        self, rate: float = RATE_PER_SECOND, burst: int = RATE_BURST, clock=time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token; return 0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > _MAX_BUCKETS:
                    self._forget_idle(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate if self.rate > 0 else 3600.0

    def _forget_idle(self, now: float) -> None:
        full = self.burst / self.rate if self.rate > 0 else math.inf
        for key, (_, last) in list(self._buckets.items()):
            if now - last >= full:
                del self._buckets[key]
        while len(self._buckets) > _MAX_BUCKETS:  # all busy: drop the oldest
            del self._buckets[min(self._buckets, key=lambda k: self._buckets[k][1])]
