"""Logging set up once, with every configured secret masked in every record."""

from __future__ import annotations

import logging
import sys
from typing import Iterable
from urllib.parse import quote, quote_plus, unquote, urlsplit

_MASK = "***"


class RedactSecrets(logging.Filter):
    """Replaces known secret values in a record's final message (and its traceback text)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary words; secrets are never that short. A secret
        # placed in a URL shows up percent-encoded in error texts, so those forms go too.
        for secret in secrets:
            if len(secret) >= 6:
                self.secrets.update({secret, quote(secret, safe=""), quote_plus(secret), quote(secret)})
                self.secrets.update(_url_parts(secret))


    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = self.redact(record.getMessage())
            record.args = ()
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
            elif record.exc_text:
                record.exc_text = self.redact(record.exc_text)
            if record.stack_info:
                record.stack_info = self.redact(record.stack_info)
        return True


def _url_parts(secret: str) -> set[str]:
    """The secret parts of a secret URL, which error texts quote on their own: a Slack webhook's
    path ("Max retries exceeded with url: /services/..."), a key in the query, a password in
    the userinfo. Short parts ("/hook") are left alone: they would mask ordinary words."""
    try:
        parts = urlsplit(secret)
    except ValueError:
        return set()
    if not (parts.scheme and parts.netloc):
        return set()
    found = {parts.path + ("?" + parts.query if parts.query else ""), parts.query, parts.password or ""}
    found |= {unquote(part) for part in found}
    return {part for part in found if len(part) >= 12}


redactor = RedactSecrets()


def setup_logging(level: int = logging.INFO) -> None:
    """One stderr handler for the whole process: ``time level logger: message``."""
    root = logging.getLogger()
    # APScheduler's "Adding job tentatively" and "Added job" lines at every start are detail.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING if level > logging.DEBUG else logging.DEBUG)
    if any(getattr(h, "_sentimon", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    handler._sentimon = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "prawcore", "apscheduler.executors.default", "filelock", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def mask(value: str) -> str:
    """How a secret is shown by `doctor`: whether it is set, never any of its characters."""
    return f"{_MASK} (set, {len(value)} characters)" if value else "(empty)"
