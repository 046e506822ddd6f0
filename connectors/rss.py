"""RSS and Atom feeds (Google Alerts, news searches, review sites, Mastodon tag feeds).

Feeds are fetched through the shared HTTP client (so retries and errors behave like every
other source) and parsed with ``feedparser``, which copes with most broken feeds. Each URL's
cursor keeps the ``ETag`` / ``Last-Modified`` validators for a conditional GET, so an
unchanged feed costs one 304 and no parsing, and the ids of the entries it held last time:
feeds are a sliding window of their newest entries, so anything not in that set is new.
Entries are identified by their ``id`` (Atom id / RSS guid), else their link, else a hash of
their content; summaries are HTML and are reduced to plain text.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterator

import feedparser

from connectors.base import Batch, Skipped
from connectors.http import HttpConnector, HttpOptions, display_url, html_to_text
from connectors.incremental import ITEM_ERRORS, dump_cursor, isolated, load_cursor
from connectors.records import (
    EARLIEST,
    FUTURE_SLACK,
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    clean_text,
    clip,
    content_id,
    safe_url,
)
from sentimon.errors import ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

log = logging.getLogger(__name__)

MAX_IDS = 1000  # entries remembered per feed; feeds hold far fewer


@dataclass(frozen=True, kw_only=True)
class RssOptions(HttpOptions):
    """Settings of `rss` connectors."""

    url: list[str] = setting(
        "str|list[str]", help="One feed URL or a list of them (RSS 0.9x/1.0/2.0 or Atom).",
    )
    kind: str = setting(
        "str", "article", help="Kind stored with each entry (article, post, review, ...).",
    )


class RssConnector(HttpConnector):
    type: ClassVar[str] = "rss"
    Options = RssOptions
    options: RssOptions

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        parts = [(display_url(url), lambda url=url: self._feed(state, url)) for url in self.options.url]
        yield from isolated(self.name, parts, lambda: dump_cursor(state))

    def _feed(self, state: dict[str, Any], url: str) -> Iterator[Batch]:
        key, shown = cursor_key(url), display_url(url)
        if key != url and url in state:  # cursors written before keys were hashed
            state[key] = state.pop(url)
        saved: dict[str, Any] = state.get(key) or {}
        if not isinstance(saved, dict):
            saved = {}
        headers = {}
        if saved.get("etag"):
            headers["If-None-Match"] = saved["etag"]
        if saved.get("modified"):
            headers["If-Modified-Since"] = saved["modified"]
        response = self.http.get(url, headers=headers, ok=(304,))
        if response.status_code == 304:
            log.debug("%s: %s not modified", self.name, shown)
            return
        try:
            parsed = feedparser.parse(
                response.content,
                response_headers={k.lower(): v for k, v in response.headers.items()},
            )
        except Exception as exc:  # feedparser itself trips on some hostile bodies
            # (an XML declaration naming an encoding as b"\x80" raises UnicodeDecodeError)
            raise ConnectorError(
                f"{self.name}: {shown} is not a readable RSS/Atom feed "
                f"({type(exc).__name__}: {str(exc)[:120]})"
            ) from None
        if parsed.bozo and not parsed.entries:
            problem = getattr(
                parsed.get("bozo_exception"), "getMessage", lambda: None
            )() or parsed.get("bozo_exception")
            raise ConnectorError(
                f"{self.name}: {shown} is not a readable RSS/Atom feed ({str(problem)[:150]})"
            )
        if not parsed.get("version") and not parsed.entries:
            raise ConnectorError(
                f"{self.name}: {shown} is not a readable RSS/Atom feed "
                f"(the URL returned {_what_it_is(response.content)}, not a feed)"
            )
        if parsed.bozo:
            log.info(
                "%s: %s is malformed but readable (%s)",
                self.name,
                shown,
                parsed.get("bozo_exception"),
            )
        known = set(saved.get("ids") or [])
        now = datetime.now(timezone.utc)
        lang = parsed.feed.get("language") if isinstance(parsed.feed.get("language"), str) else None
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        current: list[str] = []
        for index, entry in enumerate(parsed.entries):
            declared = _declared_id(entry)
            if declared:  # remembered even when unreadable, so it is reported only once
                current.append(declared)
                if declared in known:
                    continue
            try:
                mention = self._mention(entry, now, lang)
            except ITEM_ERRORS as exc:
                skipped.append(Skipped(f"{shown} entry {index + 1}", str(exc)))
                continue
            if not declared:
                current.append(mention.external_id)
                if mention.external_id in known:
                    continue
            mentions.append(mention)
        state[key] = {
            "etag": response.headers.get("ETag"),
            "modified": response.headers.get("Last-Modified"),
            "ids": current[:MAX_IDS],
        }
        yield Batch(mentions, dump_cursor(state), skipped)

    def _mention(self, entry: Any, now: datetime, lang: str | None) -> Mention:
        raw_title = entry.get("title")
        title = clip(html_to_text(raw_title[: MAX_FIELD_CHARS * 4])) if isinstance(raw_title, str) else None
        body = ""
        for content in entry.get("content") or []:  # Atom <content>, usually the fullest
            if isinstance(content, dict) and content.get("value"):
                body = content["value"]
                break
        body = body or entry.get("summary") or ""
        # markup is cut before parsing, so a 10 MB entry costs no more than a long one
        text = clean_text(html_to_text(str(body)[: MAX_TEXT_CHARS * 4])[:MAX_TEXT_CHARS]) or title
        if not text:
            raise ValueError("no title, summary or content")
        link = safe_url(entry.get("link"))
        entry_id = _declared_id(entry)
        created = _entry_time(entry, now)
        return Mention(
            source=self.name,
            external_id=entry_id or content_id(text, None, created.isoformat(), title),
            kind=self.options.kind,
            text=text,
            title=title,
            author=clip(entry.get("author"), 200),
            url=link,
            lang=lang,
            created_at=created,
            extra={
                "tags": ", ".join(
                    t.get("term", "") for t in entry.get("tags") or [] if t.get("term")
                )
            }
            if entry.get("tags")
            else {},
        )


def cursor_key(url: str) -> str:
    """Where a feed's state lives in the cursor. The cursor is stored in the database as plain
    text, so a URL carrying credentials or a query (API keys often sit there) is keyed by its
    bare address plus a hash of the whole URL, never by the URL itself."""
    shown = display_url(url)
    if shown == url:
        return url
    return f"{shown}#{hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]}"


_ROOT = re.compile(rb"<([A-Za-z_][A-Za-z0-9_.:-]{0,60})")
_PROLOG = re.compile(rb"<\?.*?\?>|<!--.*?-->|<!.*?>", re.S)


def _what_it_is(body: bytes) -> str:
    """Which XML came back instead of a feed, by its root element (an S3 ``<Error>`` page,
    an HTML login wall): what an operator needs to fix the URL. The name is matched to XML's
    name characters, so nothing from the body reaches a terminal unchecked."""
    head = _PROLOG.sub(b"", body[:8192]).lstrip()
    match = _ROOT.match(head)
    return f"XML with root <{match.group(1).decode('ascii')}>" if match else "no XML document"


def _declared_id(entry: Any) -> str | None:
    """The entry's own id (Atom id / RSS guid), else its link; None when it has neither."""
    value = entry.get("id") or entry.get("link")
    return clean_text(str(value))[:500] or None if value else None


def _entry_time(entry: Any, now: datetime) -> datetime:
    """Published, else updated, as aware UTC (feedparser gives UTC struct_time); a missing,
    pre-1970 or far-future date (common feed bugs) becomes the time it was first fetched."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                moment = datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, OSError, ValueError, TypeError):
                return now
            return moment if EARLIEST <= moment <= now + FUTURE_SLACK else now
    return now
