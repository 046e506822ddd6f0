"""The road a mention travels: connector -> only new mentions -> classify in batches -> store.

``run_connector`` is the one function behind ``sentimon fetch``, ``sentimon run --once`` and
every scheduled daemon job, so all three behave the same; ``run_connectors`` is the one loop
over several, and ``store_new`` the one way mentions reach the store (pushed ones too).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Protocol, Sequence

from sentimon.errors import SentimonError, StorageError
from sentimon.logs import redactor
from sentimon.matching import BrandFilter
from sentimon.mention import SENTIMENTS, Classification, Mention
from sentimon.mention_store import MentionStore

log = logging.getLogger(__name__)

CLASSIFY_BATCH = 64


class Classifier(Protocol):
    name: str

    def classify(self, texts: Sequence[str]) -> list[Classification]: ...


@dataclass
class RunResult:
    """What one connector run did; one line of ``sentimon fetch`` and one row of ``runs``."""

    source: str
    fetched: int = 0
    new: int = 0
    skipped: int = 0
    dropped: int = 0  # off-brand by the connector's match/exclude rules; never stored
    seconds: float = 0.0
    error: str | None = None
    retry_after: float | None = None  # seconds the source asked to wait (HTTP 429)

    @property
    def ok(self) -> bool:
        return self.error is None


def new_mentions(store: MentionStore, source: str, mentions: Sequence[Mention]) -> list[Mention]:
    """Drop mentions already stored and repeats within the batch (first one wins)."""
    unique: dict[str, Mention] = {}
    for mention in mentions:
        unique.setdefault(mention.external_id, mention)
    known = store.known_ids(source, unique)
    return [m for key, m in unique.items() if key not in known]


# How likely each sentiment is given the stars a customer gave (negative, neutral, positive).
# A 1-star review is the customer's own verdict; the text model only reads the words.
RATING_PRIOR = {
    1: (0.85, 0.12, 0.03), 2: (0.70, 0.22, 0.08), 3: (0.25, 0.55, 0.20),
    4: (0.07, 0.23, 0.70), 5: (0.03, 0.12, 0.85),
}


def with_rating(result: Classification, rating: int | None) -> Classification:
    """Combine the text model's probabilities with the star rating (Bayes with the rating as
    evidence), so "parcel two weeks late" with one star is negative even when the words alone
    read as a neutral statement of fact. Topic sentiments stay the model's, clause by clause."""
    if rating not in RATING_PRIOR:
        return result
    prior = dict(zip(SENTIMENTS, RATING_PRIOR[rating]))
    joint = {label: float(result.scores.get(label, 0.0)) * prior[label] for label in SENTIMENTS}
    total = sum(joint.values()) or 1.0
    scores = {label: value / total for label, value in joint.items()}
    return dataclasses.replace(result, sentiment=max(scores, key=scores.__getitem__), scores=scores)


def classify_all(classifier: Classifier, mentions: Sequence[Mention]) -> list[Classification]:
    results: list[Classification] = []
    for start in range(0, len(mentions), CLASSIFY_BATCH):
        chunk = mentions[start : start + CLASSIFY_BATCH]
        texts = classifier.classify([m.full_text for m in chunk])
        results.extend(with_rating(r, m.rating) for r, m in zip(texts, chunk))
    return results


def ingest(
    store: MentionStore,
    classifier: Classifier,
    source: str,
    mentions: Sequence[Mention],
    cursor: str | None = None,
    *,
    advance_cursor: bool = False,
) -> int:
    """Classify and store the new ones among ``mentions``; return how many were new.

    The cursor (when ``advance_cursor``) is written in the same transaction as the mentions,
    even when none of them is new, so a connector moves past a page of repeats.
    """
    return store_new(store, lambda: classifier, source, mentions, cursor, advance_cursor=advance_cursor)


def store_new(
    store: MentionStore,
    get_classifier: Callable[[], Classifier] | None,
    source: str,
    mentions: Sequence[Mention],
    cursor: str | None = None,
    *,
    advance_cursor: bool = True,
) -> int:
    """The one way mentions reach the store, fetched (``run_connector``) or pushed (``ingest``):
    drop the known ones, classify the rest, save them and the cursor in one transaction.
    ``get_classifier`` is called only when something is new, so a quiet run never loads the
    model; None stores them pending (sentiment NULL) for a classify worker (sentimon.worker)."""
    fresh = new_mentions(store, source, mentions)
    if get_classifier is None:
        classifications: list[Classification] | None = None
    else:
        classifications = classify_all(get_classifier(), fresh) if fresh else []
    saved = store.save_batch(source, fresh, classifications, cursor, advance_cursor=advance_cursor)
    return saved.new


