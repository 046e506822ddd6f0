from datetime import datetime, timedelta, timezone

import pytest

from sentimon.durations import format_duration, parse_duration, parse_moment


@pytest.mark.parametrize(
    "text, expected",
    [("90s", timedelta(seconds=90)), ("5m", timedelta(minutes=5)), ("1h", timedelta(hours=1)),
     ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)), (" 1.5h ", timedelta(minutes=90))],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["5", "5x", "m5", "", "-1h", "0s", "1 hour"])
def test_bad_durations_say_what_is_expected(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_round_trips():
    for text in ("90s", "5m", "1h", "7d", "2w", "36h"):
        delta = parse_duration(text)
        assert parse_duration(format_duration(delta)) == delta
    assert format_duration(parse_duration("7d")) == "1w"
    assert format_duration(parse_duration("90s")) == "90s"


def test_moment_from_duration_or_iso():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
    assert parse_moment("24h", now=now) == datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
    assert parse_moment("2026-11-01", now=now) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert parse_moment("2026-11-01T09:30+01:00", now=now).hour == 8
    with pytest.raises(ValueError, match="neither a duration"):
        parse_moment("yesterday", now=now)
