"""Alerts in plain words: the headline a CX lead reads, and `alerts check` saying why it is quiet."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

import alerts
from alerts.console import render
from alerts.digest import gather, last_period
from sentimon.cli import cli
from sentimon.store import Store
from test_alerts_support import NOW, rule, seed_quiet, seed_spike


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "plain.db")
    yield s
    s.close()


def test_title_and_body_lead_with_the_same_plain_figure(store):
    seed_quiet(store)
    seed_spike(store)
    [outcome] = alerts.check(store.db, [rule()], now=NOW, reader=store)
    payload = json.loads(store.db.execute("SELECT payload FROM deliveries").fetchone()[0])
    headline = re.search(r"(\d+) of (\d+) mentions in the last 12 hours were negative \((\d+)%\); "
                         r"usually about (\d+)%\.", payload["title"])
    assert headline and payload["summary"][0] in payload["title"]
    assert int(headline.group(4)) == round(100 * outcome.expected)  # the figure the test used
    *plain, details = payload["summary"]
    assert not any("p =" in line or "interval" in line for line in plain)
    assert details.startswith("Details: ") and "p = " in details and "95% interval" in details


def test_digest_is_labelled_a_digest_with_its_negatives_counted(store, capsys):
    seed_quiet(store, per_day=40)
    start, end, _ = last_period("daily", NOW)
    payload = gather(store, "daily", start, end)
    text = render(payload)
    assert "DIGEST Daily digest" in text and "ALERT" not in text
    assert f"{payload['numbers']['negative']} negative" in payload["title"]


CONFIG = """
[storage]
path = "plain.db"

[[alerts]]
name = "by topic"
window = "12h"
per_topic = true
min_mentions = 1
min_negative = 1

[[alerts]]
name = "needs history"
window = "12h"
min_baseline = 100000

[[alerts]]
name = "needs volume"
window = "12h"
min_mentions = 500
"""


def test_check_says_why_each_rule_is_quiet(write_config):
    path = write_config(CONFIG)
    now = datetime.now(timezone.utc)
    store = Store(path.parent / "plain.db")
    for seed in range(3):
        seed_quiet(store, now=now, per_day=60, seed=seed, source=f"s{seed}")
    store.close()
    result = CliRunner().invoke(cli, ["--config", str(path), "alerts", "check", "--format", "json"])
    assert result.exit_code == 0, result.output
    outcomes = json.loads(result.output)["outcomes"]
    why = {o["rule"]: " ".join(o["reasons"]) for o in outcomes}
    topics = [o for o in outcomes if o["rule"] == "by topic" and o["action"] == "quiet"]
    assert topics and all(f"shared by {len(topics)} topics" in " ".join(o["reasons"]) for o in topics)
    assert re.search(r"holds \d+ mentions; it needs 100000 \(\d+ more\)", why["needs history"])
    assert re.search(r"needs 500 \(min_mentions, \d+ more\)", why["needs volume"])
    table = CliRunner().invoke(cli, ["--config", str(path), "alerts", "check", "--dry-run"])
    assert "more)" in table.output
