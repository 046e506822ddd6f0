"""A stand-in for Zendesk's incremental ticket export and satisfaction ratings, in the documented
shapes (cited in ``test_connector_zendesk.py``). Its tests, the contract suite and the config
runs share it, so each source's fake is written once and no test module imports another."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from localserver import Reply, Request


BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
EXPORT = "/api/v2/incremental/tickets/cursor.json"
RATINGS = "/api/v2/satisfaction_ratings"


EMAIL, TOKEN = "cx@acme.example", "zd-token-0000-secret"


AUTH = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()


def stamp(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket(
    n: int, text: str = "My Acme order arrived late and support never answered", **fields: Any
) -> dict:
    return {
        "id": n,
        "url": f"https://acme.zendesk.com/api/v2/tickets/{n}.json",
        "external_id": None,
        "type": "question",
        "subject": f"Order {1000 + n}",
        "raw_subject": f"Order {1000 + n}",
        "description": text,
        "priority": "normal",
        "status": "open",
        "recipient": "help@acme.example",
        "requester_id": 500 + n,
        "submitter_id": 500 + n,
        "assignee_id": 7,
        "organization_id": None,
        "group_id": 3,
        "tags": ["shipping", "late"],
        "via": {"channel": "email", "source": {}},
        "satisfaction_rating": None,
        "created_at": stamp(n),
        "updated_at": stamp(n),
        "generated_timestamp": int((BASE + timedelta(minutes=n)).timestamp()),
        **fields,
    }


def rating(n: int, comment: str = "Agent was rude and slow", score: str = "bad") -> dict:
    return {
        "id": 9000 + n,
        "url": f"https://acme.zendesk.com/api/v2/satisfaction_ratings/{9000 + n}.json",
        "assignee_id": 7,
        "group_id": 3,
        "requester_id": 500 + n,
        "ticket_id": n,
        "score": score,
        "comment": comment,
        "reason": "Issue took too long to resolve",
        "reason_id": 1001,
        "created_at": stamp(n),
        "updated_at": stamp(n),
    }


def unauthorized(request: Request) -> Reply | None:
    if request.header("Authorization") != AUTH:
        return Reply.json({"error": "Couldn't authenticate you"}, 401)
    return None


class Export:
    """The cursor-based ticket export over ``items``: by updated_at, ``size`` a page, the
    cursor an opaque offset, ``end_of_stream`` once the last page is served."""

    def __init__(self, items: list[dict], size: int = 1000) -> None:
        self.items, self.size = items, size

    def __call__(self, request: Request) -> Reply:
        refused = unauthorized(request)
        if refused:
            return refused
        ordered = sorted(self.items, key=lambda t: str(t.get("updated_at", "")))
        if "cursor" in request.query:
            start = int(request.query["cursor"][1:])
        else:
            since = datetime.fromtimestamp(int(request.query["start_time"]), UTC)
            start = sum(
                1
                for t in ordered
                if str(t.get("updated_at", "")) < since.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
        page = ordered[start : start + self.size]
        after = f"c{start + len(page)}"
        return Reply.json(
            {
                "tickets": page,
                "after_cursor": after,
                "after_url": f"https://acme.zendesk.com{EXPORT}?cursor={after}",
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": start + len(page) >= len(ordered),
            }
        )


class Ratings:
    """satisfaction_ratings with score=received_with_comment, start_time and cursor pages."""

    def __init__(self, items: list[dict]) -> None:
        self.items = items

    def __call__(self, request: Request) -> Reply:
        refused = unauthorized(request)
        if refused:
            return refused
        since = datetime.fromtimestamp(int(request.query["start_time"]), UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        wanted = [
            r
            for r in self.items
            if r.get("comment") is not None and str(r.get("created_at", "")) >= since
        ]
        start, size = int(request.query.get("page[after]") or 0), int(request.query["page[size]"])
        page = wanted[start : start + size]
        more = start + size < len(wanted)
        return Reply.json(
            {
                "satisfaction_ratings": page,
                "meta": {
                    "has_more": more,
                    "after_cursor": str(start + size) if more else None,
                    "before_cursor": str(start),
                },
                "links": {"next": None, "prev": None},
            }
        )
