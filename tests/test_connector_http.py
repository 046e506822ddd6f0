"""The shared HTTP client: User-Agent, retries with backoff and Retry-After, one-line errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

import sentimon
from connectors.http import USER_AGENT, HttpClient, html_to_text, retry_after_seconds
from localserver import LocalServer, Reply
from sentimon.errors import ConnectorError


def client(**kwargs) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    return HttpClient("src", sleep=waits.append, rng=lambda: 0.5, **kwargs), waits


def test_user_agent_names_sentimon_and_its_version(local_server):
    local_server.add("/x", Reply.json({"ok": 1}))
    http, _ = client()
    assert http.get_json(local_server.url + "/x") == {"ok": 1}
    assert local_server.requests[0].header("User-Agent") == USER_AGENT
    assert USER_AGENT.startswith(f"sentimon/{sentimon.__version__} (+https://")


def test_5xx_then_success_retries_with_exponential_backoff(local_server):
    local_server.add("/x", Reply(500), Reply(503), Reply(502), Reply.json([1]))
    http, waits = client(retries=3, backoff=2.0)
    assert http.get_json(local_server.url + "/x") == [1]
    assert waits == [1.5, 3.0, 6.0]  # 2 * 2^(n-1), jitter fixed at half-to-full of it
    assert len(local_server.requests) == 4


def test_jitter_stays_between_half_and_full_backoff_and_is_capped():
    http = HttpClient("src", backoff=1.0, max_backoff=8.0, rng=lambda: 0.999)
    assert 7.9 < http.delay(10, None) <= 8.0
    http.rng = lambda: 0.0
    assert http.delay(3, None) == 2.0


def test_429_honours_retry_after_seconds(local_server):
    local_server.add("/x", Reply(429, headers={"Retry-After": "7"}), Reply.json({}))
    http, waits = client()
    http.get_json(local_server.url + "/x")
    assert waits == [7.0]


def test_retry_after_http_date():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert (
        retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now)
        == 30
    )
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_giving_up_is_one_line_with_retry_after(local_server):
    local_server.add("/x", Reply(429, headers={"Retry-After": "3"}))
    http, waits = client(retries=2)
    with pytest.raises(ConnectorError) as caught:
        http.get(local_server.url + "/x?q=secret")
    message = str(caught.value)
    assert (
        message
        == f"src: GET {local_server.url}/x failed: HTTP 429 Too Many Requests after 3 attempts"
    )
    assert caught.value.retry_after == 3 and waits == [3, 3]


def test_429_without_retry_after_still_says_when_to_come_back(local_server):
    local_server.add("/x", Reply(429))
    http, waits = client(retries=1)
    with pytest.raises(ConnectorError) as caught:
        http.get(local_server.url + "/x")
    assert waits == [0.75] and caught.value.retry_after == 1.5


def test_a_long_retry_after_ends_the_run_instead_of_sleeping(local_server):
    local_server.add("/x", Reply(503, headers={"Retry-After": "3600"}))
    http, waits = client()
    with pytest.raises(ConnectorError, match="asks to wait 3600s") as caught:
        http.get(local_server.url + "/x")
    assert waits == [] and caught.value.retry_after == 3600


@pytest.mark.parametrize(
    "status, hint", [(401, "credentials"), (404, "check the id"), (400, "HTTP 400")]
)
def test_client_errors_are_not_retried(local_server, status, hint):
    local_server.add("/x", Reply(status))
    http, waits = client()
    with pytest.raises(ConnectorError, match=hint):
        http.get(local_server.url + "/x")
    assert waits == [] and len(local_server.requests) == 1


def test_304_is_returned_when_allowed(local_server):
    local_server.add("/x", Reply(304))
    http, _ = client()
    assert http.get(local_server.url + "/x", ok=(304,)).status_code == 304


def test_connection_refused_and_timeouts_become_one_line():
    with LocalServer() as server:
        url = server.url
    http, waits = client(retries=1)
    with pytest.raises(ConnectorError, match=r"cannot connect .*after 2 attempts") as caught:
        http.get(url + "/x")
    assert "\n" not in str(caught.value) and len(waits) == 1
    with LocalServer() as slow:
        slow.add("/x", Reply(200, delay=1.0))
        http, _ = client(retries=0, timeout=0.2)
        with pytest.raises(ConnectorError, match=r"no answer within 0.2s"):
            http.get(slow.url + "/x")


def test_body_that_is_not_json(local_server):
    local_server.add("/x", Reply(200, "<html>maintenance</html>", {"Content-Type": "text/html"}))
    with pytest.raises(ConnectorError, match="not JSON \\(text/html\\)"):
        client()[0].get_json(local_server.url + "/x")


@pytest.mark.parametrize(
    "markup, text",
    [
        ("<p>Late <b>parcel</b> &amp; rude courier</p>", "Late parcel & rude courier"),
        ("one<br>two<script>alert(1)</script>", "one\ntwo"),
        ("plain words", "plain words"),
        ("<p>a</p>\n\n\n<p>b</p>", "a\n\nb"),
        ("", ""),
        (None, ""),
    ],
)
def test_html_to_text(markup, text):
    assert html_to_text(markup) == text
