"""The report's reads (``sentimon report``) as store methods, so the report takes either store.

The statements are ``sentimon.mention_windows``', written once in the portable subset; a store
supplies only a handle they run on and its ``Dialect``: ``Store`` its own connection,
``PgStore`` a pooled connection through ``QmarkDatabase`` (``sentimon/pgstore/report_reads.py``).
``span`` is ``[since, until]`` in the stored time format.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Sequence

from sentimon import mention_windows as windows
from sentimon.mention_sql import SqlHandle
from sentimon.store.alert_reads import SQLITE, Dialect
from sentimon.store.core import StoreCore


class WindowSql:
    """The window aggregates in one dialect over a handle the store hands out per call."""

    window_dialect: Dialect = SQLITE

    def _window_db(self) -> AbstractContextManager[SqlHandle]:
        raise NotImplementedError

    def window_hours(self, span: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
        """``(hour, total, negative, neutral, positive)`` per UTC hour with mentions."""
        with self._window_db() as db:
            return windows.hourly_sentiment(db, span, self.window_dialect)

    def window_counts(self, span: Sequence[str]) -> tuple[int, int]:
        """``(mentions, negative mentions)``."""
        with self._window_db() as db:
            return windows.negative_count(db, span, self.window_dialect)

    def window_topics(self, span: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
        """``(topic, total, negative, neutral, positive)`` per topic, by name."""
        with self._window_db() as db:
            return windows.topic_sentiment(db, span, self.window_dialect)

    def window_groups(self, column: str, span: Sequence[str]) -> list[tuple[str, int, int]]:
        """``(value, total, negative)`` per ``source`` or ``brand``, most first."""
        with self._window_db() as db:
            return windows.negative_by(db, column, span, self.window_dialect)

    def window_most_negative(self, span: Sequence[str], limit: int = 10) -> list[dict[str, Any]]:
        """The most negative mentions, one per text with its ``repeats``."""
        with self._window_db() as db:
            return windows.most_negative(db, span, limit, self.window_dialect)

    def window_topic_hours(self, span: Sequence[str], names: Sequence[str]) -> list[tuple[str, str, int, int]]:
        """``(topic, hour, total, negative)`` for the topics ``names`` per UTC hour."""
        with self._window_db() as db:
            return windows.topic_hours(db, span, names, self.window_dialect)


class ReportReads(StoreCore, WindowSql):
    """The report's reads on this store's connection (``Store`` is one)."""

    def _window_db(self) -> AbstractContextManager[SqlHandle]:
        return nullcontext(self.db)
