"""Storing pushed mentions without making other pushes wait for the model.

The model is slow (a 1,000-mention push took 36 s on two cores) and writing is fast, and the
push endpoint shares one store connection under a lock. Holding that lock while classifying
made a 1-mention push wait 34.7 s behind a large batch. So the lock is held only to look up
known ids and to write one chunk; the model runs outside it, one chunk at a time taken in
arrival order (``Turns``), and each chunk is written in its own short transaction as soon as it
is classified. A small push waits for at most the chunk in hand of each push ahead of it; the
endpoint still runs one model pass at a time (memory as before).

The 2xx still goes out only once every chunk is stored. A push that fails part-way may leave
its first chunks stored: its resend adds each mention with an id once (``UNIQUE(source,
external_id)``), as a resend always did; id-less items are new mentions on every push
(docs/connectors.md). A mention stored by another push meanwhile is dropped the same way and
not counted new.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from sentimon.mention import Mention
from sentimon.pipeline import Classifier, classify_all, new_mentions

if TYPE_CHECKING:
    from sentimon.store import Store

CHUNK = 32  # mentions per model pass and per write: the bundled encoder's batch; ~1 s on 2 cores


class Turns:
    """A lock handed over in the order it was asked for. ``threading.Lock`` is not fair: a
    thread that releases and at once re-acquires it (the next chunk of a large push) can keep
    it while a small push waits."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._issued = 0
        self._serving = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._changed:
            ticket = self._issued
            self._issued += 1
            self._changed.wait_for(lambda: self._serving == ticket)
        try:
            yield
        finally:
            with self._changed:
                self._serving += 1
                self._changed.notify_all()


def store_pushed(
    mentions: Sequence[Mention],
    *,
    store: Callable[[], Store],
    lock: threading.Lock,
    get_classifier: Callable[[], Classifier],
    turns: Turns,
    chunk: int = CHUNK,
) -> int:
    """Store the new ones among ``mentions`` (grouped by source, as channels are sources of
    their own); return how many were new. ``store()`` is called only with ``lock`` held."""
    by_source: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_source.setdefault(mention.source, []).append(mention)
    with lock:
        fresh = {source: new_mentions(store(), source, group) for source, group in by_source.items()}
    parts = [(source, group[start : start + chunk])
             for source, group in fresh.items() for start in range(0, len(group), chunk)]
    new = 0
    for source, part in parts:
        with turns.turn():
            results = classify_all(get_classifier(), part)
        with lock:
            new += store().save_batch(source, part, results, advance_cursor=False).new
    return new
