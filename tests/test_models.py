"""The model on real parts: the bundled MiniLM-L6 encoder and shipped head, and tiny HF models.

The bundled classifier is loaded once per session (conftest's ``classifier`` fixture); the
Hugging Face path uses a randomly initialised two-layer BERT with a hand-written WordPiece vocab
saved to tmp_path, so nothing is downloaded.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import models
from models.hf import map_labels
from sentimon.errors import ModelError
from sentimon.mention import Classification


def test_contract_names():
    names = {s.name for s in models.MODEL_SETTINGS}
    assert {"sentiment", "path", "threads", "batch_size", "backend", "labels"} <= names
    assert [t.name for t in models.DEFAULT_TOPICS] == [
        "delivery", "quality", "price", "customer_service", "returns", "packaging", "website", "size_fit"]
    assert all(t.description and len(t.examples) >= 3 for t in models.DEFAULT_TOPICS)


def test_clear_negative_and_positive(classifier):
    neg, pos = classifier.classify([
        "Worst purchase ever. It fell apart after one day and I want my money back.",
        "Absolutely love this dress, it's beautiful and so comfortable!",
    ])
    assert isinstance(neg, Classification) and neg.sentiment == "negative"
    assert pos.sentiment == "positive"
    assert abs(sum(pos.scores.values()) - 1) < 1e-4 and set(pos.scores) == {"negative", "neutral", "positive"}
    assert classifier.name and neg.model == classifier.name


def test_per_topic_sentiment(classifier):
    (result,) = classifier.classify(["Parcel two weeks late, but the jacket is gorgeous"])
    topics = {t.name: t.sentiment for t in result.topics}
    # Each topic takes its own clause's sentiment: the issue's own example.
    assert topics == {"delivery": "negative", "quality": "positive"}


def test_a_neutral_topic_mention_stays_neutral(classifier):
    (result,) = classifier.classify(["Ordered the trail runners in size 42."])
    assert [(t.name, t.sentiment) for t in result.topics] == [("size_fit", "neutral")]


def test_contrasting_clauses_differ(classifier):
    (result,) = classifier.classify(["The delivery was a disaster and took weeks, but the jacket is gorgeous"])
    topics = {t.name: t.sentiment for t in result.topics}
    assert topics.get("delivery") == "negative" and topics.get("quality") == "positive"


def test_topics_found(classifier):
    results = classifier.classify([
        "Customer service never answered my emails about the refund.",
        "Runs small, I had to order a size up.",
        "Way too expensive for what you get.",
    ])
    assert "customer_service" in {t.name for t in results[0].topics}
    assert "size_fit" in {t.name for t in results[1].topics}
    assert "price" in {t.name for t in results[2].topics}


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x00"])
def test_empty_texts_are_neutral(classifier, text):
    (result,) = classifier.classify([text])
    assert result.sentiment == "neutral" and result.topics == ()


def test_nul_and_huge_texts_do_not_crash(classifier):
    huge = ("The delivery was late and the box was crushed. " * 220_000)[:10_000_000]
    start = time.time()
    nul, big, ok = classifier.classify(["great\x00 product, love it", huge, "fine"])
    assert time.time() - start < 60
    assert nul.sentiment in {"negative", "neutral", "positive"}
    assert big.sentiment in {"negative", "neutral"}
    assert {"delivery", "packaging"} & {t.name for t in big.topics}
    assert ok.sentiment in {"negative", "neutral", "positive"}


def test_order_and_count_preserved(classifier):
    texts = ["I hate it", "", "I love it", "  "]
    results = classifier.classify(texts)
    assert len(results) == 4
    assert [r.sentiment for r in results][1] == "neutral"


def test_language_is_recorded(classifier):
    de, en = classifier.classify([
        "Das Paket kam zwei Wochen zu spät, aber die Jacke ist wunderschön.",
        "The parcel came two weeks late but the jacket is lovely.",
    ])
    assert de.lang == "de" and en.lang == "en"


def test_long_text_is_split_into_windows():
    from models.encoder import Encoder

    encoder = Encoder(max_length=64)
    windows, owner = encoder.windows(["word " * 500, "short"])
    assert owner.count(0) > 1 and owner.count(1) == 1
    assert all(len(w) <= 64 for w in windows)


def test_a_tokenizer_without_cls_is_refused_when_the_encoder_loads(tmp_path):
    """Such a tokenizer once loaded and then failed on the first text, deep in torch
    ("Could not infer dtype of NoneType"): the [CLS] id was None."""
    import json

    from models.encoder import Encoder, bundled_path

    for item in bundled_path().iterdir():
        (tmp_path / item.name).symlink_to(item)
    spec = json.loads((bundled_path() / "tokenizer.json").read_text())
    spec["model"]["vocab"].pop("[CLS]")
    spec["added_tokens"] = [t for t in spec["added_tokens"] if t["content"] != "[CLS]"]
    spec["post_processor"] = None
    (tmp_path / "tokenizer.json").unlink()
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match=r"no \[CLS\] or \[SEP\] token"):
        Encoder(tmp_path, max_length=64)


# -- Hugging Face models ------------------------------------------------------------------------

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "parcel", "was", "late", "good",
         "bad", "jacket", "is", "gorgeous", "i", "love", "it", "hate", ",", ".", "but", "##s"]


def tiny_model(folder: Path, id2label: dict[int, str]) -> Path:
    """A randomly initialised 2-layer BERT classifier with its own WordPiece vocab."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=len(id2label),
                        id2label=id2label, label2id={v: k for k, v in id2label.items()})
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("id2label, expected", [
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, ["negative", "neutral", "positive"]),
    ({0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"},
     ["negative", "negative", "neutral", "positive", "positive"]),
    ({0: "positive", 1: "negative", 2: "neutral"}, ["positive", "negative", "neutral"]),
    ({0: "NEGATIVE", 1: "POSITIVE"}, ["negative", "positive"]),
])
def test_label_mapping(id2label, expected):
    assert map_labels(id2label) == expected


