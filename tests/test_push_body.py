"""The push body as docs/push.md describes it: one object, a list, ``{"mentions": [...]}``,
a per-item ``channel``, and errors worded for JSON, over real HTTP and the real CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from pushserver import counts, push, rows, settle, start  # noqa: F401  (start is the fixture)

from sentimon.cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "push.md"


def test_a_wrapped_list_is_accepted(start):
    url, app = start()
    body = {"mentions": [{"id": "a", "text": "Late again"}, {"id": "b", "text": "Lovely"}]}
    assert counts(push(url, body)) == {"accepted": 2, "new": 2}


def test_a_list_under_another_key_names_the_json_fix_not_a_csv_column(start):
    url, _ = start()
    reply = push(url, {"items": [{"text": "Late again"}]})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert "column" not in error and '"mentions"' in error and '"text"' in error


def test_an_item_without_text_names_the_field(start):
    url, _ = start()
    reply = push(url, [{"text": "fine"}, {"body": "no text key"}])
    assert reply.status_code == 400
    assert reply.json() == {
        "error": 'text: missing (each mention needs a "text" field)', "field": "text", "index": 1,
    }


def test_channel_is_a_sub_source_that_the_cli_filters_and_groups(start, tmp_path):
    url, app = start()
    body = [
        {"id": "1", "text": "Refund took a month", "channel": "zendesk"},
        {"id": "1", "text": "Refund took a month", "source": "typeform"},  # same id, other tool
        {"id": "2", "text": "Great shoes"},
    ]
    assert counts(push(url, body)) == {"accepted": 3, "new": 3}
    settle(start)  # stats count classified mentions only
    assert rows(app, "SELECT source, external_id FROM mentions ORDER BY id") == [
        ("webhook/zendesk", "1"), ("webhook/typeform", "1"), ("webhook", "2"),
    ]
    config = str(tmp_path / "sentimon.toml")
    Path(config).chmod(0o600)  # else the CLI warns about a readable file that names a secret
    shown = CliRunner().invoke(cli, ["--config", config, "mentions", "--since", "3650d",
                                      "--source", "webhook/zendesk", "--format", "jsonl"])
    assert shown.exit_code == 0, shown.output
    assert [json.loads(line)["source"] for line in shown.output.splitlines()] == ["webhook/zendesk"]
    stats = CliRunner().invoke(cli, ["--config", config, "stats", "--since", "3650d", "--by",
                                      "source", "--format", "json"])
    groups = {g["source"] for g in json.loads(stats.output)["groups"]}
    assert groups == {"webhook", "webhook/zendesk", "webhook/typeform"}


def test_a_bad_channel_rejects_the_batch_by_index(start):
    url, app = start()
    reply = push(url, [{"text": "ok"}, {"text": "x", "channel": "../reddit-brand"}])
    assert reply.status_code == 400
    assert reply.json()["field"] == "channel" and reply.json()["index"] == 1
    assert rows(app) == []  # one bad item rejects the whole batch, as docs/push.md says


def test_channels_limits_what_the_token_may_claim(start):
    url, app = start(channels=["zendesk"])
    assert push(url, {"text": "ok", "channel": "zendesk"}).status_code == 202
    reply = push(url, {"text": "ok", "channel": "typeform"})
    assert reply.status_code == 400 and "zendesk" in reply.json()["error"]
    assert reply.json()["field"] == "channel"


def test_every_curl_body_in_docs_push_md_is_accepted(start):
    """The doc's examples are the contract: each ``-d '...'`` body is sent as written."""
    url, _ = start()
    bodies = re.findall(r"-d '(.*?)'", DOC.read_text(encoding="utf-8"), re.S)
    assert len(bodies) >= 3
    for body in bodies:
        reply = push(url, body)
        assert reply.status_code == 202, (body, reply.text)
