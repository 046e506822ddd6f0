"""Brand matching: per-connector match/exclude rules, applied by the pipeline to every source
before classification; off-brand mentions are counted in ``runs`` and never stored."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from connectors.files import FilesConnector
from sentimon.config import ConnectorConfig, load_config
from sentimon.errors import ConfigError
from sentimon.matching import BrandFilter
from sentimon.mention import Mention
from sentimon.pipeline import run_connector
from sentimon.settings import validate
from sentimon.store import Store
from stubs import KeywordClassifier

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def keeps(text: str, match=(), exclude=(), title: str | None = None) -> bool:
    rules = BrandFilter.from_options({"match": list(match), "exclude": list(exclude)})
    return rules.keeps(Mention("s", "1", text, NOW, title=title))


@pytest.mark.parametrize(
    "text, match, exclude, kept",
    [
        ("Love my ACME SHOES", ["acme shoes"], [], True),
        ("acme\n  shoes are great", ["Acme Shoes"], [], True),  # any whitespace in a phrase
        ("acmeshoes sale", ["acme"], [], False),  # words match whole words only
        ("thanks @acme!", ["@acme"], [], True),
        ("thanks @acmecorp", ["@acme"], [], False),
        ("Acme Corp shares fell", ["acme"], ["Acme Corp"], False),
        ("unlike Acme Corp, Acme refunded me", ["acme"], ["acme corp"], True),  # one real match stays
        ("the acme anvil fell", [], ["acme anvil"], False),  # exclude alone drops
        ("nothing to see", [], [], True),  # no rules: everything is on-brand
        ("Order #AC-1234 late", ["re:#ac-\\d+"], [], True),
        ("Order #AC-x late", ["re:#ac-\\d+"], [], False),
    ],
)
def test_rules(text, match, exclude, kept):
    assert keeps(text, match, exclude) is kept


def test_the_title_counts_as_text():
    assert keeps("they never refunded me", ["acme"], title="Acme Shoes support")


@pytest.mark.parametrize("rule", ["re:(", "re:", "   "])
def test_a_bad_rule_stops_the_config_load_naming_it(write_config, rule):
    path = write_config(
        f'[[connectors]]\nname = "a"\ntype = "files"\npath = "x.jsonl"\n'
        f"match = [\"acme\", {json.dumps(rule)}]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "connectors[0].match[1]" in str(info.value) and "\n" not in str(info.value)


def test_the_pipeline_drops_off_brand_mentions_and_counts_them_in_runs(tmp_path):
    rows = [
        {"id": "1", "text": "Acme Shoes arrived late"},
        {"id": "2", "text": "Acme Corp quarterly results"},
        {"id": "3", "text": "Weather is nice"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    options = validate({"path": str(path)}, FilesConnector.settings, "files")
    options.update(match=["acme"], exclude=["acme corp"])  # as the loader passes them on
    config = ConnectorConfig("files", "files", timedelta(minutes=5), True, options, FilesConnector)
    store = Store(tmp_path / "s.db")
    try:
        result = run_connector(store, KeywordClassifier, config)
        assert (result.ok, result.fetched, result.new, result.dropped) == (True, 3, 1, 2)
        ids = [r["external_id"] for r in store.db.query("SELECT external_id FROM mentions")]
        assert ids == ["1"]
        row = next(store.db.query("SELECT fetched, new, dropped FROM runs"))
        assert row == {"fetched": 3, "new": 1, "dropped": 2}
    finally:
        store.close()
