"""The ``classify`` queue of `sentimon worker` (issue 18): fetching and classifying split, so a
GPU box (or a second CPU box) runs the model for every fetch box.

Why the split is decided by the queues a worker serves, not by a setting: where the model runs
is a property of the machine (``sentimon worker --queues classify`` on the GPU box,
``--queues fetch,schedule,alerts`` on the others), and a setting would have to agree across
every box's config. A worker that serves ``classify`` classifies what it fetches inline, as
before (the default serves every queue). A worker that does not never loads the model: its
fetch jobs store new mentions pending (sentiment NULL) with the cursor in the batch's
transaction, then defer ``sentimon.classify``.

``sentimon.classify`` classifies pending mentions through ``pending.classify_pending``, the push
endpoint's path (batches of 32, each written in one transaction, a text the model cannot read
set aside). The pending mentions are split into ``SHARDS`` by id, and a job classifies one
shard: up to ``SHARDS`` classify workers (boxes) work at once on a backlog without reading a
mention twice, and a single one takes the shards in turn. One job per shard runs at a time
(its ``lock``) and at most one waits (its ``queueing_lock``): deferrals that meet while one
waits merge. The schedule also defers them on every tick while mentions are pending, so a
classify worker killed mid-batch (its job marked failed with the fetch runs',
``worker.fail_stalled``) leaves nothing pending for long: the batch it was on was not written,
and the next job of its shard classifies it. ``set_classifications`` writes a mention only
while its sentiment is NULL, so a batch is never counted twice.

A job classifies at most ``PER_JOB`` mentions, then defers the next: a worker asked to stop
(SIGTERM ends the job in hand) waits for a few seconds on a GPU, not for a whole backlog.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from procrastinate import App as JobApp
from procrastinate import exceptions
from procrastinate.tasks import Task

from sentimon.pending import classify_pending

log = logging.getLogger(__name__)

CLASSIFY_QUEUE = "classify"
SHARDS = 4  # classify jobs that may run at once; every box must agree, so it is not a setting
PER_JOB = 3200  # mentions per job: 100 batches of 32


def shard_lock(shard: int) -> str:
    """The lock (and queueing lock) of one shard's classify jobs."""
    return f"sentimon.classify.{shard}"


def register(jobs_app: JobApp, app: Any) -> Task:
    """Add the ``sentimon.classify`` task to ``jobs_app``, bound to the sentimon ``app``."""
    unreadable: dict[int, str] = {}  # kept across jobs: such a text is not retried every tick

    def run(shard: int) -> tuple[int, bool]:
        enough = threading.Event()
        done = 0

        def progress(written: int) -> None:
            nonlocal done
            done += written
            if done >= PER_JOB:
                enough.set()

        classify_pending(app.store(), app.classifier, stop=enough, progress=progress,
                         unreadable=unreadable, shard=(shard % SHARDS, SHARDS))
        if done:
            log.info("classified %d pending mentions (shard %d)", done, shard)
        return done, enough.is_set()

    @jobs_app.task(name="sentimon.classify", queue=CLASSIFY_QUEUE)
    async def classify(shard: int = 0) -> str:
        done, more = await asyncio.to_thread(run, shard)
        if more:
            await request(classify, [shard])  # waits for this shard's lock; any classify worker
        return f"classified {done}"

    return classify


async def request(task: Task, shards: list[int] | None = None) -> None:
    """Defer a classify job for each of ``shards`` (default: all) unless one already waits
    for it (it will see these mentions too)."""
    for shard in range(SHARDS) if shards is None else shards:
        lock = shard_lock(shard)
        try:
            await task.configure(lock=lock, queueing_lock=lock).defer_async(shard=shard)
        except exceptions.AlreadyEnqueued:
            pass


async def sweep(task: Task, app: Any) -> None:
    """The schedule's tick: defer a classify job while anything is pending (what a killed
    classify worker, or a fetch box whose deferral was lost, left)."""
    if await asyncio.to_thread(lambda: app.store().pending_count()):
        await request(task)
