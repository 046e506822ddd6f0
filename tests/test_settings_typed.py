"""Typed settings: a frozen dataclass declares the keys once; its Setting table (docs, --help,
validation) is derived from it, and parse returns the typed object with defaults converted."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from sentimon.settings import (
    Setting,
    SettingError,
    SettingProblems,
    Settings,
    describe,
    parse,
    setting,
    settings_class,
    settings_of,
    validate,
)


@dataclass(frozen=True, kw_only=True)
class Shared(Settings):
    timeout: float = setting("float", 20.0, help="Seconds per read.")


@dataclass(frozen=True, kw_only=True)
class Source(Shared):
    url: str = setting("str", help="Where.", secret=True)
    every: timedelta = setting("duration", "15m", help="How often.")
    files: Path = setting("path", "in/*.csv", help="Which files.")
    tags: list[str] = setting("str|list[str]", [], help="Tags.")
    sender: str = setting("str", "a@b.c", help="From address.", key="from")


def test_defaults_are_converted_whether_parsed_or_built():
    parsed = parse(Source, {"url": "https://x"}, "c")
    assert parsed.every == timedelta(minutes=15) and parsed.files == Path("in/*.csv")
    assert Source(url="https://x") == parsed
    assert Source(url="a").tags is not Source(url="b").tags  # no shared default list


def test_own_keys_lead_and_upto_leaves_out_a_base():
    assert [s.name for s in settings_of(Source)] == ["url", "every", "files", "tags", "from", "timeout"]
    assert [s.name for s in settings_of(Source, upto=Shared)] == ["url", "every", "files", "tags", "from"]
    [url] = [s for s in settings_of(Source) if s.name == "url"]
    assert url == Setting("url", "str", help="Where.", secret=True) and url.required
    assert describe(settings_of(Source))[1] == {"name": "every", "kind": "duration", "default": "'15m'",
                                                 "help": "How often."}


def test_every_problem_of_a_table_is_reported_at_once():
    with pytest.raises(SettingProblems) as info:
        parse(Source, {"every": 5, "colour": "red"}, "connectors[0]")
    assert [p.key for p in info.value.problems] == [
        "connectors[0].colour", "connectors[0].url", "connectors[0].every"]


def test_the_object_is_frozen_and_reads_as_a_mapping_by_key():
    options = parse(Source, {"url": "u", "from": "x@y.z", "tags": "one"}, "n")
    assert options.sender == options["from"] == "x@y.z" and options.tags == ["one"]
    assert dict(options)["timeout"] == 20.0 and options.get("sender") is None
    with pytest.raises(KeyError):
        options["sender"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.url = "v"  # type: ignore[misc]


def test_checked_values_pass_again_unchanged():
    options = parse(Source, {"url": "u", "every": "1h"}, "n")
    assert parse(Source, dict(options), "n") == options
    assert parse(Source, options, "n") is options
    with pytest.raises(SettingError):
        parse(Source, {**options, "every": timedelta(hours=1).total_seconds()}, "n")


def test_a_kind_the_annotation_disagrees_with_fails_when_the_table_is_derived():
    @dataclass(frozen=True, kw_only=True)
    class Wrong(Settings):
        every: str = setting("duration", "15m", help="How often.")

    with pytest.raises(TypeError, match="kind 'duration' converts to timedelta"):
        settings_of(Wrong)


def test_a_setting_tuple_becomes_a_typed_class_with_the_same_table():
    table = (Setting("business_unit", "str", help="Unit."), Setting("every", "duration", "1h", help="x"),
             Setting("timeout", "float", 5.0, help="Overrides the shared one."))
    cls = settings_class("Legacy", table, Shared)
    assert settings_of(cls, upto=Settings) == table
    options = parse(cls, {"business_unit": "u"}, "c")
    assert options["every"] == timedelta(hours=1) and options["timeout"] == 5.0
    assert validate({"business_unit": "u"}, table, "c") == dict(options)
