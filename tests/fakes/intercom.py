"""A stand-in for Intercom's ``/conversations/search``, in the documented shapes (cited in
``test_connector_intercom.py``). Its tests, the contract suite and the config runs share it, so
each source's fake is written once and no test module imports another."""

from __future__ import annotations

import json
import time
from typing import Any

from localserver import Reply, Request


PATH = "/conversations/search"
TOKEN = "dG9rOjEyMzQ1Njc4OTA="
BASE = int(time.time()) - 2 * 86400


def conversation(n: int, body: str = "<p>My Acme order never arrived</p>", *, author: str = "user",
                 updated: int | None = None, remark: str | None = None, rating: int = 1) -> dict:
    item: dict[str, Any] = {
        "type": "conversation", "id": str(1000 + n), "created_at": BASE + n * 60,
        "updated_at": updated if updated is not None else BASE + n * 60, "state": "open", "open": True,
        "source": {"type": "conversation", "id": str(500 + n), "delivered_as": "customer_initiated",
                   "subject": "", "body": body, "url": None, "redacted": False, "attachments": [],
                   "author": {"type": author, "id": f"a{n}", "name": f"Customer {n}", "email": f"c{n}@example.com"}},
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "7", "name": "shipping"}]},
        "conversation_rating": None,
    }
    if remark is not None:
        item["conversation_rating"] = {"rating": rating, "remark": remark, "created_at": item["updated_at"],
                                       "contact": {"type": "contact", "id": f"a{n}"}, "teammate": {"type": "admin", "id": "9"}}
    return item


def intercom_error(status: int, code: str) -> Reply:
    return Reply.json({"type": "error.list", "request_id": "r1", "errors": [{"code": code, "message": "Access Token Invalid"}]}, status)


class Search:
    """The search over ``items``: the updated_at bounds applied (both inclusive, as Intercom's
    ``>``/``<`` are), pages of per_page with opaque cursors, in no particular order."""

    def __init__(self, items: list[dict]) -> None:
        self.items = items
        self.bodies: list[dict] = []

    def __call__(self, request: Request) -> Reply:
        if request.header("Authorization") != f"Bearer {TOKEN}":
            return intercom_error(401, "unauthorized")
        assert request.header("Intercom-Version") == "2.11"
        body = json.loads(request.body)
        self.bodies.append(body)
        low, high = (f["value"] for f in body["query"]["value"])
        found = [c for c in self.items if low <= c.get("updated_at", 0) <= high]
        found.sort(key=lambda c: hash(c.get("id")) % 7)  # no defined order
        size = body["pagination"]["per_page"]
        start = int((body["pagination"].get("starting_after") or "p0")[1:])
        page: dict[str, Any] = {"type": "pages", "page": start // size + 1, "per_page": size,
                                "total_pages": max(1, -(-len(found) // size))}
        if start + size < len(found):
            page["next"] = {"page": start // size + 2, "starting_after": f"p{start + size}"}
        return Reply.json({"type": "conversation.list", "pages": page, "total_count": len(found),
                           "conversations": found[start:start + size]})
