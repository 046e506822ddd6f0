"""YouTube comments on chosen videos, or on every video of a channel, via ``commentThreads.list``.

An API key is enough for public comments (no OAuth): the key goes in the query string, which
the shared client never prints. Every call costs 1 unit of the project's 10,000 a day, and
one call reads up to 100 threads, so the quota is spent by the number of streams times runs
times pages; the docs give the arithmetic. The plain shared HTTP client is used instead of
``google-api-python-client``: one GET does not justify its discovery documents and httplib2.

``order=time`` lists newest first with page tokens and no "since", so each stream (a video, or
``allThreadsRelatedToChannelId``) keeps a watermark and walks until past it (connectors.paging).
Only top-level comments are read; a thread's replies are left to the conversation itself.
YouTube's errors name a reason: quota, a bad key or a disabled API stop the whole run; a video
with comments disabled or gone is skipped and the other streams go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, ClassVar, Iterator, Mapping

from connectors.base import Batch
from connectors.http import HttpConnector, HttpOptions, html_to_text, json_answer
from connectors.incremental import (
    SourceDown, Watermark, dump_cursor, isolated, load_cursor,
)
from connectors.paging import (
    Page, Stream, backfill_setting, first_run_setting, overlap_setting, walk,
)
from connectors.records import MAX_TEXT_CHARS, clean_text, clip, count, parse_time, safe_url
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

PAGE_SIZE = 100  # the API's maximum
_WHOLE_SOURCE = {  # reasons that no other stream would get past either
    "quotaExceeded":
        "the project's daily quota is spent (10,000 units; it resets at midnight Pacific time)",
    "dailyLimitExceeded": "the project's daily quota is spent (it resets at midnight Pacific time)",
    "rateLimitExceeded": "rate limited by YouTube",
    "keyInvalid": "the API key is not valid: check api_key",
    "keyExpired": "the API key has expired: check api_key",
    "accessNotConfigured": "the YouTube Data API v3 is not enabled for this key's project",
    "forbidden": "access refused: check api_key and its restrictions",
}


@dataclass(frozen=True, kw_only=True)
class YouTubeOptions(HttpOptions):
    """Settings of `youtube` connectors."""

    api_key: str = setting(
        "str", secret=True, help='A YouTube Data API v3 key: "${YOUTUBE_API_KEY}".',
    )
    video_ids: list[str] = setting(
        "str|list[str]", [], help="Video ids (the v=... of a watch URL) whose comments are read.",
    )
    channel_id: str = setting("str", "", help="A channel id (UC...): comments on all its videos.")
    overlap: timedelta = overlap_setting("comments", "10m")
    first_run_limit: int = first_run_setting("comments", 100)
    backfill_limit: int = backfill_setting("comments", 2000)
    base_url: str = setting(
        "str", "https://www.googleapis.com/youtube/v3", help="API root (for proxies and tests).",
    )


class YouTubeConnector(HttpConnector):
    type: ClassVar[str] = "youtube"
    supports_backfill: ClassVar[bool] = True
    Options = YouTubeOptions
    options: YouTubeOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        self.videos = [v.strip() for v in self.options.video_ids if v.strip()]
        if not self.videos and not self.options.channel_id.strip():
            raise ConfigError(f"{name}: set `video_ids`, `channel_id` or both")
        self.overlap = self.options.overlap.total_seconds()

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        targets = [(f"video {v}", {"videoId": v}) for v in self.videos]
        if self.options.channel_id.strip():
            channel = self.options.channel_id.strip()
            targets.append((f"channel {channel}", {"allThreadsRelatedToChannelId": channel}))
        parts = []
        for label, params in targets:
            page = partial(self._page, label, params)
            stream = Stream(label, label, page, _identify, self._mention)
            first = Watermark.from_dict(state.get(label)).empty and not backfill
            limit = self.options.first_run_limit if first else self.options.backfill_limit
            run = partial(walk, state, stream, overlap=self.overlap, limit=limit, backfill=backfill)
            parts.append((label, run))
        yield from isolated(self.name, parts, lambda: dump_cursor(state))

    def _page(self, label: str, params: dict[str, str], token: str | None) -> Page:
        query = {
            "part": "snippet", "order": "time", "textFormat": "plainText",
            "maxResults": PAGE_SIZE, "key": self.options.api_key, **params,
        }
        if token:
            query["pageToken"] = token
        url = self.options.base_url.rstrip("/") + "/commentThreads"
        response = self.http.get(url, params=query, ok=(400, 403, 404))
        data = json_answer(response, f"{self.name}: {label}")
        if response.status_code != 200:
            raise _api_error(self.name, label, response.status_code, data)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ConnectorError(f"{self.name}: {label}: the answer has no items list")
        token = data.get("nextPageToken")
        return Page(items, token if isinstance(token, str) and token else None)

    def _mention(self, thread: dict[str, Any]) -> Mention:
        comment = _comment(thread)
        raw = comment.get("textDisplay")
        raw = raw if isinstance(raw, str) and raw.strip() else comment.get("textOriginal")
        if not isinstance(raw, str):
            raise ValueError("textDisplay: missing or not a string")
        text = clean_text(html_to_text(raw[: MAX_TEXT_CHARS * 2])[:MAX_TEXT_CHARS])
        if not text:
            raise ValueError("textDisplay: empty")
        video = clip(comment.get("videoId") or thread["snippet"].get("videoId"), 100)
        comment_id = clip(thread["snippet"]["topLevelComment"].get("id") or thread["id"], 300)
        watch = f"https://www.youtube.com/watch?v={video}&lc={comment_id}" if video else None
        url = safe_url(watch)
        return Mention(
            source=self.name,
            external_id=clip(thread["id"], 500) or "",
            kind="comment",
            text=text,
            author=clip(comment.get("authorDisplayName"), 300),
            url=url,
            created_at=parse_time(comment.get("publishedAt"), now=datetime.now(timezone.utc)),
            extra={
                "video_id": video,
                "likes": count(comment.get("likeCount")),
                "replies": count(thread["snippet"].get("totalReplyCount")),
                "reply_url": url,
            },
        )


def _comment(thread: Any) -> dict[str, Any]:
    """The top-level comment's snippet; ValueError when the thread is not shaped like one."""
    snippet = thread.get("snippet") if isinstance(thread, dict) else None
    top = snippet.get("topLevelComment") if isinstance(snippet, dict) else None
    inner = top.get("snippet") if isinstance(top, dict) else None
    if not isinstance(inner, dict):
        raise ValueError("no snippet.topLevelComment.snippet")
    return inner


