"""Run connectors for connector tests: one to the end of its batches, as the pipeline would,
or every connector of a loaded config through the real pipeline and store."""

from __future__ import annotations

from pathlib import Path
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


def run_rounds(config: Any, db: Path, rounds: int = 2) -> list[dict[str, Any]]:
    """Every connector of ``config`` run ``rounds`` times into the store at ``db`` (the keyword
    model classifies), as `sentimon fetch` would run them: one {name: RunResult} per round, so
    a test sees what the first run stored and that the next adds nothing."""
    from sentimon.pipeline import run_connector
    from sentimon.store import Store
    from stubs import KeywordClassifier

    store = Store(db)
    try:
        return [{c.name: run_connector(store, KeywordClassifier, c) for c in config.connectors}
                for _ in range(rounds)]
    finally:
        store.close()
