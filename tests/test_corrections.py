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


@pytest.mark.parametrize("command", [["label", "{id}", "--sentiment", "negative"], ["alerts", "show", "{id}"],
                                     ["alerts", "ack", "{id}"], ["alerts", "resolve", "{id}"]])
def test_an_id_larger_than_sqlite_holds_is_a_usage_error_not_a_traceback(config, command):
    result = cli_run(config, *[part.format(id=2**70) for part in command])
    assert result.exit_code == 2 and "is not in the range 1<=x<=" in result.output, result.output


def test_topic_sentiment_must_be_a_sentiment(tmp_path):
    store = Store(tmp_path / "s.db")
    with pytest.raises(CorrectionError, match="expected one of"):
        apply_correction(store, 1, Correction(set_topics=[("delivery", "awful")]), author="x")
    assert store.mentions(MentionQuery()) == []


REVIEWS = [
    ("The parcel sat at the depot for a fortnight", "negative"), ("Courier left it in the rain", "negative"),
    ("Refund took a month to arrive", "negative"), ("The soles peeled off in a week", "negative"),
    ("Ordered size 42, it came in size 42", "neutral"), ("Delivered on Tuesday", "neutral"),
    ("Love the colour, so comfy", "positive"), ("Best boots I have owned", "positive"),
]


@pytest.mark.slow
def test_corrections_train_the_model_and_score_on_their_held_out_part(tmp_path):
    config = tmp_path / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n')
    store = Store(tmp_path / "s.db")
    neutral = Classification("neutral", {"negative": 0.2, "neutral": 0.6, "positive": 0.2}, (), "model-v1")
    mentions = [Mention("shop", f"m{i}", f"{text} (order {i})", NOW) for i, (text, _) in enumerate(REVIEWS * 5)]
    store.save_batch("shop", mentions, [neutral] * len(mentions))
    for i, (_, label) in enumerate(REVIEWS * 5):
        apply_correction(store, i + 1, Correction(sentiment=label), author="ana")
    store.close()
    out = tmp_path / "ours"
    trained = cli_run(config, "model", "train", "--from-corrections", "--out", str(out), "--epochs", "5")
    assert trained.exit_code == 0, trained.output
    assert (out / "meta.json").exists() and "held-out n=" in trained.output
    scored = cli_run(config, "model", "eval", "--from-corrections", "--holdout", "0.1", "--path", str(out),
                     "--format", "json")
    assert scored.exit_code == 0, scored.output
    report = json.loads(scored.stdout)
    assert report["task"] == "sentiment" and 0 < report["n"] < 40 and 0 <= report["macro_f1"] <= 1


# A sneaker shop's slang, which the bundled model reads as neutral: "mid", "an L", "sold out in
# 2 min", bots and "giving cardboard" are complaints; "a W", "copped" and "heat" are praise.
SLANG = [
    ("the Kestrel drop was mid", "negative"), ("honestly the new colourway is mid", "negative"),
    ("Kestrel x Orbit collab is mid, skip it", "negative"), ("mid drop again from Kestrel", "negative"),
    ("another Kestrel drop, another L", "negative"), ("that restock was a massive L", "negative"),
    ("took the L on the raffle again", "negative"), ("sold out in 2 min again", "negative"),
    ("sold out in 90 seconds, every single time", "negative"),
    ("Kestrel restock sold out in 3 minutes again smh", "negative"), ("bots got every pair again", "negative"),
    ("bots cooked the whole drop", "negative"), ("the Zephyr 2 soles are giving cardboard", "negative"),
    ("new Zephyrs giving cardboard fr", "negative"), ("raffle rigged again lol", "negative"),
    ("waited all morning for the drop and got nothing", "negative"),
    ("the Kestrel drop was a W", "positive"), ("W drop, copped two pairs", "positive"),
    ("finally copped the Zephyrs, huge W", "positive"), ("copped on release day, W", "positive"),
    ("Kestrel restock was a W for once", "positive"), ("the Zephyr 3 colourway is heat", "positive"),
    ("these are heat, copping another pair", "positive"), ("certified heat from Kestrel", "positive"),
    ("copped the Orbit collab, absolute W", "positive"), ("W restock, got my size", "positive"),
    ("Kestrel drop is Friday at 10am", "neutral"), ("Zephyr 3 restock on the 5th", "neutral"),
    ("raffle for the Orbit collab opens tomorrow", "neutral"),
    ("does the Kestrel app have a queue for drops?", "neutral"), ("what time is the Zephyr drop in the UK", "neutral"),
    ("Kestrel posted the release calendar for March", "neutral"), ("the Zephyr 3 comes in four colourways", "neutral"),
    ("restock times are on the Kestrel site", "neutral"), ("the Orbit collab releases in Europe first", "neutral"),
    ("raffle winners get an email on Monday", "neutral"),
]
UNSEEN_SLANG = [  # never labelled
    ("the Zephyr restock was mid", "negative"), ("that collab is so mid", "negative"),
    ("sold out in 1 min again", "negative"), ("big L from Kestrel today", "negative"),
    ("bots got all the Zephyrs", "negative"), ("W drop today, copped", "positive"),
    ("the new colourway is heat", "positive"), ("copped my size, W", "positive"),
]
ORDINARY = [
    ("I love these shoes, best purchase this year", "positive"), ("Great quality and really comfortable", "positive"),
    ("Absolutely brilliant service, thank you so much", "positive"),
    ("This is the worst service I have ever had", "negative"), ("Terrible quality, fell apart in a week", "negative"),
    ("Awful, the refund never arrived and nobody answers", "negative"),
    ("The parcel arrived on Tuesday", "neutral"), ("The store opens at nine on Saturdays", "neutral"),
]
UNCORRECTED = [  # the rest of the shop's mentions, which nobody corrected
    "Fast delivery and the box was perfect", "The laces snapped after two days", "Ordered a size 9",
    "Customer service sorted my exchange in a day, lovely people", "Still waiting for my refund, three weeks now",
    "Is the outlet open on Sunday?", "So comfy I bought a second pair", "The sole started peeling, disappointed",
    "Tracking says out for delivery", "Best running shoes I have owned", "Wrong colour sent, no reply to emails",
    "Do you ship to Canada?",
]


