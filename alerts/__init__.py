"""Alerts: decide whether something is abnormal, record the event, hand it to notifiers.

The public API the rest of sentimon calls:

- ``validate_rule(index, table)`` / ``validate_notifier(name, table)``: config checks (a rule
  comes back as a frozen, typed ``AlertRule``);
- ``check(db, rules, now=..., reader=...)``: evaluate rules, open/resolve ``alert_events``, queue
  notifications in the ``deliveries`` outbox;
- ``build_notifiers(config.notifiers)`` + ``deliver_pending(db, notifiers, now=..., reader=...)``:
  send what is due (and the digests, which ``reader`` counts), with retries and backoff.

Modules: ``rules`` and ``stats`` (pure decisions), ``query`` and ``explain`` (what to count
and show, read through ``reader.AlertReader``, which the app implements over its store: alerts
hold no SQL on mentions), ``engine`` (lifecycle), ``lifecycle`` (show, ack, resolve, mute:
what people decide), ``backtest`` (replaying history), ``outbox`` and ``digest`` (delivery), ``message`` (the payload
every notifier renders), and the notifiers: ``notifiers`` (registry), ``slack``, ``smtp``,
``webhook``, ``console``, ``chart``. The notifiers know Slack, SMTP and HTTP and nothing
about statistics. One flat package, so setup.cfg's explicit package list stays whole.
Nothing here imports connectors or models.
"""

from __future__ import annotations

from alerts.engine import Outcome, check, events
from alerts.notifiers import build_notifiers, validate_notifier
from alerts.outbox import DeliveryReport, deliver_pending
from alerts.rules import RULE_SETTINGS, AlertRule, validate_rule

__all__ = [
    "AlertRule", "DeliveryReport", "Outcome", "RULE_SETTINGS", "build_notifiers", "check", "deliver_pending",
    "events", "validate_notifier", "validate_rule",
]
