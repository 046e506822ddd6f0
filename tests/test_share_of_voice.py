"""Competitors beside us (issue 17, item 4) and reply links (item 2), through the real CLI.

Our mentions come from a Mastodon tag timeline on a local server (so they carry
``extra.reply_url``), a competitor's from a file; a stub classifier stands in for the model.
Alert rules are checked on a seeded store: scoped to our brand unless they name another.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fakes import mastodon as mdn
from localserver import LocalServer
from test_alerts_support import NOW, rule, seed_quiet, seed_spike

import alerts
from sentimon.app import App
from sentimon.cli import cli
from sentimon.mention import Classification, TopicScore
from sentimon.store import Store

CONFIG = """
[brand]
name = "Acme"

[[connectors]]
name = "mastodon"
type = "mastodon"
server = "{url}"
hashtags = ["acmeshoes"]

[[connectors]]
name = "rival-reviews"
type = "files"
path = "rival.jsonl"
brand = "Rival"
"""

RIVAL = [
    {"id": "r1", "text": "Rival parcel came late", "created_at": "{day}T10:00:00Z"},
    {"id": "r2", "text": "Rival price is too high", "created_at": "{day}T11:00:00Z"},
    {"id": "r3", "text": "Rival shoes are lovely", "created_at": "{day}T12:00:00Z"},
]


class TopicClassifier:
    """'late' is a negative delivery mention, 'price' a negative price one, else positive."""

    name = "test-topics"

    def classify(self, texts):
        out = []
        for text in texts:
            topic = (
                "delivery"
                if "late" in text.lower()
                else "price"
                if "price" in text.lower()
                else None
            )
            sentiment = "negative" if topic else "positive"
            scores = {
                "negative": 0.9 if topic else 0.05,
                "neutral": 0.05,
                "positive": 0.05 if topic else 0.9,
            }
            topics = (TopicScore(topic, 0.9, "negative"),) if topic else ()
            out.append(Classification(sentiment, scores, topics, self.name))
        return out


@pytest.fixture
def project(tmp_path, write_config, monkeypatch):
    monkeypatch.setattr(App, "classifier", lambda self: TopicClassifier())
    day = (mdn.BASE - timedelta(hours=1)).strftime("%Y-%m-%d")
    (tmp_path / "rival.jsonl").write_text(
        "".join(
            json.dumps({**r, "created_at": r["created_at"].format(day=day)}) + "\n" for r in RIVAL
        )
    )
    with LocalServer() as server:
        server.add(
            mdn.TAG,
            mdn.Timeline([mdn.status(1, "Acme parcel late again"), mdn.status(2, "Love my Acme")]),
        )
        config = write_config(CONFIG.format(url=server.url))
        assert invoke(config, "fetch").exit_code == 0
        yield config


def invoke(config, *args):
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_stats_by_brand_compares_us_with_a_competitor(project):
    result = invoke(project, "stats", "--by", "brand", "--since", "30d", "--format", "json")
    groups = json.loads(result.output)["groups"]
    assert [
        (g["brand"], g["total"], g["negative"], g["negative_share"], g["share_of_voice"])
        for g in groups
    ] == [("Acme", 2, 1, 0.5, 0.4), ("Rival", 3, 2, 0.6667, 0.6)]
    assert groups[0]["top_negative_topics"] == ["delivery"]
    assert groups[1]["top_negative_topics"] == ["delivery", "price"]
    table = invoke(project, "stats", "--by", "brand", "--since", "30d").output
    assert "SHARE_OF_VOICE" in table and "delivery, price" in table


def test_mentions_by_brand_with_reply_links(project):
    ours = json.loads(invoke(project, "mentions", "--brand", "acme", "--format", "json").output)
    assert {m["brand"] for m in ours} == {"Acme"} and len(ours) == 2
    assert ours[0]["reply_url"] == "https://example.social/@u2/2"
    assert (
        json.loads(invoke(project, "mentions", "--brand", "ours", "--format", "json").output)
        == ours
    )
    rival = json.loads(invoke(project, "mentions", "--brand", "Rival", "--format", "json").output)
    assert {m["external_id"] for m in rival} == {"r1", "r2", "r3"} and not any(
        m["reply_url"] for m in rival
    )
    rows = list(csv.DictReader(io.StringIO(invoke(project, "mentions", "--format", "csv").output)))
    assert {r["brand"] for r in rows} == {"Acme", "Rival"}
    assert "https://example.social/@u1/1" in {r["reply_url"] for r in rows}
    table = invoke(project, "mentions").output
    assert "REPLY_URL" in table and "Rival" in table
    only_rival = invoke(project, "mentions", "--brand", "Rival").output
    assert "REPLY_URL" not in only_rival and "BRAND" in only_rival


def test_unknown_brand_is_a_usage_error(project):
    result = CliRunner().invoke(cli, ["--config", str(project), "mentions", "--brand", "Rivl"])
    assert result.exit_code == 2 and "known: Acme, Rival" in result.output


def test_stats_by_source_still_served_with_a_brand_filter(project):
    rows = json.loads(
        invoke(
            project,
            "stats",
            "--by",
            "source",
            "--brand",
            "Rival",
            "--since",
            "30d",
            "--format",
            "json",
        ).output
    )["groups"]
    assert [(r["source"], r["total"]) for r in rows] == [("rival-reviews", 3)]


def test_alert_rules_watch_our_brand_unless_told(tmp_path):
    store = Store(tmp_path / "a.db")
    try:
        seed_quiet(store)
        seed_quiet(store, source="rival-quiet", seed=8)
        seed_spike(store)  # the spike is a competitor's
        store.db.execute(
            "UPDATE mentions SET brand = 'Rival', extra = json_object('reply_url', url) "
            "WHERE source IN ('social', 'rival-quiet')"
        )
        store.db.conn.commit()
        [ours] = alerts.check(store.db, [rule()], now=NOW, dry_run=True, reader=store)
        [theirs] = alerts.check(store.db, [rule(brand="Rival", name="rival")], now=NOW, reader=store)
        [every] = alerts.check(store.db, [rule(brand="*", name="all")], now=NOW, dry_run=True, reader=store)
        details = json.loads(store.db.execute("SELECT details FROM alert_events").fetchone()[0])
    finally:
        store.close()
    assert ours.action != "opened" and theirs.action == "opened" and every.action == "opened"
    assert all(e["reply_url"] == e["url"] for e in details["examples"])


def test_reply_links_in_alert_examples():
    from alerts import console, slack, smtp

    example = {
        "source": "zendesk",
        "created_at": "2026-12-01T10:00:00Z",
        "text": "Refund?",
        "url": "https://acme.zendesk.com/api/v2/tickets/7.json",
        "reply_url": "https://acme.zendesk.com/agent/tickets/7",
    }
    payload = {"rule": "r", "title": "negative spike", "examples": [example]}
    assert "reply: https://acme.zendesk.com/agent/tickets/7" in console.render(payload)
    assert "<https://acme.zendesk.com/agent/tickets/7|reply>" in json.dumps(slack.blocks(payload))
    assert '<a href="https://acme.zendesk.com/agent/tickets/7">reply</a>' in smtp.html_body(
        payload, False
    )


def test_export_names_each_mentions_brand(project):
    rows = list(csv.DictReader(io.StringIO(invoke(project, "export", "--format", "csv").stdout)))
    assert sorted(r["brand"] for r in rows) == ["Acme", "Acme", "Rival", "Rival", "Rival"]
    lines = [json.loads(line) for line in invoke(project, "export").stdout.splitlines()]
    assert {(m["external_id"], m["brand"]) for m in lines if m["brand"] == "Rival"} == {
        ("r1", "Rival"), ("r2", "Rival"), ("r3", "Rival")}


def test_report_compares_the_brands_when_a_competitor_is_watched(project, tmp_path):
    data = json.loads(invoke(project, "report", "--since", "30d", "--format", "json").stdout)
    assert [(b["brand"], b["total"], b["negative_share"], b["share_of_voice"], b["top_negative_topics"])
            for b in data["brands"]] == [("Acme", 2, 0.5, 0.4, ["delivery"]), ("Rival", 3, 0.6667, 0.6, ["delivery", "price"])]
    page = tmp_path / "report.html"
    invoke(project, "report", "--since", "30d", "--out", str(page))
    html = page.read_text()
    assert "Share of voice" in html and "<td>Rival</td><td>3</td><td>2</td><td>67%</td><td>60%</td><td>delivery, price</td>" in html


def test_report_has_no_brand_section_with_one_brand(tmp_path):
    from sentimon.report import gather, render_html

    store = Store(tmp_path / "one.db")
    data = gather(store, timedelta(days=7), brands={"": "Acme"})
    assert data["brands"] == [] and "Share of voice" not in render_html(data)
