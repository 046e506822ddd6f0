"""People acting on alerts over a real store and the real CLI: show, ack, resolve, mute."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import alerts
from alerts import lifecycle
from test_alerts_support import NOW, Recorder, checked_notifiers, rule, seed_spike


@pytest.fixture
def store(alert_store):
    return alert_store("life.db", quiet={"per_day": 40}, spike={"n": 30, "negative": 20, "hours": 3})


@pytest.fixture
def sentimon(alerts_cli):
    return alerts_cli("life.db")


def test_show_ack_and_resolve_through_the_cli(sentimon):
    opened = sentimon("check")
    assert opened.exit_code == 0 and "sentimon alerts ack 1" in opened.output  # how to act on it
    shown = sentimon("show", "1")
    assert shown.exit_code == 0 and "(open)" in shown.output
    assert "were negative" in shown.output and "https://social.example/p/" in shown.output
    as_json = json.loads(sentimon("show", "1", "--format", "json").output)
    assert as_json["status"] == "open" and 3 <= len(as_json["details"]["examples"]) <= 5
    assert sentimon("ack", "1", "--by", "Dana").exit_code == 0
    [event] = json.loads(sentimon("list", "--format", "json").output)
    assert event["acked_by"] == "Dana" and event["acked_at"]
    assert "acknowledged by Dana" in sentimon("show", "1").output
    assert sentimon("resolve", "1").exit_code == 0
    assert json.loads(sentimon("show", "1", "--format", "json").output)["status"] == "resolved"
    again = sentimon("resolve", "1")
    assert again.exit_code == 1 and "already resolved" in again.output
    missing = sentimon("show", "99")
    assert missing.exit_code == 2 and "no alert #99" in missing.output


def test_an_acknowledged_alert_sends_no_follow_up(store):
    [first] = alerts.check(store.db, [rule(min_negative=5)], now=NOW, reader=store)
    lifecycle.ack(store.db, first.event_id, NOW, "Dana")
    seed_spike(store, now=NOW + timedelta(minutes=40), n=60, negative=58, hours=0.3, prefix="v")
    [later] = alerts.check(store.db, [rule(min_negative=5)], now=NOW + timedelta(minutes=40), reader=store)
    assert later.action == "open"
    kinds = [r[0] for r in store.db.execute("SELECT kind FROM deliveries")]
    assert kinds == ["opened"]


def test_a_mute_is_recorded_listed_honoured_and_expires(sentimon):
    assert sentimon("mute", "nope", "--for", "4h").exit_code == 2
    muted = sentimon("mute", "negative spike", "--for", "4h", "--by", "Dana")
    assert muted.exit_code == 0 and "muted until" in muted.output
    listed = sentimon("mute", "--list")
    assert "negative spike" in listed.output and "Dana" in listed.output
    check = json.loads(sentimon("check", "--format", "json").output)
    assert [o["action"] for o in check["outcomes"]] == ["muted"]
    assert json.loads(sentimon("list", "--format", "json").output) == []


def test_a_mute_expires_and_covers_only_its_topic(store):
    lifecycle.mute(store.db, "negative spike", timedelta(hours=4), NOW, topic="delivery")
    per_topic = rule(per_topic=True)
    actions = {o.scope: o.action for o in alerts.check(store.db, [per_topic], now=NOW, dry_run=True,
                                                       reader=store)}
    assert actions["topic=delivery"] == "muted"
    lifecycle.mute(store.db, "negative spike", timedelta(hours=4), NOW)
    assert alerts.check(store.db, [rule(min_negative=5)], now=NOW, reader=store)[0].action == "muted"
    later = NOW + timedelta(hours=4, minutes=1)
    seed_spike(store, now=later, n=30, negative=20, hours=3, prefix="w")
    assert alerts.check(store.db, [rule(min_negative=5)], now=later, reader=store)[0].action == "opened"


def test_slack_message_says_how_to_ack(store):
    [first] = alerts.check(store.db, [rule(min_negative=5)], now=NOW, reader=store)
    with Recorder() as server:
        chat = checked_notifiers(chat={"type": "slack", "webhook_url": server.url})
        assert alerts.deliver_pending(store.db, chat, now=NOW).sent == 1
    assert f"sentimon alerts ack {first.event_id}" in json.dumps(server.json())


def test_a_growing_wave_is_followed_even_as_its_share_dips(store):
    # opened on 20 of 30; then 220 more mentions, 135 negative: the share falls from 67% to
    # 62%, the number of negatives grows sevenfold
    [first] = alerts.check(store.db, [rule(min_negative=5)], now=NOW, reader=store)
    later = NOW + timedelta(minutes=40)
    seed_spike(store, now=later, n=220, negative=135, hours=0.5, prefix="v")
    [follow] = alerts.check(store.db, [rule(min_negative=5)], now=later, reader=store)
    assert follow.action == "worse" and follow.observed < 20 / 30
    opened, worse = [json.loads(r[0]) for r in store.db.execute("SELECT payload FROM deliveries ORDER BY id")]
    assert worse["kind"] == "worse" and worse["title"].startswith("Worse: ")
    assert worse["numbers"]["negative"] >= 155 and worse["numbers"]["negative"] >= 5 * opened["numbers"]["negative"]
    assert f"{worse['numbers']['negative']} of {worse['numbers']['mentions']} mentions" in worse["title"]
    old_ids = {e["id"] for e in opened["examples"]}
    assert worse["examples"] and not old_ids & {e["id"] for e in worse["examples"]}


def test_alerts_list_shows_current_figures(store):
    alerts.check(store.db, [rule(min_negative=5, worse_factor=100)], now=NOW, reader=store)
    later = NOW + timedelta(minutes=40)
    seed_spike(store, now=later, n=40, negative=30, hours=0.5, prefix="v")
    assert alerts.check(store.db, [rule(min_negative=5, worse_factor=100)], now=later,
                        reader=store)[0].action == "open"
    [event] = alerts.events(store.db)
    shown = lifecycle.show(store.db, event["id"])["details"]
    assert shown["numbers"]["negative"] >= shown["first"]["negative"] + 30
    assert f"{shown['numbers']['negative']} of {shown['numbers']['mentions']} mentions" in event["title"]
