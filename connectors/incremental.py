"""Cursor helpers shared by the web connectors: JSON cursors, watermarks, isolated parts.

Reddit, Hacker News, the app stores and feeds all list newest first and cannot be asked "what
came after X" reliably (search indexes lag, items get deleted). So a stream's cursor is a
*watermark*: the newest creation time seen plus the ids seen within a small overlap before
it. The next run walks newest first, skips ids it has seen and stops once items are older
than the overlap; deduplication in the store catches anything else.

A connector reading several parts (feed URLs, countries, subreddits) must not lose all of
them because one is broken: ``isolated`` reports a failing part as ``Skipped`` and goes on.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from connectors.base import Batch, Skipped
from connectors.records import FUTURE_SLACK
from sentimon.errors import ConnectorError

log = logging.getLogger(__name__)

MAX_SEEN = 2000  # ids kept per stream; bounds the cursor's size for busy streams

# What turning one odd item into a Mention may raise (a wrong type, a missing key, an epoch
# value out of range). Caught per item and reported as Skipped, so one bad item never ends a
# run; anything else is a bug and is left to surface.
ITEM_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    OverflowError,
)


class SourceDown(ConnectorError):
    """A failure of the whole source (bad credentials, rate limit, outage), not of one part:
    ``isolated`` stops at once instead of trying every other part against a dead server."""


def load_cursor(cursor: str | None, name: str) -> dict[str, Any]:
    """The JSON object stored as ``cursor``; an unreadable one starts afresh with a warning
    rather than failing every run forever (dedup keeps the restart harmless)."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        state = None
    if not isinstance(state, dict):
        log.warning("%s: stored cursor is not a JSON object; starting from scratch", name)
        return {}
    return state


def dump_cursor(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


@dataclass
class Watermark:
    """Where a newest-first stream stopped: newest creation time (epoch seconds) and the ids
    seen at or after ``newest - overlap``, each with its time so old ones can be forgotten."""

    newest: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> "Watermark":
        if not isinstance(data, dict):
            return cls()
        try:
            newest = float(data.get("newest") or 0.0)
            seen = {str(k): float(v) for k, v in (data.get("seen") or {}).items()}
        except (TypeError, ValueError, AttributeError):
            return cls()
        return cls(newest, seen)

    def as_dict(self) -> dict[str, Any]:
        return {"newest": self.newest, "seen": self.seen}

    @property
    def empty(self) -> bool:
        return self.newest == 0.0 and not self.seen

    def is_older(self, created: float, overlap: float) -> bool:
        """True once the walk has gone past what the previous run already covered."""
        return not self.empty and created < self.newest - overlap

    def is_seen(self, item_id: str) -> bool:
        return item_id in self.seen

    def advanced(self, items: Iterable[tuple[str, float]], overlap: float) -> "Watermark":
        """A new watermark including ``items`` (id, created); ids older than the overlap are
        dropped, as the next walk stops before reaching them anyway. A time more than a day
        ahead is a bogus value and is ignored: it would make every later item look old."""
        horizon = time.time() + FUTURE_SLACK.total_seconds()
        seen = dict(self.seen)
        seen.update((i, t) for i, t in items if t <= horizon)
        newest = max([self.newest, *seen.values()])
        keep = sorted(((t, i) for i, t in seen.items() if t >= newest - overlap), reverse=True)
        return Watermark(newest, {i: t for t, i in keep[:MAX_SEEN]})


def isolated(
    name: str,
    parts: Iterable[tuple[str, Callable[[], Iterator[Batch]]]],
    cursor: Callable[[], str],
) -> Iterator[Batch]:
    """Run each ``(label, make_batches)`` part in turn. A part raising ConnectorError becomes
    one ``Skipped(label, reason)`` (logged and counted in ``runs``) and the rest go on; if
    every part failed, or the error says the whole source is down or rate limited, the run
    fails with ConnectorError, so a dead source is recorded as a failed run, not a quiet one."""
    failures: list[Skipped] = []
    total = 0
    for label, make_batches in parts:
        total += 1
        try:
            yield from make_batches()
        except ConnectorError as exc:
            if isinstance(exc, SourceDown) or exc.retry_after is not None:
                raise
            failures.append(Skipped(label, str(exc)))
    if failures and len(failures) == total:
        if total == 1:
            raise ConnectorError(failures[0].reason)
        raise ConnectorError(f"{name}: all {total} parts failed; first: {failures[0].reason}")
    if failures:
        yield Batch([], cursor(), failures)
