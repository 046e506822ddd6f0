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


def test_the_table_splits_out_the_waves_at_the_nominal_volume():
    # "A doubling at 40 mentions an hour": the stream averages 40/h, but a wave starting at 22:00
    # runs at ~20/h for its first three hours. The table reports both the whole count and the
    # waves whose first 3 windows run at the nominal volume or more (by day on a weekday).
    bench = _bench()
    stream = next(s for s in bench.STREAMS if s.name == "medium 40/h" and s.window == 1)
    monday = 7 * 24  # hour 168 is day 7, a weekday like day 0
    day, night, weekend_night = monday + 12, monday + 22, 5 * 24 + 1
    assert bench.busy(stream, day) and not bench.busy(stream, night) and not bench.busy(stream, weekend_night)
    assert bench.rhythm(monday + 15) == pytest.approx(1.6) and bench.rhythm(monday + 3) == pytest.approx(0.4)
    tally = {"total": {}, "delays": {}}
    bench._score(tally, "sustained", stream, day, 2.0, 24, [day + 2.5])
    bench._score(tally, "sustained", stream, night, 2.0, 24, [night + 5.0])
    row = bench._row(stream, "sustained medium", {**tally, "false": 0, "quiet_weeks": 1})
    assert row["sustained x2 <=3w"] == 0.5 and row["sustained x2 <=6w"] == 1.0
    assert row["sustained x2 <=3w busy"] == 1.0 and row["sustained x2 busy runs"] == 1
    assert any("nominal volume or more: 100%" in line for line in bench.verdicts(
        [{**row, "stream": "medium 40/h", "window": "1h", "rule": "sustained medium"}]))
