"""Waiting in tests by polling a condition, never by a fixed sleep.

A fixed sleep is both slow (it always waits the worst case) and racy (on a loaded machine the
worst case is longer); polling returns as soon as the condition holds and fails, naming what
it waited for, only after a generous ``timeout``.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], timeout: float = 30.0, *, what: str = "condition",
    ignoring: tuple[type[BaseException], ...] = (), interval: float = 0.02,
) -> T:
    """Call ``condition`` until it returns something true and return that; exceptions in
    ``ignoring`` (a server not listening yet) count as not yet. AssertionError after
    ``timeout`` seconds. The interval grows to 0.2 s so a long wait costs little CPU."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except ignoring:
            pass
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout:g}s")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)
