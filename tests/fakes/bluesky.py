"""A stand-in for Bluesky's XRPC ``searchPosts`` and ``createSession``, in the documented shapes
(cited in ``test_connector_bluesky.py``). Its tests, the contract suite and the config runs
share it, so each source's fake is written once and no test module imports another."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from localserver import Reply, Request


BASE = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
LOGIN = "/xrpc/com.atproto.server.createSession"
PASSWORD = "abcd-efgh-ijkl-mnop"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def post(n: int, text: str = "Acme Shoes arrived late again", minutes: int = 0, **record: Any) -> dict:
    created = BASE + timedelta(minutes=n + minutes)
    return {
        "uri": f"at://did:plc:user{n}/app.bsky.feed.post/3k{n:05d}",
        "cid": f"bafyrei{n:010d}",
        "author": {"did": f"did:plc:user{n}", "handle": f"user{n}.bsky.social", "displayName": f"User {n}"},
        "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": iso(created), "langs": ["en"], **record},
        "replyCount": 1, "repostCount": 0, "likeCount": 3, "indexedAt": iso(created + timedelta(seconds=2)),
        "labels": [],
    }


def session(n: int = 1) -> Reply:
    return Reply.json({"did": "did:plc:acme", "handle": "acme.bsky.social",
                       "accessJwt": f"access-{n}", "refreshJwt": f"refresh-{n}", "active": True})


class Search:
    """searchPosts over ``posts``: newest first by sortAt, ``since`` honoured, pages of ``limit``
    with an opaque numeric cursor, and a required Bearer token."""

    def __init__(self, posts: list[dict], token: str = "access-1") -> None:
        self.posts, self.token = posts, token

    def __call__(self, request: Request) -> Reply:
        if request.header("Authorization") != f"Bearer {self.token}":
            return Reply.json({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        def sort_at(p: dict) -> str:  # malformed posts (no times) sort last
            record = p.get("record") if isinstance(p.get("record"), dict) else {}
            return min(str(record.get("createdAt", "~")), str(p.get("indexedAt", "~")))
        ordered = sorted(self.posts, key=sort_at, reverse=True)
        if "since" in request.query:
            ordered = [p for p in ordered if sort_at(p) >= request.query["since"]]
        start, size = int(request.query.get("cursor") or 0), int(request.query["limit"])
        page = ordered[start:start + size]
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(ordered)}
        if start + size < len(ordered):
            body["cursor"] = str(start + size)
        return Reply.json(body)
