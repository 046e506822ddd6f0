"""Zendesk support tickets and CSAT comments: what customers tell the support desk.

Tickets come from the cursor-based incremental export (``/api/v2/incremental/tickets/
cursor.json``): the first request names a ``start_time``, every answer gives an
``after_cursor`` to continue from and ``end_of_stream`` once it has caught up. That cursor is
exactly "everything after what I stored", so it is kept as is and each page is its own batch:
a crash repeats at most one page. The export lists tickets that *changed*, so a ticket comes
back on every update; the store keeps its first sighting (the opening message, the customer's
own words) and drops the repeats by id.

CSAT comments come from ``/api/v2/satisfaction_ratings`` (``score=received_with_comment``,
``start_time``, cursor pagination ``page[size]``/``page[after]``), read with the shared
newest-first walk (connectors/paging.py): the server filters by ``start_time`` (the watermark
less ``overlap``), and the walk skips ids already seen and advances the watermark once.

Auth is an API token (``{email}/token:{token}``, HTTP Basic); both come from the environment
and are sent only in the Authorization header, never in a URL or a message. The incremental
export allows 10 requests a minute: a 429's ``Retry-After`` is honoured by the shared client,
and a run reads at most ``MAX_PAGES`` pages (the next run goes on from the cursor).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Mapping
from urllib.parse import urlsplit

from connectors.base import Batch, Skipped
from connectors.http import HttpConnector, HttpOptions, json_object_answer
from connectors.incremental import (
    ITEM_ERRORS,
    SourceDown,
    Watermark,
    dump_cursor,
    isolated,
    load_cursor,
)
from connectors.paging import Page, Stream, walk
from connectors.records import MAX_TEXT_CHARS, clean_text, clip, json_object, parse_time, safe_url
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

MAX_PAGES = 10  # the export allows 10 requests a minute; a run takes at most that many
CSAT_PAGE = 100  # the most satisfaction ratings a cursor page holds
CSAT_LIMIT = 10_000  # ratings with comments read by one run, in any mode
_CSAT_STARS = {"good": 5, "bad": 1}  # the customer's own verdict, as the rating prior reads it
STREAMS = ("tickets", "csat")


@dataclass(frozen=True, kw_only=True)
class ZendeskOptions(HttpOptions):
    """Settings of `zendesk` connectors."""

    subdomain: str = setting("str", help="Your Zendesk subdomain: acme for acme.zendesk.com.")
    email: str = setting(
        "str", help='Agent or admin email the token belongs to: "${ZENDESK_EMAIL}".',
    )
    api_token: str = setting(
        "str",
        secret=True,
        help='API token (Admin Center > Apps and integrations > Zendesk API): "${ZENDESK_API_TOKEN}".',
    )
    include: list[str] = setting(
        "list[str]", ["tickets", "csat"],
        help="What to read: tickets (the opening message of each) and csat (rating comments).",
    )
    first_run_days: int = setting("int", 7, help="Days back a first run reads without --backfill.")
    backfill_days: int = setting("int", 365, help="Days back `sentimon fetch --backfill` reads.")
    overlap: timedelta = setting(
        "duration", "10m", help="How far behind the newest seen rating each run asks again.",
    )
    base_url: str = setting(
        "str", "",
        help="API host; empty for https://SUBDOMAIN.zendesk.com (for proxies and tests).",
    )


class ZendeskConnector(HttpConnector):
    type: ClassVar[str] = "zendesk"
    supports_backfill: ClassVar[bool] = True
    Options = ZendeskOptions
    options: ZendeskOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        sub = self.options.subdomain.strip()
        if not sub.replace("-", "").isalnum():
            raise ConfigError(
                f"{name}: subdomain must be the name before .zendesk.com, got {sub!r}"
            )
        self.agent = f"https://{sub}.zendesk.com"
        self.base = (self.options.base_url or self.agent).rstrip("/")
        if not urlsplit(self.base).scheme.startswith("http"):
            raise ConfigError(f"{name}: base_url must be an http(s) address")
        unknown = set(self.options.include) - set(STREAMS)
        if unknown or not self.options.include:
            raise ConfigError(
                f"{name}: include takes {' and '.join(STREAMS)}, got {self.options.include}"
            )
        login = f"{self.options.email}/token:{self.options.api_token}".encode()
        self.auth = {"Authorization": "Basic " + base64.b64encode(login).decode()}
        self.overlap = self.options.overlap.total_seconds()

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        parts = []
        if "tickets" in self.options.include:
            parts.append(("tickets", partial(self._tickets, state, backfill)))
        if "csat" in self.options.include:
            parts.append(("csat", partial(self._csat, state, backfill)))
        yield from isolated(self.name, parts, lambda: dump_cursor(state))

    def _start(self, backfill: bool) -> int:
        days = self.options.backfill_days if backfill else self.options.first_run_days
        return int(time.time() - days * 86400)

    def _get(self, path: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        response = self.http.get(self.base + path, params=params, headers=self.auth, ok=(401, 403))
        if response.status_code == 401:
            raise SourceDown(
                f"{self.name}: Zendesk refused the credentials (HTTP 401): "
                "check email and api_token"
            )
        if response.status_code == 403:
            raise ConnectorError(
                f"{self.name}: {what}: HTTP 403 Forbidden (incremental exports "
                "need an admin's token; CSAT needs satisfaction ratings turned on)"
            )
        return json_object_answer(response, f"{self.name}: {what}")

    # -- tickets -------------------------------------------------------------------------

    def _tickets(self, state: dict[str, Any], backfill: bool) -> Iterator[Batch]:
        saved = state.get("tickets") if isinstance(state.get("tickets"), str) else None
        params: dict[str, Any] = {"exclude_deleted": "true"}
        if saved and not backfill:
            params["cursor"] = saved
        else:
            params["start_time"] = self._start(backfill)
        for _ in range(MAX_PAGES):
            data = self._get("/api/v2/incremental/tickets/cursor.json", params, "tickets")
            tickets = data.get("tickets")
            if not isinstance(tickets, list):
                raise ConnectorError(f"{self.name}: tickets: the answer has no tickets list")
            after = data.get("after_cursor")
            if isinstance(after, str) and after:
                state["tickets"] = after
            mentions, skipped = [], []
            for index, raw in enumerate(tickets):
                try:
                    if isinstance(raw, dict) and raw.get("status") == "deleted":
                        continue
                    mentions.append(self._ticket(raw))
                except ITEM_ERRORS as exc:
                    where = raw.get("id") if isinstance(raw, dict) else None
                    skipped.append(Skipped(f"ticket {where or f'item {index + 1}'}", str(exc)))
            yield Batch(mentions, dump_cursor(state), skipped)
            if data.get("end_of_stream") is not False or not tickets or not after:
                return
            params = {"exclude_deleted": "true", "cursor": after}

    def _ticket(self, ticket: Any) -> Mention:
        ticket_id = _id(ticket)
        text = _text(ticket.get("description"), "description")
        via = json_object(ticket.get("via"))
        tags = ticket.get("tags") if isinstance(ticket.get("tags"), list) else []
        url = self._agent_url(ticket_id)
        return Mention(
            source=self.name,
            external_id=f"ticket:{ticket_id}",
            kind="ticket",
            text=text,
            title=clip(ticket.get("subject"), 500),
            url=url,
            created_at=parse_time(ticket.get("created_at"), now=datetime.now(UTC)),
            extra={
                "ticket_id": ticket_id,
                "status": clip(ticket.get("status"), 40),
                "priority": clip(ticket.get("priority"), 40),
                "channel": clip(via.get("channel"), 60),
                "tags": [t for t in (clip(tag, 100) for tag in tags[:50]) if t],
                "reply_url": url,
            },
        )

    # -- CSAT comments -------------------------------------------------------------------

    def _csat(self, state: dict[str, Any], backfill: bool) -> Iterator[Batch]:
        mark = Watermark.from_dict(state.get("csat"))
        since = self._start(backfill) if backfill or mark.empty else int(mark.newest - self.overlap)
        stream = Stream(
            "csat", "csat", partial(self._ratings, since), _identify_rating, self._rating
        )
        yield from walk(state, stream, overlap=self.overlap, limit=CSAT_LIMIT, backfill=backfill)

    def _ratings(self, since: int, token: str | None) -> Page:
        params: dict[str, Any] = {
            "score": "received_with_comment",
            "start_time": max(0, since),
            "page[size]": CSAT_PAGE,
        }
        if token:
            params["page[after]"] = token
        data = self._get("/api/v2/satisfaction_ratings", params, "csat")
        ratings = data.get("satisfaction_ratings")
        if not isinstance(ratings, list):
            raise ConnectorError(f"{self.name}: csat: the answer has no satisfaction_ratings list")
        meta = json_object(data.get("meta"))
        after = meta.get("after_cursor") if meta.get("has_more") is True else None
        return Page(ratings, after if isinstance(after, str) and after else None)

    def _rating(self, rating: dict[str, Any]) -> Mention:
        ticket_id = _id(rating, "ticket_id")
        score = rating.get("score")
        url = self._agent_url(ticket_id)
        return Mention(
            source=self.name,
            external_id=f"csat:{_id(rating)}",
            kind="csat",
            text=_text(rating.get("comment"), "comment"),
            rating=_CSAT_STARS.get(score) if isinstance(score, str) else None,
            url=url,
            created_at=parse_time(rating.get("created_at"), now=datetime.now(UTC)),
            extra={
                "ticket_id": ticket_id,
                "score": clip(score, 40),
                "reason": clip(rating.get("reason"), 200),
                "reply_url": url,
            },
        )

    def _agent_url(self, ticket_id: int) -> str | None:
        """The ticket in the agent workspace, where the team answers (the API's own ``url``
        is a JSON resource, useless to a person)."""
        return safe_url(f"{self.agent}/agent/tickets/{ticket_id}")


def _id(item: Any, key: str = "id") -> int:
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{key}: missing or not a positive number")
    return value


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{key}: missing or not a string")
    text = clean_text(value[:MAX_TEXT_CHARS])
    if not text:
        raise ValueError(f"{key}: empty")
    return text


def _identify_rating(rating: Any) -> tuple[str, float]:
    rating_id = _id(rating)
    if not isinstance(rating.get("created_at"), str):
        raise TypeError("created_at: missing or not a string")
    created = parse_time(rating["created_at"], now=datetime.now(UTC))
    return f"csat:{rating_id}", created.timestamp()
