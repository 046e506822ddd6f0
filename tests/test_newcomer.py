"""Issue 13, "the newcomer's road": what a CX lead trips over on the first day, through the real
CLI (click's runner in a temporary folder, real config files, real SQLite, feeds served from
127.0.0.1). The model is replaced by keyword rules except where the model is what is tested:
these tests are about the commands, and loading the model per test costs seconds each.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.mention import Classification, TopicScore


class KeywordClassifier:
    """Negative when the text says "late" (with a delivery topic), positive otherwise."""

    name = "test-keywords"

    def classify(self, texts):
        results = []
        for text in texts:
            negative = "late" in text.lower()
            topics = [TopicScore("delivery", 0.9, "negative")] if negative else []
            if "price" in text.lower():
                topics.append(TopicScore("price", 0.8, "negative" if negative else "positive"))
            scores = {"negative": 0.9 if negative else 0.05, "neutral": 0.05, "positive": 0.05 if negative else 0.9}
            results.append(Classification("negative" if negative else "positive", scores, tuple(topics), self.name))
        return results


@pytest.fixture
def keyword_model(monkeypatch):
    import models

    monkeypatch.setattr(models, "load_classifier", lambda settings, topics: KeywordClassifier())


def run(*args: str, config: Path | None = None, input: str | None = None, env: dict | None = None):
    prefix = ["--config", str(config)] if config else []
    return CliRunner().invoke(cli, [*prefix, *args], input=input, env=env, catch_exceptions=False)


def write_rows(folder: Path, rows: list[dict]) -> Path:
    """A files-connector config over ``rows`` (JSON Lines) in ``folder``."""
    (folder / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = folder / "sentimon.toml"
    config.write_text(
        '[[connectors]]\nname = "shop"\ntype = "files"\npath = "reviews.jsonl"\n'
        'fields = { external_id = "id" }\n', encoding="utf-8",
    )
    return config


# --- 1. classify without a config file ------------------------------------------------------


def test_classify_works_without_a_config_file(tmp_path, monkeypatch):
    """The first thing a newcomer types, in an empty folder: the bundled model and the default
    taxonomy, no "config file not found". (The real model, once: it is what this tests.)"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SENTIMON_CONFIG", raising=False)
    result = run("classify", "--format", "json", "Terrible, the parcel arrived broken and two weeks late.")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out[0]["sentiment"] == "negative"
    assert set(out[0]["scores"]) == {"negative", "neutral", "positive"}
    assert not (tmp_path / "sentimon.db").exists()  # classifying creates no database


def test_classify_with_a_named_missing_config_still_fails(tmp_path, keyword_model):
    """A config the user named (a typo in --config) is not silently replaced by the defaults."""
    result = run("classify", "late parcel", config=tmp_path / "typo.toml")
    assert result.exit_code == 2 and "config file not found" in result.output
