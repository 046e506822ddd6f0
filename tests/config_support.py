"""Checks of a config file's error report, shared by the settings tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentimon.config import load_config
from sentimon.errors import ConfigError


def assert_problems(path: Path, keys: list[str]) -> None:
    """Loading ``path`` fails with one line per problem, in this order, each naming the file and
    the key: every mistake of the file is reported in one run."""
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = str(info.value).splitlines()
    assert len(lines) == len(keys), lines
    for line, key in zip(lines, keys):
        assert line.startswith(f"{path}: {key}"), (line, key)