def _identify(thread: Any) -> tuple[str, float]:
    comment = _comment(thread)
    if not isinstance(thread.get("id"), str) or not thread["id"]:
        raise ValueError("no thread id")
    published = comment.get("publishedAt")
    if not isinstance(published, str):
        raise ValueError("no publishedAt")
    return thread["id"], parse_time(published, now=datetime.now(timezone.utc)).timestamp()


def _api_error(name: str, label: str, status: int, data: Any) -> ConnectorError:
    """Google's ``{"error": {"code", "message", "errors": [{"reason", "domain"}]}}`` -> one
    line; only the short reason is used (the message is free text from outside)."""
    error = data.get("error") if isinstance(data, dict) else None
    details = error.get("errors") if isinstance(error, dict) else None
    first = details[0] if isinstance(details, list) and details else {}
    first = first if isinstance(first, dict) else {}
    reason = clip(first.get("reason"), 60) or f"HTTP {status}"
    if reason in _WHOLE_SOURCE:
        return SourceDown(f"{name}: YouTube: {_WHOLE_SOURCE[reason]} (HTTP {status} {reason})")
    if status == 400 and reason in ("badRequest", "invalid", f"HTTP {status}"):
        return SourceDown(f"{name}: YouTube refused the request (HTTP 400 {reason}): check api_key")
    return ConnectorError(f"{name}: {label}: YouTube says {reason} (HTTP {status})")
