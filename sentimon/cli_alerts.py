"""``sentimon alerts``: check rules now, list alert history, send a test notification.

Thin commands over the ``alerts`` library (the same functions the daemon's jobs call).
"""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime, timezone

import click

from sentimon.logs import redactor
from sentimon.output import emit, moment_option

_CHECK_COLUMNS = ["rule", "scope", "action", "observed", "expected", "p_value", "event_id", "why"]
_LIST_COLUMNS = ["id", "status", "opened_at", "resolved_at", "rule", "scope", "title", "sent"]


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
    db = app.store().db
    outcomes = lib.check(db, config.alerts, now=now, dry_run=dry_run)
    report = None
    if not dry_run and config.notifiers:
        notifiers = lib.build_notifiers(config.notifiers)
        if fmt == "json":  # console notifiers print; keep stdout parseable for pipes
            with contextlib.redirect_stdout(sys.stderr):
                report = lib.deliver_pending(db, notifiers, now=now)
        else:
            report = lib.deliver_pending(db, notifiers, now=now)
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

    rows = lib.events(app.store().db, since=since, limit=limit)
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
    click.echo(f"test message sent via {notifier} ({config.notifiers[notifier].get('display', '')})", err=True)
