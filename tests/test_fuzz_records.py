"""Hostile and odd input through ``mention_from_record`` and the push endpoint's parser.

The contract: a record either becomes a sane Mention (aware UTC time in range, non-empty
clean text without NUL, rating 1-5 or None, url http(s) or None, every string storable as
UTF-8) or raises ValueError naming the problem; the endpoint parser either returns sane
Mentions or a RequestError (a 4xx). Nothing else, whatever the input.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fuzzing import budget

from connectors.records import EARLIEST, FUTURE_SLACK, mention_from_record
from sentimon.mention import Classification, Mention
from sentimon.pipeline import ingest
from sentimon.server import RequestError, parse_body
from sentimon.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
FUZZ = settings(max_examples=budget(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that break naive code: NUL and controls, zero-width and bidi overrides, BOM,
# line/paragraph separators, combining marks, emoji (with ZWJ and skin tones), HTML.
ODD = [
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u2028",
    "\u2029",
    "\u0301",
    "😀",
    "👍🏽",
    "👩‍👩‍👧",
    "<script>alert(1)</script>",
    "<!channel>",
    " ",
    "\t",
    "\n",
    "\r\n",
    "'; DROP TABLE mentions; --",
]


def texts(surrogates: bool = False) -> st.SearchStrategy[str]:
    chars = st.characters(codec=None if surrogates else "utf-8")
    piece = st.one_of(st.text(chars, max_size=20), st.sampled_from(ODD))
    return st.lists(piece, max_size=8).map("".join)


def _iso(moment: datetime, zone: int) -> str:
    return moment.replace(tzinfo=timezone(timedelta(minutes=zone))).isoformat()


def timestamps(full_range: bool = False) -> st.SearchStrategy[object]:
    years = (1, 9999)
    moments = st.one_of(
        st.datetimes(datetime(1969, 12, 30), datetime(2026, 11, 27)),  # mostly near the valid range
        st.datetimes(datetime(years[0], 1, 1), datetime(years[1], 12, 31)),
    )
    return st.one_of(
        st.builds(_iso, moments, st.integers(-23 * 60 - 59, 23 * 60 + 59)),
        moments.map(lambda d: d.isoformat()),  # naive: taken as UTC
        moments.map(lambda d: d.date().isoformat()),
        moments.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
        st.integers(-(10**14), 10**14),  # epoch seconds or milliseconds
        st.floats(allow_nan=True, allow_infinity=True),
        texts(),
    )


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**300), 10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    texts(),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(texts(), inner, max_size=3)
    ),
    max_leaves=6,
)


def records(surrogates: bool = False, full_range: bool = False) -> st.SearchStrategy[dict]:
    """Records with any subset of the fields, each sometimes plausible, sometimes anything."""
    text = texts(surrogates)
    plausible = {
        "text": text,
        "title": text,
        "id": st.one_of(text, st.integers(), st.sampled_from(["dup-1", "dup-2"])),
        "external_id": st.one_of(text, st.sampled_from(["dup-1", "dup-2"])),
        "created_at": timestamps(full_range),
        "author": text,
        "url": st.one_of(
            text,
            st.sampled_from(
                [
                    "https://example.com/r/1",
                    "javascript:alert(1)",
                    "http://exa mple.com",
                    "HTTP://EXAMPLE.COM",
                    "ftp://x",
                ]
            ),
        ),
        "rating": st.one_of(
            st.integers(-2, 8),
            st.sampled_from(["4", "4.0", "4.5", " 3 ", "five", "nan", "1e400"]),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        "kind": text,
        "lang": text,
    }
    extras = {"extra_field": JSONISH, "score": JSONISH, "": JSONISH}
    fields = {key: value for key, value in plausible.items() if key != "text"}
    return st.one_of(
        # plausible: a text and any subset of plausible fields (mostly stored)
        st.fixed_dictionaries({"text": text.filter(str.strip)}, optional={**fields, **extras}),
        # wild: any field may be missing or any JSON value at all (mostly refused)
        st.fixed_dictionaries(
            {},
            optional={
                **{key: st.one_of(value, JSONISH) for key, value in plausible.items()},
                **extras,
            },
        ),
    )


def assert_sane(mention: Mention) -> None:
    assert isinstance(mention, Mention)
    assert mention.created_at.tzinfo is not None and mention.created_at.utcoffset() == timedelta(0)
    assert EARLIEST <= mention.created_at <= NOW + FUTURE_SLACK
    assert mention.text and mention.text == mention.text.strip() and "\x00" not in mention.text
    assert mention.rating is None or (type(mention.rating) is int and 1 <= mention.rating <= 5)
    assert mention.url is None or re.match(r"^https?://\S+$", mention.url, re.IGNORECASE)
    assert isinstance(mention.external_id, str) and mention.external_id
    for name in ("external_id", "text", "title", "author", "url", "kind", "lang"):
        value = getattr(mention, name)
        assert value is None or (isinstance(value, str) and "\x00" not in value)
        if value is not None:
            value.encode("utf-8")  # storable: SQLite refuses unpaired surrogates
    json.dumps(mention.extra, default=str)  # the store keeps extra as JSON


def build(record: object) -> Mention | None:
    try:
        mention = mention_from_record(record, "fuzz", now=NOW)  # type: ignore[arg-type]
    except ValueError:
        return None
    assert_sane(mention)
    return mention


@FUZZ
@given(records())
@example({"text": "\u202e\u200b😀", "created_at": -1})
@example({"text": "  \x00\t ", "id": "dup-1"})
@example({"text": "fine", "created_at": "1969-12-31T23:59:59Z"})
@example({"text": "fine", "created_at": "2999-01-01"})
@example({"text": "fine", "rating": True})
def test_records_become_sane_mentions_or_value_errors(record):
    build(record)


@FUZZ
@given(JSONISH)
def test_any_json_value_as_a_record(value):
    build(value)


def test_huge_fields_are_refused_quickly():
    ten_mb = "late parcel " * 900_000
    for record in ({"text": ten_mb}, {"text": "ok", "title": ten_mb}, {"text": "ok", "id": ten_mb}):
        with pytest.raises(ValueError, match="text|title|external_id"):
            mention_from_record(record, "fuzz", now=NOW)
    mention = mention_from_record({"text": "ok", "note": ten_mb}, "fuzz", now=NOW)
    assert len(mention.extra["note"]) <= 1000


# --- edges found by fuzzing, kept as plain regression tests ---------------------------------


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_iso_dates_at_the_ends_of_the_calendar_are_a_reason_not_a_crash(created):
    with pytest.raises(ValueError, match="created_at"):
        mention_from_record({"text": "fine", "created_at": created}, "fuzz", now=NOW)


def test_huge_integer_rating_is_a_reason_not_a_crash():
    with pytest.raises(ValueError, match="rating"):
        mention_from_record({"text": "fine", "rating": 10**400}, "fuzz", now=NOW)


@pytest.mark.parametrize("field", ["text", "title", "author", "id"])
def test_unpaired_surrogates_are_replaced_so_the_row_stores(field):
    mention = build({"id": "s-1", "text": "fine", field: "bad \ud800 value"})
    assert mention is not None and "\ufffd" in getattr(mention, "external_id" if field == "id" else field)


def test_invisible_only_text_is_empty():
    assert build({"text": "\u200b\u2060 \ufeff"}) is None


# --- the endpoint's parser ------------------------------------------------------------------


def check_body(body: bytes, max_batch: int = 50) -> list[Mention]:
    try:
        mentions = parse_body(body, "fuzz", max_batch=max_batch, now=NOW)
    except RequestError as exc:
        assert exc.status in (400, 413) and exc.message
        assert exc.payload()["error"]
        json.dumps(exc.payload())  # the reply must serialise
        return []
    for mention in mentions:
        assert_sane(mention)
    return mentions


@FUZZ
@given(
    st.one_of(
        records(surrogates=True, full_range=True),
        st.lists(records(surrogates=True, full_range=True), max_size=6),
    )
)
def test_endpoint_parser_on_any_records(document):
    # The parser also guards the gaps above (surrogates, overflows) so a push is never a 500.
    check_body(json.dumps(document).encode("utf-8"))


@FUZZ
@given(st.binary(max_size=200))
@example(b'{"text": "x", "rating": 1' + b"0" * 400 + b"}")
@example(b'{"text": "x", "rating": ' + b"9" * 5000 + b"}")
@example(b"[" * 50_000)
@example(b'\xef\xbb\xbf{"text": "bom first"}')
@example(b'{"text": "\\ud83d"}')
@example(b'{"text": "\\u0000"}')
def test_endpoint_parser_on_any_bytes(body):
    check_body(body)


@FUZZ
@given(st.lists(JSONISH, min_size=0, max_size=4))
def test_endpoint_parser_on_lists_of_anything(items):
    check_body(json.dumps(items).encode("utf-8"))


def test_endpoint_parser_limits():
    with pytest.raises(RequestError) as info:
        parse_body(json.dumps([{"text": "a"}] * 4).encode(), "fuzz", max_batch=3, now=NOW)
    assert info.value.status == 413
    with pytest.raises(RequestError) as info:
        parse_body(json.dumps({"text": "late " * 2_000_000}).encode(), "fuzz", max_batch=3, now=NOW)
    assert (info.value.status, info.value.field, info.value.index) == (400, "text", 0)


class Echo:
    """Stands in for the model: these properties are about ids and storage, not sentiment."""

    name = "echo"

    def classify(self, texts):
        return [
            Classification(
                "neutral", {"negative": 0.0, "neutral": 1.0, "positive": 0.0}, model=self.name
            )
            for _ in texts
        ]


_sources = count()


@pytest.fixture(scope="module")
def store():
    store = Store(":memory:")
    yield store
    store.close()


@settings(
    max_examples=budget(60), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), texts().filter(str.strip)), max_size=12
    )
)
def test_duplicate_ids_in_a_batch_first_wins_and_resend_adds_nothing(store, pairs):
    body = json.dumps([{"id": i, "text": f"#{n} {t}"} for n, (i, t) in enumerate(pairs)]).encode()
    mentions = check_body(body)
    source = f"fuzz-{next(_sources)}"
    first = {}
    for m in mentions:
        first.setdefault(m.external_id, m.text)
    assert ingest(store, Echo(), source, mentions) == len(first)
    assert ingest(store, Echo(), source, mentions) == 0
    stored = dict(
        store.db.execute(
            "SELECT external_id, text FROM mentions WHERE source = ?", [source]
        ).fetchall()
    )
    assert stored == first
