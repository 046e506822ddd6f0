"""What a push body means: JSON in, ``Mention``s out, or a ``RequestError`` naming the field.

Kept apart from the HTTP handling (``sentimon.server``) so the fuzzers and the files connector's
tests can call it directly, and so the parser's rules live in one place.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from connectors.records import RECORD_FIELDS, mention_from_record
from sentimon.mention import Mention


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
    body: bytes, source: str, *, max_batch: int, now: datetime | None = None
) -> list[Mention]:
    """One JSON object or a list of them -> Mentions; RequestError for anything else.

    The whole batch is refused when one item is bad (the reply names its index and field),
    so a sender fixes and resends one thing instead of working out which half was stored.
    """
    try:
        document = json.loads(body.decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise RequestError(400, f"body is not valid UTF-8 (byte {exc.start})") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers over 4300 digits
        raise RequestError(400, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError(400, "body is not valid JSON: nested too deeply") from None
    if isinstance(document, dict):
        items = [document]
    elif isinstance(document, list):
        items = document
    else:
        kind = type(document).__name__
        raise RequestError(400, f"expected a JSON object or a list of objects, got {kind}")
    if len(items) > max_batch:
        raise RequestError(
            413, f"{len(items)} mentions in one request; at most {max_batch} (split the batch)"
        )
    now = now or datetime.now(timezone.utc)
    mentions = []
    for index, item in enumerate(items):
        _check_unicode(item, index)
        try:
            mention = mention_from_record(item, source, now=now)
        except (ValueError, ArithmeticError) as exc:  # Overflow: see tests/test_fuzz_records.py
            message = str(exc)
            raise RequestError(400, message, field=_field_of(message), index=index) from None
        mentions.append(mention)
    return mentions


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
