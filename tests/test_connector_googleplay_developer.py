"""Google Play Developer API reviews connector against a local server standing in for Google's.

Google's token endpoint and API cannot be reached from tests, so one local server plays both:
``POST /token`` checks the JWT-bearer assertion as Google does (the RS256 signature against the
public half of a key made per test, ``jwtcheck``; ``iss``, ``scope``, ``aud``, lifetime) and
hands out access tokens; the reviews endpoint accepts only those. The service account file
points its ``token_uri`` at the local server, as the connector takes it from the file.

Shapes from developers.google.com/android-publisher (``api-ref/rest/v3/reviews/list``: GET
``androidpublisher/v3/applications/{packageName}/reviews`` with ``maxResults``, ``token``;
answer ``{"reviews": [{"reviewId", "authorName", "comments": [{"userComment": {"text",
"lastModified": {"seconds": "1700000000", "nanos"}, "starRating", "reviewerLanguage", "device",
"androidOsVersion", "appVersionCode", "appVersionName", "thumbsUpCount", "thumbsDownCount",
"deviceMetadata", "originalText"}}, {"developerComment": {"text", "lastModified"}}]}],
"tokenPagination": {"nextPageToken"}, "pageInfo"}``, also in google-api-python-client's
docs/dyn/androidpublisher_v3.reviews.html), Google's OAuth 2.0 for service accounts
(``developers.google.com/identity/protocols/oauth2/service-account``: POST ``token_uri`` with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT``; answer
``{"access_token", "expires_in": 3599, "token_type": "Bearer"}``, refusal 400 ``{"error":
"invalid_grant", "error_description"}``) and Google API errors (``{"error": {"code",
"message", "status": "PERMISSION_DENIED"}}``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.googleplay_developer import (
    Google, NOW, PACKAGE, PATH, account_file, google_error, review,
)
from connector_runs import drain
from jwtcheck import rsa_key
from localserver import LocalServer, Reply

from connectors.googleplay_developer import GooglePlayDeveloperConnector
from connectors.http import HttpClient
from sentimon.errors import ConfigError, ConnectorError
from sentimon.settings import validate


@pytest.fixture
def key():
    return rsa_key()


def connector(server: LocalServer, path: Path, **extra: Any) -> GooglePlayDeveloperConnector:
    values = validate({"package_name": PACKAGE, "service_account_file": str(path), "base_url": server.url, **extra},
                      GooglePlayDeveloperConnector.settings, "gpd")
    return GooglePlayDeveloperConnector("gpd", values, http=HttpClient("gpd", sleep=lambda s: None, retries=1))


@pytest.fixture
def setup(local_server, key, tmp_path):
    return local_server, account_file(tmp_path, local_server, key)


def test_reads_reviews_after_a_verified_token_exchange(setup, key):
    server, path = setup
    google = Google(server, [review(1, "Great fit\tThe shoes fit perfectly", 5, replied=True), review(2)], key.public_key())
    mentions, skipped, _, _ = drain(connector(server, path, reviews_url="https://play.google.com/console/u/0/developers/1/app/2/user-feedback/reviews"))
    assert not skipped and [m.text for m in mentions] == ["Checkout keeps failing with my card", "The shoes fit perfectly"]
    first = mentions[1]
    assert (first.title, first.rating, first.author, first.lang, first.kind) == ("Great fit", 5, "User 1", "en_GB", "review")
    assert first.created_at == NOW + timedelta(minutes=1) and first.external_id == "gp:AOqpTO00000001"
    assert first.extra["replied"] is True and mentions[0].extra["replied"] is False
    assert first.extra["reply_url"].endswith("/user-feedback/reviews") and first.extra["version"] == "5.12.0"
    assert [r.path for r in server.requests] == ["/token", PATH] and google.issued == ["ya29.token-1"]
    assert server.requests[1].query == {"maxResults": "100"}


def test_pages_by_token_then_resumes_without_repeats(setup, key):
    server, path = setup
    items = [review(n) for n in range(1, 251)]
    google = Google(server, items, key.public_key())
    mentions, _, cursor, batches = drain(connector(server, path))
    assert len(mentions) == 250 == len({m.external_id for m in mentions}) and batches == 1
    assert [r.query.get("token") for r in server.requests if r.path == PATH] == [None, "100", "200"]
    items.append(review(600, "Refund arrived the same day", 4))
    server.requests.clear()
    again, _, _, _ = drain(connector(server, path), cursor)  # the next run: a new connector
    assert [m.text for m in again] == ["Refund arrived the same day"]
    assert [r.query.get("token") for r in server.requests] == [None]  # one page, the token reused
    assert google.issued == ["ya29.token-1"]


def test_a_quiet_week_and_a_malformed_review(setup, key):
    server, path = setup
    google = Google(server, [], key.public_key())
    mentions, skipped, cursor, batches = drain(connector(server, path))
    assert (mentions, skipped, batches) == ([], [], 1) and cursor
    google.items[:] = [review(1), {"reviewId": "gp:bad", "comments": []}, review(2, "")]
    mentions, skipped, _, _ = drain(connector(server, path))
    assert len(mentions) == 1 and len(skipped) == 2


def test_a_refused_service_account_is_one_line_without_the_key(setup, key, tmp_path):
    server, _ = setup
    Google(server, [review(1)], rsa_key().public_key())  # Google knows another key
    with pytest.raises(ConnectorError) as info:
        drain(connector(server, account_file(tmp_path, server, key)))
    message = str(info.value)
    assert "\n" not in message and "HTTP 400 invalid_grant" in message and "check service_account_file" in message
    assert "PRIVATE KEY" not in message and "Invalid JWT" not in message


def test_an_expired_access_token_is_dropped_and_the_next_run_exchanges_again(setup, key):
    server, path = setup
    google = Google(server, [review(1)], key.public_key())
    conn = connector(server, path)
    drain(conn)
    google.issued.clear()  # Google forgot it (revoked, or the hour passed)
    with pytest.raises(ConnectorError, match=r"HTTP 401 UNAUTHENTICATED"):
        drain(conn)
    mentions, _, _, _ = drain(conn)
    assert len(mentions) == 1 and google.issued == ["ya29.token-2"]


def test_no_access_to_the_app_and_an_unknown_package(setup, key):
    server, path = setup
    Google(server, [], key.public_key())
    server.add(PATH, google_error(403, "PERMISSION_DENIED"))
    with pytest.raises(ConnectorError, match=r"invite its email in Play Console .* \(HTTP 403 PERMISSION_DENIED\)"):
        drain(connector(server, path))
    server.add(PATH, google_error(404, "NOT_FOUND"))
    with pytest.raises(ConnectorError, match="no app with this package_name"):
        drain(connector(server, path))


def test_rate_limit_with_retry_after(setup, key):
    server, path = setup
    google = Google(server, [review(1)], key.public_key())
    waits: list[float] = []
    server.add(PATH, google_error(429, "RESOURCE_EXHAUSTED"), google.reviews)
    values = validate({"package_name": PACKAGE, "service_account_file": str(path), "base_url": server.url},
                      GooglePlayDeveloperConnector.settings, "gpd")
    server.add(PATH, Reply(429, "", {"Retry-After": "6"}), google.reviews)
    conn = GooglePlayDeveloperConnector("gpd", values, http=HttpClient("gpd", sleep=waits.append, retries=2))
    mentions, _, _, _ = drain(conn)
    assert waits == [6.0] and len(mentions) == 1
    server.add(PATH, Reply(429, "", {"Retry-After": "8"}))
    with pytest.raises(ConnectorError) as info:
        drain(connector(server, path))
    assert info.value.retry_after == 8.0 and "HTTP 429" in str(info.value)


def test_the_token_exchange_is_retried_and_its_body_capped_like_any_request(setup, key, monkeypatch):
    """The exchange goes through the shared client: a 503 from the token endpoint is retried
    (it used to fail the run), and an endless answer stops at max_body_bytes."""
    server, path = setup
    google = Google(server, [review(1)], key.public_key())
    server.add("/token", Reply(503, "busy"), google.token, method="POST")
    mentions, _, _, _ = drain(connector(server, path))
    assert len(mentions) == 1 and [r.path for r in server.requests] == ["/token", "/token", PATH]
    server.add("/token", Reply(200, "x" * 200_000, {"Content-Type": "application/json"}), method="POST")
    values = validate({"package_name": PACKAGE, "service_account_file": str(path), "base_url": server.url},
                      GooglePlayDeveloperConnector.settings, "gpd")
    capped = HttpClient("gpd", sleep=lambda s: None, retries=0, max_body_bytes=100_000)
    with monkeypatch.context() as patch:
        patch.setattr("connectors.googleplay_developer._issued", {})  # no token kept: exchange again
        with pytest.raises(ConnectorError, match="max_body_bytes"):
            drain(GooglePlayDeveloperConnector("gpd", values, http=capped))


def test_a_body_that_is_not_json_is_one_line(setup, key):
    server, path = setup
    Google(server, [], key.public_key())
    server.add(PATH, Reply(200, "<html>Error 502</html>", {"Content-Type": "text/html"}))
    with pytest.raises(ConnectorError, match=r"^gpd: reviews: the answer is not JSON$"):
        drain(connector(server, path))


@pytest.mark.parametrize("fields, problem", [
    ({"type": "authorized_user"}, "not a service account key"),
    ({"client_email": ""}, "has no client_email"),
    ({"token_uri": "http://oauth2.example.com/token"}, "token_uri must be https"),
    ({"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, "not an unencrypted PEM private key"),
])
def test_a_bad_service_account_file_names_the_problem_not_the_key(local_server, key, tmp_path, fields, problem):
    with pytest.raises(ConfigError, match=problem) as info:
        connector(local_server, account_file(tmp_path, local_server, key, **fields))
    assert "AAAA" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot read"):
        connector(local_server, tmp_path / "missing.json")
