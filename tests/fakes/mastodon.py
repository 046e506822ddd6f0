"""A stand-in for Mastodon's hashtag timeline and search, in the documented shapes (cited in
``test_connector_mastodon.py``). Its tests, the contract suite and the config runs share it, so
each source's fake is written once and no test module imports another."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from localserver import Reply, Request


BASE = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
TAG = "/api/v1/timelines/tag/acmeshoes"


def status(n: int, text: str = "My <b>Acme</b> shoes fell apart", **fields: Any) -> dict:
    return {
        "id": str(110_000_000_000_000_000 + n),
        "created_at": (BASE + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "in_reply_to_id": None, "in_reply_to_account_id": None, "sensitive": False,
        "spoiler_text": "", "visibility": "public", "language": "en",
        "uri": f"https://example.social/users/u{n}/statuses/{n}",
        "url": f"https://example.social/@u{n}/{n}",
        "replies_count": 0, "reblogs_count": 1, "favourites_count": 2,
        "content": f"<p>{text} <a href=\"https://example.social/tags/acmeshoes\" class=\"mention hashtag\">#<span>acmeshoes</span></a></p>",
        "reblog": None, "account": {"id": str(n), "username": f"u{n}", "acct": f"u{n}@example.social"},
        "media_attachments": [], "mentions": [], "tags": [{"name": "acmeshoes"}], "emojis": [],
        **fields,
    }


class Timeline:
    """A tag timeline or search over ``statuses``: newest first; ``max_id`` pages back,
    ``min_id`` returns the page just newer than it (still newest first), as Mastodon does."""

    def __init__(self, statuses: list[dict], wrap: bool = False) -> None:
        self.statuses, self.wrap = statuses, wrap

    def __call__(self, request: Request) -> Reply:
        def key(s: dict) -> tuple[int, str]:
            return (len(str(s.get("id"))), str(s.get("id")))
        items = sorted(self.statuses, key=key)  # oldest first
        limit = int(request.query.get("limit", 20))
        if "min_id" in request.query:
            low = (len(request.query["min_id"]), request.query["min_id"])
            page = [s for s in items if key(s) > low][:limit]
        else:
            if "max_id" in request.query:
                high = (len(request.query["max_id"]), request.query["max_id"])
                items = [s for s in items if key(s) < high]
            page = items[-limit:]
        page = list(reversed(page))
        return Reply.json({"accounts": [], "statuses": page, "hashtags": []} if self.wrap else page)
