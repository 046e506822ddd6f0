"""``[model]``, ``[display]`` and ``[brand]`` load as frozen, typed objects from their one
Setting table (issue 15 item 2): defaults converted as written values are, read as attributes,
and their problems reported with every other problem of the file in one run."""

from __future__ import annotations

import dataclasses

import pytest
from config_support import assert_problems

import models
from sentimon.brands import BRAND_SETTINGS, BrandSettings, own_name
from sentimon.config import DISPLAY_SETTINGS, DisplaySettings, load_config
from sentimon.settings import SettingError, settings_of
from sentimon.timeline import display_zone


def test_absent_sections_are_typed_objects_holding_their_converted_defaults(write_config):
    config = load_config(write_config('[storage]\npath = "s.db"\n'))
    assert isinstance(config.model, models.ModelSettings)
    assert isinstance(config.display, DisplaySettings)
    assert isinstance(config.brand, BrandSettings)
    assert config.model.sentiment == "bundled" and config.model.backend == "auto"
    assert config.model.batch_size == 32 and type(config.model.batch_size) is int
    assert config.model.topic_threshold == 0.0 and type(config.model.topic_threshold) is float
    assert config.model.languages == ["en"] and config.model.labels == {}
    assert config.display.timezone == "UTC"
    assert config.brand.name == ""
    assert own_name(config) == "ours" and str(display_zone(config)) == "UTC"


def test_written_values_are_read_as_attributes(write_config):
    config = load_config(write_config(
        '[model]\nbackend = "fp32"\nthreads = 2\ntopic_threshold = 1\nlanguages = ["en", "de"]\n'
        '[model.labels]\nLABEL_0 = "negative"\n'
        '[display]\ntimezone = "Asia/Tokyo"\n'
        '[brand]\nname = " Acme Shoes "\n'
    ))
    assert (config.model.backend, config.model.threads) == ("fp32", 2)
    assert config.model.topic_threshold == 1.0 and type(config.model.topic_threshold) is float
    assert config.model.languages == ["en", "de"] and config.model.labels == {"LABEL_0": "negative"}
    assert str(display_zone(config)) == "Asia/Tokyo"
    assert config.brand.name == " Acme Shoes " and own_name(config) == "Acme Shoes"


def test_the_objects_are_frozen_and_list_defaults_never_shared(write_config):
    first, second = load_config(write_config("")), load_config(write_config(""))
    for section, attribute in ((first.model, "backend"), (first.display, "timezone"), (first.brand, "name")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(section, attribute, "x")
    first.model.languages.append("mutated")
    assert second.model.languages == ["en"] and models.ModelSettings().languages == ["en"]


def test_each_table_is_derived_from_its_typed_declaration():
    """The docs and --help rows come from the same declaration as the attributes."""
    assert models.MODEL_SETTINGS == settings_of(models.ModelSettings)
    assert [s.name for s in models.MODEL_SETTINGS] == [
        "sentiment", "path", "threads", "batch_size", "backend", "max_length", "labels",
        "topic_threshold", "topic_keyword_bonus", "languages"]
    assert [(s.name, s.kind, s.default) for s in DISPLAY_SETTINGS] == [("timezone", "timezone", "UTC")]
    assert [(s.name, s.kind, s.default) for s in BRAND_SETTINGS] == [("name", "str", "")]


def test_their_problems_come_with_a_connector_problem_in_one_run(write_config):
    path = write_config(
        '[model]\nthreads = "many"\nbackend = "gpu"\n'
        '[display]\ntimezone = "Mars/Olympus"\n'
        '[brand]\nname = 7\n'
        '[[connectors]]\nname = "a"\ntype = "files"\npath = "x"\nevery = "5x"\n'
    )
    assert_problems(path, ["model.threads", "model.backend", "connectors[0].every", "display.timezone",
                           "brand.name"])


def test_a_partial_model_table_is_checked_and_filled_for_callers_without_a_config(monkeypatch):
    """Benchmarks and tests hand ``load_classifier`` a few keys: they arrive as ModelSettings
    with the rest defaulted, and a key a [model] table could not hold is refused by name."""
    import models.classifier

    received = []
    monkeypatch.setattr(models.classifier, "build", lambda settings, topics: received.append(settings))
    models.load_classifier({"threads": 2, "path": "heads"}, [])
    models.load_classifier(None, [])
    typed = models.ModelSettings(backend="int8")
    models.load_classifier(typed, [])
    assert received[0] == models.ModelSettings(threads=2, path="heads") and received[0].batch_size == 32
    assert received[1] == models.ModelSettings() and received[2] is typed
    with pytest.raises(SettingError, match="model.thread"):
        models.load_classifier({"thread": 2}, [])


def test_model_command_options_override_the_configured_settings(write_config, monkeypatch, tmp_path):
    """`model eval --backend --path` replace those two keys of the config's [model] and keep
    the rest (its threads), handing the loader one ModelSettings."""
    from click.testing import CliRunner

    from sentimon.cli import cli
    from sentimon.errors import ModelError

    seen = []

    def capture(settings, topics):
        seen.append(settings)
        raise ModelError("stopped after the settings")

    monkeypatch.setattr(models, "load_classifier", capture)
    path = write_config('[model]\nthreads = 2\nbackend = "fp32"\n')
    rows = tmp_path / "s.jsonl"
    rows.write_text('{"text": "fine", "label": "positive"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "model", "eval", str(rows),
                                      "--backend", "int8", "--path", "heads"])
    assert "stopped after the settings" in result.output
    assert seen == [models.ModelSettings(threads=2, backend="int8", path="heads")]
