"""Bluesky posts matching a search, through ``app.bsky.feed.searchPosts`` with an app password.

Since January 2025 search needs a logged-in session: ``com.atproto.server.createSession``
with the account's handle and an *app password* (Settings > Privacy and security > App
passwords), never the account password. Sessions are rate limited hard (30 per 5 minutes,
300 a day per account), so the session is kept per (service, handle) for the life of the
process and renewed with ``refreshSession`` when the access token expires, instead of
logging in on every run. The tokens live in memory only, never in the cursor or a log.

The plain shared HTTP client is used rather than the ``atproto`` package: two XRPC calls do
not justify its pydantic models and dependencies, and the shared client brings the deadline,
body cap, retries and Retry-After/RateLimit-Reset handling every connector has.

``sort=latest`` lists newest first by ``sortAt`` (about min(createdAt, indexedAt)); each run
asks ``since`` the watermark minus ``overlap`` and walks pages (up to 100 posts) until past it.
Search reaches back months, so ``--backfill`` reads up to ``backfill_limit`` posts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, ClassVar, Iterator, Mapping

from connectors.base import Batch
from connectors.http import HttpConnector, HttpOptions
from connectors.incremental import SourceDown, Watermark, load_cursor
from connectors.paging import (
    Page, Stream, backfill_setting, first_run_setting, overlap_setting, walk,
)
from connectors.records import (
    MAX_TEXT_CHARS, clean_text, clip, count, json_object, parse_time, safe_url,
)
from sentimon.errors import ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

PAGE_SIZE = 100
_EXPIRED = {"ExpiredToken", "InvalidToken"}
# (service, handle) -> {"access": ..., "refresh": ...}; shared by every run of the process.
_sessions: dict[tuple[str, str], dict[str, str]] = {}
_sessions_lock = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class BlueskyOptions(HttpOptions):
    """Settings of `bluesky` connectors."""

    query: str = setting("str", help='Search words (Lucene syntax): \'"acme shoes" OR acmeshoes\'.')
    handle: str = setting(
        "str", help='Account that searches: "${BLUESKY_HANDLE}" (acme.bsky.social).',
    )
    app_password: str = setting(
        "str",
        secret=True,
        help='An app password of that account, never its real one: "${BLUESKY_APP_PASSWORD}".',
    )
    lang: str = setting(
        "str", "", help="Only posts in this language (two-letter code); empty: all.",
    )
    overlap: timedelta = overlap_setting("posts", "15m")
    first_run_limit: int = first_run_setting("posts", 200)
    backfill_limit: int = backfill_setting("posts", 5000)
    service: str = setting(
        "str", "https://bsky.social",
        help="Server that logs in and answers the search (your PDS; for proxies and tests).",
    )


class BlueskyConnector(HttpConnector):
    type: ClassVar[str] = "bluesky"
    supports_backfill: ClassVar[bool] = True
    Options = BlueskyOptions
    options: BlueskyOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        self.service = self.options.service.rstrip("/")
        self.overlap = self.options.overlap.total_seconds()

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        mark = Watermark.from_dict(state.get("search"))
        if backfill:
            limit, since = self.options.backfill_limit, None
        elif mark.empty:
            limit, since = self.options.first_run_limit, None
        else:
            limit, since = self.options.backfill_limit, mark.newest - self.overlap
        stream = Stream(
            "search", "search", partial(self._page, since), _identify, self._mention
        )
        yield from walk(state, stream, overlap=self.overlap, limit=limit, backfill=backfill)

    def _page(self, since: float | None, token: str | None) -> Page:
        params: dict[str, Any] = {"q": self.options.query, "sort": "latest", "limit": PAGE_SIZE}
        if since is not None:
            params["since"] = datetime.fromtimestamp(max(0.0, since), timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"
            )
        if self.options.lang:
            params["lang"] = self.options.lang
        if token:
            params["cursor"] = token
        data = self._xrpc("app.bsky.feed.searchPosts", params)
        posts = data.get("posts") if isinstance(data, dict) else None
        if not isinstance(posts, list):
            raise ConnectorError(f"{self.name}: searchPosts answered without a posts list")
        token = data.get("cursor")
        return Page(posts, token if isinstance(token, str) and token else None)

    # -- session -----------------------------------------------------------------------

    def _xrpc(self, method: str, params: dict[str, Any]) -> Any:
        """GET an XRPC query with the session's token; one renewal when it has expired."""
        for attempt in (1, 2):
            session = self._session(renew=attempt == 2)
            response = self.http.get(
                f"{self.service}/xrpc/{method}", params=params,
                headers={"Authorization": f"Bearer {session['access']}"}, ok=(400, 401),
            )
            if response.status_code == 200:
                return _json(response, self.name, method)
            error = _error_name(response)
            if error not in _EXPIRED and response.status_code != 401:
                raise ConnectorError(f"{self.name}: {method} refused ({error or 'HTTP 400'})")
        raise SourceDown(
            f"{self.name}: Bluesky refused the session twice: check handle and app_password"
        )

    def _session(self, *, renew: bool) -> dict[str, str]:
        key = (self.service, self.options.handle)
        with _sessions_lock:
            session = _sessions.get(key)
            if session is not None and not renew:
                return session
            _sessions.pop(key, None)
            fresh = (self._refresh(session) if session else None) or self._login()
            _sessions[key] = fresh
            return fresh

    def _refresh(self, session: dict[str, str]) -> dict[str, str] | None:
        response = self.http.request(
            "POST", f"{self.service}/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {session['refresh']}"}, ok=(400, 401),
        )
        if response.status_code != 200:
            return None  # the refresh token expired too: log in again
        return _tokens(_json(response, self.name, "refreshSession"), self.name)

    def _login(self) -> dict[str, str]:
        response = self.http.request(
            "POST", f"{self.service}/xrpc/com.atproto.server.createSession",
            json={"identifier": self.options.handle, "password": self.options.app_password},
            ok=(400, 401),
        )
        if response.status_code != 200:
            error = _error_name(response) or f"HTTP {response.status_code}"
            raise SourceDown(
                f"{self.name}: Bluesky login refused ({error}): check handle and app_password"
            )
        return _tokens(_json(response, self.name, "createSession"), self.name)

    # -- posts -------------------------------------------------------------------------

    def _mention(self, post: dict[str, Any]) -> Mention:
        record = post.get("record")
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ValueError("record.text: missing or not a string")
        text = clean_text(record["text"][:MAX_TEXT_CHARS])
        if not text:
            raise ValueError("record.text: empty")
        author = json_object(post.get("author"))
        handle = clip(author.get("handle"), 300)
        rkey = str(post["uri"]).rsplit("/", 1)[-1]
        url = safe_url(f"https://bsky.app/profile/{handle or author.get('did')}/post/{rkey}")
        langs = record.get("langs")
        now = datetime.now(timezone.utc)
        return Mention(
            source=self.name,
            external_id=clip(post["uri"], 500) or "",
            kind="reply" if isinstance(record.get("reply"), dict) else "post",
            text=text,
            author=handle,
            url=url,
            lang=clip(langs[0], 20) if isinstance(langs, list) and langs else None,
            created_at=parse_time(record.get("createdAt") or post.get("indexedAt"), now=now),
            extra={
                "likes": count(post.get("likeCount")),
                "reposts": count(post.get("repostCount")),
                "replies": count(post.get("replyCount")),
                "display_name": clip(author.get("displayName"), 200),
                "reply_url": url,
            },
        )


