"""Mention text in a Slack alert is shown as written: no bold/italic/strike/code, no link that
Slack made from a raw URL, no ping. ``sentimon alerts check`` delivers to a local stand-in."""

from __future__ import annotations

import json

from test_alerts_support import Recorder

HOSTILE = "*FREE* _refund_ ~now~ `code` at https://evil.example/claim and evil.example <!channel>"
MARKUP = "*_~`"


def hostile(store) -> None:
    """The spike's examples, all hostile."""
    for i in range(30):
        store.db.execute("UPDATE mentions SET text = ? WHERE external_id = ?", [HOSTILE, f"s{i}"])
    store.db.commit()


def test_mention_text_is_not_rendered_by_slack(alerts_cli):
    with Recorder() as slack:
        run = alerts_cli("s.db", notifiers={"x": f'type = "slack"\nwebhook_url = "{slack.url}"'}, edit=hostile)
        result = run("check")
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