def due_connectors(config: Any, names: Sequence[str] = ()) -> list[Any]:
    """The connectors a one-off run covers: the named ones (unknown names are a ConfigError),
    or every enabled one."""
    if names:
        return [config.connector(name) for name in names]
    return [entry for entry in config.connectors if entry.enabled]


def run_connectors(
    get_store: Callable[[], MentionStore],
    get_classifier: Callable[[], Classifier],
    entries: Sequence[Any],
    *,
    backfill: bool = False,
    stop: threading.Event | None = None,
    on_batch: Callable[[RunResult], None] | None = None,
) -> Iterator[RunResult]:
    """Run each of ``entries`` once, in order, yielding each result as it ends: the one front
    door behind ``sentimon fetch`` and ``sentimon run --once`` (the daemon's scheduled jobs run
    one connector each through ``run_connector``). Stops before the next connector once
    ``stop`` is set."""
    for entry in entries:
        if stop is not None and stop.is_set():
            break
        yield run_connector(get_store(), get_classifier, entry, backfill=backfill, stop=stop,
                            on_batch=on_batch)


def run_connector(
    store: MentionStore,
    get_classifier: Callable[[], Classifier] | None,
    connector_config: object,
    *,
    backfill: bool = False,
    stop: threading.Event | None = None,
    on_batch: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Run one configured connector to completion (or until ``stop`` is set between batches).

    Failures are caught here, logged as one line and recorded in ``runs``: a broken source
    never takes the caller (the daemon, or ``fetch`` of several connectors) down with it.
    ``get_classifier`` is called only when a batch holds something new, so a run that finds
    nothing never loads the model; None stores what is new pending (``store_new``).
    """
    name = connector_config.name  # type: ignore[attr-defined]
    result = RunResult(source=name)
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    try:
        run_id = store.start_run(name, started)
    except StorageError as exc:
        # Read-only file, full disk: fetching now would only lose the work, so do not start.
        result.error = redactor.redact(str(exc))
        log.error("%s: run not started: %s", name, result.error)
        return result
    connector = None
    try:
        options = connector_config.options  # type: ignore[attr-defined]
        brand = BrandFilter.from_options(options, name)
        connector = connector_config.cls(name, options)  # type: ignore[attr-defined]
        for batch in connector.fetch(store.get_cursor(name), backfill=backfill):
            for skipped in batch.skipped:
                log.warning("%s: skipped %s: %s", name, skipped.where, skipped.reason)
            result.fetched += len(batch.mentions)
            result.skipped += len(batch.skipped)
            on_brand, dropped = brand.split(batch.mentions)
            result.dropped += dropped
            result.new += store_new(store, get_classifier, name, on_brand, batch.cursor)
            if on_batch:
                on_batch(result)
            if stop is not None and stop.is_set():
                log.info("%s: stopping after the batch in hand", name)
                break
    except SentimonError as exc:
        result.error = str(exc)
        result.retry_after = getattr(exc, "retry_after", None)
    except Exception as exc:  # a bug in one connector must not stop the others
        log.exception("%s: unexpected error", name)
        result.error = f"unexpected {type(exc).__name__}: {exc}"
    finally:
        if connector is not None:
            try:
                connector.close()
            except Exception as exc:  # closing is best effort; the run's outcome stands
                log.warning("%s: closing the connector failed: %s", name, exc)
        result.seconds = time.monotonic() - clock
        # Error texts go to `runs`, `doctor` and stdout, none of which pass the log filter:
        # mask configured secrets here, once, for every connector.
        if result.error:
            result.error = redactor.redact(result.error)
        try:
            store.finish_run(
                run_id, finished=datetime.now(timezone.utc), fetched=result.fetched,
                new=result.new, skipped=result.skipped, error=result.error,
                dropped=result.dropped,
            )
        except StorageError as exc:
            # The batches already stored stay stored; only the health row is missing.
            result.error = result.error or redactor.redact(str(exc))
    if result.error:
        log.error("%s: run failed after %.1fs: %s", name, result.seconds, result.error)
    else:
        # A quiet run every minute is no news: only runs that found something log at INFO.
        log.log(
            logging.INFO if result.fetched or result.skipped else logging.DEBUG,
            "%s: fetched %d, new %d, skipped %d, off-brand %d in %.1fs",
            name, result.fetched, result.new, result.skipped, result.dropped, result.seconds,
        )
    return result
