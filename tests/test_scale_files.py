"""docs/scale.md's deployment files: the commands they run exist with the options they pass,
and the compose file is valid YAML whose services run sentimon commands."""

from __future__ import annotations

import configparser
from pathlib import Path

import yaml
from click.testing import CliRunner

from sentimon.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, (args, result.output)
    return result.output


def test_the_worker_unit_runs_sentimon_worker_with_a_name():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(ROOT / "contrib" / "sentimon-worker@.service")
    command = unit["Service"]["ExecStart"].split()
    assert command[0].endswith("/sentimon") and command[1] == "worker"
    assert "--name" in command and "--name" in _help("worker")
    assert unit["Service"]["KillSignal"] == "SIGTERM"


def test_the_compose_file_upgrades_once_then_starts_workers():
    compose = yaml.safe_load((ROOT / "contrib" / "compose.yaml").read_text())
    services = compose["services"]
    assert services["upgrade"]["command"] == ["sentimon", "db", "upgrade"]
    assert services["worker"]["command"] == ["sentimon", "worker"]
    assert services["worker"]["depends_on"]["upgrade"]["condition"] == "service_completed_successfully"
    assert services["upgrade"]["build"]["args"]["EXTRAS"] == "postgres"
    for name in ("upgrade", "worker"):
        _help(*services[name]["command"][1:])
    assert 'ARG EXTRAS' in (ROOT / "Dockerfile").read_text()
