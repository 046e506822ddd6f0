"""Mastodon posts from one server: full-text search (``/api/v2/search``) and hashtag timelines.

The fediverse has no global search: each server answers for the posts it knows, so one
connector reads one server (configure one per server you care about). Hashtag timelines
(``/api/v1/timelines/tag/:tag``) are public on most servers. Full-text search of posts needs
a token on most servers, and since Mastodon 4.2 finds only posts whose authors opted in to
being searchable (and posts the token's account interacted with); tags and a token together
give the best reach.

Status ids are sortable (snowflake-like numbers as strings), and every list accepts
``min_id`` ("the page just newer than this id"). So a stream's cursor is simply the newest id
stored, and a run pages *forward* from it, yielding one batch per page with the cursor at that
page's newest id: a crash loses nothing and repeats at most one page. A first run takes the
newest page; ``--backfill`` walks ``backfill_pages`` pages back with ``max_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any, ClassVar, Iterator, Mapping
from urllib.parse import quote, urlsplit

from connectors.base import Batch, Skipped
from connectors.http import HttpConnector, HttpOptions, html_to_text, json_answer
from connectors.incremental import ITEM_ERRORS, SourceDown, dump_cursor, isolated, load_cursor
from connectors.records import (
    MAX_TEXT_CHARS, clean_text, clip, count, json_object, parse_time, safe_url,
)
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

PAGE_SIZE = 40  # Mastodon's maximum for statuses
MAX_FORWARD_PAGES = 50  # one run catches up at most 2,000 posts per stream; the next goes on


def _order(status_id: str) -> tuple[int, str]:
    """Sort key for Mastodon ids: numeric strings compare by length, then digits."""
    return (len(status_id), status_id)


@dataclass(frozen=True, kw_only=True)
class MastodonOptions(HttpOptions):
    """Settings of `mastodon` connectors."""

    server: str = setting("str", help="The server's address, e.g. https://mastodon.social.")
    query: str = setting("str", "", help="Full-text search words (needs a token on most servers).")
    hashtags: list[str] = setting(
        "str|list[str]", [], help="Hashtags (without #) whose public timelines are read.",
    )
    token: str = setting(
        "str", "",
        secret=True,
        help='Optional access token with read:search and read:statuses: "${MASTODON_TOKEN}".',
    )
    backfill_pages: int = setting(
        "int", 25, help="Pages of 40 read back per stream by `sentimon fetch --backfill`.",
    )


class MastodonConnector(HttpConnector):
    type: ClassVar[str] = "mastodon"
    supports_backfill: ClassVar[bool] = True
    Options = MastodonOptions
    options: MastodonOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        self.server = self.options.server.rstrip("/")
        if not urlsplit(self.server).scheme.startswith("http"):
            raise ConfigError(
                f"{name}: server must be an http(s) address, got {self.options.server!r}"
            )
        self.tags = [t.strip().lstrip("#") for t in self.options.hashtags if t.strip().lstrip("#")]
        if not self.options.query and not self.tags:
            raise ConfigError(f"{name}: set `query`, `hashtags` or both")

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        streams: list[tuple[str, str, dict[str, Any]]] = []
        if self.options.query:
            query = {"q": self.options.query, "type": "statuses", "resolve": "false"}
            streams.append(("search", "/api/v2/search", query))
        streams += [(f"#{t}", f"/api/v1/timelines/tag/{quote(t, safe='')}", {}) for t in self.tags]
        parts = [
            (key, partial(self._stream, state, key, path, params, backfill))
            for key, path, params in streams
        ]
        yield from isolated(self.name, parts, lambda: dump_cursor(state))

    def _stream(
        self, state: dict[str, Any], key: str, path: str, params: dict[str, Any], backfill: bool
    ) -> Iterator[Batch]:
        newest = state.get(key) if isinstance(state.get(key), str) else None
        if newest and not backfill:
            for _ in range(MAX_FORWARD_PAGES):  # forward from the cursor, oldest page first
                statuses = self._statuses(path, {**params, "min_id": newest}, key)
                batch, top, _ = self._read(statuses, key, state, newest)
                newest = top
                yield batch
                if len(statuses) < PAGE_SIZE:
                    return
            return
        max_id: str | None = None
        for _ in range(self.options.backfill_pages if backfill else 1):  # backward
            older = {"max_id": max_id} if max_id else {}
            statuses = self._statuses(path, {**params, **older}, key)
            batch, newest, bottom = self._read(statuses, key, state, newest)
            yield batch
            if not statuses or bottom is None or bottom == max_id:
                return
            max_id = bottom

    def _statuses(self, path: str, params: dict[str, Any], key: str) -> list[Any]:
        token = self.options.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.get(
            self.server + path, params={**params, "limit": PAGE_SIZE}, headers=headers, ok=(401,)
        )
        if response.status_code == 401:
            hint = "check the token" if self.options.token else "this server wants a token"
            raise SourceDown(f"{self.name}: {key}: HTTP 401 Unauthorized ({hint})")
        data = json_answer(response, f"{self.name}: {key}")
        statuses = data.get("statuses") if isinstance(data, dict) else data
        if not isinstance(statuses, list):
            raise ConnectorError(f"{self.name}: {key}: expected a list of statuses")
        return statuses

    def _read(
        self, statuses: list[Any], key: str, state: dict[str, Any], newest: str | None
    ) -> tuple[Batch, str | None, str | None]:
        """One page -> (batch with the cursor at the newest id so far, newest, oldest id)."""
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        ids: list[str] = []
        for index, status in enumerate(statuses):
            status_id = status.get("id") if isinstance(status, dict) else None
            if not isinstance(status_id, str) or not status_id.isdigit():
                skipped.append(Skipped(f"{key} item {index + 1}", "no numeric id"))
                continue
            ids.append(status_id)
            if isinstance(status.get("reblog"), dict):
                continue  # a boost repeats someone's words; the original is its own status
            try:
                mentions.append(self._mention(status))
            except ITEM_ERRORS as exc:
                skipped.append(Skipped(f"{key} {status_id}", str(exc)))
        if ids:
            top = max(ids, key=_order)
            newest = top if newest is None else max(newest, top, key=_order)
        if newest is not None:
            state[key] = newest
        bottom = min(ids, key=_order) if ids else None
        return Batch(mentions, dump_cursor(state), skipped), newest, bottom

    def _mention(self, status: dict[str, Any]) -> Mention:
        content = status.get("content")
        if not isinstance(content, str):
            raise ValueError("content: missing or not a string")
        text = clean_text(html_to_text(content[: MAX_TEXT_CHARS * 2])[:MAX_TEXT_CHARS])
        if not text:
            raise ValueError("content: empty")
        account = json_object(status.get("account"))
        url = safe_url(status.get("url")) or safe_url(status.get("uri"))
        return Mention(
            source=self.name,
            external_id=status["id"],
            kind="reply" if status.get("in_reply_to_id") else "post",
            text=text,
            title=clip(status.get("spoiler_text")),
            author=clip(account.get("acct"), 300),
            url=url,
            lang=clip(status.get("language"), 20),
            created_at=parse_time(status.get("created_at"), now=datetime.now(timezone.utc)),
            extra={
                "server": urlsplit(self.server).netloc,
                "favourites": count(status.get("favourites_count")),
                "reblogs": count(status.get("reblogs_count")),
                "replies": count(status.get("replies_count")),
                "reply_url": url,
            },
        )

