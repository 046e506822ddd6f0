"""``[server]`` (the push endpoint) loads as a frozen, typed ``ServerSettings`` from its one
Setting table (issue 15 item 2): defaults filled when absent, values read as attributes, the
token kept out of the repr, and its problems reported with every other problem of the file."""

from __future__ import annotations

import dataclasses

import pytest
from config_support import assert_problems

from sentimon.config import SERVER_SETTINGS, ServerSettings, load_config
from sentimon.settings import settings_of

TOKEN = "push-token-0123456789abcdef"


def test_an_absent_server_table_is_a_typed_object_holding_the_defaults(write_config):
    config = load_config(write_config('[storage]\npath = "s.db"\n'))
    server = config.server
    assert isinstance(server, ServerSettings) and server == ServerSettings()
    assert (server.enabled, server.host, server.port) == (False, "127.0.0.1", 8765)
    assert type(server.port) is int and type(server.max_batch) is int
    assert (server.token, server.source, server.metrics) == ("", "webhook", False)
    assert (server.max_body_bytes, server.max_batch, server.channels) == (5_000_000, 1000, [])


def test_written_values_are_read_as_attributes_and_the_token_stays_out_of_the_repr(
    write_config, monkeypatch
):
    monkeypatch.setenv("SENTIMON_PUSH_TOKEN", TOKEN)
    config = load_config(write_config(
        '[server]\nenabled = true\nport = 0\ntoken = "${SENTIMON_PUSH_TOKEN}"\nsource = "forms"\n'
        'max_batch = 5\nmetrics = true\nchannels = ["typeform"]\n'
    ))
    server = config.server
    assert (server.enabled, server.port, server.token, server.source) == (True, 0, TOKEN, "forms")
    assert (server.max_batch, server.metrics, server.channels) == (5, True, ["typeform"])
    assert server["token"] == TOKEN  # still a read-only mapping for generic readers (doctor)
    assert TOKEN not in repr(server)


def test_the_object_is_frozen_and_its_list_default_never_shared(write_config):
    first, second = load_config(write_config("")), load_config(write_config(""))
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.server.port = 1  # type: ignore[misc]
    first.server.channels.append("mutated")
    assert second.server.channels == [] and ServerSettings().channels == []


def test_the_table_is_derived_from_the_declaration_and_unchanged():
    """The docs' rows: the same keys, kinds and defaults as the table written by hand before."""
    assert SERVER_SETTINGS == settings_of(ServerSettings)
    assert [(s.name, s.kind, s.default) for s in SERVER_SETTINGS] == [
        ("enabled", "bool", False), ("host", "str", "127.0.0.1"), ("port", "int", 8765),
        ("token", "str", ""), ("source", "str", "webhook"), ("max_body_bytes", "int", 5_000_000),
        ("max_batch", "int", 1000), ("metrics", "bool", False), ("channels", "list[str]", []),
    ]
    assert [s.name for s in SERVER_SETTINGS if s.secret] == ["token"]


def test_server_problems_come_with_a_connector_problem_in_one_run(write_config):
    path = write_config(
        '[server]\nport = "8765"\nmax_batch = 1.5\nchannel = ["typo"]\n'
        '[[connectors]]\nname = "a"\ntype = "files"\npath = "x"\nevery = "5x"\n'
    )
    assert_problems(path, ["connectors[0].every", "server.channel", "server.port", "server.max_batch"])
