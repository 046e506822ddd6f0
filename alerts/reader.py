"""What the alerts read of the stored mentions, as a Protocol the app implements.

Alerts may import only the kernel and themselves, never the store, so they cannot hold SQL on
``mentions``: that belongs to the store, the one owner of each table's SQL (issue 15), and SQL
written for SQLite would also keep alerts off PostgreSQL. The app hands the engine, explain,
backtest and the digest an ``AlertReader`` (the SQLite store is one,
``sentimon/store/alert_reads.py``); they ask it for counts and rows in plain values, and keep
the statistics, the bins' meaning and the wording here.

Every read counts classified mentions only: pending ones (pushed, not through the model yet)
count once classified, in the period they were created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from alerts.rules import AlertRule

Tally = tuple[int, int]  # mentions, and how many of them are negative


@dataclass(frozen=True)
class MentionFilter:
    """A rule's mention filters as plain values (empty: no filter on that field).

    ``brand`` is the brand whose mentions count ('' our own, ``"*"`` every brand);
    ``topics`` keeps a mention that has any of them; a rating bound of 0 is none."""

    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    brand: str = ""
    min_rating: int = 0
    max_rating: int = 0
    topics: tuple[str, ...] = ()

    @classmethod
    def of(cls, rule: AlertRule) -> MentionFilter:
        return cls(tuple(rule.sources), tuple(rule.kinds), rule.brand, rule.min_rating,
                   rule.max_rating, tuple(rule.topics))


EVERY = MentionFilter(brand="*")  # every classified mention, of every brand (the digest)


class AlertReader(Protocol):
    """The reads on ``mentions`` and ``mention_topics`` that rules, explanations and digests need.

    Ranges are ``[start, end)`` on ``created_at``. ``topic`` narrows to one topic and then
    counts that topic's own sentiment ("late parcel, lovely shoes" is a delivery complaint in a
    positive review); ``per_topic`` does so for every topic at once, keyed by topic (else the
    one key is '')."""

    def scope_counts(self, where: MentionFilter, start: datetime, end: datetime, *,
                     per_topic: bool) -> dict[str, Tally]:
        """Mentions and negatives in range, per scope key; scopes without mentions are absent."""
        ...

    def scope_bins(self, where: MentionFilter, start: datetime, end: datetime, *, per_topic: bool,
                   width: timedelta) -> dict[str, dict[int, Tally]]:
        """The same, per ``width``-long bin counted from ``start`` (bin 0); empty bins absent."""
        ...

    def first_created(self, where: MentionFilter) -> datetime | None:
        """When the oldest matching mention was created (None: the store has none)."""
        ...

    def series_counts(self, where: MentionFilter, topic: str | None, start: datetime, end: datetime,
                      *, by_day: bool = False) -> dict[datetime, Tally]:
        """Mentions and negatives per UTC hour (or day) in range, keyed by its start; empty ones absent."""
        ...

    def topic_negatives(self, where: MentionFilter, topic: str | None, start: datetime,
                        end: datetime) -> tuple[int, dict[str, int]]:
        """Mentions in range, and per topic how many of the negative ones speak of it negatively."""
        ...

    def negative_mentions(self, where: MentionFilter, topic: str | None, start: datetime,
                          end: datetime, limit: int) -> list[dict[str, Any]]:
        """Negative mentions in range, most negative first, then newest: id, source, kind, url,
        author, title, text, rating, created_at (the store's text), score_negative, reply_url."""
        ...

    def recent_texts(self, where: MentionFilter, topic: str | None, start: datetime, end: datetime,
                     *, negative_only: bool, limit: int) -> list[str]:
        """Title and text of mentions in range, newest first."""
        ...

    def digest_topics(self, start: datetime, end: datetime) -> dict[str, Tally]:
        """Per topic, mentions in range of every brand, negative by the mention's overall
        sentiment (a topic never shows more negatives than the digest's headline)."""
        ...
