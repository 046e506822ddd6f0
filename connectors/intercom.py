"""Intercom conversations and their CSAT remarks: what customers tell the support inbox.

Conversations come from ``POST /conversations/search`` filtered on ``updated_at``. The search
has no documented order, so no page can be trusted to hold the oldest changes: the run reads
time *windows* (``updated_at`` between two moments, every page, then the next window) and the
cursor moves to a window's end only once all of its pages are stored. Every page is its own
batch carrying the old cursor, so memory stays bounded and a crash repeats at most one window
(deduplicated by id). A conversation is listed again on every reply; the store keeps its first
sighting, the customer's opening message, and a rating given later arrives with that update.

Only conversations a customer started (``source.author.type`` user or lead) become mentions:
outbound messages and campaigns are our words, not theirs. A rating's remark is its own
mention with the 1-5 rating, weighed with its words as a star rating is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Iterator, Mapping
from urllib.parse import urlsplit

from connectors.base import Batch, Skipped
from connectors.http import HttpConnector, HttpOptions, html_to_text, json_object_answer
from connectors.incremental import ITEM_ERRORS, SourceDown, dump_cursor, load_cursor
from connectors.records import (
    MAX_TEXT_CHARS, clean_text, clip, epoch_time, json_object, parse_rating, safe_url,
)
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

API_VERSION = "2.11"
PAGE_SIZE = 150  # the search's maximum
WINDOW = 7 * 86400  # seconds of updates read before the cursor moves
LAG = 60  # changes of the last minute may not be searchable yet; the next run takes them
CUSTOMERS = ("user", "lead", "contact")


@dataclass(frozen=True, kw_only=True)
class IntercomOptions(HttpOptions):
    """Settings of `intercom` connectors."""

    access_token: str = setting(
        "str",
        secret=True,
        help='Access token of an Intercom app with "Read conversations": "${INTERCOM_TOKEN}".',
    )
    workspace_id: str = setting(
        "str", "",
        help="Workspace id (app.intercom.com/a/apps/ID/...), for reply links; empty: none.",
    )
    first_run_days: int = setting("int", 7, help="Days back a first run reads without --backfill.")
    backfill_days: int = setting("int", 365, help="Days back `sentimon fetch --backfill` reads.")
    overlap: timedelta = setting(
        "duration", "10m",
        help="How far before the last window's end each run asks again (search indexing lags).",
    )
    base_url: str = setting(
        "str", "https://api.intercom.io",
        help="API host: https://api.eu.intercom.io or https://api.au.intercom.io outside the US.",
    )


class IntercomConnector(HttpConnector):
    type: ClassVar[str] = "intercom"
    supports_backfill: ClassVar[bool] = True
    Options = IntercomOptions
    options: IntercomOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        self.base = self.options.base_url.rstrip("/")
        if urlsplit(self.base).scheme not in ("http", "https"):
            raise ConfigError(f"{name}: base_url must be an http(s) address")
        workspace = self.options.workspace_id.strip()
        if workspace and not workspace.replace("_", "").isalnum():
            raise ConfigError(f"{name}: workspace_id must be the id from the Intercom URL, got {workspace!r}")
        self.web = f"https://app.intercom.com/a/apps/{workspace}/conversations/" if workspace else None
        self.headers = {
            "Authorization": f"Bearer {self.options.access_token}",
            "Intercom-Version": API_VERSION,
            "Accept": "application/json",
        }
        self.overlap = int(self.options.overlap.total_seconds())

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        until = int(time.time()) - LAG
        saved = state.get("updated")
        if backfill or not isinstance(saved, int) or isinstance(saved, bool):
            days = self.options.backfill_days if backfill else self.options.first_run_days
            start = until - days * 86400
        else:
            start = saved - self.overlap
        while start < until:
            end = min(start + WINDOW, until)
            for conversations in self._pages(start, end):
                yield self._batch(conversations, dump_cursor(state))
            state["updated"] = max(end, saved) if isinstance(saved, int) else end
            yield Batch([], dump_cursor(state))
            start = end

    def _pages(self, start: int, end: int) -> Iterator[list[Any]]:
        query = {"operator": "AND", "value": [
            {"field": "updated_at", "operator": ">", "value": start},
            {"field": "updated_at", "operator": "<", "value": end},
        ]}
        after: str | None = None
        while True:
            paging: dict[str, Any] = {"per_page": PAGE_SIZE}
            if after:
                paging["starting_after"] = after
            data = self._search({"query": query, "pagination": paging})
            conversations = data.get("conversations")
            if not isinstance(conversations, list):
                raise ConnectorError(f"{self.name}: the answer has no conversations list")
            yield conversations
            pages = json_object(data.get("pages"))
            following = json_object(pages.get("next"))
            after = following.get("starting_after")
            if not conversations or not isinstance(after, str) or not after:
                return

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.request(
            "POST", f"{self.base}/conversations/search", json=body, headers=self.headers, ok=(401, 403)
        )
        if response.status_code in (401, 403):
            code = _error_code(response)
            raise SourceDown(
                f"{self.name}: Intercom refused the access token (HTTP {response.status_code}{code}): "
                "check access_token and that its app may read conversations"
            )
        return json_object_answer(response, f"{self.name}: conversations")

    def _batch(self, conversations: list[Any], cursor: str) -> Batch:
        mentions, skipped = [], []
        for index, raw in enumerate(conversations):
            ident = clip(raw.get("id"), 40) if isinstance(raw, dict) else None
            where = f"conversation {ident or f'item {index + 1}'}"
            try:
                if _customer_started(raw):
                    mentions.append(self._conversation(raw))
                rating = raw.get("conversation_rating")
                if isinstance(rating, dict) and isinstance(rating.get("remark"), str) and rating["remark"].strip():
                    mentions.append(self._rating(raw, rating))
            except ITEM_ERRORS as exc:
                skipped.append(Skipped(where, str(exc)))
        return Batch(mentions, cursor, skipped)

    def _conversation(self, conversation: dict[str, Any]) -> Mention:
        conversation_id = _id(conversation)
        source = conversation["source"]
        text = _text(source.get("body"), "source.body")
        url = self._reply_url(conversation_id)
        tags = json_object(conversation.get("tags"))
        names = [t.get("name") for t in tags.get("tags") or [] if isinstance(t, dict)]
        return Mention(
            source=self.name,
            external_id=f"conversation:{conversation_id}",
            kind="conversation",
            text=text,
            title=clip(html_to_text(source.get("subject")) if isinstance(source.get("subject"), str) else None, 500),
            url=url,
            created_at=epoch_time(conversation.get("created_at"), now=datetime.now(UTC)),
            extra={
                "conversation_id": conversation_id,
                "state": clip(conversation.get("state"), 40),
                "channel": clip(source.get("type"), 40),
                "tags": [n for n in (clip(name, 100) for name in names[:50]) if n],
                "reply_url": url,
            },
        )

    def _rating(self, conversation: dict[str, Any], rating: dict[str, Any]) -> Mention:
        conversation_id = _id(conversation)
        url = self._reply_url(conversation_id)
        return Mention(
            source=self.name,
            external_id=f"csat:{conversation_id}",
            kind="csat",
            text=_text(rating.get("remark"), "conversation_rating.remark"),
            rating=parse_rating(rating.get("rating")),
            url=url,
            created_at=epoch_time(rating.get("created_at") or conversation.get("updated_at"),
                                  now=datetime.now(UTC)),
            extra={"conversation_id": conversation_id, "reply_url": url},
        )

    def _reply_url(self, conversation_id: str) -> str | None:
        """The conversation in the Intercom inbox, where the team answers; needs the workspace
        id, which the API does not return."""
        return safe_url(self.web + conversation_id) if self.web else None


def _customer_started(conversation: Any) -> bool:
    source = conversation.get("source") if isinstance(conversation, dict) else None
    if not isinstance(source, dict):
        raise ValueError("no source")
    author = json_object(source.get("author"))
    return author.get("type") in CUSTOMERS


def _id(conversation: dict[str, Any]) -> str:
    value = conversation.get("id")
    if not isinstance(value, str) or not value.isdigit():
        raise ValueError("id: missing or not a conversation id")
    return value


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{key}: missing or not a string")
    text = clean_text(html_to_text(value[: MAX_TEXT_CHARS * 2])[:MAX_TEXT_CHARS])
    if not text:
        raise ValueError(f"{key}: empty")
    return text


def _error_code(response: Any) -> str:
    """`` code`` from Intercom's ``{"type": "error.list", "errors": [{"code", "message"}]}``."""
    try:
        code = clip(response.json()["errors"][0]["code"], 60)
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    return f" {code}" if code else ""
