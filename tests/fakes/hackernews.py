"""A stand-in for Algolia's Hacker News ``search_by_date`` API, in the documented shapes (cited in
``test_connector_hackernews.py``). Its tests, the contract suite and the config runs share it,
so each source's fake is written once and no test module imports another."""

from __future__ import annotations

import re
import time
from typing import Any, Callable

from localserver import Reply, Request


NOW = int(time.time())


def story(
    object_id: int,
    age: int,
    title: str = "Acme Shoes launches returns portal",
    text: str | None = None,
) -> dict:
    return {
        "objectID": str(object_id),
        "created_at_i": NOW - age,
        "title": title,
        "story_text": text,
        "author": "pg",
        "points": 12,
        "url": "https://acme.example/blog",
        "_tags": ["story", f"story_{object_id}"],
    }


def comment(
    object_id: int, age: int, html: str = "<p>Their <i>support</i> is slow &amp; rude</p>"
) -> dict:
    return {
        "objectID": str(object_id),
        "created_at_i": NOW - age,
        "comment_text": html,
        "author": "dang",
        "story_id": 1,
        "story_title": "Acme Shoes launches",
        "_tags": ["comment", "story_1"],
    }


def algolia(hits: list[Any]) -> Callable[[Request], Reply]:
    """Answer like search_by_date: newest first, numericFilters applied, hitsPerPage honoured.
    ``hits`` is read on every request, so a test can append to it between runs."""

    def answer(request: Request) -> Reply:
        matching = list(hits)
        for op, value in re.findall(
            r"created_at_i([<>])(\d+)", request.query.get("numericFilters", "")
        ):
            bound = int(value)
            matching = [
                h
                for h in matching
                if not isinstance(h, dict)
                or not isinstance(h.get("created_at_i"), int)
                or (h["created_at_i"] > bound if op == ">" else h["created_at_i"] < bound)
            ]
        matching.sort(
            key=lambda h: (
                h.get("created_at_i", 0)
                if isinstance(h, dict) and isinstance(h.get("created_at_i"), int)
                else 0
            ),
            reverse=True,
        )
        per_page = int(request.query.get("hitsPerPage", 20))
        return Reply.json(
            {
                "hits": matching[:per_page],
                "nbHits": len(matching),
                "page": 0,
                "hitsPerPage": per_page,
            }
        )

    return answer