def _identify(post: Any) -> tuple[str, float]:
    """The post's AT URI and its sort time: the earlier of createdAt and indexedAt, as the
    search orders by (a post backdated by its client sorts by its claimed time)."""
    if not isinstance(post, dict) or not isinstance(post.get("uri"), str) or not post["uri"]:
        raise ValueError("no uri")
    now = datetime.now(timezone.utc)
    record = json_object(post.get("record"))
    times = [
        parse_time(value, now=now).timestamp()
        for value in (record.get("createdAt"), post.get("indexedAt"))
        if isinstance(value, str) and value
    ]
    if not times:
        raise ValueError("no createdAt or indexedAt")
    return post["uri"], min(times)



def _json(response: Any, name: str, method: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ConnectorError(f"{name}: {method} answered with a body that is not JSON") from None


def _error_name(response: Any) -> str:
    """XRPC errors are ``{"error": "ExpiredToken", "message": ...}``; only the short name is
    kept (the message is free text from outside)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return clip(error, 60) or "" if isinstance(error, str) else ""


def _tokens(data: Any, name: str) -> dict[str, str]:
    if not (isinstance(data, dict) and isinstance(data.get("accessJwt"), str)
            and isinstance(data.get("refreshJwt"), str)):
        raise SourceDown(f"{name}: Bluesky's session answer has no accessJwt/refreshJwt")
    return {"access": data["accessJwt"], "refresh": data["refreshJwt"]}
