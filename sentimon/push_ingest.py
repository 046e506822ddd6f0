"""Storing pushed mentions without making other pushes wait for the model.

The model is slow (a 1,000-mention push took 36 s on two cores) and writing is fast, and the
push endpoint shares one store connection under a lock. Holding that lock while classifying
made a 1-mention push wait 34.7 s behind a large batch. So the lock is held only to look up
known ids and to write; the model runs outside it, in chunks taken in arrival order
(``Turns``), so a small push waits for at most the chunk in hand of each push ahead of it,
and the endpoint still runs one model pass at a time (memory as before).

Each source's mentions are still written in one transaction (at most ``max_batch``, a
fraction of a second), so a push that fails is stored not at all and its resend adds each
mention once. A mention stored by another push while this one was classifying is dropped by
``UNIQUE(source, external_id)`` and not counted new.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from sentimon.mention import Classification, Mention
from sentimon.pipeline import Classifier, classify_all, new_mentions

if TYPE_CHECKING:
    from sentimon.store import Store

CHUNK = 32  # texts per model pass taken in turn: the bundled encoder's batch; ~1 s on 2 cores


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


def classify_in_turns(
    classifier: Classifier, turns: Turns, mentions: Sequence[Mention], chunk: int = CHUNK
) -> list[Classification]:
    results: list[Classification] = []
    for start in range(0, len(mentions), chunk):
        with turns.turn():
            results.extend(classify_all(classifier, mentions[start : start + chunk]))
    return results


def store_pushed(
    mentions: Sequence[Mention],
    *,
    store: Callable[[], Store],
    lock: threading.Lock,
    get_classifier: Callable[[], Classifier],
    turns: Turns,
) -> int:
    """Store the new ones among ``mentions`` (grouped by source, as channels are sources of
    their own); return how many were new. ``store()`` is called only with ``lock`` held."""
    by_source: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_source.setdefault(mention.source, []).append(mention)
    with lock:
        fresh = {source: new_mentions(store(), source, group) for source, group in by_source.items()}
    fresh = {source: group for source, group in fresh.items() if group}
    if not fresh:
        return 0
    classifier = get_classifier()
    results = {source: classify_in_turns(classifier, turns, group) for source, group in fresh.items()}
    new = 0
    with lock:
        for source, group in fresh.items():
            new += store().save_batch(source, group, results[source], advance_cursor=False).new
    return new
