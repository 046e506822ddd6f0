"""The newest-first walk that token-paged APIs share (Bluesky search, YouTube comment threads).

These APIs list newest first and page backwards with an opaque token; none can be asked for
"everything after X" exactly. So a stream keeps a ``Watermark`` (incremental.py) and each run
walks pages until items are older than the watermark minus the overlap, skipping ids already
seen, or until a limit (a first run and ``--backfill`` read a bounded amount of history).

The walk yields one Batch per stream, at the end: the watermark may only advance once every
item newer than the old one is stored, or a crash between pages would skip the items between.
What differs per API (how to fetch a page, how to read an item's id and time, how to build a
Mention) is passed in, so each connector keeps only its own format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from connectors.base import Batch, Skipped
from connectors.incremental import ITEM_ERRORS, Watermark, dump_cursor
from sentimon.mention import Mention
from sentimon.settings import setting


# The options every connector built on ``walk`` declares, worded for its items ("posts"): one
# field each, in the connector's Options class, so each keeps its own defaults and place.
def overlap_setting(noun: str, default: str) -> Any:
    text = f"How far behind the newest seen {noun[:-1]} each run looks again."
    return setting("duration", default, help=text)


def first_run_setting(noun: str, default: int) -> Any:
    text = f"{noun.capitalize()} per stream on a first run without --backfill."
    return setting("int", default, help=text)


def backfill_setting(noun: str, default: int) -> Any:
    return setting("int", default, help=f"Most {noun} per stream read by `sentimon fetch --backfill`.")


@dataclass(frozen=True)
class Page:
    """One page of raw items, newest first, and the token of the next (older) page."""

    items: list[Any]
    next_token: str | None


@dataclass(frozen=True)
class Stream:
    """One listing: its cursor key, its name in messages and how to read it."""

    key: str
    label: str
    fetch_page: Callable[[str | None], Page]
    identify: Callable[[Any], tuple[str, float]]  # (id, created epoch); raises on a bad item
    build: Callable[[Any], Mention]


def walk(
    state: dict[str, Any], stream: Stream, *, overlap: float, limit: int, backfill: bool
) -> Iterator[Batch]:
    """Walk ``stream`` newest first until past its watermark in ``state`` (not on backfill),
    ``limit`` items, an empty page or the last page; then store the new watermark in
    ``state`` and yield everything as one Batch carrying the whole cursor."""
    mark = Watermark.from_dict(state.get(stream.key))
    mentions: list[Mention] = []
    skipped: list[Skipped] = []
    walked: list[tuple[str, float]] = []
    token: str | None = None
    done = False
    while not done:
        page = stream.fetch_page(token)
        for raw in page.items:
            try:
                item_id, created = stream.identify(raw)
            except ITEM_ERRORS as exc:
                where = f"{stream.label}: item {len(walked) + len(skipped) + 1}"
                skipped.append(Skipped(where, str(exc)))
                continue
            if not backfill and mark.is_older(created, overlap):
                done = True
                break
            walked.append((item_id, created))
            if not mark.is_seen(item_id):
                try:
                    mentions.append(stream.build(raw))
                except ITEM_ERRORS as exc:
                    skipped.append(Skipped(f"{stream.label}: {item_id}", str(exc)))
            if len(walked) >= limit:
                done = True
                break
        token = page.next_token
        if not page.items or not token:
            done = True
    state[stream.key] = mark.advanced(walked, overlap).as_dict()
    yield Batch(mentions, dump_cursor(state), skipped)
