"""Storing pushed mentions: pending by default, classified in the request on request.

``store_pending`` (the endpoint's default since issue 19): the whole batch is written in one
transaction with sentiment NULL and the endpoint answers ``202`` with the ids; the model reads
it afterwards in ``sentimon.pending.PendingWorker``. A 1,000-mention push classified inside
the request took half a minute on two cores, longer than a helpdesk webhook waits.

``store_pushed`` (``PushServer(classify_in_request=True)``, the benchmark's "before"): the
model runs in the request, outside the endpoint's store lock, one chunk at a time taken in
arrival order (``Turns``), and each chunk is written as soon as it is classified, so a small
push waits for at most the chunk in hand of each push ahead of it (a 1-mention push once
waited 34.7 s behind a large batch). The 2xx goes out once every chunk is stored; a push that
fails part-way may leave its first chunks stored, and its resend adds each mention with an
id once (``UNIQUE(source, external_id)``).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from sentimon.mention import Mention
from sentimon.pipeline import Classifier, classify_all, new_mentions

if TYPE_CHECKING:
    from sentimon.mention_store import MentionStore

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


def store_pending(
    mentions: Sequence[Mention], *, store: Callable[[], MentionStore], lock: threading.Lock,
) -> tuple[int, list[int]]:
    """Store the new ones among ``mentions`` pending, all in one transaction; return how many
    were new and, per item in order, the id of its stored mention (an item whose id was
    stored before, by this push or an earlier one, gets that mention's id: dedup as always).
    ``store()`` is called only with ``lock`` held."""
    by_source: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_source.setdefault(mention.source, []).append(mention)
    with lock:
        new, ids = store().save_pending(by_source)
    return new, [ids[m.source, m.external_id] for m in mentions]


def store_pushed(
    mentions: Sequence[Mention],
    *,
    store: Callable[[], MentionStore],
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
