"""A stand-in for Apple's public customer-reviews RSS-JSON feed
(``/{country}/rss/customerreviews/page=N/...json``), in the documented shapes (cited in
``test_connector_appstore.py``). Its tests, the contract suite and the config runs share it, so
each source's fake is written once and no test module imports another."""

from __future__ import annotations


APP = "1321994487"


def page_path(country: str, page: int) -> str:
    return f"/{country}/rss/customerreviews/page={page}/id={APP}/sortby=mostrecent/json"


def review(entry_id: str, text: str = "Crashes on login", rating: str = "1", **extra) -> dict:
    return {
        "id": {"label": entry_id},
        "content": {"label": text, "attributes": {"type": "text"}},
        "im:rating": {"label": rating},
        "title": {"label": "t"},
        "im:version": {"label": "9.0"},
        "author": {"name": {"label": "someone"}},
        **extra,
    }
