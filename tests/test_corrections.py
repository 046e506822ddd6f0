"""Human corrections: applied where queries see them, logged with what the model said."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.corrections import Correction, CorrectionError, apply_correction, model_output, training_rows
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import MentionQuery, Store

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "sentimon.toml"
    path.write_text('[storage]\npath = "s.db"\n')
    store = Store(tmp_path / "s.db")
    cls = Classification("positive", {"negative": 0.1, "neutral": 0.2, "positive": 0.7},
                         (TopicScore("quality", 0.6, "positive"),), "model-v1")
    store.save_batch("shop", [Mention("shop", "a", "Parcel late again, great boots though", NOW)], [cls])
    store.close()
    return path


def cli_run(config, *args):
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_label_changes_queries_and_keeps_the_model_output(config):
    result = cli_run(config, "label", "1", "--sentiment", "negative", "--topic", "delivery:negative",
                     "--by", "ana")
    assert result.exit_code == 0, result.output
    rows = json.loads(cli_run(config, "mentions", "--format", "json", "--since", "3650d").output)
    assert rows[0]["sentiment"] == "negative" and rows[0]["corrected"] is True
    assert {(t["name"], t["sentiment"]) for t in rows[0]["topics"]} == {("quality", "positive"), ("delivery", "negative")}
    assert "negative*" in cli_run(config, "mentions", "--since", "3650d").output
    negatives = json.loads(cli_run(config, "mentions", "--format", "json", "--sentiment", "negative",
                                   "--topic", "delivery", "--since", "3650d").output)
    assert [r["id"] for r in negatives] == [1]

    store = Store(config.parent / "s.db")
    cli_run(config, "label", "1", "--remove-topic", "quality", "--by", "ben")
    assert model_output(store, 1) == {"sentiment": "positive",
                                      "topics": [{"name": "quality", "score": 0.6, "sentiment": "positive"}]}
    history = store.db.execute("SELECT author FROM corrections ORDER BY id").fetchall()
    assert [a for (a,) in history] == ["ana", "ben"]
    assert list(training_rows(store)) == [{"text": "Parcel late again, great boots though", "label": "negative",
                                           "aspects": [{"category": "delivery", "polarity": "negative"}]}]


def test_bad_corrections_are_one_line_errors(config):
    unknown = cli_run(config, "label", "99", "--sentiment", "negative")
    assert unknown.exit_code == 2 and "no mention with id 99" in unknown.output
    bad_topic = cli_run(config, "label", "1", "--topic", "weather")
    assert bad_topic.exit_code == 2 and "not in the config's taxonomy" in bad_topic.output
    nothing = cli_run(config, "label", "1")
    assert nothing.exit_code == 2 and "nothing to correct" in nothing.output


def test_topic_sentiment_must_be_a_sentiment(tmp_path):
    store = Store(tmp_path / "s.db")
    with pytest.raises(CorrectionError, match="expected one of"):
        apply_correction(store, 1, Correction(set_topics=[("delivery", "awful")]), author="x")
    assert store.mentions(MentionQuery()) == []
