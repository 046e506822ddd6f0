"""Generic webhooks: the message as JSON, POSTed with an HMAC-SHA256 signature.

For Teams/PagerDuty/Zapier bridges. The receiver recomputes
``hex(HMAC-SHA256(secret, timestamp + "." + body))`` and compares it with
``X-Sentimon-Signature: sha256=...``; signing the timestamp too lets it refuse replays.
``X-Sentimon-Delivery`` carries the outbox key, so a receiver can drop a repeat that a
crash between "sent" and "recorded" could cause.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, replace
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit, urlunsplit

from alerts.notifier_base import Notifier, NotifierOptions, mask_url, post, probe_url
from sentimon.settings import SettingError, setting

SIGNATURE_HEADER = "X-Sentimon-Signature"
TIMESTAMP_HEADER = "X-Sentimon-Timestamp"
DELIVERY_HEADER = "X-Sentimon-Delivery"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver runs (also used by the tests); constant-time comparison."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True, kw_only=True)
class WebhookOptions(NotifierOptions):
    """Settings of `webhook` notifiers."""

    type: str = setting("str", help='"webhook".')
    url: str = setting("str", help="Endpoint that receives the JSON POST.", secret=True)
    secret: str = setting(
        "str", "", help='HMAC-SHA256 key: "${WEBHOOK_SECRET}". Empty sends unsigned.', secret=True,
    )
    headers: dict[str, str] = setting(
        "dict[str,str]", {}, help="Extra request headers (e.g. an API key).",
    )


class WebhookNotifier(Notifier):
    type = "webhook"
    schemes = ("json", "jsons")
    Options = WebhookOptions
    options: WebhookOptions
    clock: Callable[[], float] = staticmethod(time.time)

    @classmethod
    def check(cls, options: WebhookOptions, where: str) -> WebhookOptions:
        if not options.url.lower().startswith(("https://", "http://")):
            raise SettingError(f"{where}.url", "expected an http:// or https:// URL")
        return replace(options, display=mask_url(options.url))

    @classmethod
    def from_url(cls, url: str, where: str) -> dict[str, Any]:
        """``jsons://host/path?secret=...`` -> https (``json://`` -> http), apprise style."""
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        secret = query.pop("secret", [""])[0]
        rest = "&".join(f"{k}={v}" for k, values in query.items() for v in values)
        scheme = "https" if parts.scheme == "jsons" else "http"
        if not parts.netloc:
            raise SettingError(f"{where}.url", "expected json://host/path or jsons://host/path")
        return {"type": "webhook", "url": urlunsplit((scheme, parts.netloc, parts.path, rest, "")),
                "secret": secret}

    def body(self, payload: dict[str, Any]) -> bytes:
        document = {"sentimon": 1, "kind": payload.get("kind"), "title": payload.get("title"),
                    "event_id": payload.get("event_id"), "alert": payload}
        return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def send(self, payload: dict[str, Any], *, key: str = "") -> None:
        body = self.body(payload)
        timestamp = str(int(self.clock()))
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: timestamp,
                   DELIVERY_HEADER: key, "User-Agent": "sentimon-webhook/1"}
        headers.update(self.options.headers)
        if self.options.secret:
            headers[SIGNATURE_HEADER] = sign(self.options.secret, timestamp, body)
        post(self.options.url, body, headers, f"webhook {self.name}")

    def probe(self) -> str:
        return probe_url(self.options.url, f"webhook {self.name}")
