"""bench/alerts.py's complaint waves are the size they claim at every volume and check rate."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest


def _bench():
    path = Path(__file__).resolve().parent.parent / "bench" / "alerts.py"
    spec = importlib.util.spec_from_file_location("bench_alerts_waves", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_alerts_waves"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, mult", [("small 8/h", 2.0), ("small 8/h", 1.5), ("medium 40/h", 2.0)])
def test_a_wave_adds_the_complaints_that_multiply_the_share(name, mult):
    # At 8/h a quarter hour holds ~2 mentions, and a doubling adds 0.43 complaints to it: rounded
    # per quarter hour that was 0 most of the time (at night always), so the "doubling" the
    # table scored was ~1.6x by day and none at night.
    bench = _bench()
    stream = next(s for s in bench.STREAMS if s.name == name)
    start, length = 200, 48
    plain = bench.simulate(stream, 2, random.Random(5), [], 4)
    waved = bench.simulate(stream, 2, random.Random(5), [(start, mult, length)], 4)
    units = range(start * 4, (start + length) * 4)
    target = stream.share * mult
    owed = sum(plain[0][u] for u in units) * (target - stream.share) / (1 - target)
    added_n = sum(waved[0][u] - plain[0][u] for u in units)
    added_k = sum(waved[1][u] - plain[1][u] for u in units)
    assert added_n == added_k and abs(added_n - owed) <= 1
