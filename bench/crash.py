"""Crash safety: SIGKILL the daemon at random moments while it imports a large source.

    python bench/crash.py                 # 20,000 mentions, 12 kills (the full check)
    python bench/crash.py --mentions 6000 --kills 10

Each round starts `sentimon run`, waits until it is storing (so the kill lands mid-batch or
mid-classification), sleeps a random fraction of a second and kills it with SIGKILL. A last
round lets it finish. Then every mention must be stored exactly once and the cursor must
point at the end of the file. tests/test_crash_safety.py runs the same scenario, smaller.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHRASES = [
    "The parcel arrived {n} days late and tracking never updated.",
    "Love the boots, order {n} fits perfectly and the leather is soft.",
    "Customer service answered ticket {n} within an hour, very helpful.",
    "Refund for order {n} still not processed after three weeks.",
    "Price went up again, {n} euros is too much for trainers.",
]


def write_source(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            f.write(json.dumps({"id": f"m{i}", "text": PHRASES[i % len(PHRASES)].format(n=i),
                                "created_at": "2026-11-20T10:00:00Z"}) + "\n")


def stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def run_scenario(workdir: Path, mentions: int, kills: int, seed: int = 1, timeout: float = 900) -> dict:
    rng = random.Random(seed)
    source = workdir / "source.jsonl"
    write_source(source, mentions)
    config = workdir / "sentimon.toml"
    config.write_text('[[connectors]]\nname = "bulk"\ntype = "files"\npath = "source.jsonl"\nevery = "1s"\n'
                      'fields = { external_id = "id" }\n')
    db = workdir / "sentimon.db"
    command = [sys.executable, "-m", "sentimon.cli", "--config", str(config), "run"]
    deadline = time.monotonic() + timeout
    kill_points = []
    for _ in range(kills):
        before = stored(db)
        if before >= mentions:
            break
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while stored(db) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kill_points.append(stored(db))
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while stored(db) < mentions and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # let it reach the next slot with nothing new
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT external_id) FROM mentions").fetchone()
        cursor = json.loads(conn.execute("SELECT cursor FROM cursors WHERE source = 'bulk'").fetchone()[0])
        without_classification = conn.execute("SELECT COUNT(*) FROM mentions WHERE sentiment IS NULL").fetchone()[0]
    position = cursor[str(source.resolve())]
    return {
        "mentions": mentions, "kills": len(kill_points), "stored_at_kills": kill_points,
        "stored": total, "distinct": distinct, "unclassified": without_classification,
        "cursor_offset": position["offset"], "file_size": source.stat().st_size,
        "cursor_line": position["line"], "exit_code": proc.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="SIGKILL the daemon repeatedly; check nothing is lost or doubled.")
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=12)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        result = run_scenario(Path(tmp), args.mentions, args.kills)
        seconds = time.monotonic() - started
    print("| mentions | SIGKILLs | stored | distinct | cursor at end of file | seconds |")
    print("|---:|---:|---:|---:|---|---:|")
    print(f"| {result['mentions']} | {result['kills']} | {result['stored']} | {result['distinct']} | "
          f"{result['cursor_offset'] == result['file_size']} | {seconds:.0f} |")
    print("stored when each kill landed:", result["stored_at_kills"])


if __name__ == "__main__":
    main()
