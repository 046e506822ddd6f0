"""One total deadline for an HTTP request, headers and body together, for ``requests``.

``requests``' timeout is per read: a server sending one byte every couple of seconds never
trips it, and a feed did that for over 100 s with ``timeout = 3``. Here every socket that a
request uses is registered while the request runs, and a timer shuts it down (``SHUT_RDWR``
wakes a blocked ``recv``) when the deadline passes; the caller sees the read fail and
``expired`` set. The connections come from a ``requests`` adapter whose pools use
``_Watched`` connections, so this works for every URL the session fetches, redirects too.
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Iterator

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Watch:
    """The sockets of one request in flight, and whether its deadline passed."""

    def __init__(self) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def register(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


@contextmanager
def deadline(seconds: float) -> Iterator[Watch]:
    """Everything this thread sends and reads through a ``DeadlineAdapter`` inside the block
    is cut off ``seconds`` after it starts."""
    watch = Watch()
    timer = threading.Timer(seconds, watch.expire)
    timer.daemon = True
    previous, _current.watch = getattr(_current, "watch", None), watch
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        _current.watch = previous


class _WatchedMixin:
    def request(self, *args, **kwargs):  # the socket is connected (or reused) here
        try:
            return super().request(*args, **kwargs)  # type: ignore[misc]
        finally:
            watch = getattr(_current, "watch", None)
            if watch is not None:
                watch.register(getattr(self, "sock", None))


class _WatchedHTTP(_WatchedMixin, HTTPConnection):
    pass


class _WatchedHTTPS(_WatchedMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


class DeadlineAdapter(HTTPAdapter):
    """The standard adapter, with connections that ``deadline`` can cut off."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
