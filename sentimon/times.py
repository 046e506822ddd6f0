"""The store's text form of a moment, ``YYYY-MM-DDTHH:MM:SSZ``: sortable, indexable and readable
in Datasette as it is. Part of the kernel, so alerts and reports write the same text as the store
without importing it."""

from __future__ import annotations

from datetime import datetime, timezone

DB_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def to_db_time(moment: datetime) -> str:
    """Aware datetime -> the store's sortable UTC text form."""
    return moment.astimezone(timezone.utc).strftime(DB_TIME_FORMAT)


def from_db_time(text: str) -> datetime:
    """The store's text form -> an aware UTC datetime."""
    return datetime.strptime(text, DB_TIME_FORMAT).replace(tzinfo=timezone.utc)
