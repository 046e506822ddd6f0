"""What the app asks of a store, whichever database holds it: ``App.store()``'s type.

Both ``sentimon.store.Store`` (SQLite) and ``sentimon.pgstore.PgStore`` (PostgreSQL) meet it,
checked by mypy where the app returns either as a ``MentionStore``. Code typed against it runs
on both backends; code that still needs SQLite's ``db`` handle asks ``App.sqlite_store`` for a
``Store`` by name, so on PostgreSQL it stops with one line naming the command instead of an
AttributeError halfway through (docs/postgresql.md lists them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Protocol, Sequence

from sentimon.mention import Classification, Mention
from sentimon.store import MentionQuery, SaveResult


class MentionStore(Protocol):
    """The pipeline's writes, the query commands' reads, the daemon's upkeep."""

    @property
    def schema_version(self) -> int: ...

    @property
    def latest_schema_version(self) -> int: ...

    def check_file(self) -> None:
        """SQLite's guard against a database file deleted under a running process."""

    def close(self) -> None: ...

    def known_ids(self, source: str, external_ids: Iterable[str]) -> set[str]: ...

    def save_batch(
        self,
        source: str,
        mentions: Sequence[Mention],
        classifications: Sequence[Classification] | None,
        cursor: str | None = None,
        *,
        advance_cursor: bool = True,
        now: datetime | None = None,
    ) -> SaveResult: ...

    def get_cursor(self, source: str) -> str | None: ...

    def start_run(self, source: str, started: datetime) -> int: ...

    def finish_run(
        self, run_id: int, *, finished: datetime, fetched: int, new: int, skipped: int,
        error: str | None, dropped: int = 0,
    ) -> None: ...

    def delete_older_than(self, cutoff: datetime, *, batch: int = 2000) -> int: ...

    def optimize(self) -> None: ...

    def mentions(self, query: MentionQuery) -> list[dict[str, Any]]: ...

    def topics_for(self, ids: list[int]) -> dict[int, list[dict[str, Any]]]: ...

    def stats(self, query: MentionQuery, by: str, *, now: datetime | None = None) -> list[dict[str, Any]]: ...

    def top_negative_topics(self, query: MentionQuery, by: str, limit: int = 3) -> dict[str, list[str]]: ...

    def last_runs(self) -> list[dict[str, Any]]: ...

    def counts(self) -> dict[str, int]: ...
