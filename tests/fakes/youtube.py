"""A stand-in for the YouTube Data API's ``commentThreads``, in the documented shapes (cited in
``test_connector_youtube.py``). Its tests, the contract suite and the config runs share it, so
each source's fake is written once and no test module imports another."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from localserver import Reply, Request


BASE = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
PATH = "/youtube/v3/commentThreads"
KEY = "AIzaSy-test-key-000"


def thread(n: int, text: str = "Acme shoes broke after a week", video: str = "vid00000001") -> dict:
    published = (BASE + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    comment_id = f"Ugz{n:06d}"
    return {
        "kind": "youtube#commentThread", "etag": f"e{n}", "id": comment_id,
        "snippet": {
            "channelId": "UCacme", "videoId": video, "canReply": True, "totalReplyCount": 2, "isPublic": True,
            "topLevelComment": {
                "kind": "youtube#comment", "etag": f"c{n}", "id": comment_id,
                "snippet": {
                    "channelId": "UCacme", "videoId": video, "textDisplay": text, "textOriginal": text,
                    "authorDisplayName": f"@viewer{n}", "authorChannelUrl": f"http://www.youtube.com/@viewer{n}",
                    "authorChannelId": {"value": f"UCv{n}"}, "canRate": True, "viewerRating": "none",
                    "likeCount": 4, "publishedAt": published, "updatedAt": published,
                },
            },
        },
    }


def error(code: int, reason: str) -> Reply:
    return Reply.json({"error": {"code": code, "message": f"The request failed: {reason}.",
                                 "errors": [{"message": "...", "domain": "youtube.commentThread", "reason": reason}]}}, code)


class Threads:
    """commentThreads.list over ``items``: newest first, pages of maxResults, numeric tokens."""

    def __init__(self, items: list[dict]) -> None:
        self.items = items

    def __call__(self, request: Request) -> Reply:
        if request.query.get("key") != KEY:
            return error(400, "keyInvalid")
        ordered = sorted(self.items, key=lambda t: str(t.get("snippet", {}).get("topLevelComment", {})
                                                       .get("snippet", {}).get("publishedAt", "")), reverse=True)
        start, size = int(request.query.get("pageToken") or 0), int(request.query["maxResults"])
        body: dict[str, Any] = {"kind": "youtube#commentThreadListResponse", "etag": "x",
                                "pageInfo": {"totalResults": len(ordered[start:start + size]), "resultsPerPage": size},
                                "items": ordered[start:start + size]}
        if start + size < len(ordered):
            body["nextPageToken"] = str(start + size)
        return Reply.json(body)
