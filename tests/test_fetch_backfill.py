"""`fetch --backfill` says which sources cannot pull history, instead of quietly fetching only
what is new (the connectors' ``supports_backfill`` was declared and never read)."""

from __future__ import annotations

from cli_support import run

FEED = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><guid>g1</guid>'
        '<title>Parcel late</title><description>Parcel late again</description>'
        '<pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>')


def test_backfill_names_the_sources_that_cannot_pull_history(tmp_path, local_server, keyword_model):
    from localserver import Reply

    local_server.add("/feed.xml", Reply(200, FEED, {"Content-Type": "application/rss+xml"}))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text(
        '{"id": "f1", "text": "Lovely shoes", "created_at": "2026-11-30T10:00:00Z"}\n')
    config = tmp_path / "sentimon.toml"
    config.write_text(
        f'[[connectors]]\nname = "news"\ntype = "rss"\nurl = "{local_server.url}/feed.xml"\n'
        f'[[connectors]]\nname = "exports"\ntype = "files"\npath = "{tmp_path / "in"}/*.jsonl"\n'
    )
    fetched = run("fetch", "--backfill", config=config)
    assert fetched.exit_code == 0, fetched.output
    assert "news: rss cannot pull history; fetching what is new only" in fetched.output
    assert "exports: files cannot" not in fetched.output
    assert "news: fetched 1, new 1" in fetched.output

    plain = run("fetch", config=config)  # no --backfill asked: nothing to say
    assert "cannot pull history" not in plain.output
