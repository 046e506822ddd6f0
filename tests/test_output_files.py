"""Files the CLI writes with customer text are private (0600), and a period that overflows the
calendar means "from the start", not a traceback."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.mention import Classification, Mention
from sentimon.store import Store


@pytest.fixture
def project(tmp_path, write_config):
    config = write_config('[storage]\npath = "s.db"\n')
    store = Store(tmp_path / "s.db")
    scores = {"negative": 0.9, "neutral": 0.05, "positive": 0.05}
    store.save_batch("shop", [Mention("shop", "1", "parcel late", datetime.now(timezone.utc))],
                     [Classification("negative", scores, (), "t")])
    store.close()
    old = os.umask(0o022)  # the usual umask: files would be 0644 by default
    yield config
    os.umask(old)


def run(config, *args):
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_file_is_created_0600(project, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = run(project, "export", "--since", "30d", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "parcel late" in out.read_text() and mode(out) == 0o600


def test_the_report_is_created_0600(project, tmp_path):
    out = tmp_path / "report.html"
    result = run(project, "report", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600


def test_an_existing_file_keeps_the_mode_its_owner_gave_it(project, tmp_path):
    out = tmp_path / "shared.html"
    out.write_text("old")
    out.chmod(0o640)
    assert run(project, "report", "--out", str(out)).exit_code == 0
    assert mode(out) == 0o640 and out.read_text().startswith("<!doctype html>")


@pytest.mark.parametrize("command", [
    ["mentions", "--since", "99999999d"], ["stats", "--since", "99999999999999d"],
    ["export", "--until", "99999999w"], ["report", "--since", "99999999d"],
    ["alerts", "list", "--since", "99999999d"],
])
def test_a_period_past_the_calendar_means_from_the_start(project, command, tmp_path, monkeypatch):
    """No mention is older than 1970, so a longer --since is everything (it overflowed)."""
    monkeypatch.chdir(tmp_path)  # `report` writes report.html here, not into the checkout
    result = run(project, *command)
    assert result.exit_code == 0, result.output
    assert result.exception is None


def test_since_before_1970_still_lists_the_mentions(project):
    result = run(project, "mentions", "--since", "99999999d", "--format", "jsonl")
    assert "parcel late" in result.output
