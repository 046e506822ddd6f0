"""Issue 14: a 1-mention push sent while a 1,000-mention push is being classified, with the
real model, on a real push endpoint (127.0.0.1).

    python bench/push.py                 # 1,000 mentions; a 1-mention push every 2 s meanwhile
    python bench/push.py --large 200     # smaller

Before the fix the small push waited for the whole batch (34.7 s behind 36 s); now it waits
for at most the model chunk in hand (``sentimon/push_ingest.py``). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentimon.app import App  # noqa: E402
from sentimon.push import start_push_server  # noqa: E402

TOKEN = "bench-push-token-0123456789abcdef"
PHRASES = [
    "The parcel arrived {n} days late and tracking never updated.",
    "Love the boots, order {n} fits perfectly and the leather is soft.",
    "Refund for order {n} still not processed after three weeks, support never answers.",
]


def post(url: str, items: list[dict]) -> tuple[float, int]:
    began = time.monotonic()
    reply = requests.post(f"{url}/v1/mentions", data=json.dumps(items), timeout=600,
                          headers={"Authorization": f"Bearer {TOKEN}",
                                   "Content-Type": "application/json"})
    return time.monotonic() - began, reply.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between small pushes")
    args = parser.parse_args()
    os.environ["SENTIMON_PUSH_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sentimon.toml"
        config.write_text('[storage]\npath = "s.db"\n[server]\nport = 0\n'
                          'token = "${SENTIMON_PUSH_TOKEN}"\n', encoding="utf-8")
        app = App(config)
        app.classifier()  # loaded before timing, as a running daemon has it
        server = start_push_server(app, rate=1000, burst=1000)
        try:
            large = [{"id": f"big-{i}", "text": PHRASES[i % 3].format(n=i)} for i in range(args.large)]
            done: dict[str, float] = {}
            thread = threading.Thread(target=lambda: done.update(zip(("seconds", "status"), post(server.url, large))))
            thread.start()
            small: list[float] = []  # every small push sent while the large one ran
            before_large = 0  # ... and answered before it
            time.sleep(1.0)
            while thread.is_alive():
                seconds, status = post(server.url, [{"text": f"small push {len(small)}: parcel late"}])
                assert status == 200, status
                small.append(seconds)
                before_large += thread.is_alive()
                time.sleep(args.every)
            thread.join()
        finally:
            server.shutdown()
            app.close()
    print(json.dumps({
        "large": args.large, "large_seconds": round(done["seconds"], 1), "large_status": done["status"],
        "small_pushes_sent_meanwhile": len(small), "answered_before_the_large": before_large,
        "small_p50_s": round(statistics.median(small), 2) if small else None,
        "small_max_s": round(max(small), 2) if small else None,
    }))


if __name__ == "__main__":
    main()
