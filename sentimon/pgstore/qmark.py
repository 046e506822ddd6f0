"""A psycopg connection that answers like sqlite-utils' ``Database`` for portable ``?`` SQL.

Why: modules that own a table's SQL in the portable subset (``alerts/storage.py`` for the alert
tables, ``sentimon/rollup.py`` for the roll-ups) take a sqlite-utils handle; this lets the same
functions, the same statements, run on PostgreSQL instead of a second copy of each.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import psycopg
from psycopg.rows import dict_row

from sentimon.pgstore.reads import pg


class QmarkDatabase:
    """``execute``, ``query``, ``execute_returning_dicts`` and ``atomic`` on one connection in
    autocommit mode: each statement commits alone unless inside ``atomic()``."""

    def __init__(self, conn: psycopg.Connection, key: str = "") -> None:
        self.conn = conn
        self.key = key  # which database, the same for every handle on it (the outbox's outages)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> psycopg.Cursor[Any]:
        return self.conn.execute(pg(sql).encode(), list(parameters or ()))

    def query(self, sql: str, params: Sequence[Any] | None = None, /) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(pg(sql).encode(), list(params or ())).fetchall()

    def execute_returning_dicts(self, sql: str, params: Sequence[Any] | None = None, /
                                ) -> list[dict[str, Any]]:
        return self.query(sql, params)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction (a savepoint when nested), rolled back if the block raises."""
        with self.conn.transaction():
            yield
