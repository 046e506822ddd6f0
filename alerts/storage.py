"""The alert tables' one owner: every SQL statement on ``alert_events`` and ``deliveries``.

The tables are created by the store's migrations (``sentimon/schema.py``, one schema version
for the whole file); what is read and written in them is decided here, so the engine, the
outbox, the digest and the app's metrics and reports ask this module instead of writing SQL.
Callers hold the transaction (``db.atomic()``) where several statements must commit together.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from sentimon.times import to_db_time


# ---- deliveries: the notification outbox -------------------------------------------------

def enqueue(db: Database, *, event_id: int | None, notifier: str, kind: str, payload: dict[str, Any],
            now: datetime, key: str | None = None) -> bool:
    """Store one notification to send; False when its key is already queued (or sent)."""
    key = key or f"{event_id}:{notifier}:{kind}"
    cur = db.execute(
        "INSERT INTO deliveries (key, event_id, notifier, kind, payload, status, attempts, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
        "ON CONFLICT(key) DO NOTHING",
        [key, event_id, notifier, kind.split("-")[0], json.dumps(payload, ensure_ascii=False),
         to_db_time(now), to_db_time(now)],
    )
    return cur.rowcount == 1


def delivery_exists(db: Database, key: str) -> bool:
    """Whether a notification with this key was ever queued (sent, pending or expired)."""
    return db.execute("SELECT 1 FROM deliveries WHERE key = ?", [key]).fetchone() is not None
