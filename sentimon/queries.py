"""Checks and counts around a ``MentionQuery`` for the query commands (``mentions``, ``stats``).

A filter that can match nothing because of a typo (``--source newz``) or a period that ends
before it starts is a usage error naming what is known, not a silent "(no rows)". Known values
come from the config first (no query at all), then from the database, so sources that are no
longer configured (an old connector, the push endpoint) and topics a model found still count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence, cast

import click

from sentimon import mention_sql
from sentimon.mention_store import MentionStore
from sentimon.store import MentionQuery, Store

if TYPE_CHECKING:
    from sentimon.pgstore import PgStore

_SHOWN_IN_ERROR = 20  # known values listed in the error, so a huge list stays one line


def check_query(query: MentionQuery, store: MentionStore, config: Any) -> None:
    """Raise click.BadParameter (exit 2) for an empty period or an unknown source or topic."""
    if query.since and query.until and query.since >= query.until:
        raise click.BadParameter(
            f"--since {query.since:%Y-%m-%d %H:%M} is not before --until {query.until:%Y-%m-%d %H:%M} (UTC)",
            param_hint="'--since' / '--until'",
        )
    configured_sources = {c.name for c in config.connectors} | {config.server.source}
    configured_topics = {t.name for t in config.topics}
    _check_known("--source", query.sources, configured_sources, store, "mentions", "source")
    _check_known("--topic", query.topics, configured_topics, store, "mention_topics", "topic")
    _check_brands(query.brands, store, config)


def _check_brands(keys: Sequence[str], store: MentionStore, config: Any) -> None:
    """A competitor no connector watches and no mention names is a typo; the error lists
    brands by the names people write (ours by its [brand] name)."""
    from sentimon.brands import configured, shown

    for key in keys:
        if key in configured(config) or _stored(store, "mentions", "brand", key):
            continue
        known = sorted(_printable(shown(k, config)) for k in configured(config) | _distinct(store, "mentions", "brand"))
        raise click.BadParameter(f"no brand {key!r} in the config or the database (known: {', '.join(known)})",
                                 param_hint="'--brand'")


def _check_known(option: str, values: Sequence[str], configured: set[str], store: MentionStore, table: str,
                 column: str) -> None:
    """Each value must be configured or stored; each lookup is one probe of an index."""
    for value in values:
        if value in configured or _stored(store, table, column, value):
            continue
        known = sorted(_printable(v) for v in configured | _distinct(store, table, column))
        listed = ", ".join(known[:_SHOWN_IN_ERROR]) + (", ..." if len(known) > _SHOWN_IN_ERROR else "")
        raise click.BadParameter(f"no {column} {value!r} in the config or the database (known: {listed or 'none'})",
                                 param_hint=f"'{option}'")


def _printable(value: str) -> str:
    """Stored names may come from pushed data: no control characters reach the terminal."""
    return "".join(ch for ch in str(value) if ch.isprintable())[:60]


# SQLite answers through its db handle here; PostgreSQL through PgStore's own methods (its
# search filter is dialect SQL), until the store package gives both stores these three.
def _stored(store: MentionStore, table: str, column: str, value: str) -> bool:
    if not isinstance(store, Store):
        return cast("PgStore", store).has_value(table, column, value)
    sql = f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1"  # names are ours, the value is bound
    return store.db.execute(sql, [value]).fetchone() is not None


def _distinct(store: MentionStore, table: str, column: str) -> set[str]:
    """Only for the error message: a walk over the column's index."""
    if not isinstance(store, Store):
        return cast("PgStore", store).distinct_values(table, column)
    return {row[0] for row in store.db.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()}


def count_mentions(store: MentionStore, query: MentionQuery) -> int:
    """How many mentions ``query`` matches without its limit: the "20 of 312 shown" line."""
    if not isinstance(store, Store):
        return cast("PgStore", store).count(query)
    where, params = query.where()
    return mention_sql.count_where(store.db, where, params)
