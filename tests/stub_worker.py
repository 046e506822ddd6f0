"""``python tests/stub_worker.py CONFIG [DELAY]``: a real `sentimon worker` process with the
keyword classifier (each batch of the model waits DELAY seconds, so a test can kill a worker
mid-run), the test-only ``clocked`` connector type (workers_support.ClockedConnector), the
schedule ticking every second and a dead worker noticed after 2 s. $SENTIMON_TEST_QUEUES picks
the queues it serves (comma-separated; default all); with $SENTIMON_TEST_NO_MODEL set, loading
the model raises (a fetch-only worker must never load it)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stubs import KeywordClassifier  # noqa: E402

from connectors.base import BUILTIN  # noqa: E402

from sentimon.app import App  # noqa: E402
from sentimon.config import load_config  # noqa: E402
from sentimon.logs import setup_logging  # noqa: E402
from sentimon.worker import QUEUES, run_worker  # noqa: E402


class Slow(KeywordClassifier):
    def __init__(self, delay: float) -> None:
        self.delay = delay

    def classify(self, texts):
        time.sleep(self.delay)
        return super().classify(texts)


if __name__ == "__main__":
    config = Path(sys.argv[1])
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    BUILTIN["clocked"] = "workers_support:ClockedConnector"  # a test-only connector type
    setup_logging()
    app = App(config, load_config(config))
    app._classifier = Slow(delay)
    if os.environ.get("SENTIMON_TEST_NO_MODEL"):
        def no_model() -> None:
            raise RuntimeError("this worker must not load the model")

        app.classifier = no_model  # type: ignore[method-assign]
    tick = os.environ.get("SENTIMON_TEST_TICK", "* * * * * *")
    if os.environ.get("SENTIMON_TEST_CLAIM_LEASE"):  # a killed sender's rows free up in seconds
        from datetime import timedelta

        from alerts import outbox

        outbox.CLAIM_LEASE = timedelta(seconds=float(os.environ["SENTIMON_TEST_CLAIM_LEASE"]))
    if os.environ.get("SENTIMON_TEST_PER_JOB"):  # classify jobs chained after this many mentions
        from sentimon import worker_classify

        worker_classify.PER_JOB = int(os.environ["SENTIMON_TEST_PER_JOB"])
    chosen = os.environ.get("SENTIMON_TEST_QUEUES")
    queues = tuple(chosen.split(",")) if chosen else QUEUES
    run_worker(app, name=f"test-{delay}", tick=tick, heartbeat=0.5, stalled_after=2.0, queues=queues)
