"""Fuzz budgets: small in the suite so it stays quick, raised on purpose to hunt further.

``SENTIMON_FUZZ_SCALE=10`` multiplies every fuzzer's ``max_examples`` by ten (the figures in
docs/RELIABILITY.md were measured that way); unset, each test runs its own default.
"""

from __future__ import annotations

import os


def budget(examples: int) -> int:
    """``examples`` times ``SENTIMON_FUZZ_SCALE`` (default 1), at least one."""
    return max(1, round(examples * float(os.environ.get("SENTIMON_FUZZ_SCALE", "1"))))
