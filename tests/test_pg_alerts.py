"""`sentimon alerts` on PostgreSQL (issue 18): the same rules, history and outbox as on SQLite.

The store is a fresh schema on the session's test cluster (tests/pg_server.py), seeded with a
quiet stream and a delivery spike before the wall clock's now, as the SQLite alert CLI tests
seed theirs; the notifier is a real webhook POST to a local HTTP server. What a user relies
on: a spike opens one alert and is delivered once, a second check sends nothing new, the
history can be shown, acknowledged, muted and resolved, and a backtest leaves the real history
untouched. The engine sees psycopg's errors by their DB-API names, so a second check racing
the first for one (rule, scope) is an "open", not a crash.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from test_alerts_support import Recorder, alert_rule, rule, seed_quiet, seed_spike

PASSWORD = "Hunter2-not-in-any-output"


@pytest.fixture
def pg_alerts(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Recorder]]:
    from sentimon.pgstore import PgStore

    store = PgStore(pg_url, max_connections=2)
    now = datetime.now(timezone.utc)
    seed_quiet(store, now=now)
    seed_spike(store, now=now)
    store.close()
    monkeypatch.setenv("SENTIMON_DATABASE_URL",
                       pg_url.replace("postgresql://sentimon@", f"postgresql://sentimon:{PASSWORD}@", 1))
    with Recorder() as hook:
        config = tmp_path / "sentimon.toml"
        config.write_text('[storage]\nurl = "${SENTIMON_DATABASE_URL}"\n\n'
                          + alert_rule(notify=("hook",))
                          + f'\n[notifiers.hook]\ntype = "webhook"\nurl = "{hook.url}"\n')
        config.chmod(0o600)

        def run(*args: str) -> Any:
            from sentimon.cli import cli

            result = CliRunner().invoke(cli, ["--config", str(config), "alerts", *args])
            assert PASSWORD not in result.output
            return result

        yield run, hook


def test_a_spike_alerts_once_and_its_history_is_managed_on_postgresql(pg_alerts, tmp_path) -> None:
    run, hook = pg_alerts
    checked = run("check", "--format", "json")
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert [o["action"] for o in report["outcomes"]] == ["opened"] and report["delivered"] == 1
    assert len(hook.requests) == 1 and "tracking never updated" in json.dumps(hook.json())
    again = json.loads(run("check", "--format", "json").stdout)
    assert [o["action"] for o in again["outcomes"]] == ["open"] and again["delivered"] == 0
    assert len(hook.requests) == 1  # the outbox key was sent once
    [event] = json.loads(run("list", "--format", "json").stdout)
    assert event["status"] == "open" and event["deliveries"] == {"sent": 1}
    shown = json.loads(run("show", str(event["id"]), "--format", "json").stdout)
    assert 3 <= len(shown["details"]["examples"]) <= 5
    assert "https://social.example/p/" in json.dumps(shown["details"]["examples"])
    assert run("ack", str(event["id"]), "--by", "Dana").exit_code == 0
    assert json.loads(run("list", "--format", "json").stdout)[0]["acked_by"] == "Dana"
    muted = run("mute", "negative spike", "--for", "2h", "--by", "Dana")
    assert muted.exit_code == 0 and "muted until" in muted.output
    assert "negative spike" in run("mute", "--list").output
    replayed = run("backtest", "--since", "2d", "--every", "1h", "--format", "json")
    assert replayed.exit_code == 0, replayed.output
    assert any(row["action"] == "opened" for row in json.loads(replayed.stdout))
    assert len(json.loads(run("list", "--format", "json").stdout)) == 1  # the replay wrote nothing here
    assert run("resolve", str(event["id"])).exit_code == 0
    assert json.loads(run("show", str(event["id"]), "--format", "json").stdout)["status"] == "resolved"
    missing = run("show", "99999")
    assert missing.exit_code == 2 and "no alert #99999" in missing.output


def test_a_check_that_loses_the_race_for_an_alert_reports_it_open(pg_url) -> None:
    """Two workers check one rule at once. The first has inserted the open event but not yet
    committed; the second does not see it, decides to open, and its insert waits on the unique
    index, then fails with psycopg's IntegrityError once the first commits. The engine must read
    that as "already open" (it used to catch only sqlite3's error, so this was a crash)."""
    import threading

    import psycopg

    import alerts
    from alerts import storage
    from polling import wait_until
    from sentimon.pgstore import PgStore

    store = PgStore(pg_url, max_connections=4)
    try:
        now = datetime.now(timezone.utc)
        seed_quiet(store, now=now)
        seed_spike(store, now=now)
        spike = rule(notify=[])
        with store.alert_tables() as db:
            [planned] = alerts.check(db, [spike], now=now, reader=store.alert_reader(), dry_run=True)
        outcomes: list[Any] = []
        errors: list[BaseException] = []

        def second_worker() -> None:
            try:
                with store.alert_tables() as db:
                    outcomes.extend(alerts.check(db, [spike], now=now, reader=store.alert_reader()))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        with store.alert_tables() as first, first.atomic():
            first_id = storage.open_event(first, rule=spike["name"], scope=planned.scope, now=now,
                                          metric=spike["metric"], observed=planned.observed,
                                          baseline=planned.expected, p_value=planned.p_value, details={})
            racer = threading.Thread(target=second_worker)
            racer.start()
            with psycopg.connect(pg_url, autocommit=True) as watch:
                wait_until(lambda: watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()[0] > 0,
                    timeout=20)
        racer.join(30)
        assert errors == [] and [(o.action, o.scope) for o in outcomes] == [("open", planned.scope)]
        with store.alert_tables() as db:
            assert [e["id"] for e in storage.open_events(db, spike["name"])] == [first_id]
    finally:
        store.close()
