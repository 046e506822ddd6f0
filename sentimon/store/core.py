"""Opening the SQLite file and the guarded transactions every store method writes through.

Why one place: the file's pragmas (WAL, busy timeout, foreign keys), the reconnect after a
read-only error, the refusal to write to a deleted or replaced file and the one-line
``StorageError`` a user reads are the same for every write, so the mention, run and cursor
modules of the store share them here instead of each handling sqlite's errors its own way.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlite_utils import Database

from sentimon import dbfile
from sentimon.errors import NewerSchema, StorageError
from sentimon.schema import SCHEMA_VERSION, migrate, migrations, newer_migrations

BUSY_TIMEOUT_MS = 10_000
ID_CHUNK = 500  # ids bound per statement: stays under SQLite's bound-parameter limit


def storage_problem(path: object, doing: str, exc: Exception) -> StorageError:
    """One line naming the file, what failed and, for the faults an operator can fix, how."""
    text = str(exc)
    hint = ""
    if "disk is full" in text or "disk I/O" in text:
        hint = "; free disk space (nothing was lost: the next run retries)"
    elif "readonly" in text or "read-only" in text:
        hint = "; make the database file and its folder writable by this user (the next run retries)"
    elif "locked" in text or "busy" in text:
        hint = "; another process held the database too long (the next run retries)"
    return StorageError(f"{path}: {doing}: {text}{hint}")


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT on ``cursor`` just wrote. sqlite3 sets ``lastrowid`` after
    every execute(); it is None only on a cursor that ran nothing, a bug worth one clear line."""
    if cursor.lastrowid is None:
        raise StorageError("the database gave no id for the row just written (nothing was executed)")
    return cursor.lastrowid


class StoreCore:
    """The connection and its guards; ``sentimon.store.Store`` adds the tables' operations."""

    def __init__(
        self, path: str | Path, *, create: bool = True, expect: dbfile.FileIdentity | None = None
    ) -> None:
        """``create=False`` refuses a missing file instead of creating an empty database;
        ``expect`` is the identity of the file another store of this process opened."""
        self.path = Path(path)
        self._stale = False
        on_disk = str(path) != ":memory:"
        dbfile.check_same_file(self.path, expect)
        if on_disk and not create and not self.path.exists():
            raise dbfile.missing(self.path)
        self.db = self._connect()
        self.identity = dbfile.identity(self.path) if on_disk else None

    def check_file(self) -> None:
        """DatabaseGone when the file was deleted or replaced since it was opened."""
        dbfile.check_same_file(self.path, self.identity)

    def _connect(self) -> Database:
        path = self.path
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
                dbfile.create_private(self.path)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            db = Database(conn)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            if str(path) != ":memory:":
                db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
            newer = newer_migrations(db)
            if newer:
                db.close()
                raise NewerSchema(str(path), ", ".join(newer), f"up to {migrations._migrations[-1].name}")
            migrate(db)
        except sqlite3.DatabaseError as exc:
            raise storage_problem(path, "cannot open database", exc) from exc
        except OSError as exc:  # the folder or file cannot be created: one line, not a traceback
            raise StorageError(f"{path}: cannot create the database: {exc.strerror or exc}") from exc
        return db

    def close(self) -> None:
        self.db.close()

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """SQLite opens a file it may not write read-only and keeps it so for the connection's
        life. After such an error the next operation reconnects, so a long-running daemon picks
        up fixed permissions at its next run instead of failing until it is restarted."""
        if str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_READONLY"):
            self._stale = str(self.path) != ":memory:"

    def _refresh(self) -> None:
        """Before a write: refuse a deleted or replaced file (the write would be lost), and
        reconnect if the last write found the file read-only. It stays marked until a write
        succeeds, as the new connection may be read-only again."""
        self.check_file()
        if not self._stale:
            return
        fresh = self._connect()
        old, self.db = self.db, fresh
        try:
            old.close()
        except sqlite3.Error:
            pass

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front (BEGIN IMMEDIATE).

        In WAL mode a deferred transaction that reads before it writes fails at once with
        "database is locked" when another connection wrote in between; the busy timeout
        cannot help it. Taking the lock first makes it wait its turn instead, which is what
        lets retention run beside the connectors and the CLI beside the daemon."""
        conn = self.db.conn
        if conn.in_transaction:  # nested inside a caller's transaction: a savepoint
            with self.db.atomic():
                yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _guard(self, doing: str, *, write: bool = False) -> Iterator[None]:
        """Turn sqlite's errors (disk full, read-only file, lock held too long) into one
        StorageError line, so callers handle one exception type and users read one line."""
        try:
            if write:
                self._refresh()
            yield
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            raise storage_problem(self.path, doing, exc) from exc
        if write:
            self._stale = False

    @contextmanager
    def writing(self, doing: str) -> Iterator[Database]:
        """One guarded write transaction (BEGIN IMMEDIATE) for the store's helper modules,
        e.g. ``sentimon.pending`` writing classifications; ``doing`` names it in errors."""
        with self._guard(doing, write=True), self._transaction():
            yield self.db

    @property
    def schema_version(self) -> int:
        return len(migrations.applied(self.db))

    @property
    def latest_schema_version(self) -> int:
        return SCHEMA_VERSION
