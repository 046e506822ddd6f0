"""Real `sentimon worker` processes for tests and bench/workers.py: input files for files
connectors, a config on $SENTIMON_DATABASE_URL, start (tests/stub_worker.py) and stop; and
``ClockedConnector`` (type ``clocked`` in stub_worker.py), which holds an API key, logs when
each run starts and ends, and can answer as a rate-limited source does (HTTP 429)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator

import psycopg

from connectors.base import Batch, Connector, ConnectorOptions
from sentimon.errors import ConnectorError
from sentimon.settings import setting

TESTS = Path(__file__).resolve().parent


def write_inputs(folder: Path, name: str, files: int, lines: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with (folder / f"{name}-{f}.jsonl").open("w") as out:
            for i in range(lines):
                text = "parcel late again" if i % 3 == 0 else "lovely shoes"
                out.write(json.dumps({"id": f"{name}-{f}-{i}", "text": text,
                                      "created_at": "2026-11-30T10:00:00Z"}) + "\n")
    return files * lines


def config(tmp_path: Path, sources: list[str]) -> Path:
    path = tmp_path / "sentimon.toml"
    blocks = "".join(f'[[connectors]]\nname = "{s}"\ntype = "files"\npath = "in/{s}/*.jsonl"\n'
                     'every = "1s"\n' for s in sources)
    path.write_text('[storage]\nurl = "${SENTIMON_DATABASE_URL}"\n' + blocks)
    path.chmod(0o600)
    return path


def start(config_path: Path, url: str, delay: float = 0.0,
          env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, **(env or {}), "SENTIMON_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, str(TESTS / "stub_worker.py"), str(config_path), str(delay)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


FETCH_ONLY = {"SENTIMON_TEST_QUEUES": "fetch,schedule,alerts", "SENTIMON_TEST_NO_MODEL": "1"}
CLASSIFY_ONLY = {"SENTIMON_TEST_QUEUES": "classify"}  # the env of a split deployment's two kinds


def by_sentiment(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Mentions per sentiment ('' for pending) counted in the rows and in the roll-ups (kept by
    triggers on each insert and classification): a batch written twice, or a classification
    lost, makes them differ."""
    counted = rows(url, "SELECT COALESCE(sentiment, ''), COUNT(*) FROM mentions GROUP BY 1")
    rolled = rows(url, "SELECT sentiment, SUM(n) FROM daily_sentiment GROUP BY 1 HAVING SUM(n) <> 0")
    return {k: int(v) for k, v in counted}, {k: int(v) for k, v in rolled}


def stop(*workers: subprocess.Popen) -> str:
    out = ""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        try:
            out += worker.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            worker.kill()
            out += worker.communicate()[0]
    return out


@dataclass(frozen=True, kw_only=True)
class ClockedOptions(ConnectorOptions):
    api_key: str = setting("str", "", secret=True, help="The credential; its value is never used.")
    log: Path = setting("path", help="Folder where each run appends {start, end} to NAME.jsonl.")
    hold: float = setting("float", 0.5, help="Seconds each run takes.")
    retry_after: float = setting("float", 0.0, help="When > 0, every run ends in a 429 asking this wait.")


class ClockedConnector(Connector):
    """A source that takes ``hold`` seconds a run and stores nothing: the tests read its log."""

    type: ClassVar[str] = "clocked"
    Options = ClockedOptions
    options: ClockedOptions

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        start = time.time()
        time.sleep(self.options.hold)
        with (self.options.log / f"{self.name}.jsonl").open("a") as out:
            out.write(json.dumps({"start": start, "end": time.time()}) + "\n")
        if self.options.retry_after:
            raise ConnectorError(f"{self.name}: HTTP 429 Too Many Requests",
                                 retry_after=self.options.retry_after)
        yield from ()


def clocked_config(tmp_path: Path, entries: dict[str, dict[str, Any]]) -> Path:
    """A config of clocked connectors, each run every second; ``entries``: name -> options."""
    (tmp_path / "runs").mkdir(exist_ok=True)
    blocks = "".join(
        f'[[connectors]]\nname = "{name}"\ntype = "clocked"\nlog = "runs"\n'
        + "".join(f"{key} = {json.dumps(value)}\n" for key, value in {"every": "1s", **options}.items())
        for name, options in entries.items())
    path = tmp_path / "sentimon.toml"
    path.write_text('[storage]\nurl = "${SENTIMON_DATABASE_URL}"\n' + blocks)
    path.chmod(0o600)
    return path


def clocked_runs(tmp_path: Path, name: str) -> list[tuple[float, float]]:
    """(start, end) of each finished run of connector ``name``."""
    path = tmp_path / "runs" / f"{name}.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(run["start"], run["end"]) for run in map(json.loads, lines)]
