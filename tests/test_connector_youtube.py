"""YouTube connector against a local server.

Shapes from the YouTube Data API v3 reference (developers.google.com/youtube/v3/docs):
``commentThreads/list`` (part=snippet, videoId | allThreadsRelatedToChannelId, order=time,
textFormat=plainText, maxResults <= 100, pageToken; answer ``{"kind":
"youtube#commentThreadListResponse", "etag", "nextPageToken", "pageInfo", "items": [...]}``),
``commentThreads#resource`` (id, snippet {channelId, videoId, topLevelComment, canReply,
totalReplyCount, isPublic}), ``comments#resource`` (snippet {videoId, textDisplay,
textOriginal, authorDisplayName, authorChannelId {value}, likeCount, publishedAt, updatedAt})
and ``errors`` (``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}``,
reasons quotaExceeded, keyInvalid, commentsDisabled, videoNotFound).
"""

from __future__ import annotations

from typing import Any

import pytest

from connectors.http import HttpClient
from connectors.youtube import YouTubeConnector
from fakes.youtube import KEY, PATH, Threads, error, thread
from connector_runs import drain
from localserver import LocalServer, Reply
from sentimon.errors import ConnectorError
from sentimon.settings import validate


def connector(server: LocalServer, **options: Any) -> YouTubeConnector:
    values = validate({"api_key": KEY, "video_ids": ["vid00000001"], "base_url": server.url + "/youtube/v3", **options},
                      YouTubeConnector.settings, "youtube")
    return YouTubeConnector("youtube", values, http=HttpClient("youtube", sleep=lambda s: None, retries=1))


def test_reads_comments_with_a_link_to_reply(local_server):
    local_server.add(PATH, Threads([thread(1), thread(2, "Love them")]))
    mentions, skipped, _, _ = drain(connector(local_server))
    assert not skipped and [m.text for m in mentions] == ["Love them", "Acme shoes broke after a week"]
    first = mentions[1]
    assert first.url == first.extra["reply_url"] == "https://www.youtube.com/watch?v=vid00000001&lc=Ugz000001"
    assert first.author == "@viewer1" and first.kind == "comment" and first.extra["replies"] == 2
    query = local_server.requests[0].query
    assert (query["order"], query["textFormat"], query["videoId"]) == ("time", "plainText", "vid00000001")


def test_pages_then_resumes_without_repeats(local_server):
    items = [thread(n) for n in range(1, 251)]
    local_server.add(PATH, Threads(items))
    mentions, _, cursor, _ = drain(connector(local_server, first_run_limit=1000))
    assert len(mentions) == 250
    assert [r.query.get("pageToken") for r in local_server.requests] == [None, "100", "200"]
    items.append(thread(400, "Refund arrived"))
    again, _, _, _ = drain(connector(local_server), cursor)
    assert [m.text for m in again] == ["Refund arrived"]
    assert local_server.requests[-1].query.get("pageToken") is None  # stopped on the first page


def test_channel_and_an_empty_page(local_server):
    local_server.add(PATH, Threads([]))
    mentions, skipped, cursor, batches = drain(connector(local_server, video_ids=[], channel_id="UCacme"))
    assert (mentions, skipped, batches) == ([], [], 1) and cursor
    assert local_server.requests[0].query["allThreadsRelatedToChannelId"] == "UCacme"


def test_a_malformed_thread_is_skipped(local_server):
    local_server.add(PATH, Threads([thread(1), {"id": "broken", "snippet": {}}, thread(2, text="")]))
    mentions, skipped, _, _ = drain(connector(local_server))
    assert len(mentions) == 1 and len(skipped) == 2


def test_a_bad_key_fails_the_run_without_printing_it(local_server):
    local_server.add(PATH, Threads([thread(1)]))
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server, api_key="wrong"))
    assert "keyInvalid" in str(info.value) and "check api_key" in str(info.value)
    assert "wrong" not in str(info.value) and KEY not in str(info.value)


def test_quota_spent_stops_every_stream(local_server):
    local_server.add(PATH, error(403, "quotaExceeded"))
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server, video_ids=["a", "b"]))
    assert "quota" in str(info.value) and len(local_server.requests) == 1


def test_comments_disabled_skips_only_that_video(local_server):
    local_server.add(PATH, Threads([thread(1, video="good")]))
    local_server.add(PATH, error(403, "commentsDisabled"), query={"videoId": "off"})
    mentions, skipped, _, _ = drain(connector(local_server, video_ids=["off", "good"]))
    assert len(mentions) == 1 and skipped[0].where == "video off" and "commentsDisabled" in skipped[0].reason


def test_rate_limit_with_retry_after(local_server):
    waits: list[float] = []
    local_server.add(PATH, Reply(429, "", {"Retry-After": "5"}), Threads([thread(1)]))
    values = validate({"api_key": KEY, "video_ids": ["v"], "base_url": local_server.url + "/youtube/v3"},
                      YouTubeConnector.settings, "y")
    conn = YouTubeConnector("y", values, http=HttpClient("y", sleep=waits.append, retries=2))
    mentions, _, _, _ = drain(conn)
    assert waits == [5.0] and len(mentions) == 1
