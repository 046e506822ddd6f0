"""Ctrl-C during `sentimon fetch`: say so, stop cleanly after the batch in hand, and never hang;
the stop signals of the long-running `run` and `serve` (``stop_on_signals``).

The first Ctrl-C sets a stop event (the pipeline stops after the batch it is storing) and
prints that it is stopping; if the work has not ended ``grace`` seconds later (a request
hanging on a slow source), or on a second Ctrl-C, KeyboardInterrupt ends it. Nothing is lost
either way: each batch is stored with its cursor in one transaction, so an interrupted one is
simply fetched again next time.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import click

GRACE_SECONDS = 2.0
log = logging.getLogger(__name__)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM, Ctrl-C and SIGHUP set ``stop``, so `sentimon run` and `serve` finish the batch in
    hand, release the database lock and log why they stopped. SIGHUP too: its default action
    killed the daemon with no line in the log, and an operator who sent it after editing the
    config (as for many daemons) was left with none running and no clue why."""

    def on_signal(signum: int, _frame: Any) -> None:
        log_stop_signal(signum)
        stop.set()

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # what stops a long-running sentimon


def log_stop_signal(signum: int) -> None:
    """Say which signal stops us; for SIGHUP, that the config is not reloaded."""
    if signum == signal.SIGHUP:
        log.warning("received SIGHUP: sentimon does not reload its config; stopping "
                    "(start it again to apply a changed config)")
    else:
        log.info("received %s", signal.Signals(signum).name)


@contextmanager
def stop_on_interrupt(grace: float = GRACE_SECONDS) -> Iterator[threading.Event]:
    """Yield the event the first Ctrl-C sets; outside the main thread, just the event."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def give_up(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    def on_interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():
            give_up(signum, frame)
        stop.set()
        click.echo(f"\nstopping: finishing the batch in hand (at most {grace:.0f}s; Ctrl-C again to stop now)",
                   err=True)
        signal.setitimer(signal.ITIMER_REAL, grace)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    previous_alarm = signal.signal(signal.SIGALRM, give_up)
    try:
        yield stop
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(signal.SIGINT, previous)
