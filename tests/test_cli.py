"""The CLI end to end with the real model: fetch, mentions, stats, classify, init, doctor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sentimon.cli import cli

ROWS = [
    {"id": "r1", "text": "The parcel arrived two weeks late and nobody answered my emails.", "rating": 1,
     "created_at": "2026-11-20T10:00:00Z", "title": "Never again"},
    {"id": "r2", "text": "Absolutely love these boots, so comfortable and the leather is gorgeous!", "rating": 5,
     "created_at": "2026-11-20T11:00:00Z"},
    {"id": "r3", "text": "Ordered the trail runners in size 42.", "rating": 3, "created_at": "2026-11-20T12:00:00Z"},
]


@pytest.fixture
def project(tmp_path, write_config, classifier):
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    config = write_config(
        '[[connectors]]\nname = "shop"\ntype = "files"\npath = "reviews.jsonl"\nfields = { external_id = "id" }\n'
    )
    return config


def invoke(config: Path, *args: str, input: str | None = None):
    result = CliRunner().invoke(cli, ["--config", str(config), *args], input=input, catch_exceptions=False)
    return result


def test_fetch_stores_classified_mentions_once(project):
    first = invoke(project, "fetch")
    assert first.exit_code == 0, first.output
    assert "shop: fetched 3, new 3, skipped 0" in first.output
    again = invoke(project, "fetch", "shop")
    assert "shop: fetched 0, new 0" in again.output

    rows = json.loads(invoke(project, "mentions", "--format", "json", "--since", "3650d").output)
    assert [r["external_id"] for r in rows] == ["r3", "r2", "r1"]
    assert set(rows[0]) >= {"id", "source", "external_id", "kind", "url", "author", "title", "text", "rating",
                            "created_at", "sentiment", "scores", "topics"}
    assert rows[0]["created_at"] == "2026-11-20T12:00:00Z"
    by_id = {r["external_id"]: r for r in rows}
    assert by_id["r1"]["sentiment"] == "negative" and by_id["r2"]["sentiment"] == "positive"
    assert abs(sum(by_id["r1"]["scores"].values()) - 1) < 0.01
    assert "delivery" in [t["name"] for t in by_id["r1"]["topics"]]


def test_mentions_filters_and_formats(project):
    invoke(project, "fetch")
    neg = json.loads(invoke(project, "mentions", "--format", "json", "--sentiment", "negative").output)
    assert [r["external_id"] for r in neg] == ["r1"]
    assert json.loads(invoke(project, "mentions", "--format", "json", "--search", "leather").output)[0]["external_id"] == "r2"
    assert json.loads(invoke(project, "mentions", "--format", "json", "--max-rating", "1").output)[0]["external_id"] == "r1"
    lines = invoke(project, "mentions", "--format", "jsonl", "--limit", "2").output.strip().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["source"] == "shop" for line in lines)
    csv_out = invoke(project, "mentions", "--format", "csv").output.splitlines()
    assert csv_out[0].startswith("id,source,external_id") and len(csv_out) == 4
    table = invoke(project, "mentions")
    assert table.exit_code == 0 and "SENTIMENT" in table.output and "Never again" in table.output
    bad = invoke(project, "mentions", "--since", "last tuesday")
    assert bad.exit_code == 2 and "neither a duration" in bad.output


def test_stats_json_and_sparkline(project):
    invoke(project, "fetch")
    stats = json.loads(invoke(project, "stats", "--since", "3650d", "--format", "json").output)
    assert stats["total"] == 3 and stats["negative"] >= 1
    assert stats["groups"][0]["day"] == "2026-11-20"
    by_source = json.loads(invoke(project, "stats", "--since", "3650d", "--by", "source", "--format", "json").output)
    assert by_source["groups"][0]["source"] == "shop"
    table = invoke(project, "stats", "--since", "3650d", "--by", "day")
    assert "negative share" in table.output


def test_classify_arguments_and_stdin(project):
    out = json.loads(invoke(project, "classify", "--format", "json", "Terrible, broken after a day").output)
    assert out[0]["sentiment"] == "negative" and set(out[0]["scores"]) == {"negative", "neutral", "positive"}
    lines = invoke(project, "classify", "--format", "jsonl", input="Love it\nHate it\n").output.strip().splitlines()
    assert [json.loads(x)["text"] for x in lines] == ["Love it", "Hate it"]


def test_init_never_overwrites_without_force(tmp_path):
    config = tmp_path / "sentimon.toml"
    assert invoke(config, "init").exit_code == 0
    assert "[topics.delivery]" in config.read_text()
    config.write_text(config.read_text() + "\n# my edit\n")
    refused = invoke(config, "init")
    assert refused.exit_code == 2 and "--force" in refused.output
    assert "# my edit" in config.read_text()
    assert invoke(config, "init", "--force").exit_code == 0
    assert "# my edit" not in config.read_text()


def test_doctor_reports_health_and_masks_secrets(project, monkeypatch):
    invoke(project, "fetch")
    result = invoke(project, "doctor", "--format", "json")
    checks = {c["name"]: c for c in json.loads(result.output)}
    assert result.exit_code == 0
    assert checks["package models"]["status"] == "ok"
    assert "3 mentions" in checks["database"]["detail"]
    assert checks["health shop"]["status"] == "ok"
    assert checks["model"]["status"] == "ok"


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


def test_every_command_has_help_and_is_in_the_readme():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for path, command in _commands(cli):
        assert command.help and len(command.help) > 20, f"{' '.join(path)} needs a help text"
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
        assert f"sentimon {path[0]}" in readme, f"README does not document `sentimon {path[0]}`"


@pytest.mark.slow
def test_demo_end_to_end_as_a_real_process(tmp_path):
    """What a newcomer runs: init --demo, run --once, then query, as real subprocesses."""
    exe = [sys.executable, "-m", "sentimon.cli", "--config", str(tmp_path / "sentimon.toml")]
    init = subprocess.run([*exe, "init", "--demo"], capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    run = subprocess.run([*exe, "run", "--once"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "shop-reviews: fetched" in run.stdout and "social: fetched" in run.stdout
    stats = json.loads(subprocess.run([*exe, "stats", "--since", "15d", "--format", "json"],
                                      capture_output=True, text=True, timeout=120).stdout)
    assert 250 <= stats["total"] <= 400
    recent = json.loads(subprocess.run(
        [*exe, "mentions", "--since", "12h", "--topic", "delivery", "--sentiment", "negative",
         "--format", "json", "--limit", "100"], capture_output=True, text=True, timeout=120).stdout)
    assert len(recent) >= 15  # the delivery burst of the last day is found by the model
    # the delivery burst raises exactly one alert, printed by the console notifier
    assert run.stdout.count("ALERT negative spike:") == 1, run.stdout
    assert "delivery" in run.stdout and "Examples" in run.stdout
    history = json.loads(subprocess.run([*exe, "alerts", "list", "--format", "json"],
                                        capture_output=True, text=True, timeout=120).stdout)
    assert len(history) == 1
    again = subprocess.run([*exe, "alerts", "check", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout)["delivered"] == 0 and "negative spike" not in again.stderr
