"""What the app asks of a store, whichever database holds it: ``App.store()``'s type.

Both ``sentimon.store.Store`` (SQLite) and ``sentimon.pgstore.PgStore`` (PostgreSQL) meet it,
checked by mypy where the app returns either as a ``MentionStore``. Every command is typed
against it and runs on both backends, except ``sentimon datasette`` (Datasette reads SQLite
files), which ``App.require_sqlite`` stops with one line on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ContextManager, Iterable, Mapping, Protocol, Sequence

from sentimon.mention import Classification, Mention
from sentimon.store import MentionQuery, SaveResult

if TYPE_CHECKING:
    from alerts.reader import AlertReader
    from alerts.storage import SqlHandle
    from sentimon.corrections import Correction


class MentionStore(Protocol):
    """The pipeline's writes, the query commands' reads, the daemon's upkeep, the push
    endpoint's pending queue and metrics, people's corrections, the export's pages and the
    training's reads."""

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

    # --- pushed mentions, stored pending and classified afterwards (sentimon.pending) -------

    def save_pending(self, batches: Mapping[str, Sequence[Mention]]) -> tuple[int, dict[tuple[str, str], int]]: ...

    def pending_mentions(self, limit: int, after_id: int = 0,
                         shard: tuple[int, int] | None = None) -> list[dict[str, Any]]: ...

    def pending_count(self) -> int: ...

    def set_classifications(self, rows: Sequence[tuple[int, Classification]]) -> int: ...

    # --- people's corrections (sentimon.corrections) and the export (sentimon.export) -------

    def apply_correction(self, mention_id: int, correction: Correction, *, author: str,
                         when: str) -> dict[str, Any] | None: ...

    def mentions_page(self, columns: Sequence[str], after_id: int, since: str | None,
                      until: str | None, limit: int) -> list[dict[str, Any]]: ...

    # --- what /metrics reads (sentimon.metrics) and training learns from (corrections) -------

    def finished_runs(self) -> list[dict[str, Any]]: ...

    def sentiment_totals(self) -> list[tuple[str, str | None, int]]: ...

    def alert_totals(self) -> tuple[dict[str, int], int, dict[str, int]]: ...

    def corrected_mentions(self) -> list[dict[str, Any]]: ...

    def uncorrected_texts(self, limit: int) -> list[tuple[str | None, str]]: ...

    # --- the alerts' tables and their reads of mentions (alerts.storage, alerts.reader) -----

    def alert_tables(self) -> ContextManager[SqlHandle]: ...

    def alert_reader(self) -> AlertReader: ...

    # --- the report's window aggregates (sentimon.mention_windows; span: [since, until]) ------

    def window_hours(self, span: Sequence[str]) -> list[tuple[str, int, int, int, int]]: ...

    def window_counts(self, span: Sequence[str]) -> tuple[int, int]: ...

    def window_topics(self, span: Sequence[str]) -> list[tuple[str, int, int, int, int]]: ...

    def window_groups(self, column: str, span: Sequence[str]) -> list[tuple[str, int, int]]: ...

    def window_most_negative(self, span: Sequence[str], limit: int = 10) -> list[dict[str, Any]]: ...

    def window_topic_hours(self, span: Sequence[str], names: Sequence[str]) -> list[tuple[str, str, int, int]]: ...
