"""The alert lifecycle on a real store: open once, no duplicates, worse, resolve, cooldown,
per-topic correction, warm-up, filters; then `sentimon alerts` end to end with CliRunner."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from click.testing import CliRunner

import alerts
from sentimon.cli import cli
from sentimon.store import Store
from test_alerts_support import NOW, rule, seed_quiet, seed_spike


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "alerts.db")
    yield s
    s.close()


def deliveries(store):
    return list(store.db.query("SELECT key, kind, status FROM deliveries ORDER BY id"))


def test_quiet_stream_raises_nothing(store):
    seed_quiet(store)
    [outcome] = alerts.check(store.db, [rule()], now=NOW, reader=store)
    assert outcome.action in ("quiet", "too_few") and deliveries(store) == []


def test_spike_opens_one_alert_and_checking_again_sends_nothing_new(store):
    seed_quiet(store)
    seed_spike(store)
    [first] = alerts.check(store.db, [rule()], now=NOW, reader=store)
    assert first.action == "opened" and first.event_id
    for minutes in (0, 5, 10, 60):
        [again] = alerts.check(store.db, [rule()], now=NOW + timedelta(minutes=minutes), reader=store)
        assert again.action == "open" and again.event_id == first.event_id
    assert deliveries(store) == [{"key": f"{first.event_id}:chat:opened", "kind": "opened", "status": "pending"}]
    details = json.loads(store.db.execute("SELECT details FROM alert_events").fetchone()[0])
    assert details["drivers"][0]["topic"] == "delivery"
    assert any("tracking never updated" in p["phrase"] for p in details["phrases"])
    assert 3 <= len(details["examples"]) <= 5
    scores = [e["score_negative"] for e in details["examples"]]
    assert scores == sorted(scores, reverse=True) and all(e["url"] for e in details["examples"])
    low, high = details["numbers"]["share_interval"]
    assert low < details["numbers"]["negative_share"] < high
    assert len(details["series"]) == 48


def test_dry_run_writes_nothing(store):
    seed_quiet(store)
    seed_spike(store)
    [outcome] = alerts.check(store.db, [rule()], now=NOW, dry_run=True, reader=store)
    assert outcome.action == "opened" and outcome.event_id is None
    assert store.db.execute("SELECT COUNT(*) FROM alert_events").fetchone()[0] == 0


def test_alert_resolves_then_cooldown_then_fires_again(store):
    seed_quiet(store, days=20)
    seed_spike(store)
    r = rule(notify_resolved=True, cooldown="4h")
    assert alerts.check(store.db, [r], now=NOW, reader=store)[0].action == "opened"
    later = NOW + timedelta(hours=13)  # the spike has left the 12h window
    assert alerts.check(store.db, [r], now=later, reader=store)[0].action == "resolved"
    assert [d["kind"] for d in deliveries(store)] == ["opened", "resolved"]
    seed_spike(store, now=later + timedelta(hours=2), prefix="t")
    assert alerts.check(store.db, [r], now=later + timedelta(hours=2), reader=store)[0].action == "cooldown"
    assert alerts.check(store.db, [r], now=later + timedelta(hours=4, minutes=30),
                        reader=store)[0].action == "opened"
    assert store.db.execute("SELECT COUNT(*) FROM alert_events").fetchone()[0] == 2


def test_re_notifies_only_when_clearly_worse(store):
    seed_quiet(store, per_day=40)
    seed_spike(store, n=30, negative=20, hours=3)
    r = rule(min_negative=5)
    assert alerts.check(store.db, [r], now=NOW, reader=store)[0].action == "opened"
    seed_spike(store, now=NOW + timedelta(minutes=20), n=4, negative=3, hours=0.2, prefix="u")
    assert alerts.check(store.db, [r], now=NOW + timedelta(minutes=20), reader=store)[0].action == "open"
    seed_spike(store, now=NOW + timedelta(minutes=40), n=60, negative=58, hours=0.3, prefix="v")
    assert alerts.check(store.db, [r], now=NOW + timedelta(minutes=40), reader=store)[0].action == "worse"
    assert alerts.check(store.db, [r], now=NOW + timedelta(minutes=60), reader=store)[0].action == "open"
    assert [d["kind"] for d in deliveries(store)] == ["opened", "worse"]


def test_warm_up_waits_for_enough_baseline(store):
    seed_quiet(store, days=1.5, start_hours=12)
    seed_spike(store)
    assert alerts.check(store.db, [rule()], now=NOW, reader=store)[0].action == "warming_up"


def test_per_topic_fires_only_for_the_topic_that_spiked(store):
    seed_quiet(store, per_day=60)
    seed_spike(store, n=40, negative=30)
    outcomes = {o.scope: o.action for o in alerts.check(store.db, [rule(per_topic=True)], now=NOW,
                                                        reader=store)}
    assert outcomes.pop("topic=delivery") == "opened"
    assert set(outcomes.values()) <= {"quiet", "too_few"}


def test_per_topic_on_quiet_data_with_many_topics_is_quiet(store):
    for seed in range(3):
        seed_quiet(store, per_day=60, seed=seed, source=f"s{seed}")
    outcomes = alerts.check(store.db, [rule(per_topic=True, sensitivity="high")], now=NOW, reader=store)
    assert len(outcomes) == 4 and all(o.action != "opened" for o in outcomes)


def test_filters_narrow_what_is_tested(store):
    seed_quiet(store)
    seed_spike(store)
    assert alerts.check(store.db, [rule(sources=["reviews"])], now=NOW, reader=store)[0].action != "opened"
    assert alerts.check(store.db, [rule(kinds=["post", "review"])], now=NOW,
                        reader=store)[0].action == "opened"


def test_disabled_rules_are_skipped(store):
    assert alerts.check(store.db, [rule(enabled=False)], now=NOW, reader=store) == []


def test_only_one_open_event_per_rule_and_scope(store):
    stamp = "2026-12-01T12:00:00Z"
    sql = ("INSERT INTO alert_events (rule, scope, status, opened_at, updated_at, metric) "
           "VALUES ('r', '', 'open', ?, ?, 'volume')")
    store.db.execute(sql, [stamp, stamp])
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(sql, [stamp, stamp])


BAD_RULES = [
    ({"metric": "sentiment"}, "alerts[0].metric", "expected one of"),
    ({"window": "soon"}, "alerts[0].window", "not a duration"),
    ({"baseline": "last week"}, "alerts[0].baseline", "same_hour_of_week"),
    ({"baseline": "30m"}, "alerts[0].baseline", "at least as long"),
    ({"sensitivity": "extreme"}, "alerts[0].sensitivity", "low, medium, high"),
    ({"threshold": 3.0}, "alerts[0].threshold", "share between 0 and 1"),
    ({"min_rating": 7}, "alerts[0].min_rating", "1-5"),
    ({"colour": "red"}, "alerts[0].colour", "unknown key"),
]


@pytest.mark.parametrize("change, key, message", BAD_RULES)
def test_bad_rule_settings_name_the_key(change, key, message):
    from sentimon.settings import SettingError

    table = {"name": "r", "window": "1h", "notify": [], **change}
    with pytest.raises(SettingError) as info:
        alerts.validate_rule(0, table)
    assert info.value.key == key and message in str(info.value)


def test_sensitivity_words_and_levels():
    assert rule(sensitivity="high")["alpha"] > rule()["alpha"] > rule(sensitivity="low")["alpha"]
    assert rule(sensitivity="0.01")["alpha"] == 0.01
    assert rule(threshold=0.4)["alpha"] is None


# --- the CLI, end to end ----------------------------------------------------------------

def test_alerts_check_list_and_test_through_the_cli(alerts_cli):
    sentimon = alerts_cli("cli.db")

    dry = sentimon("check", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "opened" in dry.output and "ALERT" not in dry.output

    first = sentimon("check")
    assert first.exit_code == 0, first.output
    assert first.output.count("ALERT negative spike") == 1
    assert "Topics driving it" in first.output and "delivery" in first.output
    assert "tracking never updated" in first.output and "https://social.example/p/" in first.output
    assert "delivered 1" in first.output

    again = sentimon("check")
    assert again.exit_code == 0 and "ALERT" not in again.output and "delivered 0" in again.output

    listed = sentimon("list", "--format", "json")
    [event] = json.loads(listed.output)
    assert event["status"] == "open" and event["deliveries"] == {"sent": 1}
    table = sentimon("list", "--since", "1d")
    assert "negative spike" in table.output

    sent = sentimon("test", "x")
    assert sent.exit_code == 0 and "TEST from sentimon" in sent.output
    missing = sentimon("test", "nope")
    assert missing.exit_code == 2 and "no notifier named 'nope'" in missing.output


def test_every_alerts_command_has_help():
    for command in ("check", "list", "test"):
        result = CliRunner().invoke(cli, ["alerts", command, "--help"])
        assert result.exit_code == 0 and len(result.output) > 100


def test_check_json_stays_parseable_with_a_console_notifier(alerts_cli):
    result = alerts_cli("cli.db")("check", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["delivered"] == 1 and document["outcomes"][0]["action"] == "opened"
    assert "ALERT negative spike" in result.stderr


def test_docs_cover_every_rule_and_notifier_setting():
    from pathlib import Path

    from alerts.notifiers import TYPES
    from alerts.rules import RULE_SETTINGS

    text = (Path(__file__).resolve().parent.parent / "docs" / "alerts.md").read_text(encoding="utf-8")
    for setting in RULE_SETTINGS:
        assert f"`{setting.name}`" in text, setting.name
    for kind, cls in TYPES.items():
        assert f'type = "{kind}"' in text
        for setting in cls.settings:
            assert f"`{setting.name}`" in text, (kind, setting.name)
    for command in ("alerts check", "alerts list", "alerts test"):
        assert command in text
    assert "`digest`" in text


def test_benchmark_runs_in_quick_mode(capsys):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "alerts.py"
    spec = importlib.util.spec_from_file_location("bench_alerts", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_alerts"] = module
    spec.loader.exec_module(module)
    module.main(["--weeks", "3", "--seeds", "1", "--checks-per-hour", "1"])
    out = capsys.readouterr().out
    for name in ("one-window medium", "sustained medium", "naive 1.5x", "false_per_month", "sustained x2 <=3w"):
        assert name in out


@pytest.mark.parametrize("metric, baseline", [("volume", "same_hour_of_week"), ("negative_count", "7d"),
                                              ("negative_count", "same_hour_of_week")])
def test_count_metrics_and_the_seasonal_baseline(store, metric, baseline):
    seed_quiet(store, days=35, per_day=72)
    r = rule(metric=metric, baseline=baseline, window="6h", min_mentions=0)
    assert alerts.check(store.db, [r], now=NOW, reader=store)[0].action in ("quiet", "too_few")
    seed_spike(store, n=90, negative=80, hours=5)
    [outcome] = alerts.check(store.db, [r], now=NOW, reader=store)
    assert outcome.action == "opened" and outcome.observed > 3 * outcome.expected


def test_rating_filter(store):
    seed_quiet(store)
    seed_spike(store)  # the spike is unrated social posts
    assert alerts.check(store.db, [rule(max_rating=2, min_mentions=5)], now=NOW,
                        reader=store)[0].action != "opened"


def test_resolved_notice_is_short_and_renders_everywhere(store):
    from alerts.console import render as console
    from alerts.slack import render as slack
    from alerts.smtp import build_message

    seed_quiet(store, days=20)
    seed_spike(store)
    r = rule(notify_resolved=True)
    alerts.check(store.db, [r], now=NOW, reader=store)
    alerts.check(store.db, [r], now=NOW + timedelta(hours=13), reader=store)
    payload = json.loads(store.db.execute("SELECT payload FROM deliveries WHERE kind = 'resolved'").fetchone()[0])
    assert payload["title"].startswith("Resolved: negative spike") and payload["examples"] == []
    assert "back to" in payload["summary"][0]
    assert "Resolved" in console(payload) and slack(payload)["blocks"]
    assert build_message(payload, "a@b.c", ["d@e.f"])["Subject"].startswith("[sentimon] Resolved")


def test_same_time_of_day_bins_are_whole_days_back():
    from alerts.query import same_time_bins

    assert same_time_bins(rule(window="12h"), NOW) == [0, 2, 4, 6, 8, 10, 12]
    assert same_time_bins(rule(window="1h"), NOW) == [24 * d for d in range(7)]
    assert same_time_bins(rule(window="7h"), NOW) == []          # does not divide a day
    assert same_time_bins(rule(baseline="same_hour_of_week"), NOW) == []


def test_a_daily_grumpy_hour_is_expected_not_alerted(store):
    from sentimon.mention import Mention
    from test_alerts_support import verdict

    mentions, verdicts = [], []
    for day in range(14):  # every evening 19:00-20:00, 22 of 30 mentions are negative
        for i in range(30):
            at = NOW.replace(hour=19) - timedelta(days=day) + timedelta(minutes=2 * i)
            if at >= NOW.replace(hour=20):
                continue
            mentions.append(Mention("s", f"e{day}-{i}", "meh", at))
            verdicts.append(verdict("negative" if i < 22 else "positive", "quality"))
        for i in range(60):  # and a calm rest of the day at 10%
            at = NOW.replace(hour=0) - timedelta(days=day) + timedelta(minutes=15 * i)
            mentions.append(Mention("s", f"d{day}-{i}", "ok", at))
            verdicts.append(verdict("negative" if i % 10 == 0 else "positive", "quality"))
    store.save_batch("s", mentions, verdicts)
    r = rule(window="1h", min_negative=3)
    assert alerts.check(store.db, [r], now=NOW.replace(hour=20), dry_run=True,
                        reader=store)[0].action == "quiet"
