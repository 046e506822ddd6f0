"""Hacker News stories and comments matching a query, from the public Algolia search API.

``search_by_date`` lists newest first and filters on ``created_at_i`` (epoch seconds), which
makes it naturally incremental: each run asks only for items created after the watermark
minus a small overlap (Algolia indexes within a minute or so, not instantly) and skips ids it
has already seen. Algolia serves at most 1,000 hits per query (pages of up to 1,000), so a
catch-up or backfill walks back in time windows: each next request asks for items older than
the oldest one received. No key is needed; Algolia asks for at most 10,000 requests an hour.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Iterator, Mapping

from connectors.base import Batch, Skipped
from connectors.http import HttpConnector, HttpOptions, html_to_text
from connectors.incremental import ITEM_ERRORS, Watermark, dump_cursor, load_cursor
from connectors.records import MAX_TEXT_CHARS, clean_text, clip, epoch_time, safe_url
from sentimon.mention import Mention
from sentimon.settings import setting

PAGE_SIZE = 100
FIRST_RUN_DAYS = 7


@dataclass(frozen=True, kw_only=True)
class HackerNewsOptions(HttpOptions):
    """Settings of `hackernews` connectors."""

    query: str = setting(
        "str", help="Words to match (Algolia full-text; quote phrases: '\"acme shoes\"').",
    )
    include: list[str] = setting(
        "list[str]", ["stories", "comments"],
        help="Which items to take.",
        choices=("stories", "comments"),
    )
    overlap: timedelta = setting(
        "duration", "10m", help="How far behind the newest seen item each run looks again.",
    )
    backfill_days: int = setting(
        "int", 365,
        help="How far back `sentimon fetch --backfill` goes (a first run takes the last 7 days).",
    )
    base_url: str = setting(
        "str", "https://hn.algolia.com", help="API host (for proxies and tests).",
    )


class HackerNewsConnector(HttpConnector):
    type: ClassVar[str] = "hackernews"
    supports_backfill: ClassVar[bool] = True
    Options = HackerNewsOptions
    options: HackerNewsOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        self.overlap = self.options.overlap.total_seconds()
        tags = [{"stories": "story", "comments": "comment"}[i] for i in self.options.include]
        self.tags = (
            f"({','.join(tags)})" if len(tags) > 1 else (tags[0] if tags else "(story,comment)")
        )

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        mark = Watermark.from_dict(state.get("mark"))
        now = time.time()
        if backfill:
            since = now - self.options.backfill_days * 86400
        elif mark.empty:
            since = now - FIRST_RUN_DAYS * 86400
        else:
            since = mark.newest - self.overlap
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        walked: dict[str, float] = {}
        before: float | None = None
        while True:
            hits = self._page(since, before)
            fresh = 0
            for hit in hits:
                item_id, created = _ident(hit)
                if item_id is None or created is None:
                    where = hit.get("objectID", "?") if isinstance(hit, dict) else "?"
                    skipped.append(Skipped(f"hit {where}", "no objectID or created_at_i"))
                    continue
                if item_id in walked:  # re-read at a window's edge
                    continue
                fresh += 1
                walked[item_id] = created
                before = created + 1 if before is None else min(before, created + 1)
                if mark.is_seen(item_id) and not backfill:
                    continue
                try:
                    mentions.append(self._mention(hit, item_id, created))
                except ITEM_ERRORS as exc:
                    skipped.append(Skipped(f"item {item_id}", str(exc)))
            if backfill and (mentions or skipped):
                # Progress on long walks. Safe only because a backfill re-reads everything.
                state["mark"] = mark.advanced(walked.items(), self.overlap).as_dict()
                yield Batch(mentions, dump_cursor(state), skipped)
                mentions, skipped = [], []
            if len(hits) < PAGE_SIZE or not fresh:
                break
        state["mark"] = mark.advanced(walked.items(), self.overlap).as_dict()
        yield Batch(mentions, dump_cursor(state), skipped)

    def _page(self, since: float, before: float | None) -> list[Any]:
        filters = [f"created_at_i>{int(since)}"]
        if before is not None:
            filters.append(f"created_at_i<{int(before)}")
        data = self.http.get_json(
            self.options.base_url.rstrip("/") + "/api/v1/search_by_date",
            params={
                "query": self.options.query,
                "tags": self.tags,
                "numericFilters": ",".join(filters),
                "hitsPerPage": PAGE_SIZE,
            },
        )
        hits = data.get("hits") if isinstance(data, dict) else None
        return hits if isinstance(hits, list) else []

    def _mention(self, hit: dict[str, Any], item_id: str, created: float) -> Mention:
        tags = hit.get("_tags") or []
        is_comment = "comment" in tags or hit.get("comment_text") is not None
        title = None if is_comment else clip(hit.get("title"))
        body = hit.get("comment_text") if is_comment else hit.get("story_text")
        text = clean_text(html_to_text(body[: MAX_TEXT_CHARS * 4])[:MAX_TEXT_CHARS]) if isinstance(body, str) else ""
        text = text or (title or "")
        if not text:
            raise ValueError("no text or title")
        extra: dict[str, Any] = {
            "points": hit.get("points") if isinstance(hit.get("points"), int) else None
        }
        if is_comment:
            extra.update(story_id=hit.get("story_id"), story_title=hit.get("story_title"))
        if safe_url(hit.get("url") or hit.get("story_url")):
            extra["link"] = hit.get("url") or hit.get("story_url")
        return Mention(
            source=self.name,
            external_id=item_id,
            kind="comment" if is_comment else "story",
            text=text,
            title=title,
            author=clip(hit.get("author"), 100),
            url=safe_url(f"https://news.ycombinator.com/item?id={item_id}"),
            created_at=epoch_time(created),
            extra={k: v for k, v in extra.items() if v is not None},
        )


def _ident(hit: Any) -> tuple[str | None, float | None]:
    if not isinstance(hit, dict):
        return None, None
    item_id = hit.get("objectID")
    created = hit.get("created_at_i")
    if (
        isinstance(item_id, (int, str))
        and str(item_id).strip()
        and isinstance(created, (int, float))
        and not isinstance(created, bool)
        and math.isfinite(created)
    ):
        return clip(str(item_id), 500), float(created)
    return None, None
