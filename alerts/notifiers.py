"""Notifier registry: ``[notifiers.NAME]`` tables (or one apprise-style ``url``) -> senders.

Built-in types register here by name and URL scheme; a bad table or URL is rejected when the
config loads, with a message listing the available types, not at 3 a.m. when an alert fires.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from alerts.notifier_base import Notifier, NotifierOptions
from alerts.console import ConsoleNotifier
from alerts.slack import SlackNotifier
from alerts.smtp import EmailNotifier
from alerts.webhook import WebhookNotifier
from sentimon.settings import SettingError, parse

TYPES: dict[str, type[Notifier]] = {
    cls.type: cls for cls in (SlackNotifier, EmailNotifier, WebhookNotifier, ConsoleNotifier)
}
SCHEMES: dict[str, type[Notifier]] = {scheme: cls for cls in TYPES.values() for scheme in cls.schemes}


def validate_notifier(name: str, table: dict[str, Any]) -> NotifierOptions:
    """Check one ``[notifiers.NAME]`` table; return its typed options, with ``type`` and a
    masked ``display`` (safe to print). Secret values are registered with the log redactor."""
    where = f"notifiers.{name}"
    table = dict(table)
    if "type" not in table and isinstance(table.get("url"), str):
        table = _from_url(table, where)
    kind = table.get("type")
    if kind not in TYPES:
        available = ", ".join(sorted(TYPES))
        raise SettingError(where, f"unknown notifier type {kind!r} (available: {available}; "
                           "or url = \"slack://...\", \"mailto://...\", \"jsons://...\")")
    cls = TYPES[kind]
    options = cls.check(parse(cls.Options, table, where), where)
    if not options.display:
        options = replace(options, display=kind)
    from sentimon.logs import redactor

    redactor.add(str(options[s.name]) for s in cls.settings if s.secret and options[s.name])
    return options


def _from_url(table: dict[str, Any], where: str) -> dict[str, Any]:
    extra = set(table) - {"url"}
    if extra:
        raise SettingError(f"{where}.{sorted(extra)[0]}", "unknown key beside url (a url says it all; "
                           "or set type = ... with separate keys)")
    url = table["url"]
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("http", "https") and "hooks.slack.com" in url:
        return {"type": "slack", "webhook_url": url}
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in sorted(SCHEMES))
        raise SettingError(f"{where}.url", f"unknown scheme {scheme + '://' if scheme else url!r} "
                           f"(known: {known})")
    return SCHEMES[scheme].from_url(url, where)


def build_notifiers(config: Mapping[str, Mapping[str, Any]]) -> dict[str, Notifier]:
    """Instances for every configured notifier, by name (options as ``validate_notifier``
    returned them)."""
    return {name: TYPES[options["type"]](name, options) for name, options in config.items()}


__all__ = ["Notifier", "TYPES", "build_notifiers", "validate_notifier"]
