"""The optional digest: queued once per notifier and period, rendered by every notifier."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import alerts
from alerts.digest import gather, last_period
from alerts.slack import render as slack_render
from alerts.smtp import build_message
from sentimon.store import Store
from test_alerts_support import NOW, seed_quiet, seed_spike


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "digest.db")
    seed_quiet(s, per_day=40)
    yield s
    s.close()


def test_periods_are_complete_utc_days_and_iso_weeks():
    start, end, label = last_period("daily", NOW)
    assert (start, end, label) == (datetime(2026, 11, 30, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc), "2026-11-30")
    start, end, label = last_period("weekly", NOW)  # NOW is a Tuesday
    assert start.weekday() == 0 and end - start == timedelta(days=7) and end <= NOW and label == "2026-W48"


def test_daily_digest_is_sent_once_per_day(store, capsys):
    options = alerts.validate_notifier("ops", {"type": "console", "digest": "daily"})
    notifiers = alerts.build_notifiers({"ops": options})
    assert alerts.deliver_pending(store.db, notifiers, now=NOW, reader=store).sent == 1
    assert alerts.deliver_pending(store.db, notifiers, now=NOW + timedelta(hours=3), reader=store).sent == 0
    out = capsys.readouterr().out
    assert "Daily digest 2026-11-30" in out and "Top topics" in out and "Notable mentions" in out
    assert alerts.deliver_pending(store.db, notifiers, now=NOW + timedelta(days=1), reader=store).sent == 1


def test_a_due_digest_without_a_mention_reader_is_reported_not_dropped(store):
    """The digest counts mentions through the app's reader; a caller that passes none gets the
    digest named in the report's errors (and queued later, once a reader comes), not silence."""
    notifiers = alerts.build_notifiers({"ops": alerts.validate_notifier("ops", {"type": "console", "digest": "daily"})})
    report = alerts.deliver_pending(store.db, notifiers, now=NOW)
    assert report.sent == 0 and any("digest" in e and "reader" in e for e in report.errors)
    assert alerts.deliver_pending(store.db, notifiers, now=NOW, reader=store).sent == 1


def test_no_digest_unless_asked(store):
    notifiers = alerts.build_notifiers({"ops": alerts.validate_notifier("ops", {"type": "console"})})
    assert alerts.deliver_pending(store.db, notifiers, now=NOW, reader=store).sent == 0


def test_digest_content_and_rendering(store):
    seed_spike(store, now=NOW - timedelta(hours=13))  # negative wave on 2026-11-30
    start, end, _ = last_period("daily", NOW)
    payload = gather(store, "daily", start, end)
    assert payload["numbers"]["mentions"] > 0 and len(payload["series"]) == 24
    assert payload["sections"][0]["lines"][0].startswith("delivery")
    assert 1 <= len(payload["examples"]) <= 3
    body = slack_render(payload)
    assert "&lt;!channel&gt;" in str(body) or "<!channel>" not in str(body)
    msg = build_message(payload, "a@b.c", ["d@e.f"])
    assert msg["Subject"].startswith("[sentimon] Daily digest")


def test_unknown_digest_period_is_rejected():
    from sentimon.settings import SettingError

    with pytest.raises(SettingError) as info:
        alerts.validate_notifier("ops", {"type": "console", "digest": "hourly"})
    assert info.value.key == "notifiers.ops.digest"
