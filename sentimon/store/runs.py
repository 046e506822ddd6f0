"""The run record and the cursors: what each connector did, and where it goes on next.

Why apart from the mentions: ``runs`` is the health record (``sentimon status``, ``doctor``,
``/metrics``) and ``cursors`` the resume points, both keyed by source and small; their SQL is
portable, so ``LAST_RUNS_SQL`` is the one text both stores run. A batch's cursor is written with
its mentions in ``save_batch`` (one transaction), so only the cursor's read lives here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentimon.store.core import StoreCore, inserted_id
from sentimon.times import to_db_time

# The latest run of each source and its latest successful one: portable SQL both stores run.
LAST_RUNS_SQL = """
    SELECT source,
           MAX(started_at) AS last_run,
           MAX(CASE WHEN error IS NULL AND finished_at IS NOT NULL THEN finished_at END) AS last_success,
           (SELECT error FROM runs r2 WHERE r2.source = runs.source
            ORDER BY started_at DESC, id DESC LIMIT 1) AS last_error,
           SUM(new) AS stored
    FROM runs GROUP BY source ORDER BY source
"""

# Per source with a finished run: that last finished run, the end of its last run without an
# error (NULL if none) and how many finished runs succeeded and failed. Portable SQL both
# stores run; ``/metrics`` (sentimon/metrics.py) reports it.
FINISHED_RUNS_SQL = """
    SELECT r.source, r.started_at, r.finished_at, r.fetched, r.new, r.skipped, r.error,
           f.last_success, f.ok_runs, f.error_runs
    FROM runs r JOIN (
        SELECT source, MAX(id) AS last_id,
               MAX(CASE WHEN error IS NULL THEN finished_at END) AS last_success,
               SUM(CASE WHEN error IS NULL THEN 1 ELSE 0 END) AS ok_runs,
               SUM(CASE WHEN error IS NULL THEN 0 ELSE 1 END) AS error_runs
        FROM runs WHERE finished_at IS NOT NULL GROUP BY source
    ) f ON r.id = f.last_id
    ORDER BY r.source
"""


class RunsAndCursors(StoreCore):
    """The store's SQL on ``runs`` and its reads of ``cursors``."""

    def get_cursor(self, source: str) -> str | None:
        with self._guard("could not read the cursor"):
            row = self.db.execute("SELECT cursor FROM cursors WHERE source = ?", [source]).fetchone()
        return row[0] if row else None

    def start_run(self, source: str, started: datetime) -> int:
        with self._guard("could not record the start of a run", write=True), self._transaction():
            cur = self.db.execute(
                "INSERT INTO runs (source, started_at) VALUES (?, ?)", [source, to_db_time(started)]
            )
        return inserted_id(cur)

    def finish_run(
        self, run_id: int, *, finished: datetime, fetched: int, new: int, skipped: int,
        error: str | None, dropped: int = 0,
    ) -> None:
        with self._guard("could not record the end of a run", write=True), self._transaction():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, fetched = ?, new = ?, skipped = ?, error = ?, "
                "dropped = ? WHERE id = ?",
                [to_db_time(finished), fetched, new, skipped, error, dropped, run_id],
            )

    def last_runs(self) -> list[dict[str, Any]]:
        """The latest run of each source and its latest successful one: the health record."""
        return list(self.db.query(LAST_RUNS_SQL))

    def finished_runs(self) -> list[dict[str, Any]]:
        """Per source, its last finished run with its last success and its run totals
        (``FINISHED_RUNS_SQL``), by source: what ``/metrics`` reports of each connector."""
        with self._guard("cannot read metrics"):
            return list(self.db.query(FINISHED_RUNS_SQL))
