"""Datasette as a real process serves the tables and canned queries from `sentimon datasette`."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

from pathlib import Path

import pytest
from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.datasette_meta import CANNED_QUERIES
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The venv's bin is not on PATH when tests run as `.venv/bin/python -m pytest`: look beside python.
DATASETTE = shutil.which("datasette", path=str(Path(sys.executable).parent)) or shutil.which("datasette")


@pytest.mark.skipif(DATASETTE is None, reason="datasette is not installed (pip install -e '.[dev]')")
def test_datasette_serves_canned_queries(tmp_path, write_config):
    config = write_config('[storage]\npath = "s.db"\n')
    store = Store(tmp_path / "s.db")
    now = datetime.now(timezone.utc)
    cls = Classification("negative", {"negative": 0.9, "neutral": 0.05, "positive": 0.05},
                         (TopicScore("delivery", 0.8, "negative"),), "t")
    store.save_batch("shop", [Mention("shop", "1", "late parcel", now)], [cls])
    store.close()
    meta = tmp_path / "metadata.json"
    result = CliRunner().invoke(cli, ["--config", str(config), "datasette", "--out", str(meta)])
    assert result.exit_code == 0, result.output
    port = free_port()
    proc = subprocess.Popen([DATASETTE, str(tmp_path / "s.db"), "-m", str(meta), "-p", str(port), "-h", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/s"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        for name in CANNED_QUERIES:
            with urllib.request.urlopen(f"{base}/{name}.json?_shape=array", timeout=10) as response:
                rows = json.load(response)
            if name == "negative_last_24h_by_topic":
                assert rows == [{"topic": "delivery", "negative_mentions": 1}]
            if name == "daily_negative_share":
                assert rows[0]["negative_share"] == 1.0
        with urllib.request.urlopen(f"{base}/mentions.json?_facet=sentiment", timeout=10) as response:
            page = json.load(response)
        assert page["facet_results"]["sentiment"]["results"][0]["value"] == "negative"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
