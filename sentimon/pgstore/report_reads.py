"""The report's reads on PostgreSQL: ``sentimon.mention_windows``' statements on a pooled
connection, in the alert reads' PostgreSQL dialect (a counted condition, the JSONB field).

Nothing else differs: ``created_at`` is the same sortable UTC text in both stores, so the hour
prefixes and ranges read alike, and ``mention_windows`` orders every result itself rather than
leave it to the server's collation or grouping.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from sentimon.pgstore.alert_reads import POSTGRESQL
from sentimon.pgstore.qmark import QmarkDatabase
from sentimon.store.report_reads import WindowSql


class PgReportReads(WindowSql):
    """The part of ``PgStore`` that answers the report; errors are its one-line ``StorageError``."""

    window_dialect = POSTGRESQL

    def _guard(self, doing: str) -> Any:
        raise NotImplementedError  # PgStore's: a pooled connection, errors as one line

    @contextmanager
    def _window_db(self) -> Iterator[QmarkDatabase]:
        with self._guard("report query failed") as conn:
            yield QmarkDatabase(conn)