def test_label_mapping_explicit_and_unknown():
    assert map_labels({0: "bad", 1: "meh", 2: "good"}, {"bad": "negative", "meh": "neutral", "good": "positive"}) == [
        "negative", "neutral", "positive"]
    with pytest.raises(ModelError, match=r"\[model\] labels"):
        map_labels({0: "joy", 1: "anger"})


@pytest.mark.parametrize("id2label", [
    {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
    {0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"},
    {0: "negative", 1: "neutral", 2: "positive"},
])
def test_hf_model_from_local_path(tmp_path, id2label):
    folder = tiny_model(tmp_path / "tiny", id2label)
    clf = models.load_classifier({"sentiment": str(folder)}, models.DEFAULT_TOPICS)
    results = clf.classify(["the parcel was late, but the jacket is gorgeous", "", "i love it " * 100])
    assert len(results) == 3 and results[1].sentiment == "neutral"
    for r in results:
        assert abs(sum(r.scores.values()) - 1) < 1e-4
    assert clf.name == f"hf:{folder}"


def test_hf_labels_table_from_config(tmp_path):
    folder = tiny_model(tmp_path / "tiny", {0: "bad", 1: "ok", 2: "good"})
    with pytest.raises(ModelError, match="labels"):
        models.load_classifier({"sentiment": str(folder)}, [])
    labels = {"bad": "negative", "ok": "neutral", "good": "positive"}
    clf = models.load_classifier({"sentiment": str(folder), "labels": labels}, [])
    assert clf.classify(["i love it"])[0].topics == ()


def test_missing_hub_model_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError) as info:
        models.load_classifier({"sentiment": "acme/no-such-sentiment-model"}, [])
    message = str(info.value)
    assert "acme/no-such-sentiment-model" in message and str(tmp_path / "hf") in message
    assert "HF_HOME" in message and "local" in message.lower()


def test_bad_model_path_is_clear(tmp_path):
    with pytest.raises(ModelError, match="model train"):
        models.load_classifier({"path": str(tmp_path / "nowhere")}, [])


def test_one_token_close_to_a_topic_raises_its_score():
    """A topic named once in a long text lifts the score through its token, not the mean."""
    import numpy as np

    from models.taxonomy import TopicSpec
    from models.topics import TopicIndex

    axes = np.eye(4, dtype=np.float32)
    index = TopicIndex.build([TopicSpec("a", "a"), TopicSpec("b", "b"), TopicSpec("c", "c")],
                             lambda texts: axes[["abc".index(t) for t in texts]], token_weight=1.0)
    tokens = np.tile(axes[3], (10, 1)) + 0.01  # filler, far from every topic
    tokens[5] = axes[1]  # one token that is topic b
    scores = index.token_scores(tokens)
    assert int(np.argmax(scores)) == 1 and scores[1] > 0.5
    segments = np.zeros((1, 3), dtype=np.float32)
    with_tokens, _ = index.text_scores("x", segments, tokens)
    without, _ = index.text_scores("x", segments)
    assert with_tokens[1] - without[1] == pytest.approx(scores[1]) and with_tokens[0] < with_tokens[1]
    tokens[0] = axes[2]  # [CLS] is not a word: it never counts
    assert index.token_scores(tokens)[2] < 0.1
