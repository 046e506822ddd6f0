"""Time as a CX team reads it: empty hours and days are zeros (sparklines keep time), and
`[display] timezone` shows and groups times in the team's zone, labelled, in the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.mention import Classification, Mention
from sentimon.store import Store

NEG = Classification("negative", {"negative": 0.9, "neutral": 0.05, "positive": 0.05}, (), "t")
POS = Classification("positive", {"negative": 0.05, "neutral": 0.05, "positive": 0.9}, (), "t")
TIMES = ["2026-11-02T10:00:00", "2026-11-05T12:00:00", "2026-11-05T23:30:00"]  # UTC


@pytest.fixture
def project(tmp_path, write_config):
    def make(display: str = ""):
        config = write_config(f'[storage]\npath = "s.db"\n{display}')
        store = Store(tmp_path / "s.db")
        mentions = [Mention("shop", str(i), f"text {i}", datetime.fromisoformat(t).replace(tzinfo=timezone.utc))
                    for i, t in enumerate(TIMES)]
        store.save_batch("shop", mentions, [NEG, POS, NEG])
        store.close()
        return lambda *args: CliRunner().invoke(cli, ["--config", str(config), *args])
    return make


def test_empty_days_are_zeros_so_the_sparkline_keeps_time(project):
    run = project()
    result = run("stats", "--since", "2026-11-01", "--until", "2026-11-07", "--by", "day", "--format", "json")
    groups = json.loads(result.output)["groups"]
    assert [g["day"] for g in groups] == [f"2026-11-0{d}" for d in range(1, 7)]
    assert [g["total"] for g in groups] == [0, 1, 0, 0, 2, 0]
    table = run("stats", "--since", "2026-11-01", "--until", "2026-11-07", "--by", "day")
    volume = next(line for line in table.output.splitlines() if line.startswith("volume"))
    assert len(volume.split()[-1]) == 6


def test_empty_hours_are_zeros(project):
    run = project()
    result = run("stats", "--since", "2026-11-05T10:00", "--until", "2026-11-05T14:00", "--by", "hour",
                 "--format", "json")
    assert [g["total"] for g in json.loads(result.output)["groups"]] == [0, 0, 1, 0]


def test_display_timezone_groups_and_labels_times(project):
    run = project('[display]\ntimezone = "Asia/Tokyo"\n')
    result = run("stats", "--since", "2026-11-05", "--until", "2026-11-07", "--by", "day", "--format", "json")
    body = json.loads(result.output)
    # 23:30 UTC on the 5th is 08:30 on the 6th in Tokyo; the bounds are Tokyo midnights
    assert [(g["day"], g["total"]) for g in body["groups"]] == [("2026-11-05", 1), ("2026-11-06", 1)]
    assert body["timezone"] == "Asia/Tokyo"
    table = run("stats", "--since", "2026-11-05", "--until", "2026-11-07", "--by", "day")
    assert "Asia/Tokyo" in table.output
    shown = run("mentions", "--since", "2026-11-01")
    assert "2026-11-06 08:30" in shown.output and "Asia/Tokyo" in shown.output


def test_a_zone_that_does_not_exist_is_one_line(project):
    run = project('[display]\ntimezone = "Europe/Londn"\n')
    result = run("stats")
    assert result.exit_code == 2 and "display.timezone" in result.output