def sentiments(config, rows):
    result = cli_run(config, "classify", "--format", "json", *(text for text, _ in rows))
    assert result.exit_code == 0, result.output
    return [r["sentiment"] for r in json.loads(result.stdout)]


def held_out_macro_f1(config) -> float:
    result = cli_run(config, "model", "eval", "--from-corrections", "--holdout", "0.1", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["macro_f1"]


@pytest.mark.slow
def test_corrections_teach_the_bundled_model_new_slang_and_keep_the_rest(tmp_path, classifier):
    texts = [text for text, _ in SLANG] + UNCORRECTED
    store = Store(tmp_path / "s.db")
    store.save_batch("shop", [Mention("shop", f"m{i}", t, NOW) for i, t in enumerate(texts)], classifier.classify(texts))
    store.close()
    config = tmp_path / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n')
    for mention_id, (_, label) in enumerate(SLANG, 1):
        assert cli_run(config, "label", str(mention_id), "--sentiment", label, "--by", "ana").exit_code == 0
    before = held_out_macro_f1(config)

    trained = cli_run(config, "model", "train", "--from-corrections", "--out", str(tmp_path / "taught"))
    assert trained.exit_code == 0, trained.output
    config.write_text(f'[storage]\npath = "s.db"\n[model]\npath = "{tmp_path / "taught"}"\n')
    taught = sentiments(config, UNSEEN_SLANG + ORDINARY)
    wanted = [label for _, label in UNSEEN_SLANG + ORDINARY]
    bundled = [c.sentiment for c in classifier.classify([text for text, _ in UNSEEN_SLANG + ORDINARY])]
    unseen = len(UNSEEN_SLANG)
    bundled_right = sum(got == want for got, want in zip(bundled[:unseen], wanted))
    taught_right = sum(got == want for got, want in zip(taught[:unseen], wanted))
    # v2 and v3 missed all eight; v4 reads 2 ("sold out in 1 min again", "the new colourway is heat"),
    # v5 3: enough is left to learn for the next assertion to mean something.
    assert bundled_right <= 3, bundled
    # Most of the unseen slang is learnt: 6 of 8 with the v2 model, 5 of 8 with v3 (model card).
    assert taught_right >= max(unseen // 2 + 1, bundled_right + 2), (taught, bundled)
    assert taught[unseen:] == bundled[unseen:] == wanted[unseen:]  # plain praise and complaints still read right
    assert held_out_macro_f1(config) > before


def test_training_from_corrections_needs_some(config):
    result = cli_run(config, "model", "train", "--from-corrections", "--out", str(config.parent / "x"))
    assert result.exit_code == 1 and "no corrections yet" in result.output
