"""A hostile feed cannot hang or bloat a connector (issue 14, item 6): every fetch has a total
deadline, a body cap, a redirect limit and a same-site rule for redirects, against real servers
on 127.0.0.1 (and on localhost: another site)."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connector_runs import drain
from localserver import LocalServer, Reply

from connectors.http import HTTP_SETTINGS, HttpClient
from connectors.redirects import same_site
from connectors.rss import RssConnector
from sentimon.errors import ConnectorError
from sentimon.settings import validate


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


# --- redirects: a limit (above) and a same-site rule --------------------------------------

FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><guid>g1</guid>'
    "<title>Parcel late</title><description>Parcel two weeks late</description></item>"
    "</channel></rss>"
)


@pytest.fixture
def two_sites(local_server):
    """The local server (127.0.0.1) and a second one reached by the name localhost: two sites."""
    with LocalServer() as other:
        yield local_server, other, other.url.replace("127.0.0.1", "localhost")


def test_a_redirect_to_another_site_is_refused_before_it_is_followed(two_sites):
    here, there, there_url = two_sites
    there.add("/admin", Reply(200, "internal page"))
    here.add("/feed.xml", Reply(302, headers={"Location": there_url + "/admin?key=s3cret"}))
    http = HttpClient("feed", retries=2, sleep=lambda s: None)
    with pytest.raises(ConnectorError) as raised:
        http.get(here.url + "/feed.xml")
    message = str(raised.value)
    assert re.fullmatch(
        r"feed: GET http://127\.0\.0\.1:\d+/feed\.xml failed: redirected to another site "
        r"\(http://localhost:\d+/admin\); .*allow_cross_site_redirects.*", message
    ), message
    assert "s3cret" not in message
    assert there.requests == [] and here.paths() == ["/feed.xml"]  # not followed, not retried


def test_a_redirect_within_the_site_is_followed(local_server):
    local_server.add("/old.xml", Reply(301, headers={"Location": "/new.xml"}))
    local_server.add("/new.xml", Reply(200, "moved"))
    http = HttpClient("feed", retries=0, sleep=lambda s: None)
    assert http.get(local_server.url + "/old.xml").text == "moved"


def test_a_feed_can_opt_in_to_cross_site_redirects(two_sites):
    here, there, there_url = two_sites
    there.add("/feed.xml", Reply(200, FEED, {"Content-Type": "application/rss+xml"}))
    here.add("/feed.xml", Reply(301, headers={"Location": there_url + "/feed.xml"}))
    options = validate({"url": here.url + "/feed.xml"}, RssConnector.settings, "c")
    with pytest.raises(ConnectorError, match="redirected to another site"):
        drain(RssConnector("news", options))
    options["allow_cross_site_redirects"] = True
    mentions = drain(RssConnector("news", options))[0]
    assert [m.title for m in mentions] == ["Parcel late"]


@pytest.mark.parametrize("origin, target, same", [
    ("https://example.com/feed", "https://example.com/other", True),
    ("https://example.com/", "https://www.example.com/", True),  # a subdomain
    ("https://www.example.com/", "https://example.com/", True),  # its parent
    ("https://itunes.apple.com/", "https://rss.apps.apple.com/", True),  # a sibling
    ("http://example.com/", "https://example.com/", True),  # an upgrade to https
    ("https://EXAMPLE.com./", "https://example.com/", True),  # case, a trailing dot
    ("http://127.0.0.1:8000/", "http://127.0.0.1:9000/", True),  # same host, another port
    ("https://feeds.bbc.co.uk/", "https://www.bbc.co.uk/", True),
    ("https://example.com/", "http://example.com/", False),  # a downgrade to http
    ("https://example.com/", "https://example.org/", False),
    ("https://example.com/", "https://evilexample.com/", False),
    ("https://acme.co.uk/", "https://other.co.uk/", False),  # a country's second level
    ("https://example.com/", "https://169.254.169.254/latest/", False),  # an address
    ("http://127.0.0.1:8000/", "http://localhost:8000/", False),
    ("https://example.com/", "file:///etc/passwd", False),
    ("https://example.com/", "ftp://example.com/x", False),
])
def test_the_same_site_rule(origin, target, same):
    assert same_site(origin, target) is same
