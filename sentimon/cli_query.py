"""``sentimon mentions`` and ``sentimon stats``: the queries a CX team runs every day.

Thin commands over ``Store.mentions`` and ``Store.stats``; the filters they share are declared
once in ``_query_options``.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from typing import Any

import click

from sentimon.output import FORMATS, emit, moment_option, sparkline

_MENTION_COLUMNS = ["id", "created_at", "source", "sentiment", "rating", "topics", "text"]
_CSV_COLUMNS = [
    "id", "source", "external_id", "kind", "url", "author", "title", "text", "rating", "lang", "created_at",
    "sentiment", "score_negative", "score_neutral", "score_positive", "corrected", "topics", "brand", "reply_url",
]  # the columns of `export --format csv`, less its model and correction history, plus the reply link


def _table_row(row: dict[str, Any], zone: Any) -> dict[str, Any]:
    from sentimon.timeline import local_text

    topics = ",".join(f"{t['name']}{'-' if t['sentiment'] == 'negative' else '+' if t['sentiment'] == 'positive' else ''}" for t in row["topics"])
    text = f"{row['title']}: {row['text']}" if row.get("title") else row["text"]
    sentiment = row["sentiment"] or ""  # empty: pushed, the model has not read it yet (pending)
    sentiment = f"{sentiment}*" if row.get("corrected") else sentiment  # * = set by a person
    return {**row, "created_at": local_text(row["created_at"], zone), "topics": topics, "text": text,
            "sentiment": sentiment}


def _query_options(func):
    options = [
        click.option("--since", callback=moment_option, help="Duration back from now (24h, 7d) or ISO date."),
        click.option("--until", callback=moment_option, help="Duration back from now or ISO date."),
        click.option("--sentiment", "sentiments", multiple=True, type=click.Choice(["negative", "neutral", "positive"]), help="Repeatable."),
        click.option("--topic", "topics", multiple=True, help="Repeatable."),
        click.option("--source", "sources", multiple=True, help="Connector name; repeatable."),
        click.option("--lang", "langs", multiple=True, help="Language code (en, de); repeatable."),
        click.option("--author", "authors", multiple=True, help="Author, whatever the case; repeatable."),
        click.option("--kind", "kinds", multiple=True, help="review, post, comment, article, ...; repeatable."),
        click.option("--brand", "brands", multiple=True, help="Our brand (its [brand] name, or ours) or a competitor's; repeatable."),
        click.option("--search", help="Full-text search in title and text (all words must match)."),
        click.option("--min-rating", type=click.IntRange(1, 5)),
        click.option("--max-rating", type=click.IntRange(1, 5)),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command()
@_query_options
@click.option("--pending", is_flag=True,
              help="Only pushed mentions the model has not classified yet (sentiment empty).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_obj
def mentions(app, fmt: str, **filters: Any) -> None:
    """Recent mentions, newest first, with their sentiment and topics.

    A pushed mention shows an empty sentiment until the model has read it (pending); stats,
    reports, exports and alerts count it only then. The table ends with how many matched
    ("20 of 312 shown"); csv is flat, like `export`."""
    from sentimon.brands import shown, stored_all
    from sentimon.export import write_csv
    from sentimon.queries import check_query, count_mentions
    from sentimon.store import MentionQuery

    query = MentionQuery(**{**filters, "brands": stored_all(filters["brands"], app.config),
                            "pending": filters["pending"] or None})  # off: all, pending or not
    store = app.store()
    check_query(query, store, app.config)
    rows = [{**r, "brand": shown(r["brand"], app.config)} for r in store.mentions(query)]
    if fmt == "csv":
        buffer = io.StringIO()
        write_csv(rows, buffer, _CSV_COLUMNS)
        click.echo(buffer.getvalue(), nl=False)
    elif fmt != "table":
        emit(rows, fmt, _MENTION_COLUMNS)
    else:
        from sentimon.timeline import display_zone

        zone = display_zone(app.config)
        columns = _MENTION_COLUMNS + [c for c in ("brand", "reply_url") if _worth_a_column(rows, c, app.config)]
        emit([_table_row(r, zone) for r in rows], fmt, columns, flexible="text")
        total = count_mentions(store, query) if len(rows) == query.limit else len(rows)
        if rows:
            summary = f"{len(rows)} of {total} shown (--limit for more)" if total > len(rows) else f"{total} mentions"
            click.echo(f"\n{summary}; times in {zone.key}")


@click.command()
@click.option("--since", callback=moment_option, default="7d", show_default=True, help="Duration or ISO date.")
@click.option("--until", callback=moment_option, help="Duration back from now or ISO date.")
@click.option("--by", type=click.Choice(["day", "week", "hour", "source", "topic", "brand"]), default="day",
              show_default=True, help="week: Monday to Sunday, labelled by its Monday; hour, day and week in "
              "[display] timezone; brand: share of voice, with each brand's top negative topics.")
@click.option("--source", "sources", multiple=True, help="Connector name; repeatable.")
@click.option("--brand", "brands", multiple=True, help="Our brand (its [brand] name, or ours) or a competitor's; repeatable.")
@click.option("--topic", "topics", multiple=True, help="Repeatable.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def stats(app, since, until, by: str, sources, brands, topics, fmt: str) -> None:
    """Counts per sentiment and the negative share, grouped by day, week, hour, source, topic or brand."""
    from sentimon.brands import stored_all
    from sentimon.queries import check_query
    from sentimon.store import MentionQuery

    from sentimon.timeline import TIME_UNITS, display_zone, filled, regroup

    query = MentionQuery(since=since, until=until, sources=sources, topics=topics,
                         brands=stored_all(brands, app.config))
    check_query(query, app.store(), app.config)
    zone = display_zone(app.config)
    if by in TIME_UNITS and zone.key != "UTC":  # UTC hours regrouped into the zone's buckets
        rows = regroup(app.store().stats(query, "hour"), by, zone)
    else:
        rows = app.store().stats(query, by)
    if by in TIME_UNITS:  # empty buckets as zeros, so the sparklines keep time
        rows = filled(rows, by, zone, since, until or datetime.now(timezone.utc))
    columns = [by, "total", "negative", "neutral", "positive", "negative_share"]
    if by == "brand":
        rows, columns = _share_of_voice(app, query, rows), columns + ["share_of_voice", "top_negative_topics"]
    # A mention has several topics: the totals count mentions, from a grouping that holds
    # each one once (by day, the daily roll-ups answer it).
    overall = app.store().stats(query, "day") if by == "topic" else rows
    total = sum(r["total"] for r in overall)
    negative = sum(r["negative"] for r in overall)
    summary = {
        "since": since.isoformat() if since else None,
        "total": total,
        "negative": negative,
        "negative_share": round(negative / total, 4) if total else 0.0,
        "by": by,
        "timezone": zone.key,
        "groups": rows,
    }
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
        return
    column = f"{by} ({zone.key})" if by in TIME_UNITS else by
    table = [{**r, column: r[by], "top_negative_topics": ", ".join(r.get("top_negative_topics", []))} for r in rows]
    emit(table, "table", [column, *columns[1:]])
    in_zone = f"; times in {zone.key}" if by in TIME_UNITS else ""
    click.echo(f"\n{total} mentions, {summary['negative_share']:.0%} negative{in_zone}")
    if by in ("day", "week", "hour") and rows:
        click.echo(f"negative share {sparkline([r['negative_share'] for r in rows])}")
        click.echo(f"volume         {sparkline([r['total'] for r in rows])}")


def _worth_a_column(rows: list[dict[str, Any]], column: str, config: Any) -> bool:
    """Brand and reply link get a table column only when they tell something: a competitor
    among the rows, a row with a link to answer at."""
    from sentimon.brands import own_name

    if column == "brand":
        return any(r["brand"] != own_name(config) for r in rows)
    return any(r.get(column) for r in rows)


def _share_of_voice(app: Any, query: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`stats --by brand` rows with brands by name, each brand's share of all mentions and its
    most frequent negative topics; our own brand first, then by volume."""
    from sentimon.brands import shown

    top = app.store().top_negative_topics(query, "brand")
    total = sum(r["total"] for r in rows) or 1
    out = [{**r, "brand": shown(r["brand"], app.config), "share_of_voice": round(r["total"] / total, 4),
            "top_negative_topics": top.get(r["brand"], [])} for r in rows]
    return sorted(out, key=lambda r: (r["brand"] != shown("", app.config), -r["total"], r["brand"]))
