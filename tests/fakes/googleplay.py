"""A stand-in for the optional ``google_play_scraper`` module, in the documented shapes (cited in
``test_connector_googleplay.py``). Its tests, the contract suite and the config runs share it,
so each source's fake is written once and no test module imports another."""

from __future__ import annotations

import types
from datetime import datetime, timedelta


BASE = datetime(2026, 11, 1, 12, 0)  # naive local time, as the scraper builds it


def review(n: int, text: str = "App keeps logging me out", score: int = 2) -> dict:
    return {
        "reviewId": f"gp:{n}",
        "userName": "Sam",
        "content": text,
        "score": score,
        "thumbsUpCount": 3,
        "reviewCreatedVersion": "5.1.0",
        "at": BASE + timedelta(minutes=n),
        "replyContent": None,
        "repliedAt": None,
        "appVersion": "5.1.0",
    }


class _Token:
    def __init__(self, offset: int | None) -> None:
        self.token = offset


def fake_scraper(
    reviews: list, calls: list | None = None, error: Exception | None = None
) -> types.ModuleType:
    """Pages newest first (``reviews`` is oldest first) with a continuation token, like ``google_play_scraper.reviews``."""
    module = types.ModuleType("google_play_scraper")
    module.Sort = types.SimpleNamespace(NEWEST=2, MOST_RELEVANT=1)

    def reviews_fn(
        app_id, lang="en", country="us", sort=1, count=100, continuation_token=None, **_
    ):
        if error:
            raise error
        if calls is not None:
            calls.append(
                {"app_id": app_id, "lang": lang, "country": country, "sort": sort, "count": count}
            )
        ordered = list(reversed(reviews))  # tests list reviews oldest first
        start = continuation_token.token if continuation_token else 0
        page = ordered[start : start + count]
        more = start + count < len(ordered)
        return page, _Token(start + count if more else None)

    module.reviews = reviews_fn
    return module
