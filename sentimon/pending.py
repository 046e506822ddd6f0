"""Pending mentions: pushed, stored and answered ``202`` before the model read them (issue 19).

The model needs ~1 s per 32 mentions on two cores, so a 1,000-mention push classified inside
the request took half a minute, longer than a helpdesk webhook waits. The push endpoint now
stores a valid batch with sentiment NULL (``save_pending``) and wakes a ``PendingWorker``; the
worker classifies in batches of 32 through the same classifier and rating rule as every other
mention (``pipeline.classify_all``) and writes each batch in one short transaction
(``set_classifications``). Both are store methods, so it runs on SQLite and PostgreSQL alike.
A crash between the two loses nothing: the rows are in the database, and a worker's first
sweep at start classifies them.

Pending means ``sentiment IS NULL``; every count (stats, report, alert rules, digest, metrics,
export) leaves such rows out until they are classified, and ``sentimon mentions --pending``
lists them. A person's sentiment on a pending mention wins: the model's write skips it.

A text the model cannot read (a tokenizer or model bug on odd input) is set aside, logged once
by id and left pending, so it does not hold up the mentions pushed after it; the next start
tries it again. A model that reads nothing at all is retried every ``RETRY_AFTER`` seconds.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable

from sentimon.errors import SentimonError
from sentimon.mention import Classification, Mention
from sentimon.mention_store import MentionStore
from sentimon.pipeline import Classifier, classify_all

log = logging.getLogger(__name__)

BATCH = 32           # mentions per model pass and per write: the bundled encoder's batch
SWEEP_EVERY = 60.0   # also look without a wake-up (pushes to another process on the same db)
RETRY_AFTER = 30.0   # after a failure (model not loadable, database unwritable)


def classify_pending(
    store: MentionStore, get_classifier: Callable[[], Classifier], *, batch: int = BATCH,
    stop: threading.Event | None = None, progress: Callable[[int], None] | None = None,
    unreadable: dict[int, str] | None = None, shard: tuple[int, int] | None = None,
) -> int:
    """Classify pending mentions, oldest first, ``batch`` at a time, until none is left or
    ``stop`` is set; return how many were classified (``progress`` hears each batch's count).
    The model is loaded only if one waits. Mentions the model cannot read are added to
    ``unreadable`` (id -> reason), stay pending and are skipped from then on. ``shard``
    ``(k, n)``: only the ids ``k`` modulo ``n`` (one of ``n`` classify jobs running at once)."""
    unreadable = {} if unreadable is None else unreadable
    done, after = 0, 0
    while stop is None or not stop.is_set():
        rows = store.pending_mentions(batch, after, shard)
        if not rows:
            break
        after = rows[-1]["id"]
        rows = [row for row in rows if row["id"] not in unreadable]
        if not rows:
            continue
        results = _classify_isolating(get_classifier(), rows, unreadable)
        written = store.set_classifications([(row["id"], cls) for row, cls in results])
        done += written
        if progress is not None:
            progress(written)
    return done


PROBE = "ok"
"""A text any working model reads: it tells a model that reads nothing from texts it cannot."""


def _classify_isolating(
    classifier: Classifier, rows: list[dict[str, Any]], unreadable: dict[int, str]
) -> list[tuple[dict[str, Any], Classification]]:
    """Classify ``rows`` in one pass; if that raises, one at a time, so a text the model cannot
    read (a tokenizer or model bug on odd input) is set aside in ``unreadable`` instead of
    holding up every mention pushed after it. If no text is read and the probe fails too, the
    model itself is broken: raise, and the worker retries the whole batch later."""
    mentions = [_as_mention(row) for row in rows]
    try:
        return list(zip(rows, classify_all(classifier, mentions)))
    except Exception as batch_error:  # noqa: BLE001 - which text, or the model? find out below
        first_error: Exception = batch_error
    read, failed = [], {}
    for row, mention in zip(rows, mentions):
        try:
            read.append((row, classify_all(classifier, [mention])[0]))
        except Exception as exc:  # noqa: BLE001 - set this text aside, go on with the rest
            failed[row["id"]] = _reason(exc)
    if not read:
        try:
            classify_all(classifier, [replace(mentions[0], text=PROBE, title=None, rating=None)])
        except Exception:  # noqa: BLE001 - the model reads nothing: not these texts' fault
            raise first_error from None
    for mention_id, why in failed.items():
        log.error("pushed mention %d could not be classified and stays pending; it is skipped "
                  "until the next start: %s", mention_id, why)
    unreadable.update(failed)
    return read


def _reason(exc: Exception) -> str:
    """What a log may say of a failure: the message of our own errors, else only the type (a
    library's message may quote the untrusted text)."""
    return str(exc) if isinstance(exc, SentimonError) else type(exc).__name__


def _as_mention(row: dict[str, Any]) -> Mention:
    """What ``classify_all`` reads of a stored row: its text, title and rating."""
    return Mention(source="", external_id=str(row["id"]), text=row["text"], title=row["title"],
                   rating=row["rating"], created_at=datetime.now(timezone.utc))


class PendingWorker:
    """One background thread that classifies pending mentions when woken (after each push),
    at start (what a crash left), and every ``SWEEP_EVERY`` seconds. Its own store connection
    (on PostgreSQL, the process's pool): the push endpoint's writes never wait for the model,
    only for one batch's short write."""

    def __init__(self, app: Any, *, batch: int = BATCH, sweep_every: float = SWEEP_EVERY,
                 retry_after: float = RETRY_AFTER) -> None:
        self.app = app
        self.batch = batch
        self.sweep_every = sweep_every
        self.retry_after = retry_after
        self.classified = 0
        self.unreadable: dict[int, str] = {}  # mention id -> why the model could not read it
        self._changed = threading.Condition()
        self._asked = 1   # wake-ups so far; the first is the sweep at start (what a crash left)
        self._swept = 0   # wake-ups answered by a completed sweep
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PendingWorker:
        self._thread = threading.Thread(target=self._run, name="pending-classifier", daemon=True)
        self._thread.start()
        return self

    def _count(self, written: int) -> None:
        self.classified += written  # only this thread writes it

    def wake(self) -> None:
        """Something was stored pending: classify it soon."""
        with self._changed:
            self._asked += 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every wake-up so far was answered by a sweep (tests, the benchmark)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._swept >= self._asked, timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Finish the batch in hand and stop; what is still pending waits for the next start."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        store: MentionStore | None = None
        try:
            while not self._stop.is_set():
                with self._changed:
                    self._changed.wait_for(
                        lambda: self._stop.is_set() or self._asked > self._swept, self.sweep_every
                    )
                    asked = self._asked
                if self._stop.is_set():
                    break
                try:
                    store = store or self.app.open_store()
                    done = classify_pending(store, self.app.classifier, batch=self.batch,
                                            stop=self._stop, progress=self._count,
                                            unreadable=self.unreadable)
                except Exception as exc:  # noqa: BLE001 - a model bug must not end the thread
                    log.error("pending mentions not classified (retrying in %.0fs): %s",
                              self.retry_after, _reason(exc),
                              exc_info=not isinstance(exc, SentimonError))
                    self._stop.wait(self.retry_after)
                    continue
                if done:
                    log.info("classified %d pushed mentions", done)
                with self._changed:
                    self._swept = asked
                    self._changed.notify_all()
        finally:
            if store is not None:
                self.app.release_store(store)
