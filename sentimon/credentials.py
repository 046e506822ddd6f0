"""Which rate-limited credential a connector uses, for the runners that keep such connectors
from running at once (the daemon's threads, ``sentimon worker``'s locks).

A connector's credential is its first secret setting that is set (``Setting.secret``: reddit's
``client_id``, elsewhere the one token or key). Its value decides, not the variable it came
from: two ``${VARIABLES}`` holding one key are one credential. Callers key their locks by a
hash of the value, never the value, so no lock name, log line or job row shows a secret.
"""

from __future__ import annotations

from typing import Any


def credential_value(entry: Any) -> str | None:
    """The value of ``entry``'s first secret setting that is set, or None (a files connector)."""
    for declared in entry.cls.settings:
        if declared.secret:
            value = entry.options.get(declared.name)
            if isinstance(value, str) and value:
                return value
    return None
