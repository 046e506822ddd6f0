"""Reddit connector: searches and subreddit listings through ``praw``, read-only.

praw turns Reddit's JSON into model objects and paces requests by Reddit's rate-limit headers
(its budget is 100 queries a minute for an OAuth client; praw sleeps when the headers say the
window is nearly spent). Two limits of Reddit shape this module: listings and searches go back
at most about 1,000 items, and search results appear with some delay. So each stream (a
search, a subreddit's new submissions, its new comments) keeps a watermark (newest
``created_utc`` and the ids seen within ``overlap`` of it); a run walks newest first and stops
once it is past the overlap. Fields are read from the JSON praw received (``vars(item)``),
never through praw's lazy attributes, which would cost one extra request per item.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar, Iterable, Iterator

import sentimon
from connectors.base import Batch, Connector, ConnectorOptions, Skipped
from connectors.http import request_error_reason, retry_after_seconds
from connectors.incremental import (
    ITEM_ERRORS,
    SourceDown,
    Watermark,
    dump_cursor,
    isolated,
    load_cursor,
)
from connectors.records import MAX_TEXT_CHARS, clean_text, clip, epoch_time, safe_url
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

log = logging.getLogger(__name__)

LISTING_CAP = 1000  # Reddit serves no further back than this in any listing
BACKFILL_CHUNK = 100
_REMOVED = {"[deleted]", "[removed]"}


@dataclass(frozen=True)
class _Stream:
    """One newest-first listing: its cursor key, its name in messages, and what to list."""

    key: str
    label: str
    subreddit: str
    listing: str  # "search", "new" (submissions) or "comments"


@dataclass(frozen=True, kw_only=True)
class RedditOptions(ConnectorOptions):
    """Settings of `reddit` connectors."""

    query: str = setting(
        "str", "",
        help="Reddit search syntax, e.g. '\"Acme Shoes\" OR acmeshoes'; searched across Reddit, newest first.",
    )
    subreddits: list[str] = setting(
        "str|list[str]", [],
        help="Subreddits (without r/) whose new submissions and comments are all taken.",
    )
    include: list[str] = setting(
        "list[str]", ["submissions", "comments"],
        help="What to take from `subreddits`.",
        choices=("submissions", "comments"),
    )
    client_id: str = setting(
        "str", help='OAuth client id of a Reddit "script" app: "${REDDIT_CLIENT_ID}".', secret=True,
    )
    client_secret: str = setting("str", help='Its secret: "${REDDIT_CLIENT_SECRET}".', secret=True)
    user_agent: str = setting(
        "str",
        help='Descriptive agent naming you, e.g. "sentimon:acme-cx:v1 (by /u/acme_cx)"; '
            'Reddit throttles generic ones.',
    )
    overlap: timedelta = setting(
        "duration", "15m",
        help="How far behind the newest seen item each run looks again (search indexing lags).",
    )
    first_run_limit: int = setting(
        "int", 100,
        help="Items per stream on a first run without --backfill (backfill goes to Reddit's 1,000 cap).",
    )
    timeout: int = setting("int", 16, help="Seconds to wait for Reddit to answer one request.")
    reddit_url: str = setting(
        "str", "https://www.reddit.com",
        help="Reddit's web/token endpoint (for proxies and tests).",
    )
    oauth_url: str = setting(
        "str", "https://oauth.reddit.com", help="Reddit's API endpoint (for proxies and tests).",
    )


class RedditConnector(Connector):
    type: ClassVar[str] = "reddit"
    supports_backfill: ClassVar[bool] = True
    Options = RedditOptions
    options: RedditOptions

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        subreddits = self.options.subreddits
        self.subreddits = [s.strip().removeprefix("r/").strip("/") for s in subreddits if s.strip()]
        if not self.options.query and not self.subreddits:
            raise ConfigError(f"{name}: set `query`, `subreddits` or both")
        self.overlap = self.options.overlap.total_seconds()
        self._reddit: Any = None

    def _client(self) -> Any:
        """A read-only praw instance; built lazily so a config check never touches Reddit."""
        if self._reddit is None:
            import praw

            try:
                self._reddit = praw.Reddit(
                    client_id=self.options.client_id,
                    client_secret=self.options.client_secret,
                    user_agent=f"{self.options.user_agent} via sentimon/{sentimon.__version__}",
                    reddit_url=self.options.reddit_url.rstrip("/"),
                    oauth_url=self.options.oauth_url.rstrip("/"),
                    timeout=self.options.timeout,
                    check_for_updates=False,
                    check_for_async=False,
                )
            except Exception as exc:  # praw raises its own config exceptions and ValueError
                raise ConfigError(f"{self.name}: cannot set up praw: {exc}") from None
            self._reddit.read_only = True
        return self._reddit

    def _streams(self) -> list[_Stream]:
        """Everything configured, each with its own watermark in the cursor."""
        streams = (
            [_Stream("search", "search", "all", "search")] if self.options.query else []
        )
        for sub in self.subreddits:
            if "submissions" in self.options.include:
                streams.append(_Stream(f"r/{sub}/new", f"r/{sub}", sub, "new"))
            if "comments" in self.options.include:
                streams.append(_Stream(f"r/{sub}/comments", f"r/{sub} comments", sub, "comments"))
        return streams

    def _listing(self, stream: _Stream, limit: int | None) -> Iterable[Any]:
        """praw's lazy ListingGenerator: it requests a page of 100 only when iterated there."""
        subreddit = self._client().subreddit(stream.subreddit)
        if stream.listing == "search":
            query = self.options.query
            return subreddit.search(query, sort="new", time_filter="all", limit=limit)
        return getattr(subreddit, stream.listing)(limit=limit)

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        parts = [
            (stream.label, partial(self._walk, state, stream, backfill))
            for stream in self._streams()
        ]
        yield from isolated(self.name, parts, lambda: dump_cursor(state))

    def _walk(self, state: dict[str, Any], stream: _Stream, backfill: bool) -> Iterator[Batch]:
        """One stream, newest first, until past the watermark (or Reddit's cap on backfill).

        A normal run yields once at the end: the watermark may only advance after everything
        newer than the old one is stored, or a crash would skip the items in between."""
        key, label = stream.key, stream.label
        mark = Watermark.from_dict(state.get(key))
        limit = LISTING_CAP if backfill or not mark.empty else self.options.first_run_limit
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        walked: list[tuple[str, float]] = []
        with _prawcore_errors(self.name, label):
            for item in self._listing(stream, limit):
                raw = vars(item)
                item_id, created = (
                    str(raw.get("name") or raw.get("id") or ""),
                    raw.get("created_utc"),
                )
                if not isinstance(created, (int, float)) or not item_id:
                    skipped.append(Skipped(f"{label}:{item_id or '?'}", "no id or created_utc"))
                    continue
                if not backfill and mark.is_older(created, self.overlap):
                    break
                walked.append((item_id, float(created)))
                if mark.is_seen(item_id):
                    continue
                try:
                    mentions.append(self._mention(raw))
                except ITEM_ERRORS as exc:
                    skipped.append(Skipped(f"{label}:{item_id}", str(exc)))
                if backfill and len(walked) % BACKFILL_CHUNK == 0:
                    state[key] = mark.advanced(walked, self.overlap).as_dict()
                    yield Batch(mentions, dump_cursor(state), skipped)
                    mentions, skipped = [], []
        state[key] = mark.advanced(walked, self.overlap).as_dict()
        yield Batch(mentions, dump_cursor(state), skipped)

    def _mention(self, raw: dict[str, Any]) -> Mention:
        """A submission (``t3``) or comment (``t1``) as praw parsed it -> Mention."""
        is_comment = "body" in raw
        body = raw.get("body") if is_comment else raw.get("selftext")
        title = None if is_comment else raw.get("title")
        if not isinstance(body, str) or (title is not None and not isinstance(title, str)):
            raise ValueError("body/selftext or title is not a string")
        if body.strip() in _REMOVED:
            body = ""
        text = clean_text(body[:MAX_TEXT_CHARS]) or clip(title, MAX_TEXT_CHARS) or ""
        if not text:
            raise ValueError("deleted, removed or empty")
        external_id = clip(str(raw.get("name") or raw["id"]), 500)
        if not external_id:
            raise ValueError("no usable id")
        subreddit = clip(str(raw.get("subreddit") or ""), 100)
        author = raw.get("author")
        permalink = raw.get("permalink") or _comment_permalink(raw, subreddit)
        permalink = permalink if isinstance(permalink, str) else None
        return Mention(
            source=self.name,
            external_id=external_id,
            kind="comment" if is_comment else "submission",
            text=text,
            title=clip(title) if title else clip(raw.get("link_title")),
            author=None if author is None or str(author) in _REMOVED else clip(str(author), 100),
            url=safe_url(f"https://www.reddit.com{permalink}") if permalink else None,
            created_at=epoch_time(raw["created_utc"]),
            extra={
                "subreddit": subreddit,
                "score": raw.get("score") if isinstance(raw.get("score"), int) else None,
                "permalink": clip(permalink),
                **({"link": raw["url"]} if not is_comment and safe_url(raw.get("url")) else {}),
            },
        )

    def close(self) -> None:
        if self._reddit is not None:
            try:
                self._reddit._core._requestor.close()
            except Exception:  # closing is best effort; praw keeps the session private
                pass


