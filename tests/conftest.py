"""Shared fixtures: the real bundled model (loaded once), temporary configs, ../shared paths."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Callable

import pytest
from localserver import local_server  # noqa: F401  (the fixture, for every test module)

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SENTIMON_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: tests that read ../shared data or fixtures need it beside the project")
    return path


@pytest.fixture(autouse=True)
def _isolated_process_state():
    """Process-wide state a test may change is put back after it: the secrets the log filter
    masks (every loaded config adds its own) and the outbox's record of failing notifiers
    (one warning per outage), so no test passes or fails because of the one before it."""
    from alerts import outbox
    from sentimon.logs import redactor

    secrets = set(redactor.secrets)
    with outbox._outages_lock:
        outages = dict(outbox._outages)
    yield
    redactor.secrets.clear()
    redactor.secrets.update(secrets)
    with outbox._outages_lock:
        outbox._outages.clear()
        outbox._outages.update(outages)


@pytest.fixture(scope="session")
def classifier():
    """The real bundled model, loaded once for the whole test session."""
    import models

    return models.load_classifier({}, models.DEFAULT_TOPICS)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a sentimon.toml into tmp_path from a dedented string; return its path."""

    def write(text: str, name: str = "sentimon.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
