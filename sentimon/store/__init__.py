"""The SQLite store: one file in WAL mode, so the CLI reads while the daemon writes.

Writes go through ``save_batch``, which stores a connector's batch and advances its cursor
in one transaction: a crash can repeat a batch (and dedup drops the repeat) but never lose
or double one. Every query here is parameterized; user input never becomes SQL text.

One module per job, so each stays small and a second store (``sentimon.pgstore``) can be
read against it part by part: ``core`` opens the file and guards every transaction,
``query`` holds the filters (``MentionQuery``), ``writes`` and ``reads`` the SQL on
mentions and their topics, ``runs`` the run record and the cursors, ``alert_reads`` the
alert engine's counts (``alerts.reader.AlertReader``), ``report_reads`` the report's.
``Store`` is all of them on one connection; callers import everything from
``sentimon.store``, as before.
"""

from __future__ import annotations

import sqlite3  # noqa: F401 - tests patch sentimon.store.sqlite3.connect, as when this was one file
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlite_utils import Database

from sentimon.store.alert_reads import AlertReads
from sentimon.store.core import BUSY_TIMEOUT_MS, inserted_id, storage_problem
from sentimon.store.query import MentionQuery, fts_phrase
from sentimon.store.reads import MentionReads
from sentimon.store.report_reads import ReportReads
from sentimon.store.runs import FINISHED_RUNS_SQL, LAST_RUNS_SQL, RunsAndCursors
from sentimon.store.writes import PENDING, SENTIMENT_ORDER, MentionWrites, SaveResult
from sentimon.times import from_db_time, to_db_time

__all__ = [
    "BUSY_TIMEOUT_MS", "FINISHED_RUNS_SQL", "LAST_RUNS_SQL", "PENDING", "SENTIMENT_ORDER",
    "MentionQuery", "SaveResult", "Store", "from_db_time", "fts_phrase", "inserted_id",
    "scratch_alert_tables", "storage_problem", "to_db_time",
]


class Store(MentionWrites, MentionReads, RunsAndCursors, AlertReads, ReportReads):
    """A connection to one sentimon database; one per thread (sqlite3 connections are not shared)."""


@contextmanager
def scratch_alert_tables() -> Iterator[Database]:
    """Empty alert tables in a temporary SQLite database, deleted afterwards: what a backtest
    replays into (``alerts.backtest``), whichever store holds the mentions, so the store's
    own alert history is never written."""
    with tempfile.TemporaryDirectory(prefix="sentimon-backtest-") as folder:
        scratch = Store(Path(folder) / "replay.db")
        try:
            yield scratch.db
        finally:
            scratch.close()
