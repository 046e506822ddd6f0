"""``sentimon model eval|train|info`` through click's CliRunner, on small labelled files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentimon.cli import cli

SENTIMENT_ROWS = [
    {"text": "I love this, it is perfect", "label": "positive"},
    {"text": "Terrible, it broke on day one and support ignored me", "label": "negative"},
    {"text": "The package arrived on Tuesday", "sentiment": "neutral"},
    {"text": "Best shoes I have ever owned", "rating": 5},
    {"text": "Awful fit and cheap fabric", "rating": 1},
    {"text": "It's okay, nothing special", "rating": 3},
]
TOPIC_ROWS = [
    {"text": "Parcel two weeks late, but the jacket is gorgeous",
     "aspects": [{"category": "delivery", "polarity": "negative"}, {"category": "quality", "polarity": "positive"}]},
    {"text": "Way too expensive for what you get", "aspects": [{"category": "price", "polarity": "negative"}]},
    {"text": "The waiter was lovely", "aspects": [{"category": "staff", "polarity": "positive"}]},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def run(tmp_path):
    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--config", str(tmp_path / "absent.toml"), "model", *args],
                                  catch_exceptions=False)

    return invoke


def test_eval_sentiment_json(run, tmp_path):
    result = run("eval", str(write_jsonl(tmp_path / "s.jsonl", SENTIMENT_ROWS)), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"task", "n", "accuracy", "macro_f1", "macro_recall", "per_class", "confusion"} <= set(report)
    assert report["task"] == "sentiment" and report["n"] == 6
    assert set(report["per_class"]["negative"]) == {"precision", "recall", "f1", "support"}
    assert report["accuracy"] >= 0.5


def test_eval_sentiment_table(run, tmp_path):
    result = run("eval", str(write_jsonl(tmp_path / "s.jsonl", SENTIMENT_ROWS)))
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.stdout and "macro-recall" in result.stdout


def test_eval_topics_json(run, tmp_path):
    result = run("eval", str(write_jsonl(tmp_path / "t.jsonl", TOPIC_ROWS)), "--task", "topics",
                 "--format", "json", "--baseline")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"task", "n", "micro_f1", "macro_f1", "per_topic", "aspect_sentiment_accuracy"} <= set(report)
    assert "staff" not in report["per_topic"]  # gold categories outside the taxonomy are ignored
    assert report["per_topic"]["delivery"]["support"] == 1
    assert "baseline" in report


def test_eval_bad_file_is_one_line(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no label"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "absent.toml"), "model", "eval", str(bad)])
    assert result.exit_code == 1
    assert "bad.jsonl:1" in result.output and "Traceback" not in result.output


def test_train_then_use(run, tmp_path):
    rows = SENTIMENT_ROWS * 5
    data = write_jsonl(tmp_path / "train.jsonl", rows)
    out = tmp_path / "mine"
    result = run("train", str(data), "--out", str(out), "--epochs", "3")
    assert result.exit_code == 0, result.output
    assert (out / "meta.json").exists() and (out / "head.safetensors").exists()
    config = tmp_path / "sentimon.toml"
    config.write_text(f'[model]\npath = "{out}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "model", "info"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "sentimon-minilm-user" in result.stdout


def test_train_adapts_the_configured_model_unless_told_to_start_from_scratch(run, tmp_path):
    from safetensors.numpy import load_file

    data = write_jsonl(tmp_path / "train.jsonl", SENTIMENT_ROWS * 5)
    for args, warm in (((), True), (("--from-scratch",), False)):
        out = tmp_path / ("adapted" if warm else "scratch")
        result = run("train", str(data), "--out", str(out), *args)
        assert result.exit_code == 0, result.output
        meta = json.loads((out / "meta.json").read_text())
        assert ("warm_start" in meta) is warm and ("(was " in result.output) is warm
        # an adapted head reads the bundled model's tuned layers, so the folder carries them
        assert any(k.startswith("encoder.") for k in load_file(str(out / "head.safetensors"))) is warm
        assert (out / "anchors.safetensors").exists() is warm
        scored = run("eval", str(data), "--path", str(out), "--format", "json")
        assert json.loads(scored.stdout)["accuracy"] >= 0.8  # 30 rows are enough to learn from either way


def test_finetune_trains_the_top_layers_and_the_result_loads(run, tmp_path):
    """`--finetune` runs the tuned layers' forward and backward pass on the lean BERT
    (models/bert.py), ships them beside the head, and the folder classifies through eval."""
    from safetensors.numpy import load_file

    data = write_jsonl(tmp_path / "train.jsonl", SENTIMENT_ROWS * 5)
    out = tmp_path / "tuned"
    result = run("train", str(data), "--out", str(out), "--finetune", "--epochs", "3")
    assert result.exit_code == 0, result.output
    tensors = load_file(str(out / "head.safetensors"))
    assert {k.split(".")[3] for k in tensors if k.startswith("encoder.encoder.layer.")} == {"4", "5"}
    scored = run("eval", str(data), "--path", str(out), "--format", "json")
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["accuracy"] >= 0.8


def test_help_lists_commands(run):
    result = run("--help")
    assert result.exit_code == 0
    for command in ("eval", "train", "info"):
        assert command in result.stdout


def test_train_topic_thresholds(run, tmp_path):
    data = write_jsonl(tmp_path / "topics.jsonl", TOPIC_ROWS * 4)
    out = tmp_path / "calibrated"
    result = run("train", str(data), "--task", "topics", "--out", str(out), "--holdout", "0")
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "meta.json").read_text())
    assert "delivery" in meta["topic_thresholds"] and (out / "head.safetensors").exists()
    assert (out / "anchors.safetensors").exists()  # so adapting from this folder stays anchored


def test_eval_suite_scores_every_set_in_one_table(run, tmp_path):
    """--suite: validation.jsonl where a folder has one, else train.jsonl's held-out 10%; aspect
    sets with a shipped taxonomy are scored for topics, others skipped with the reason; rows with
    a language are also scored per language."""
    root = tmp_path / "data"
    for name in ("shop_reviews", "absa_mams_acsa", "laptops", "tweets_xx", "empty"):
        (root / name).mkdir(parents=True)
    write_jsonl(root / "shop_reviews" / "validation.jsonl", SENTIMENT_ROWS)
    write_jsonl(root / "shop_reviews" / "train.jsonl", [{"text": "never read", "label": "neutral"}])
    write_jsonl(root / "absa_mams_acsa" / "validation.jsonl", TOPIC_ROWS)
    write_jsonl(root / "laptops" / "train.jsonl", TOPIC_ROWS)
    write_jsonl(root / "tweets_xx" / "train.jsonl", SENTIMENT_ROWS * 10)  # 60 rows: 6 held out
    langs = [dict(r, language=lang) for r, lang in zip(SENTIMENT_ROWS, ["en", "en", "en", "de", "de", "de"])]
    write_jsonl(root / "tweets_xx" / "validation.jsonl", langs)
    (root / "tweets_xx" / "train.jsonl").unlink()
    (root / "shop_held").mkdir()
    write_jsonl(root / "shop_held" / "train.jsonl", SENTIMENT_ROWS * 10)

    result = run("eval", "--suite", str(root), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {r["set"]: r for r in report["results"]}
    assert set(rows) == {"absa_mams_acsa", "shop_held", "shop_reviews", "tweets_xx", "tweets_xx/de", "tweets_xx/en"}
    assert rows["shop_reviews"]["n"] == 6 and rows["shop_reviews"]["split"] == "validation"
    assert rows["shop_held"]["n"] == 6 and rows["shop_held"]["split"] == "train 10% held out"
    assert rows["absa_mams_acsa"]["task"] == "topics" and 0 <= rows["absa_mams_acsa"]["micro_f1"] <= 1
    assert rows["tweets_xx/de"]["n"] == 3 and rows["tweets_xx/en"]["n"] == 3
    assert 0 <= rows["shop_reviews"]["negative_recall"] <= 1
    assert any(s.startswith("laptops: aspect rows") for s in report["skipped"])
    assert any(s.startswith("empty: no validation") for s in report["skipped"])
    table = run("eval", "--suite", str(root)).stdout
    assert "tweets_xx/de" in table and "skipped laptops" in table


def test_eval_suite_refuses_files_beside_it(run, tmp_path):
    (tmp_path / "d").mkdir()
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "absent.toml"), "model", "eval", "--suite",
                                      str(tmp_path / "d"), str(write_jsonl(tmp_path / "x.jsonl", SENTIMENT_ROWS))])
    assert result.exit_code == 2 and "--suite" in result.output


def test_model_info_says_which_backend_runs_and_why(tmp_path, monkeypatch):
    import torch

    from models.classifier import resolve_backend

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert resolve_backend("auto", {"auto_backend": "bf16"}) == ("fp32", "auto: this CPU has no bf16 support, so fp32")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert resolve_backend("auto", {"auto_backend": "bf16"})[0] == "bf16"
    assert resolve_backend("int8", {"auto_backend": "bf16"}) == ("int8", "set in [model] backend")
    config = tmp_path / "sentimon.toml"
    config.write_text('[model]\nbackend = "fp32"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "model", "info"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "backend: fp32 (set in [model] backend), " in result.stdout and " threads" in result.stdout
