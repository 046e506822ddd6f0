"""``sentimon alerts``: check rules now, list alert history, act on an alert, send a test.

Thin commands over the ``alerts`` library (the same functions the daemon's jobs call).
"""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime, timezone

import click

from sentimon.logs import redactor
from sentimon.output import ROW_ID, emit, moment_option

_CHECK_COLUMNS = ["rule", "scope", "action", "observed", "expected", "p_value", "event_id", "why"]
_LIST_COLUMNS = ["id", "status", "opened_at", "resolved_at", "acked_by", "rule", "scope", "title", "sent"]
_BACKTEST_COLUMNS = ["at", "rule", "scope", "action", "event", "negative", "mentions", "observed", "expected",
                     "p_value"]
_MUTE_COLUMNS = ["id", "rule", "topic", "until", "created_by", "created_at"]


@click.group()
def alerts() -> None:
    """Alert rules ([[alerts]]) and notifiers ([notifiers.NAME]): check, history, test."""


@alerts.command()
@click.option("--dry-run", is_flag=True, help="Evaluate and print; record and send nothing.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def check(app, dry_run: bool, fmt: str) -> None:
    """Evaluate every rule now, record new alerts, then send what is due.

    The daemon runs the same check every `check_every` (default 5m). Running it again on
    the same data sends nothing new.
    """
    import alerts as lib

    config = app.config
    now = datetime.now(timezone.utc)
    store = app.store()
    reader = store.alert_reader()
    report = None
    with store.alert_tables() as db:
        outcomes = lib.check(db, config.alerts, now=now, reader=reader, dry_run=dry_run)
        if not dry_run and config.notifiers:
            notifiers = lib.build_notifiers(config.notifiers)
            # console notifiers print; with json, keep stdout parseable for pipes
            with contextlib.redirect_stdout(sys.stderr) if fmt == "json" else contextlib.nullcontext():
                report = lib.deliver_pending(db, notifiers, now=now, reader=reader)
    rows = [o.as_dict() for o in outcomes]
    if fmt == "json":
        click.echo(json.dumps({"dry_run": dry_run, "outcomes": rows,
                               "delivered": report.sent if report else 0,
                               "retrying": report.retrying if report else 0,
                               "expired": report.expired if report else 0}, indent=2))
        return
    if not config.alerts:
        click.echo("no [[alerts]] rules configured", err=True)
        return
    for row in rows:
        row["why"] = "; ".join(row["reasons"])
    emit(rows, "table", _CHECK_COLUMNS)
    if report is not None:
        click.echo(f"\ndelivered {report.sent}, retrying {report.retrying}, expired {report.expired}")
        for error in report.errors:
            click.echo(f"  {redactor.redact(str(error))}", err=True)


@alerts.command("list")
@click.option("--since", callback=moment_option, help="Duration back from now (24h, 7d) or ISO date.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def list_(app, since, limit: int, fmt: str) -> None:
    """Alert history, newest first: status, times, and deliveries sent per event."""
    import alerts as lib

    with app.store().alert_tables() as db:
        rows = lib.events(db, since=since, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        row["sent"] = " ".join(f"{k}:{v}" for k, v in sorted(row["deliveries"].items()))
    emit(rows, "table", _LIST_COLUMNS)


@alerts.command()
@click.argument("notifier")
@click.pass_obj
def test(app, notifier: str) -> None:
    """Send a clearly marked test message through NOTIFIER now (not via the outbox queue)."""
    import alerts as lib
    from alerts.message import test_message
    from sentimon.errors import ConfigError, NotifyError
    from sentimon.store import to_db_time

    config = app.config
    if notifier not in config.notifiers:
        known = ", ".join(sorted(config.notifiers)) or "none defined"
        raise ConfigError(f"{config.path}: no notifier named {notifier!r} (defined: {known})")
    sender = lib.build_notifiers({notifier: config.notifiers[notifier]})[notifier]
    now = datetime.now(timezone.utc)
    try:
        sender.send(test_message(to_db_time(now)), key=f"test:{notifier}:{to_db_time(now)}")
    except NotifyError as exc:
        raise NotifyError(f"test via {notifier} failed: {exc}") from None
    click.echo(f"test message sent via {notifier} ({config.notifiers[notifier].display})", err=True)


@alerts.command()
@click.argument("event_id", type=ROW_ID)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def show(app, event_id: int, fmt: str) -> None:
    """One alert again: its plain-words explanation, topics, phrases and examples."""
    from alerts.console import render
    from alerts.lifecycle import show as show_event

    with app.store().alert_tables() as db:
        event = show_event(db, event_id)
    if fmt == "json":
        click.echo(json.dumps(event, indent=2, default=str))
        return
    state = event["status"] + (f", acknowledged by {event['acked_by'] or 'someone'} at {event['acked_at']}"
                               if event.get("acked_at") else "")
    click.echo(f"alert #{event_id} ({state}), opened {event['opened_at']}")
    if "message" in event:
        click.echo(render(event["message"]))


@alerts.command()
@click.argument("event_id", type=ROW_ID)
@click.option("--by", help="Who is on it (recorded and shown by `alerts list`).")
@click.pass_obj
def ack(app, event_id: int, by: str | None) -> None:
    """Acknowledge an open alert: no more follow-ups; it still resolves by itself."""
    from alerts.lifecycle import ack as ack_event

    with app.store().alert_tables() as db:
        ack_event(db, event_id, datetime.now(timezone.utc), by)
    click.echo(f"alert #{event_id} acknowledged" + (f" by {by}" if by else ""))


@alerts.command()
@click.argument("event_id", type=ROW_ID)
@click.pass_obj
def resolve(app, event_id: int) -> None:
    """Resolve an open alert by hand; the rule's cooldown starts now."""
    from alerts.lifecycle import resolve as resolve_event

    with app.store().alert_tables() as db:
        resolve_event(db, event_id, datetime.now(timezone.utc))
    click.echo(f"alert #{event_id} resolved")


@alerts.command()
@click.argument("rule", required=False)
@click.option("--topic", default="", help="Mute only this topic of a per_topic rule.")
@click.option("--for", "for_", default="4h", show_default=True, help="How long (30m, 4h, 2d).")
@click.option("--by", help="Who muted it (recorded).")
@click.option("--list", "list_only", is_flag=True, help="List the mutes in force instead.")
@click.pass_obj
def mute(app, rule: str | None, topic: str, for_: str, by: str | None, list_only: bool) -> None:
    """Open no new alert for RULE (or one --topic of it) for a while; --list shows mutes."""
    from alerts.lifecycle import mute as add_mute
    from alerts.lifecycle import mutes
    from sentimon.durations import parse_duration

    now = datetime.now(timezone.utc)
    if list_only or rule is None:
        with app.store().alert_tables() as db:
            emit(mutes(db, now), "table", _MUTE_COLUMNS)
        return
    try:
        duration = parse_duration(for_)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from None
    known = tuple(r.name for r in app.config.alerts)
    with app.store().alert_tables() as db:
        row = add_mute(db, rule, duration, now, topic=topic, by=by, known_rules=known)
    click.echo(f"{rule}{f' [{topic}]' if topic else ''} muted until {row['until']}")


@alerts.command()
@click.option("--rule", "rule_name", help="Only this rule (default: every enabled rule).")
@click.option("--since", callback=moment_option, default="90d", show_default=True,
              help="How far back to replay: a duration (90d) or ISO date.")
@click.option("--every", default=None, help="Check interval (default: [daemon] check_every).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def backtest(app, rule_name: str | None, since, every: str | None, fmt: str) -> None:
    """Replay stored mentions through the rules on the daemon's schedule; send nothing.

    Lists the alerts that would have opened (and followed up, resolved), with their times
    and figures, so sensitivity can be tuned on your own history.
    """
    from alerts.backtest import backtest as replay
    from sentimon.durations import parse_duration
    from sentimon.store import scratch_alert_tables
    from sentimon.errors import ConfigError

    config = app.config
    rules = [r for r in config.alerts if rule_name in (None, r.name)]
    if rule_name and not rules:
        known = ", ".join(r.name for r in config.alerts) or "none defined"
        raise ConfigError(f"{config.path}: no alert rule named {rule_name!r} (defined: {known})")
    try:
        step = parse_duration(every) if every else config.daemon.check_every
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every") from None
    with scratch_alert_tables() as scratch:
        rows = replay(scratch, rules, since, datetime.now(timezone.utc), step, reader=app.store().alert_reader())
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    emit(rows, "table", _BACKTEST_COLUMNS)
    opened = sum(r["action"] == "opened" for r in rows)
    click.echo(f"\n{opened} alert(s) would have opened; nothing was sent", err=True)
