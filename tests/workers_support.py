"""Real `sentimon worker` processes for tests and bench/workers.py: input files for files
connectors, a config on $SENTIMON_DATABASE_URL, start (tests/stub_worker.py) and stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg

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


def start(config_path: Path, url: str, delay: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "SENTIMON_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, str(TESTS / "stub_worker.py"), str(config_path), str(delay)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


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
