"""Issue 13, item 10: the config plain ``sentimon init`` writes carries a commented example of
every connector type, every notifier type and the ``[server]`` section, and each example,
uncommented as a user would, passes the real config check. A connector or notifier type
registered without an example fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import connectors
from alerts.notifiers import TYPES as NOTIFIER_TYPES
from sentimon.config import load_config
from sentimon.errors import ConfigError
from sentimon.setup_files import starter_config

_HEADER = re.compile(r"^# (\[\[connectors\]\]|\[\[alerts\]\]|\[notifiers\.[\w-]+\]|\[server\]|\[display\])$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def example_blocks(text: str) -> list[tuple[int, int]]:
    """(first, end) line ranges of each commented example: a ``# [header]`` line and the
    ``#`` lines after it, up to the first line that is blank or not a comment."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        if _HEADER.match(lines[index]):
            end = index + 1
            while end < len(lines) and lines[end].startswith("#"):
                end += 1
            blocks.append((index, end))
            index = end
        else:
            index += 1
    return blocks


def uncommented(text: str, chosen: list[tuple[int, int]]) -> str:
    """The template with the chosen blocks uncommented: one ``# `` taken off each line, so a
    commented option inside (``# # token = ...``) stays a comment, as in an editor."""
    lines = text.splitlines()
    for first, end in chosen:
        for i in range(first, end):
            if lines[i].startswith("#"):
                lines[i] = lines[i][2:] if lines[i].startswith("# ") else lines[i][1:]
    return "\n".join(lines) + "\n"


KEY_FILE = "/nonexistent/sentimon-test/key-file"


def fake_environment(text: str) -> dict[str, str]:
    """A value for every ``${NAME}`` the examples use: URLs where a URL is expected, a path
    where a key file is (one that is not there: the team's own key is no part of the template)."""
    def fake(name: str) -> str:
        if name.endswith("URL"):
            return "https://hooks.example.com/services/T0/B0/x"
        return KEY_FILE if name.endswith("_FILE") else "s3cret-value-0123456789abcdef"

    return {name: fake(name) for name in _ENV.findall(text)}


def header_of(text: str, block: tuple[int, int]) -> str:
    return text.splitlines()[block[0]][2:]


def type_of(text: str, block: tuple[int, int]) -> str | None:
    for line in text.splitlines()[block[0]:block[1]]:
        found = re.match(r'^# type = "([\w-]+)"', line)
        if found:
            return found.group(1)
    return None


TEXT = starter_config()
BLOCKS = example_blocks(TEXT)
STANDALONE = [b for b in BLOCKS if header_of(TEXT, b) != "[[alerts]]"]  # a rule needs its notifier


def load(tmp_path: Path, text: str):
    path = tmp_path / "sentimon.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=fake_environment(text))


def test_the_template_as_written_loads_with_no_connectors(tmp_path):
    config = load(tmp_path, TEXT)
    assert config.connectors == [] and config.notifiers == {} and config.server["enabled"] is False


def test_every_registered_connector_and_notifier_type_has_an_example():
    connector_types = {type_of(TEXT, b) for b in BLOCKS if header_of(TEXT, b) == "[[connectors]]"}
    notifier_types = {type_of(TEXT, b) for b in BLOCKS if header_of(TEXT, b).startswith("[notifiers.")}
    assert sorted(set(connectors.available_types()) - connector_types) == []
    assert sorted(set(NOTIFIER_TYPES) - notifier_types) == []
    assert "[server]" in {header_of(TEXT, b) for b in BLOCKS}


@pytest.mark.parametrize("block", STANDALONE, ids=[f"{header_of(TEXT, b)} {type_of(TEXT, b) or ''}".strip()
                                                  for b in STANDALONE])
def test_each_example_uncommented_alone_passes_the_config_check(tmp_path, block):
    config = load(tmp_path, uncommented(TEXT, [block]))
    header = header_of(TEXT, block)
    if header == "[[connectors]]":
        [entry] = config.connectors
        assert entry.type == type_of(TEXT, block)
        try:  # the connector's own checks (query or subreddits, ...) run when it is built
            entry.cls(entry.name, entry.options)
        except ConfigError as exc:  # only the user's install step or their own key file is missing
            if "optional" not in str(exc) and "sentimon[" not in str(exc) and KEY_FILE not in str(exc):
                raise
    elif header.startswith("[notifiers."):
        [(name, options)] = config.notifiers.items()
        assert options["type"] == type_of(TEXT, block)
    elif header == "[server]":
        assert config.server["enabled"] is True and config.server["token"]


def test_the_optional_lines_inside_the_examples_are_valid_too(tmp_path):
    """``# # key = ...`` lines, uncommented as well (twice), still load."""
    config = load(tmp_path, uncommented(uncommented(TEXT, STANDALONE), STANDALONE))
    files = next(e for e in config.connectors if e.type == "files")
    assert files.options["delimiter"] == ";" and config.server["channels"]


def test_every_example_uncommented_at_once_is_one_valid_config(tmp_path):
    """What a team gets by uncommenting everything: names unique, the rule's notifier defined."""
    config = load(tmp_path, uncommented(TEXT, BLOCKS))
    assert sorted(e.type for e in config.connectors) == sorted(connectors.available_types())
    assert sorted(o["type"] for o in config.notifiers.values()) == sorted(NOTIFIER_TYPES)
    assert config.alerts and all(t in config.notifiers for r in config.alerts for t in r["notify"])


def test_a_broken_example_would_fail_this_check(tmp_path):
    """The check is real: the same uncommenting with a key misspelt is refused."""
    [block] = [b for b in STANDALONE if type_of(TEXT, b) == "rss"]
    broken = uncommented(TEXT, [block]).replace("\nurl = ", "\nulr = ", 1)
    with pytest.raises(ConfigError) as info:
        load(tmp_path, broken)
    assert "ulr: unknown key" in str(info.value) and "url: missing" in str(info.value)


def test_the_commented_postgresql_line_in_storage_loads_when_uncommented(tmp_path):
    text = TEXT.replace('# url = "${SENTIMON_DATABASE_URL}"', 'url = "${SENTIMON_DATABASE_URL}"', 1)
    assert text != TEXT
    path = tmp_path / "sentimon.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path, environ={"SENTIMON_DATABASE_URL": "postgresql://cx@db.internal/sentimon"})
    assert config.storage.url == "postgresql://cx@db.internal/sentimon"
