"""App Store Connect customer reviews connector against a local server standing in for Apple's.

Apple's API cannot be reached from tests, so a local server answers in its documented format
and checks the token as Apple does: the ES256 signature against the public half of a key made
per test (``jwtcheck``), the ``kid`` header and the ``iss``/``aud``/``exp`` claims.

Shapes from developer.apple.com/documentation/appstoreconnectapi:
``GET-v1-apps-_id_-customerReviews`` (query ``sort=-createdDate``, ``limit`` <= 200; answer
``{"data": [{"type": "customerReviews", "id", "attributes": {"rating", "title", "body",
"reviewerNickname", "createdDate": "2017-11-15T08:10:34-08:00", "territory": "USA"},
"relationships": {"response": {"links": {...}}}, "links": {"self"}}], "links": {"self",
"next"}, "meta": {"paging": {"total", "limit"}}}``), ``generating-tokens-for-api-requests``
(header ``{"alg": "ES256", "kid", "typ": "JWT"}``, claims ``iss``, ``iat``, ``exp`` at most 20
minutes ahead, ``aud: appstoreconnect-v1``) and ``interpreting-and-handling-errors`` (``{"errors":
[{"id", "status": "401", "code": "NOT_AUTHORIZED", "title", "detail"}]}``).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import pytest
from fakes.appstoreconnect import APP, BASE, ISSUER, KEY_ID, PATH, Reviews, apple_error, review
from connector_runs import drain
from jwtcheck import ec_key, pem, rsa_key
from localserver import LocalServer, Reply

from connectors.appstoreconnect import AppStoreConnectConnector
from connectors.http import HttpClient
from sentimon.errors import ConfigError, ConnectorError
from sentimon.settings import validate


def options(server: LocalServer, key: Any, **extra: Any) -> dict:
    return validate({"app_id": APP, "issuer_id": ISSUER, "key_id": KEY_ID, "private_key": pem(key),
                     "base_url": server.url, **extra}, AppStoreConnectConnector.settings, "asc")


def connector(server: LocalServer, key: Any, **extra: Any) -> AppStoreConnectConnector:
    http = HttpClient("asc", sleep=lambda s: None, retries=1)
    return AppStoreConnectConnector("asc", options(server, key, **extra), http=http)


@pytest.fixture
def key():
    return ec_key()


def test_reads_reviews_with_a_verified_token(local_server, key):
    api = Reviews(local_server, [review(1), review(2, "Love the new sizes", 5)], key.public_key())
    local_server.add(PATH, api)
    mentions, skipped, _, _ = drain(connector(local_server, key))
    assert not skipped and [m.text for m in mentions] == ["Love the new sizes", "Checkout crashes every time since the update"]
    first = mentions[1]
    assert (first.rating, first.title, first.author, first.kind) == (1, "Review 1", "shopper1", "review")
    assert first.extra == {"territory": "GBR", "app_id": APP, "reply_url": f"https://appstoreconnect.apple.com/apps/{APP}"}
    assert first.created_at == BASE + timedelta(minutes=1)
    assert local_server.requests[0].query == {"sort": "-createdDate", "limit": "200"}
    assert len(api.tokens) == 1


def test_pages_by_links_next_then_resumes_without_repeats(local_server, key):
    items = [review(n) for n in range(1, 451)]
    api = Reviews(local_server, items, key.public_key())
    local_server.add(PATH, api)
    mentions, _, cursor, batches = drain(connector(local_server, key, first_run_limit=1000))
    assert len(mentions) == 450 == len({m.external_id for m in mentions}) and batches == 1
    assert [r.query.get("cursor") for r in local_server.requests] == [None, "200", "400"]
    assert len(set(api.tokens)) == 1  # one token for the whole walk
    items.append(review(900, "Refund came quickly"))
    again, _, _, _ = drain(connector(local_server, key, overlap="10m"), cursor)
    assert [m.text for m in again] == ["Refund came quickly"]
    assert local_server.requests[-1].query.get("cursor") is None  # stopped on the first page


def test_a_token_is_minted_again_before_it_expires(local_server, key, monkeypatch):
    api = Reviews(local_server, [review(1)], key.public_key())
    local_server.add(PATH, api)
    conn = connector(local_server, key)
    drain(conn)
    drain(conn)
    assert len(set(api.tokens)) == 1  # reused within its lifetime
    later = conn.token.clock() + 15 * 60
    monkeypatch.setattr("connectors.appstoreconnect.time.time", lambda: later)
    conn.token.clock = lambda: later
    drain(conn)
    assert len(set(api.tokens)) == 2


def test_an_empty_listing_and_a_malformed_review(local_server, key):
    local_server.add(PATH, Reviews(local_server, [], key.public_key()))
    mentions, skipped, cursor, batches = drain(connector(local_server, key))
    assert (mentions, skipped, batches) == ([], [], 1) and cursor
    local_server.add(PATH, Reviews(local_server, [review(1), {"type": "customerReviews", "id": "x"}, review(2, "")],
                                   key.public_key()))
    mentions, skipped, _, _ = drain(connector(local_server, key))
    assert len(mentions) == 1 and len(skipped) == 2


def test_a_key_apple_does_not_know_fails_in_one_line_without_the_key(local_server, key):
    local_server.add(PATH, Reviews(local_server, [review(1)], ec_key().public_key()))
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server, key))
    message = str(info.value)
    assert "\n" not in message and "HTTP 401 NOT_AUTHORIZED" in message and "check issuer_id, key_id" in message
    assert "PRIVATE KEY" not in message


def test_forbidden_and_unknown_app(local_server, key):
    local_server.add(PATH, apple_error(403, "FORBIDDEN_ERROR"))
    with pytest.raises(ConnectorError, match="Customer Support"):
        drain(connector(local_server, key))
    local_server.add(PATH, apple_error(404, "NOT_FOUND"))
    with pytest.raises(ConnectorError, match="no app with this app_id"):
        drain(connector(local_server, key))


def test_rate_limit_honours_retry_after_then_fails_with_when(local_server, key):
    waits: list[float] = []
    api = Reviews(local_server, [review(1)], key.public_key())
    local_server.add(PATH, Reply(429, "", {"Retry-After": "7"}), api)
    conn = AppStoreConnectConnector("asc", options(local_server, key), http=HttpClient("asc", sleep=waits.append, retries=2))
    mentions, _, _, _ = drain(conn)
    assert waits == [7.0] and len(mentions) == 1
    local_server.add(PATH, Reply(429, apple_error(429, "RATE_LIMIT_EXCEEDED").body, {"Retry-After": "9"}))
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server, key))
    assert info.value.retry_after == 9.0 and "HTTP 429" in str(info.value)


def test_a_body_that_is_not_json_is_one_line(local_server, key):
    local_server.add(PATH, Reply(200, "<html>maintenance</html>", {"Content-Type": "text/html"}))
    with pytest.raises(ConnectorError, match=r"^asc: customer reviews: the answer is not JSON$"):
        drain(connector(local_server, key))


def test_a_next_link_to_another_host_is_refused(local_server, key):
    body = {"data": [review(1)], "links": {"next": "https://elsewhere.example/v1/apps/1/customerReviews?cursor=1"}}
    local_server.add(PATH, Reply.json(body))
    with pytest.raises(ConnectorError, match="links.next leaves"):
        drain(connector(local_server, key))


def test_key_from_a_file_and_key_problems(local_server, key, tmp_path):
    path = tmp_path / "AuthKey_2X9R4HXF34.p8"
    path.write_text(pem(key))
    local_server.add(PATH, Reviews(local_server, [review(1)], key.public_key()))
    mentions, _, _, _ = drain(connector(local_server, key, private_key="", private_key_file=str(path)))
    assert len(mentions) == 1
    with pytest.raises(ConfigError, match="set one of private_key or private_key_file"):
        connector(local_server, key, private_key="")
    with pytest.raises(ConfigError, match="cannot read") as info:
        connector(local_server, key, private_key="", private_key_file=str(tmp_path / "missing.p8"))
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key") as info:
        connector(local_server, key, private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
    assert "AAAA" not in str(info.value)
    with pytest.raises(ConfigError, match="EC key of an App Store Connect"):
        connector(local_server, rsa_key())


def test_without_cryptography_the_error_names_the_extra(local_server, key, monkeypatch):
    values = options(local_server, key)
    for name in [m for m in sys.modules if m.startswith("cryptography")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(ConfigError, match=r"pip install 'sentimon\[stores\]'"):
        AppStoreConnectConnector("asc", values)
