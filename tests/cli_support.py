"""The real CLI run in-process (click's runner), for tests of the commands."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sentimon.cli import cli


def run(*args: str, config: Path | None = None, input: str | None = None, env: dict | None = None):
    """``sentimon [--config config] args...``; exceptions propagate, so a traceback fails the test."""
    prefix = ["--config", str(config)] if config else []
    return CliRunner().invoke(cli, [*prefix, *args], input=input, env=env, catch_exceptions=False)
