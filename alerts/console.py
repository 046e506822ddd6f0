"""The console notifier: prints the alert to stdout (the demo, cron mail, and debugging)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from alerts.message import ack_hint, driver_lines, phrase_lines
from alerts.notifier_base import Notifier, NotifierOptions
from sentimon.settings import setting

WIDTH = 300


def render(payload: dict[str, Any]) -> str:
    """Plain text; mention text is flattened to one line each so it cannot fake lines of ours."""
    bar = "=" * 72
    label = {"test": "", "digest": "DIGEST "}.get(payload.get("kind", ""), "ALERT ")
    lines = [bar, f"{label}{payload['title']}", bar]
    lines += payload.get("summary", [])
    drivers = driver_lines(payload)
    if drivers:
        lines += ["", "Topics driving it:"] + [f"  - {d}" for d in drivers]
    phrases = phrase_lines(payload)
    if phrases:
        lines += ["", "Unusually frequent phrases:"] + [f"  - {p}" for p in phrases]
    for section in payload.get("sections", []):
        lines += ["", f"{section['heading']}:"] + [f"  - {x}" for x in section["lines"]]
    examples = payload.get("examples", [])
    if examples:
        lines += ["", "Examples (most negative first):" if payload.get("kind") != "digest" else "Notable mentions:"]
    for i, ex in enumerate(examples, 1):
        text = " ".join(str(ex.get("text") or "").split())
        text = text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"
        stamp = str(ex.get("created_at", ""))[:16].replace("T", " ")
        lines.append(f"  {i}. [{ex.get('source')}, {stamp}] {text}")
        if ex.get("url"):
            lines.append(f"     {ex['url']}")
        if ex.get("reply_url") and ex["reply_url"] != ex.get("url"):
            lines.append(f"     reply: {ex['reply_url']}")
    if payload.get("event_id") is not None:
        lines += ["", ack_hint(payload["event_id"])]
    return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class ConsoleOptions(NotifierOptions):
    """Settings of `console` notifiers."""

    type: str = setting("str", help='"console".')


class ConsoleNotifier(Notifier):
    type = "console"
    schemes = ("console",)
    Options = ConsoleOptions
    options: ConsoleOptions

    @classmethod
    def from_url(cls, url: str, where: str) -> dict[str, Any]:
        return {"type": "console"}

    def send(self, payload: dict[str, Any], *, key: str = "") -> None:
        # sys.stdout looked up at send time, so click's CliRunner and redirects capture it.
        print(render(payload), file=sys.stdout, flush=True)

    def probe(self) -> str:
        return "prints alerts to the daemon's stdout; nothing to connect to"
