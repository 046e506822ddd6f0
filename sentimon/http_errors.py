"""A ``requests`` failure on one short line without secrets. Part of the kernel: sources (in
``connectors.http``) and notifiers (in ``alerts.notifier_base``) both report network errors,
and neither part may import the other."""

from __future__ import annotations

import re


def request_error_reason(exc: Exception) -> str:
    """The cause of a requests error on one short line. requests wraps urllib3's
    MaxRetryError, whose ``reason`` is the real problem ("Connection refused", "Failed to
    resolve ..."); the wrappers' text repeats the URL with its query, which may hold keys."""
    inner: object = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    inner = getattr(inner, "reason", None) or inner
    text = str(inner).splitlines()[0] if str(inner) else type(inner).__name__
    text = re.sub(r"^(\w+\()?(<[^>]*>|HTTPS?Connection(Pool)?\([^)]*\)): ", "", text)
    # Any URL left in the text loses its credentials and its query (keys live there).
    text = re.sub(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#@'\"]*@", r"\1", text)
    text = re.sub(r"(://[^\s?'\"]*)\?[^\s'\"]*", r"\1", text)
    return text[:200]
