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
