"""A stand-in for RSS and Atom feeds, in the documented shapes (cited in
``test_connector_rss.py``). Its tests, the contract suite and the config runs share it, so each
source's fake is written once and no test module imports another."""

from __future__ import annotations


RSS = "application/rss+xml; charset=utf-8"


def rss(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Acme alerts</title>'
        "<link>https://example.com/</link><language>en</language>"
        + "".join(items)
        + "</channel></rss>"
    )


def item(
    guid: str | None,
    title: str,
    description: str,
    date: str = "Mon, 30 Nov 2026 09:15:00 GMT",
    link: str | None = None,
) -> str:
    parts = [
        f"<title>{title}</title>",
        f"<description><![CDATA[{description}]]></description>",
        f"<pubDate>{date}</pubDate>",
    ]
    if guid:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link:
        parts.append(f"<link>{link}</link>")
    return "<item>" + "".join(parts) + "</item>"