def _comment_permalink(raw: dict[str, Any], subreddit: str | None) -> str | None:
    """Older recordings of comments lack ``permalink``; it is derived from the submission id."""
    link_id = raw.get("link_id")
    if not (isinstance(link_id, str) and subreddit and raw.get("id")):
        return None
    return f"/r/{subreddit}/comments/{link_id.removeprefix('t3_')}/_/{raw['id']}/"


@contextmanager
def _prawcore_errors(name: str, label: str) -> Iterator[None]:
    """Turn prawcore/praw failures inside the block into one ConnectorError line.

    Whole-source failures (credentials, rate limit, outages, timeouts) raise ``SourceDown`` so
    the other streams are not tried against a Reddit that will refuse them too; a 403/404 or
    redirect names one subreddit and only that stream is skipped."""
    import prawcore
    from praw.exceptions import PRAWException

    try:
        yield
    except (prawcore.PrawcoreException, PRAWException) as exc:
        raise _translate(exc, f"{name}: Reddit {label}") from None


def _translate(exc: Exception, where: str) -> ConnectorError:
    import prawcore

    e = prawcore.exceptions
    status = exc.response.status_code if isinstance(exc, e.ResponseException) else None
    check = "check client_id and client_secret"
    if isinstance(exc, e.TooManyRequests):
        headers = exc.response.headers
        hint = headers.get("Retry-After") or headers.get("x-ratelimit-reset")
        wait = retry_after_seconds(hint) or 60.0
        return SourceDown(
            f"{where}: rate limited (HTTP 429); retry in {wait:.0f}s", retry_after=wait
        )
    if isinstance(exc, e.OAuthException):
        return SourceDown(f"{where}: OAuth refused ({exc.error}): {check}")
    if isinstance(exc, (e.InvalidToken, e.InsufficientScope)) or status == 401:
        return SourceDown(f"{where}: credentials rejected (HTTP {status or 401}): {check}")
    if isinstance(exc, e.Forbidden):
        return ConnectorError(f"{where}: access denied (HTTP 403): private, quarantined or banned")
    if isinstance(exc, e.NotFound):
        return ConnectorError(f"{where}: not found (HTTP 404): check the subreddit name")
    if isinstance(exc, e.Redirect):
        return ConnectorError(f"{where}: does not exist (Reddit redirected to {exc.path})")
    if isinstance(exc, e.ServerError):
        return SourceDown(f"{where}: Reddit is failing (HTTP {status}) after praw's retries")
    if isinstance(exc, e.RequestException):
        return SourceDown(
            f"{where}: cannot reach Reddit ({request_error_reason(exc.original_exception)})"
        )
    if status is not None:
        return SourceDown(f"{where}: unexpected HTTP {status}")
    return SourceDown(f"{where}: {type(exc).__name__}: {str(exc)[:200]}")
