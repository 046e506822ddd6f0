"""Every customer review of your own iOS/macOS app, from the App Store Connect API.

The public feed (``appstore``) stops at the newest 500 reviews per country; the App Store
Connect API (``GET /v1/apps/{id}/customerReviews``) lists all of them, every territory in one
listing, 200 a page, and is where the team replies. It is newest first with ``sort=-createdDate``
and pages by an opaque ``links.next`` URL, with no "since" filter, so the cursor is a watermark
walked by the shared newest-first walk (connectors/paging.py).

Auth is a JWT the team signs with its API key (ES256, ``connectors.signing``): Apple rejects a
token living longer than 20 minutes, so one is minted for 15 and made again a minute before it
ends. The key's text comes from the environment, or a file whose path does; it is never logged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping
from urllib.parse import quote, urlsplit

from connectors.base import Batch
from connectors.http import HttpConnector, HttpOptions, json_answer
from connectors.incremental import SourceDown, Watermark, load_cursor
from connectors.paging import (
    Page, Stream, backfill_setting, first_run_setting, overlap_setting, walk,
)
from connectors.records import (
    MAX_TEXT_CHARS, clean_text, clip, json_object, parse_rating, parse_time, safe_url,
)
from connectors.signing import CachedToken, Signer, read_key_file
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

PAGE_SIZE = 200  # the endpoint's maximum
TOKEN_LIFETIME = 15 * 60  # Apple refuses tokens that expire more than 20 minutes ahead
AUDIENCE = "appstoreconnect-v1"
_REFUSALS = {  # status -> what the team should check; all stop the run (no other part to try)
    401: "App Store Connect refused the token: check issuer_id, key_id and the private key "
         "(a revoked key fails too)",
    403: "the API key may not read customer reviews: give it a role that sees ratings and "
         "reviews (Customer Support, App Manager or Admin)",
    404: "no app with this app_id is visible to the API key",
}


@dataclass(frozen=True, kw_only=True)
class AppStoreConnectOptions(HttpOptions):
    """Settings of `appstoreconnect` connectors."""

    app_id: str = setting(
        "str", help='The app\'s Apple ID (App Information > Apple ID), quoted: "1321994487".',
    )
    issuer_id: str = setting("str", help='Issuer ID shown above the API keys: "${ASC_ISSUER_ID}".')
    key_id: str = setting("str", help='Key ID of the API key: "${ASC_KEY_ID}".')
    private_key: str = setting(
        "str", "",
        secret=True,
        help='Text of the key\'s .p8 file: "${ASC_PRIVATE_KEY}" (or use private_key_file).',
    )
    private_key_file: Path | None = setting(
        "path", None,
        help='Path of the .p8 file, e.g. "${ASC_PRIVATE_KEY_FILE}" (or use private_key).',
    )
    overlap: timedelta = overlap_setting("reviews", "1d")
    first_run_limit: int = first_run_setting("reviews", 200)
    backfill_limit: int = backfill_setting("reviews", 20000)
    base_url: str = setting(
        "str", "https://api.appstoreconnect.apple.com", help="API host (for proxies and tests).",
    )


class AppStoreConnectConnector(HttpConnector):
    type: ClassVar[str] = "appstoreconnect"
    supports_backfill: ClassVar[bool] = True
    Options = AppStoreConnectOptions
    options: AppStoreConnectOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        self.app_id = self.options.app_id.strip()
        if not self.app_id.isdigit():
            raise ConfigError(f"{name}: app_id must be the app's numeric Apple ID, got {self.app_id!r}")
        self.base = self.options.base_url.rstrip("/")
        if urlsplit(self.base).scheme not in ("http", "https"):
            raise ConfigError(f"{name}: base_url must be an http(s) address")
        self.signer = Signer(self._key_text(), type_name=self.type, what=f"{name}: the private key")
        if self.signer.alg != "ES256":
            raise ConfigError(f"{name}: the private key must be the EC key of an App Store Connect .p8 file")
        self.token = CachedToken(self._mint)
        self.overlap = self.options.overlap.total_seconds()

    def _key_text(self) -> str:
        text, path = self.options.private_key, self.options.private_key_file
        if bool(text.strip()) == (path is not None):
            raise ConfigError(f"{self.name}: set one of private_key or private_key_file")
        return read_key_file(path, f"{self.name}: private_key_file") if path is not None else text

    def _mint(self) -> tuple[str, float]:
        now = int(time.time())
        claims = {
            "iss": self.options.issuer_id.strip(), "aud": AUDIENCE,
            "iat": now, "exp": now + TOKEN_LIFETIME,
        }
        return self.signer.jwt(claims, kid=self.options.key_id.strip()), now + TOKEN_LIFETIME

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        first = Watermark.from_dict(state.get("reviews")).empty and not backfill
        limit = self.options.first_run_limit if first else self.options.backfill_limit
        stream = Stream("reviews", f"app {self.app_id}", self._page, _identify, self._mention)
        yield from walk(state, stream, overlap=self.overlap, limit=limit, backfill=backfill)

    def _page(self, next_url: str | None) -> Page:
        url = next_url or f"{self.base}/v1/apps/{quote(self.app_id)}/customerReviews"
        params = None if next_url else {"sort": "-createdDate", "limit": PAGE_SIZE}
        headers = {"Authorization": f"Bearer {self.token.get()}"}
        response = self.http.get(url, params=params, headers=headers, ok=tuple(_REFUSALS))
        if response.status_code in _REFUSALS:
            self.token.forget()
            code = _error_code(response)
            raise SourceDown(
                f"{self.name}: {_REFUSALS[response.status_code]} (HTTP {response.status_code}{code})"
            )
        data = json_answer(response, f"{self.name}: customer reviews")
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ConnectorError(f"{self.name}: customer reviews: the answer has no data list")
        links = json_object(data.get("links"))
        return Page(items, self._next(links.get("next")))

    def _next(self, link: Any) -> str | None:
        """The next page's URL, only on the API's own host: the bearer token goes with it."""
        if not isinstance(link, str) or not link:
            return None
        ours, theirs = urlsplit(self.base), urlsplit(link)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise ConnectorError(f"{self.name}: customer reviews: links.next leaves {ours.netloc}")
        return link

    def _mention(self, review: dict[str, Any]) -> Mention:
        attributes = review["attributes"]
        body = attributes.get("body")
        if not isinstance(body, str):
            raise ValueError("body: missing or not a string")
        text = clean_text(body[:MAX_TEXT_CHARS])
        if not text:
            raise ValueError("body: empty")
        territory = clip(attributes.get("territory"), 3)
        # Apple links no single review: the app in App Store Connect, whose Ratings and Reviews
        # page is where the team answers.
        reply = safe_url(f"https://appstoreconnect.apple.com/apps/{self.app_id}")
        return Mention(
            source=self.name,
            external_id=clip(review["id"], 200) or "",
            kind="review",
            text=text,
            title=clip(attributes.get("title"), 500),
            author=clip(attributes.get("reviewerNickname"), 300),
            rating=parse_rating(attributes.get("rating")),
            created_at=parse_time(attributes.get("createdDate"), now=datetime.now(UTC)),
            extra={"territory": territory, "app_id": self.app_id, "reply_url": reply},
        )


def _identify(review: Any) -> tuple[str, float]:
    attributes = review.get("attributes") if isinstance(review, dict) else None
    if not isinstance(attributes, dict):
        raise ValueError("no attributes")
    if not isinstance(review.get("id"), str) or not review["id"]:
        raise ValueError("no review id")
    created = attributes.get("createdDate")
    if not isinstance(created, str):
        raise ValueError("createdDate: missing or not a string")
    return review["id"], parse_time(created, now=datetime.now(UTC)).timestamp()


def _error_code(response: Any) -> str:
    """`` CODE`` from Apple's ``{"errors": [{"status", "code", "title", "detail"}]}``; only the
    short code, as the rest is free text from outside."""
    try:
        errors = response.json().get("errors")
        code = clip(errors[0].get("code"), 60)
    except (ValueError, AttributeError, TypeError, IndexError, KeyError):
        return ""
    return f" {code}" if code else ""
