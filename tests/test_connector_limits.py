"""A hostile feed cannot hang or bloat a connector (issue 14, item 6): every fetch has a total
deadline, a body cap and a redirect limit, against real servers on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.http import HTTP_SETTINGS, HttpClient
from sentimon.errors import ConnectorError


class Hostile(BaseHTTPRequestHandler):
    """/trickle-head and /trickle-body send a byte every 0.3 s; /huge streams 40 MB;
    /loop redirects to itself; /small is a fine 1 KB answer."""

    protocol_version = "HTTP/1.1"
    sent: dict[str, int] = {}

    def do_GET(self) -> None:
        stop = time.monotonic() + 20  # every answer ends by itself
        try:
            if self.path == "/trickle-head":
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                    if time.monotonic() > stop:
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.3)
            elif self.path == "/trickle-body":
                self._head(200, 500)
                for _ in range(500):
                    if time.monotonic() > stop:
                        return
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.3)
            elif self.path == "/huge":
                size, chunk = 40 * 1024 * 1024, b"y" * 65536
                self._head(200, size)
                sent = 0
                while sent < size:
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    Hostile.sent["/huge"] = sent
            elif self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._head(200, 1024)
                self.wfile.write(b"z" * 1024)
        except OSError:
            pass

    def _head(self, status: int, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hostile():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/trickle-head", "/trickle-body"])
def test_a_trickling_feed_fails_at_the_total_deadline(hostile, path):
    http = HttpClient("feed", timeout=3, retries=0, deadline=2.0, sleep=lambda s: None)
    began = time.monotonic()
    with pytest.raises(ConnectorError, match=r"feed: GET .* no complete answer within 2s"):
        http.get(hostile + path)
    assert time.monotonic() - began < 4  # each read was quick; the whole was not


def test_a_huge_body_is_refused_at_the_cap_without_reading_it_all(hostile):
    http = HttpClient("feed", retries=0, max_body_bytes=1_000_000, sleep=lambda s: None)
    with pytest.raises(ConnectorError, match="more than 1000000 bytes"):
        http.get(hostile + "/huge")
    time.sleep(0.2)
    assert Hostile.sent.get("/huge", 0) < 20 * 1024 * 1024  # stopped reading, not downloaded


def test_redirects_are_limited(hostile):
    http = HttpClient("feed", retries=0, max_redirects=3, sleep=lambda s: None)
    with pytest.raises(ConnectorError, match="more than 3 redirects"):
        http.get(hostile + "/loop")


def test_a_normal_answer_is_unchanged_and_the_limits_are_settings(hostile):
    http = HttpClient("feed", retries=0, sleep=lambda s: None)
    assert http.get(hostile + "/small").content == b"z" * 1024
    defaults = {s.name: s.default for s in HTTP_SETTINGS}
    assert defaults["deadline"] == 120.0 and defaults["max_body_bytes"] == 50_000_000
    assert defaults["max_redirects"] == 5
