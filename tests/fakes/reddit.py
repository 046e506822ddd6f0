"""A stand-in for Reddit, replaying PRAW's recorded traffic, in the documented shapes (cited in
``test_connector_reddit.py``). Its tests, the contract suite and the config runs share it, so
each source's fake is written once and no test module imports another."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import shared_path


def cassette(name: str) -> Path:
    return shared_path("fixtures", "reddit", name)


def listing_body(name: str, index: int = 1) -> dict:
    interaction = json.loads(cassette(name).read_text())["interactions"][index]
    return json.loads(interaction["response"]["body"]["string"])
