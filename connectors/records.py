"""Turn one loosely-typed record (a JSONL object, a CSV row, a pushed JSON body) into a Mention.

The files connector and the push endpoint accept the same fields, so both call
``mention_from_record``. Text from outside is untrusted: every field is checked, NUL and other
control characters are removed, and anything that cannot be made sane raises ``ValueError``
with a reason naming the field, which the caller reports (skipped line, HTTP 400).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Mapping

from sentimon.mention import Mention

MAX_TEXT_CHARS = 100_000       # longer than any review or ticket; a 1 MB "text" is junk
MAX_FIELD_CHARS = 2_000        # title, author, url, kind, lang
MAX_EXTRA_CHARS = 1_000        # each source-specific value kept in ``extra``
FUTURE_SLACK = timedelta(days=1)  # clocks drift; a date further ahead is a bad value
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)

RECORD_FIELDS = ("external_id", "text", "title", "created_at", "author", "url", "rating", "kind", "lang")
# Column names looked for when ``fields`` does not map a mention field.
_DEFAULT_COLUMNS = {"external_id": ("external_id", "id")}
# C0/C1 controls (not tab/newline), and bidi overrides/isolates that can disguise text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")


def clean_text(value: str) -> str:
    """NFC-normalised text without NUL, control or bidi-override characters and with unpaired
    surrogates (invalid UTF-16 from JSON) replaced; only-invisible text becomes empty."""
    text = _SURROGATE.sub("\ufffd", value)
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()
    return "" if not _INVISIBLE.sub("", text) else text


def clip(value: Any, limit: int = MAX_FIELD_CHARS) -> str | None:
    """An optional short field from an API (title, author, subreddit): clean and capped; a value
    that is not text or a number is dropped rather than costing the whole item."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, str):
        if not isinstance(value, (int, float)):
            return None
        value = str(value)
    return clean_text(value[: limit * 2])[:limit] or None


def epoch_time(value: Any, *, now: datetime | None = None) -> datetime:
    """Epoch seconds from an API (Reddit ``created_utc``, Algolia ``created_at_i``) -> aware UTC.

    ValueError unless it is a finite number between 1970 and a day from now: a bogus time
    would put the item in the wrong day of every chart, or make later items look old."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"created: {str(value)[:40]!r} is not epoch seconds")
    if value < 0:
        raise ValueError(f"created: {value!r} is before 1970")
    try:
        moment = datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"created: epoch value {value!r} is out of range") from None
    if moment > (now or datetime.now(timezone.utc)) + FUTURE_SLACK:
        raise ValueError(f"created: {moment.isoformat()} is in the future")
    return moment


def _pick(record: Mapping[str, Any], field: str, fields: Mapping[str, str]) -> Any:
    if field in fields:
        return record.get(fields[field])
    for column in _DEFAULT_COLUMNS.get(field, (field,)):
        if record.get(column) not in (None, ""):
            return record[column]
    return None


def _string(value: Any, field: str, limit: int = MAX_FIELD_CHARS) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{field}: expected a string, got {type(value).__name__}")
    text = clean_text(str(value))
    if len(text) > limit:
        raise ValueError(f"{field}: longer than {limit} characters")
    return text or None


def parse_rating(value: Any) -> int | None:
    """1-5 as an integer; numeric strings ("4", "4.0") are accepted."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"rating: expected a number 1-5, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"rating: expected a number 1-5, got {value!r}") from None
    if not number.is_integer() or not 1 <= number <= 5:
        raise ValueError(f"rating: expected a whole number 1-5, got {value!r}")
    return int(number)


def parse_time(
    value: Any, *, now: datetime, date_format: str = "", tz: tzinfo = timezone.utc
) -> datetime:
    """ISO 8601 text (or text in ``date_format``, a ``strptime`` pattern), a date, or epoch
    seconds/milliseconds -> aware UTC; missing -> ``now``. A time written without a zone is
    read in ``tz``: exports from helpdesk tools are usually in the account's local time."""
    if value is None or value == "":
        return now
    if isinstance(value, bool):
        raise ValueError(f"created_at: expected an ISO date or epoch seconds, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            seconds = value / 1000 if abs(value) > 1e11 else value
            moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"created_at: epoch value {str(value)[:40]!r} is out of range") from None
    elif isinstance(value, str):
        moment = _parse_text_time(value.strip(), date_format)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
    else:
        raise ValueError(f"created_at: expected an ISO date or epoch seconds, got {type(value).__name__}")
    try:
        moment = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError(f"created_at: {value!r} is out of range") from None
    if moment > now + FUTURE_SLACK:
        raise ValueError(f"created_at: {moment.isoformat()} is in the future")
    if moment < EARLIEST:
        raise ValueError(f"created_at: {moment.isoformat()} is before 1970")
    return moment


