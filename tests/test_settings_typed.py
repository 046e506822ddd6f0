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
    assert "x@y.z" in repr(options) and "'u'" not in repr(options)  # a secret stays out of logs
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


def test_the_connector_entry_fields_the_app_reads_are_the_declared_ones():
    """ConnectorConfig (app) and ENTRY_SETTINGS (connectors) must name the same keys and types."""
    from connectors.base import ENTRY_SETTINGS
    from sentimon.config import ConnectorConfig
    from sentimon.settings import _ANNOTATION

    fields = {f.name: f.type for f in dataclasses.fields(ConnectorConfig)}
    assert {s.name: _ANNOTATION[s.kind] for s in ENTRY_SETTINGS} == {
        name: fields[name] for name in ("name", "type", "every", "enabled")}
    assert set(fields) == {s.name for s in ENTRY_SETTINGS} | {"options", "cls"}


def test_connectors_read_typed_options_built_from_config_or_by_hand(tmp_path):
    from connectors.files import FilesConnector
    from connectors.http import HttpConnector
    from connectors.reddit import RedditConnector

    by_hand = RedditConnector("r", {"query": "acme", "client_id": "i", "client_secret": "s", "user_agent": "u",
                                    "overlap": "10m"})
    assert by_hand.options.overlap == timedelta(minutes=10) and by_hand.overlap == 600
    assert by_hand.options.match == [] and by_hand.options.timeout == 16
    with pytest.raises(SettingError, match="files.path: missing"):
        FilesConnector("files", {})
    assert [s.name for s in HttpConnector.settings] == [
        "timeout", "retries", "deadline", "max_body_bytes", "max_redirects", "allow_cross_site_redirects"]


def test_a_connector_declaring_a_setting_tuple_gets_typed_options_too():
    """The older way (a third-party connector's ``settings = (...) + HTTP_SETTINGS``) keeps
    its table as written and is parsed like the typed ones."""
    from connectors.http import HTTP_SETTINGS, HttpConnector

    class Trustpilot(HttpConnector):
        type = "trustpilot"
        settings = (Setting("business_unit", "str", help="Unit."),
                    Setting("overlap", "duration", "1h", help="Look back.")) + HTTP_SETTINGS

        def fetch(self, cursor, *, backfill=False):
            yield from ()

    connector = Trustpilot("tp", {"business_unit": "b", "timeout": 5})
    assert Trustpilot.settings[:2] == (Setting("business_unit", "str", help="Unit."),
                                       Setting("overlap", "duration", "1h", help="Look back."))
    assert connector.options["overlap"] == timedelta(hours=1) and connector.options.timeout == 5.0
    assert connector.http.timeout == 5.0


def test_notifiers_get_typed_options_with_the_digest_declared_once():
    import alerts
    from alerts.digest import DIGEST_SETTINGS
    from alerts.notifiers import TYPES
    from alerts.smtp import EmailOptions

    options = alerts.validate_notifier("mail", {"type": "email", "host": "smtp.example.com", "from": "cx@acme.test",
                                                "to": "ops@acme.test", "digest": "daily"})
    assert isinstance(options, EmailOptions) and options.sender == options["from"] == "cx@acme.test"
    assert (options.port, options.to, options.digest) == (587, ["ops@acme.test"], "daily")
    assert options.display == "smtp://smtp.example.com:587 -> ops@acme.test"
    for cls in TYPES.values():
        assert settings_of(cls.Options) == cls.settings + DIGEST_SETTINGS
