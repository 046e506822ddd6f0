"""What keeps `sentimon worker` processes within a source's limits, shared through PostgreSQL.

**Credentials.** Connectors that share one rate-limited credential (two reddit connectors on
one app's ``client_id``, two youtube connectors on one API key, whichever ``${VARIABLE}`` they
read it from) would exceed its rate limit together if two workers ran them at once. Procrastinate
gives a job one ``lock``, so a connector's lock names its credential when it has one, else the
connector: jobs of one credential then run one at a time on any machine, and since a
connector's jobs share its credential it never overlaps itself either. The ``queueing_lock``
stays per connector (at most one run waiting each), so one connector's waiting run never keeps
another's from being queued.

A connector's credential is its first secret setting that is set (``Setting.secret``: reddit's
``client_id``, elsewhere the one token or key). Its value decides, not the variable's name: two
variables holding one key are one credential. The lock holds an HMAC of the value under a
random per-install salt (migration 0005), never the value: the job table and the logs
show ``credential:<16 hex>``, which no one can test a guessed key against without the salt.

**Backoff.** The daemon keeps its failure counts in memory (one process). Workers cannot: the
next run of a connector may start on another machine, or after a restart. ``worker_backoff``
holds, per key, when it may run again: ``connector:NAME`` after repeated failures (every, 2x,
4x, ... as the daemon does), and the credential's key after a source's ``Retry-After``, which
is about the credential, so every connector on it waits. Times are the server's ``now()``.
Why a table, not a job scheduled later: a future job holding a credential's lock would keep
every other connector on that credential waiting behind it (Procrastinate runs a lock's jobs in
order), while the table lets the schedule skip exactly what must wait.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterator

import psycopg

from sentimon.credentials import credential_value
from sentimon.daemon import MAX_BACKOFF, backoff_delay
from sentimon.errors import StorageError
from sentimon.pgstore.store import redacted


def connector_key(name: str) -> str:
    return f"connector:{name}"


def credential_key(value: str, salt: str) -> str:
    digest = hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"credential:{digest[:16]}"


class Limits:
    """The credential keys and backoff state of one install, read and written by every worker."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._salt: str | None = None

    @contextmanager
    def _connect(self, doing: str) -> Iterator[psycopg.Connection]:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                yield conn
        except psycopg.Error as exc:
            raise StorageError(f"{redacted(self.url)}: {doing}: "
                               f"{str(exc).strip().splitlines()[0]}") from None

    def _query(self, doing: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._connect(doing) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def credential(self, entry: Any) -> str | None:
        """``entry``'s credential key, or None when it has no secret setting set."""
        value = credential_value(entry)
        if value is None:
            return None
        if self._salt is None:
            rows = self._query("cannot read the install's salt", "SELECT salt FROM worker_install")
            self._salt = str(rows[0][0])
        return credential_key(value, self._salt)

    def lock(self, entry: Any) -> str:
        """The job lock of ``entry``'s runs: its credential's key, else its own."""
        return self.credential(entry) or connector_key(entry.name)

    def waiting(self) -> dict[str, datetime]:
        """Keys that may not run yet, with when they may."""
        rows = self._query("cannot read the backoff state",
                           "SELECT key, not_before FROM worker_backoff WHERE not_before > now()")
        return {key: when for key, when in rows}

    def holds(self, entry: Any, waiting: dict[str, datetime]) -> datetime | None:
        """When ``entry`` may run again, if it or its credential must still wait."""
        keys = [connector_key(entry.name), self.credential(entry)]
        found = [waiting[k] for k in keys if k in waiting]
        return max(found) if found else None

    def record(self, entry: Any, ok: bool, error: str | None, retry_after: float | None) -> datetime | None:
        """After a run: a success clears the connector's failures; a failure counts one more
        and, past the first or on a Retry-After, says when the connector (and for Retry-After
        its credential) may run again. Returns that moment, or None when nothing waits."""
        key = connector_key(entry.name)
        if ok:
            self._query("cannot clear the backoff state",
                        "DELETE FROM worker_backoff WHERE key = %(k)s", {"k": key})
            return None
        credential = self.credential(entry) if retry_after else None
        with self._connect("cannot record the backoff state") as conn, conn.transaction():
            row = conn.execute(
                "INSERT INTO worker_backoff AS b (key, failures, not_before, reason) "
                "VALUES (%(k)s, 1, now(), %(r)s) ON CONFLICT (key) DO UPDATE "
                "SET failures = b.failures + 1, reason = EXCLUDED.reason, updated_at = now() "
                "RETURNING failures", {"k": key, "r": (error or "")[:500]}).fetchone()
            delay = backoff_delay(entry.every, int(row[0]) if row else 1)
            delay = delay if delay > entry.every else timedelta(0)  # the first failure: on time
            if retry_after:
                asked = timedelta(seconds=min(retry_after, MAX_BACKOFF.total_seconds()))
                delay = max(delay, asked)
                if credential is not None:
                    self._hold(conn, credential, asked, f"{entry.name} was asked to wait: {error}"[:500])
            return self._hold(conn, key, delay, None) if delay > timedelta(0) else None

    @staticmethod
    def _hold(conn: psycopg.Connection, key: str, delay: timedelta, reason: str | None) -> datetime:
        """Wait at least ``delay`` from now (a later wait already recorded stands)."""
        row = conn.execute(
            "INSERT INTO worker_backoff AS b (key, not_before, reason) "
            "VALUES (%(k)s, now() + %(d)s, COALESCE(%(r)s, '')) ON CONFLICT (key) DO UPDATE "
            "SET not_before = GREATEST(b.not_before, EXCLUDED.not_before), "
            "reason = COALESCE(%(r)s, b.reason), updated_at = now() RETURNING not_before",
            {"k": key, "d": delay, "r": reason}).fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]