def _parse_text_time(text: str, date_format: str) -> datetime:
    """``date_format`` when set; ISO 8601 always (an export may mix both)."""
    if date_format:
        try:
            return datetime.strptime(text, date_format)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        expected = f"in date_format {date_format!r} or ISO 8601" if date_format else "an ISO 8601 date or time"
        raise ValueError(f"created_at: {text[:40]!r} is not {expected}") from None


def count(value: Any) -> int | None:
    """A count from an API (likes, replies); anything but a whole number is dropped."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def json_object(value: Any) -> dict[str, Any]:
    """A nested object from an API (an author, a page of links), or ``{}`` when it is missing
    or not an object, so ``.get`` on it is always safe."""
    return value if isinstance(value, dict) else {}


def safe_url(value: Any) -> str | None:
    """Only http(s) links survive: a ``javascript:`` URL must never reach a report or alert."""
    url = _string(value, "url")
    if url and re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        return url
    return None


def content_id(
    text: str, author: str | None, created: Any, title: str | None, *, rating: Any = None,
    position: str | None = None,
) -> str:
    """A stable id for rows that have none, from everything the row says (and, for a file
    line, where it is): re-reading the same line gives the same id, while two identical short
    reviews on different lines ("Terrible service", 1 star) stay two mentions."""
    parts = [text, author or "", str(created or ""), title or ""]
    if rating not in (None, ""):
        parts.append(f"rating={rating}")
    if position is not None:
        parts.append(f"at={position}")
    key = "\x1f".join(parts)
    return "sha:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _extra(record: Mapping[str, Any], used: set[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if key in used or not isinstance(key, str) or value in (None, ""):
            continue
        if isinstance(value, bool) or isinstance(value, (int, float)):
            extra[key[:100]] = value
        elif isinstance(value, str):
            extra[key[:100]] = clean_text(value)[:MAX_EXTRA_CHARS]
    return extra


def mention_from_record(
    record: Mapping[str, Any],
    source: str,
    *,
    fields: Mapping[str, str] | None = None,
    default_kind: str = "review",
    now: datetime | None = None,
    position: str | None = None,
    date_format: str = "",
    tz: tzinfo = timezone.utc,
) -> Mention:
    """Build a Mention from ``record``; ``fields`` maps mention fields to the record's keys.

    A record without an id gets one from its content and ``position`` (where a file line
    sits), so re-reading a file is idempotent; without a position (a push) it is a new
    mention every time, as a sender pushing "Terrible service" twice reports two customers.
    Raises ValueError naming the field for a missing/empty/oversized text, a bad rating or
    timestamp, or a wrong type. Keys that are not mention fields go to ``extra``.
    """
    if not isinstance(record, Mapping):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    fields = dict(fields or {})
    for field in fields:
        if field not in RECORD_FIELDS:
            raise ValueError(f"fields: unknown mention field {field!r} (known: {', '.join(RECORD_FIELDS)})")
    now = now or datetime.now(timezone.utc)
    raw_text = _pick(record, "text", fields)
    if raw_text is None:
        raise ValueError(f"text: missing (expected a column {fields.get('text', 'text')!r})")
    if not isinstance(raw_text, str):
        raise ValueError(f"text: expected a string, got {type(raw_text).__name__}")
    if len(raw_text) > MAX_TEXT_CHARS:
        raise ValueError(f"text: {len(raw_text)} characters, more than the {MAX_TEXT_CHARS} accepted")
    text = clean_text(raw_text)
    if not text:
        raise ValueError("text: empty or only whitespace")
    title = _string(_pick(record, "title", fields), "title")
    author = _string(_pick(record, "author", fields), "author")
    raw_created = _pick(record, "created_at", fields)
    raw_rating = _pick(record, "rating", fields)
    external_id = _string(_pick(record, "external_id", fields), "external_id", limit=500)
    if not external_id:
        external_id = (
            "new:" + uuid.uuid4().hex if position is None
            else content_id(text, author, raw_created, title, rating=raw_rating, position=position)
        )
    used = {fields.get(f, f) for f in RECORD_FIELDS} | {"id"}
    return Mention(
        source=source,
        external_id=external_id,
        text=text,
        created_at=parse_time(raw_created, now=now, date_format=date_format, tz=tz),
        kind=_string(_pick(record, "kind", fields), "kind") or default_kind,
        url=safe_url(_pick(record, "url", fields)),
        author=author,
        title=title,
        rating=parse_rating(raw_rating),
        lang=_string(_pick(record, "lang", fields), "lang"),
        extra=_extra(record, used),
    )
