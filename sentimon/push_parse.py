"""What a push body means: JSON in, ``Mention``s out, or a ``RequestError`` naming the field.

Kept apart from the HTTP handling (``sentimon.server``) so the fuzzers and the files connector's
tests can call it directly, and so the parser's rules live in one place.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Sequence

from connectors.records import RECORD_FIELDS, mention_from_record
from sentimon.mention import Mention


# A channel becomes part of a source name (``webhook/zendesk``): short, and nothing that reads
# as a path, a SQL pattern or markup in a report.
_CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_LIST_HINT = 'send a list of mentions as the body itself or as {"mentions": [...]}'


class RequestError(Exception):
    """A request refused with ``status``; ``field``/``index`` point at the bad mention."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, index: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.index = index
        self.headers = headers or {}

    def payload(self) -> dict[str, Any]:
        if self.status == 400:
            return {"error": self.message, "field": self.field, "index": self.index}
        return {"error": self.message}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _field_of(message: str) -> str | None:
    """``mention_from_record`` messages start with the field: ``"rating: expected ..."``."""
    head = message.partition(":")[0].strip()
    return head if head in RECORD_FIELDS else None


def parse_body(
    body: bytes, source: str, *, max_batch: int, now: datetime | None = None,
    channels: Sequence[str] = (),
) -> list[Mention]:
    """One JSON object, a list of them, or ``{"mentions": [...]}`` -> Mentions; RequestError
    for anything else.

    The whole batch is refused when one item is bad (the reply names its index and field),
    so a sender fixes and resends one thing instead of working out which half was stored.
    An item's ``channel`` (or ``source``) makes its source ``<source>/<channel>``, so two tools
    pushing with one token stay apart; ``channels``, when set, lists the ones allowed.
    """
    try:
        document = json.loads(body.decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise RequestError(400, f"body is not valid UTF-8 (byte {exc.start})") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers over 4300 digits
        raise RequestError(400, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError(400, "body is not valid JSON: nested too deeply") from None
    items = _items(document)
    if len(items) > max_batch:
        raise RequestError(
            413, f"{len(items)} mentions in one request; at most {max_batch} (split the batch)"
        )
    now = now or datetime.now(timezone.utc)
    mentions = []
    for index, item in enumerate(items):
        _check_unicode(item, index)
        if isinstance(item, dict) and item.get("text") in (None, ""):
            _missing_text(item, index)
        try:
            channel = _channel(item, channels)
            mention = mention_from_record(item, source, now=now)
        except (ValueError, ArithmeticError) as exc:  # Overflow: see tests/test_fuzz_records.py
            message = str(exc)
            field = "channel" if message.startswith("channel:") else _field_of(message)
            raise RequestError(400, message, field=field, index=index) from None
        if channel:
            mention = mention.replace(source=f"{source}/{channel}")
        mentions.append(mention)
    return mentions


def _items(document: Any) -> list[Any]:
    """The mentions a body holds: an object is one, unless it wraps a list in ``mentions``."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise RequestError(400, f"expected a JSON object or a list of objects, got {kind}")
    if "mentions" in document and "text" not in document:
        if not isinstance(document["mentions"], list):
            raise RequestError(400, f'"mentions" is not a list; {_LIST_HINT}', field="mentions")
        return document["mentions"]
    return [document]


def _missing_text(item: dict[str, Any], index: int) -> None:
    """Worded for JSON senders: a list under some other key is the usual mistake."""
    wrapped = [k for k, v in item.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    hint = f'; found a list in "{wrapped[0][:40]}": {_LIST_HINT}' if wrapped else ""
    raise RequestError(
        400, f'text: missing (each mention needs a "text" field){hint}', field="text", index=index
    )


def _channel(item: Any, allowed: Sequence[str]) -> str | None:
    """The item's ``channel`` (``source`` is the same thing), checked; removed from the item
    so it is not kept twice in ``extra``."""
    if not isinstance(item, dict):
        return None
    values = [item.pop(key) for key in ("channel", "source") if key in item]
    values = [v for v in values if v not in (None, "")]
    if not values:
        return None
    if len(values) > 1 and values[0] != values[1]:
        raise ValueError('channel: "channel" and "source" differ; send one')
    value = values[0]
    if not isinstance(value, str) or not _CHANNEL.fullmatch(value):
        raise ValueError(
            f"channel: {str(value)[:40]!r} is not a name (letters, digits, '.', '_', '-'; "
            "at most 40)"
        )
    if allowed and value not in allowed:
        raise ValueError(f"channel: {value!r} is not allowed for this token (allowed: "
                         f"{', '.join(allowed)})")
    return value


def _check_unicode(item: Any, index: int) -> None:
    """JSON escapes can produce lone surrogates (``"\\ud800"``): not Unicode text, and SQLite
    cannot store them. Refuse them up front, naming the field, instead of failing at insert."""
    if not isinstance(item, dict):
        return
    for key, value in item.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                field = "external_id" if key == "id" else key[:100]
                raise RequestError(
                    400, f"{field}: contains an unpaired surrogate (not valid Unicode)",
                    field=field, index=index,
                ) from None
