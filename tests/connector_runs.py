"""Run a connector to the end of its batches, as the pipeline would, for connector tests."""

from __future__ import annotations

from typing import Any


def drain(connector: Any, cursor: str | None = None, backfill: bool = False) -> tuple[list, list, str | None, int]:
    """(mentions, skipped, last cursor, batch count). Every batch must carry the whole cursor:
    the pipeline stores it with the batch, and None would erase what the source saw last."""
    mentions: list = []
    skipped: list = []
    batches = 0
    for batch in connector.fetch(cursor, backfill=backfill):
        assert isinstance(batch.cursor, str), "every batch must carry the whole cursor (None would erase it)"
        mentions += batch.mentions
        skipped += batch.skipped
        cursor = batch.cursor
        batches += 1
    return mentions, skipped, cursor, batches
