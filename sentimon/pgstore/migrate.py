"""PostgreSQL schema migrations: numbered ``NNNN_name.sql`` files, applied once, in order.

Why files of plain SQL: a DBA can read and review exactly what runs on their server. Each
migration runs in its own transaction (PostgreSQL's DDL is transactional, so a failing one
leaves nothing half-made) and is recorded in ``schema_migrations``. Processes that start
together (several workers on a fresh database) take a session advisory lock first, so the
second waits and then finds nothing left to do. Never edit a released migration: add one.

A database that holds migrations this code does not ship (applied by a later sentimon, one
machine upgraded before the others) is refused: running on a schema the code does not know
could write rows a later version reads wrong, and is exactly what a rollout must notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from sentimon.errors import NewerSchema, StorageError

# pg_advisory_lock's key: any fixed bigint, unique to sentimon within the database.
LOCK_KEY = 0x53454E54494D4F4E  # "SENTIMON"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped in ``sentimon/pgstore/migrations``, in version order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"PostgreSQL migrations are not numbered 1..n: {[m.version for m in found]}")
    return found


SCHEMA_VERSION = len(migrations())


def applied(conn: psycopg.Connection) -> list[int]:
    """Versions recorded in this database (none on a fresh one)."""
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
        return []
    return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def upgrade(conn: psycopg.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date).

    ``conn`` must be in autocommit mode: each migration opens its own transaction. A
    database that is up to date is only read, without waiting for the lock."""
    wanted = migrations()
    have = applied(conn)
    refuse_newer(conn, have)
    if len(have) == len(wanted):
        return []
    done: list[str] = []
    conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        have = applied(conn)
        refuse_newer(conn, have)  # a later sentimon may have upgraded while we waited for the lock
        for migration in wanted:
            if migration.version in have:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())  # no parameters: one multi-statement script
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    [migration.version, migration.name],
                )
            done.append(f"{migration.version:04d}_{migration.name}")
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    return done


def refuse_newer(conn: psycopg.Connection, versions: list[int]) -> None:
    """Raise NewerSchema when ``versions`` (applied in ``conn``'s database) include one this
    code does not ship. The message names the server and database, never the user."""
    unknown = [v for v in versions if v > SCHEMA_VERSION]
    if unknown:
        info = conn.info
        raise NewerSchema(f"postgresql://{info.host}:{info.port}/{info.dbname}",
                          ", ".join(f"{v:04d}" for v in unknown), f"1-{SCHEMA_VERSION}")


def pending(conn: psycopg.Connection) -> list[str]:
    """Names of the migrations this database has not applied yet."""
    have = set(applied(conn))
    return [f"{m.version:04d}_{m.name}" for m in migrations() if m.version not in have]


def _connect(url: str) -> psycopg.Connection:
    from sentimon.pgstore.store import redacted, scrubbed

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise StorageError(f"{redacted(url)}: cannot connect: {scrubbed(exc, url)}") from None


def upgrade_url(url: str) -> tuple[list[str], int]:
    """``sentimon db upgrade``: apply what is pending; (names applied, schema version now).
    Errors are one StorageError line naming the server, never the password."""
    from sentimon.pgstore.store import redacted, scrubbed

    with _connect(url) as conn:
        try:
            done = upgrade(conn)
            return done, len(applied(conn))
        except psycopg.Error as exc:
            raise StorageError(f"{redacted(url)}: cannot upgrade: {scrubbed(exc, url)}") from exc


def status_url(url: str) -> tuple[int, list[str]]:
    """``sentimon db status``: (schema version, migrations still pending), changing nothing."""
    from sentimon.pgstore.store import redacted, scrubbed

    with _connect(url) as conn:
        try:
            have = applied(conn)
            refuse_newer(conn, have)
            return len(have), pending(conn)
        except psycopg.Error as exc:
            raise StorageError(f"{redacted(url)}: cannot read the schema version: {scrubbed(exc, url)}") from exc


def main(argv: list[str] | None = None) -> int:
    """``python -m sentimon.pgstore.migrate [URL]``: ``sentimon db upgrade`` without a config
    file, for a DBA. The URL comes from $SENTIMON_DATABASE_URL when not given (a password on
    the command line is visible to every user in ``ps``)."""
    import os
    import sys

    from sentimon.pgstore.store import redacted

    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("SENTIMON_DATABASE_URL", "")
    if not url:
        print("usage: python -m sentimon.pgstore.migrate postgresql://... (or set SENTIMON_DATABASE_URL)",
              file=sys.stderr)
        return 2
    try:
        done, version = upgrade_url(url)
    except StorageError as exc:
        print(exc, file=sys.stderr)
        return 1
    for name in done:
        print(f"applied {name}")
    print(f"{redacted(url)}: schema version {version} of {SCHEMA_VERSION}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
