"""Every config error exits 2 with one line naming the file, the key and what was expected."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner
from config_support import assert_problems

from sentimon.cli import cli
from sentimon.config import load_config
from sentimon.errors import ConfigError

GOOD = """
[storage]
path = "data/s.db"

[[connectors]]
name = "exports"
type = "files"
path = "exports/*.jsonl"
every = "90s"
fields = { text = "Body" }

[[alerts]]
name = "spike"
metric = "negative_share"
window = "1h"
baseline = "7d"
notify = ["ops"]

[notifiers.ops]
type = "console"
"""


def test_good_config_loads_with_defaults_and_resolved_paths(write_config):
    path = write_config(GOOD)
    config = load_config(path)
    assert config.db_path == path.parent / "data" / "s.db"
    entry = config.connector("exports")
    assert entry.every == timedelta(seconds=90)
    assert entry.options["path"] == path.parent / "exports" / "*.jsonl"
    assert entry.options["fields"] == {"text": "Body"}
    assert config.daemon["check_every"] == timedelta(minutes=5)
    assert [t.name for t in config.topics][:2] == ["delivery", "quality"]


def test_env_reference_expands_and_is_remembered_as_secret(write_config, monkeypatch):
    monkeypatch.setenv("PUSH_TOKEN", "s3cret-token-value")
    config = load_config(write_config('[server]\ntoken = "${PUSH_TOKEN}"\n'))
    assert config.server["token"] == "s3cret-token-value"
    assert "s3cret-token-value" in config.secrets


BAD = [
    ("unknown key", '[storage]\npath = "x.db"\ncolour = "red"\n', "storage.colour", "unknown key"),
    ("unknown section", "[storgae]\n", "storgae", "unknown section"),
    ("wrong type", "[storage]\nretention_days = \"ten\"\n", "storage.retention_days", "expected an integer"),
    ("bad duration", '[[connectors]]\nname = "a"\ntype = "files"\npath = "x"\nevery = "5x"\n',
     "connectors[0].every", "not a duration"),
    ("unknown connector type", '[[connectors]]\nname = "a"\ntype = "myspace"\n',
     "connectors[0].type", "available: "),
    ("missing connector option", '[[connectors]]\nname = "a"\ntype = "files"\n',
     "connectors[0].path", "missing"),
    ("duplicate connector name",
     '[[connectors]]\nname = "a"\ntype = "files"\npath = "x"\n[[connectors]]\nname = "a"\ntype = "files"\npath = "y"\n',
     "connectors[1].name", "duplicate"),
    ("missing env var", '[server]\ntoken = "${SENTIMON_TEST_SURELY_UNSET}"\n',
     "server.token", "environment variable SENTIMON_TEST_SURELY_UNSET is not set"),
    ("unknown notifier type", '[notifiers.x]\ntype = "carrier-pigeon"\n', "notifiers.x", "carrier-pigeon"),
    ("notify names a missing notifier",
     '[[alerts]]\nname = "s"\nmetric = "volume"\nwindow = "1h"\nbaseline = "7d"\nnotify = ["nobody"]\n',
     "alerts[0].notify", "no notifier named 'nobody'"),
    ("not toml", "[storage\npath=", "", "not valid TOML"),
]


@pytest.mark.parametrize("label, text, key, expected", BAD, ids=[b[0] for b in BAD])
def test_each_config_error_is_one_line_with_exit_2(write_config, label, text, key, expected):
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and key in message and expected in message
    result = CliRunner().invoke(cli, ["--config", str(path), "mentions"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and key in lines[0]
    assert "Traceback" not in result.output


def test_missing_config_file_says_how_to_create_one(tmp_path):
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.toml"), "stats"])
    assert result.exit_code == 2 and "sentimon init" in result.output


def test_config_error_through_a_real_process(write_config):
    path = write_config('[daemon]\ncheck_every = "often"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "sentimon.cli", "--config", str(path), "doctor"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "daemon.check_every" in proc.stderr and "Traceback" not in proc.stderr


def test_a_connector_without_every_runs_on_the_documented_15m(write_config):
    """Defaults are converted like written values: the daemon schedules ``every.total_seconds()``
    (a str default crashed `sentimon run`), and duration options such as reddit's overlap too."""
    config = load_config(write_config(
        '[[connectors]]\nname = "a"\ntype = "files"\npath = "x.csv"\n'
        '[[connectors]]\nname = "r"\ntype = "reddit"\nquery = "acme"\nclient_id = "i"\n'
        'client_secret = "s"\nuser_agent = "ua"\n'
    ))
    assert config.connector("a").every.total_seconds() == 15 * 60
    assert config.connector("r").options["overlap"] == timedelta(minutes=15)


def test_list_defaults_are_never_shared_between_configs(write_config):
    first, second = load_config(write_config("")), load_config(write_config(""))
    first.server["channels"].append("mutated")
    assert second.server["channels"] == []


def test_every_problem_of_a_file_is_reported_in_one_run(write_config):
    path = write_config(
        "[storgae]\n"
        '[storage]\nretention_days = "ten"\n'
        '[daemon]\ncheck_every = "often"\n'
        '[[connectors]]\nname = "a"\ntype = "files"\npath = "x"\nevery = "5x"\n'
        '[[connectors]]\nname = "b"\ntype = "myspace"\n'
        '[notifiers.x]\ntype = "carrier-pigeon"\n'
        '[[alerts]]\nname = "s"\nmetric = "volume"\nwindow = "1h"\nbaseline = "7d"\nnotify = ["x"]\n'
    )
    keys = ["storgae", "storage.retention_days", "notifiers.x", "connectors[0].every",
            "connectors[1].type", "daemon.check_every"]
    assert_problems(path, keys)  # alerts[0].notify names x, whose problem is reported once
    result = CliRunner().invoke(cli, ["--config", str(path), "mentions"])
    assert result.exit_code == 2 and all(key in result.output for key in keys)
