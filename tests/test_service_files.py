"""The systemd unit and Dockerfile say what docs/deploy.md promises."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(ROOT / "contrib" / "sentimon.service")
    return parser


def test_unit_restarts_runs_unprivileged_reads_secrets_and_stops_gracefully():
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] == "sentimon" != "root"
    assert service["EnvironmentFile"].startswith("/etc/sentimon/")
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) >= 10
    assert service["ExecStart"].endswith("sentimon run")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_unit_passes_systemd_analyze_verify(tmp_path):
    text = (ROOT / "contrib" / "sentimon.service").read_text()
    text = text.replace("/opt/sentimon/.venv/bin/sentimon", sys.executable + " -m sentimon.cli")
    path = tmp_path / "sentimon.service"
    path.write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    problems = [line for line in result.stderr.splitlines() if "sentimon.service" in line and "User" not in line]
    assert not problems, result.stderr


def test_dockerfile_pins_cpu_torch_and_uses_a_volume():
    text = (ROOT / "Dockerfile").read_text()
    assert "torch==2.13.0" in text and "/whl/cpu" in text
    assert 'VOLUME ["/data"]' in text and "USER sentimon" in text and "STOPSIGNAL SIGTERM" in text
