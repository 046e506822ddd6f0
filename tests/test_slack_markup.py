"""Mention text in a Slack alert is shown as written: no bold/italic/strike/code, no link that
Slack made from a raw URL, no ping. ``sentimon alerts check`` delivers to a local stand-in."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from click.testing import CliRunner
from test_alerts_support import Recorder, seed_quiet, seed_spike

from sentimon.cli import cli
from sentimon.store import Store

HOSTILE = "*FREE* _refund_ ~now~ `code` at https://evil.example/claim and evil.example <!channel>"
MARKUP = "*_~`"


def test_mention_text_is_not_rendered_by_slack(tmp_path, write_config):
    now = datetime.now(timezone.utc)
    store = Store(tmp_path / "s.db")
    seed_quiet(store, now=now)
    seed_spike(store, now=now)
    for i in range(30):  # the spike's examples, all hostile
        store.db.execute("UPDATE mentions SET text = ? WHERE external_id = ?", [HOSTILE, f"s{i}"])
    store.db.commit()
    store.close()
    with Recorder() as slack:
        config = write_config(f"""
            [storage]
            path = "s.db"
            [[alerts]]
            name = "negative spike"
            metric = "negative_share"
            window = "12h"
            baseline = "7d"
            min_mentions = 20
            cooldown = "4h"
            notify = ["chat"]
            [notifiers.chat]
            type = "slack"
            webhook_url = "{slack.url}"
            """)
        result = CliRunner().invoke(cli, ["--config", str(config), "alerts", "check"])
        assert result.exit_code == 0, result.output
        assert len(slack.requests) == 1
        body = json.loads(slack.requests[0]["body"])
    sections = [b["text"] for b in body["blocks"] if b["type"] == "section"]
    assert all(t["type"] == "mrkdwn" and t.get("verbatim") is True for t in sections)  # no auto-links
    examples = [t for t in sections if "\n>" in t["text"] and "evil" in t["text"]]
    assert examples, "the hostile mention should be among the examples"
    for text in examples:
        quoted = text["text"].split("\n>", 1)[1]
        assert not set(MARKUP) & set(quoted), quoted  # formatting characters neutralised
        assert "<https://evil" not in quoted  # a raw URL stays text: verbatim, not a link
        assert "FREE" in quoted and "refund" in quoted and "&lt;!channel&gt;" in quoted
    links = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section" and "|" in b["text"]["text"]]
    assert any("<https://social.example/" in t for t in links)  # our own links still work
