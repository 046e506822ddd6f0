"""Slack incoming webhooks: Block Kit with a plain ``text`` fallback, within Slack's limits.

Every string that came from a mention (or from config) is escaped for Slack's mrkdwn
(``&``, ``<``, ``>``) before it is placed in a block, so a tweet saying ``<!channel>``,
``<@U123>`` or ``<http://evil|click here>`` shows as text: it can never ping anyone or
dress a link up as something else. Links are built by us, from http(s) URLs only.

Slack's mrkdwn has no escape for ``*bold*``, ``_italic_``, ``~strike~`` or backticks, so in
text from outside they become look-alike characters (``∗ ˍ ∼ ˋ``), and every section is
``verbatim`` so Slack does not turn a raw URL or a bare domain in a review into a link.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from alerts.message import ack_hint
from alerts.notifier_base import Notifier, NotifierOptions, mask_url, post, probe_url
from sentimon.errors import NotifyError
from sentimon.settings import SettingError, setting

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
TEXT_LIMIT = 3000   # the top-level fallback; Slack truncates past 40k but notifications show little
MAX_BLOCKS = 50
EXAMPLE_CHARS = 600


_LOOK_ALIKE = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"})


def escape(text: str) -> str:
    """Slack's three control characters, for a URL inside a link we build."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shown(text: str) -> str:
    """Text from outside, escaped and with formatting characters made inert."""
    return escape(text).translate(_LOOK_ALIKE)


def fit(raw: str, limit: int) -> str:
    """``shown(raw)`` cut to ``limit`` characters without splitting an entity."""
    escaped = shown(raw)
    if len(escaped) <= limit:
        return escaped
    low, high = 0, len(raw)
    while low < high:  # the longest prefix whose escaped form plus an ellipsis fits
        mid = (low + high + 1) // 2
        if len(shown(raw[:mid])) + 1 <= limit:
            low = mid
        else:
            high = mid - 1
    return shown(raw[:low]) + "…"


def link(url: str | None, label: str) -> str:
    """A Slack link we build ourselves: http(s) only, with ``|``, ``<``, ``>`` and spaces
    percent-encoded in the URL so it cannot end early or carry a label of its own."""
    if not url or not url.lower().startswith(("https://", "http://")):
        return shown(label)
    safe = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f"<{escape(safe)}|{shown(label).replace('|', '¦')}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT], "verbatim": True}}


def blocks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The Block Kit message: header, numbers, drivers and phrases, examples, footer."""
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _plain(payload["title"], HEADER_LIMIT)}},
        _section(fit("\n".join(payload.get("summary", [])), SECTION_LIMIT)),
    ]
    from alerts.message import driver_lines, phrase_lines

    drivers = driver_lines(payload)
    if drivers:
        out.append(_section(fit("Topics driving it:\n• " + "\n• ".join(drivers), SECTION_LIMIT)))
    phrases = phrase_lines(payload)
    if phrases:
        out.append(_section(fit("Unusually frequent:\n• " + "\n• ".join(phrases), SECTION_LIMIT)))
    for section in payload.get("sections", []):
        out.append(_section(fit(f"{section['heading']}:\n• " + "\n• ".join(section["lines"]), SECTION_LIMIT)))
    examples = payload.get("examples", [])
    if examples:
        out.append({"type": "divider"})
    for example in examples:
        label = f"{example.get('source') or 'mention'} · {str(example.get('created_at', ''))[:16].replace('T', ' ')}"
        head = link(example.get("url"), label)
        body = fit(" ".join(str(example.get("text") or "").split()), EXAMPLE_CHARS)
        if example.get("rating"):
            head += f" · {'★' * int(example['rating'])}"
        if example.get("reply_url"):
            head += f" · {link(example['reply_url'], 'reply')}"
        out.append(_section(f"{head}\n>{body}"))
    footer = f"sentimon · rule {fit(payload.get('rule', ''), 200)}"
    if payload.get("event_id") is not None:
        footer += f" · {ack_hint(int(payload['event_id']))}"
    out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    if len(out) > MAX_BLOCKS:
        out = out[: MAX_BLOCKS - 1] + [out[-1]]
    return out


def _plain(text: str, limit: int) -> str:
    """plain_text fields are not parsed for mentions, but keep them one line and short."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON body Slack receives; ``text`` is the fallback shown in notifications."""
    fallback = "\n".join([payload["title"], *payload.get("summary", [])])
    return {"text": fit(fallback, TEXT_LIMIT), "blocks": blocks(payload),
            "unfurl_links": False, "unfurl_media": False}


@dataclass(frozen=True, kw_only=True)
class SlackOptions(NotifierOptions):
    """Settings of `slack` notifiers."""

    type: str = setting("str", help='"slack".')
    webhook_url: str = setting(
        "str", help='Incoming webhook URL: "${SLACK_WEBHOOK_URL}".', secret=True,
    )


class SlackNotifier(Notifier):
    type = "slack"
    schemes = ("slack",)
    Options = SlackOptions
    options: SlackOptions

    @classmethod
    def check(cls, options: SlackOptions, where: str) -> SlackOptions:
        if not options.webhook_url.lower().startswith(("https://", "http://")):
            raise SettingError(f"{where}.webhook_url", "expected an https:// incoming webhook URL")
        return replace(options, display=mask_url(options.webhook_url))

    @classmethod
    def from_url(cls, url: str, where: str) -> dict[str, Any]:
        """``slack://T000/B000/XXXX`` (apprise's three tokens) -> the hooks.slack.com URL."""
        tokens = [t for t in url.split("://", 1)[1].split("?")[0].split("/") if t]
        if len(tokens) != 3:
            raise SettingError(f"{where}.url", "expected slack://TOKEN_A/TOKEN_B/TOKEN_C (from the webhook URL)")
        return {"type": "slack", "webhook_url": "https://hooks.slack.com/services/" + "/".join(tokens)}

    def send(self, payload: dict[str, Any], *, key: str = "") -> None:
        body = json.dumps(render(payload), ensure_ascii=False).encode("utf-8")
        answer = post(self.options.webhook_url, body,
                      {"Content-Type": "application/json; charset=utf-8"}, f"slack {self.name}")
        if answer.strip() not in ("", "ok"):
            raise NotifyError(f"slack {self.name}: unexpected answer {answer[:100]!r}")

    def probe(self) -> str:
        return probe_url(self.options.webhook_url, f"slack {self.name}")
