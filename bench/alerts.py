"""Alert quality benchmark: detection rate, delay and false alarms, against a naive rule.

Simulates weeks of hourly mention streams with daily and weekly seasonality in volume and
negative share, plus overdispersed noise (gamma-distributed volume, beta-distributed share),
injects complaint waves of several sizes, and replays the rules exactly as the daemon runs
them: ``alerts.rules.evaluate`` and ``alerts.rules.resolved`` with the open / resolve /
cooldown lifecycle, on a sliding window checked every 15 minutes (``--checks-per-hour``). The naive rule is what people configure by hand:
"alert when the negative share of the window exceeds 1.5x its usual level".

    python bench/alerts.py            # 26 weeks per stream
    python bench/alerts.py --quick    # CI=true does the same: 8 weeks, fewer seeds

Pure Python (no numpy): it runs anywhere sentimon does.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.rules import Counts, evaluate, resolved, validate_rule  # noqa: E402

HOURS_PER_WEEK = 168
SPIKE_HOURS = 3
MULTIPLIERS = (1.5, 2.0, 3.0)


@dataclass(frozen=True)
class Stream:
    name: str
    per_hour: float      # mean mentions an hour
    share: float         # mean negative share
    window: int          # rule window in hours (so a window holds a few dozen mentions)


STREAMS = (
    Stream("small 8/h", 8, 0.15, 4),
    Stream("medium 40/h", 40, 0.15, 1),
    Stream("medium 40/h", 40, 0.15, 3),
    Stream("large 250/h", 250, 0.15, 1),
    Stream("grumpy 40/h", 40, 0.30, 1),
)


def poisson(rng: random.Random, lam: float) -> int:
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n < 60:
        return sum(rng.random() < p for _ in range(n))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def simulate(stream: Stream, weeks: int, rng: random.Random, spikes: list[tuple[int, float]],
             steps: int = 1) -> tuple[list[int], list[int]]:
    """(mentions, negatives) per 1/``steps`` hour. ``spikes``: (start hour, share multiplier)
    complaint waves of SPIKE_HOURS hours that add negative mentions until the share is
    multiplied. Volume and share noise are drawn per hour, so finer steps do not average
    the overdispersion away."""
    hours = weeks * HOURS_PER_WEEK
    ns, ks = [0] * (hours * steps), [0] * (hours * steps)
    boost = {}
    for start, mult in spikes:
        for h in range(start, min(hours, start + SPIKE_HOURS)):
            boost[h] = mult
    for h in range(hours):
        hour_of_day, day = h % 24, (h // 24) % 7
        daily = 1 + 0.6 * math.sin((hour_of_day - 9) / 24 * 2 * math.pi)
        weekly = 0.75 if day >= 5 else 1.0
        lam = stream.per_hour * daily * weekly * rng.gammavariate(8, 1 / 8) / steps
        share = stream.share * (1 + 0.15 * math.cos(hour_of_day / 24 * 2 * math.pi))
        share = min(0.95, rng.betavariate(share * 150, (1 - share) * 150))
        for u in range(h * steps, (h + 1) * steps):
            n = poisson(rng, lam)
            k = binomial(rng, n, share)
            if h in boost:
                target = min(0.95, stream.share * boost[h])
                extra = round(n * (target - stream.share) / (1 - target))
                n, k = n + extra, k + extra
            ns[u], ks[u] = n, k
    return ns, ks


def replay(rule: dict[str, Any], ns: list[int], ks: list[int], window_hours: int, steps: int = 1) -> list[float]:
    """Hours at which an alert opened: a check every 1/``steps`` hour after the first week,
    one open alert at a time, resolution and cooldown as in alerts.engine."""
    window, base = window_hours * steps, HOURS_PER_WEEK * steps
    cooldown = rule["cooldown"].total_seconds() / 3600 * steps
    cn, ck = [0], [0]
    for n, k in zip(ns, ks):
        cn.append(cn[-1] + n)
        ck.append(ck[-1] + k)
    day = 24 * steps
    same_idx = [i for i in range(base // window) if (base - i * window) % day == 0] if day % window == 0 else []
    opened, is_open, resolved_at = [], False, -10.0**9
    for t in range(base + window, len(ns) + 1):  # a check at the end of unit t-1
        w0, b0 = t - window, t - window - base
        win = Counts(cn[t] - cn[w0], ck[t] - ck[w0])
        bins = tuple((cn[b0 + i + window] - cn[b0 + i], ck[b0 + i + window] - ck[b0 + i])
                     for i in range(0, base, window))
        same = [bins[i] for i in same_idx]
        same_time = (sum(b[0] for b in same), sum(b[1] for b in same), float(len(same))) if same else None
        baseline = Counts(cn[w0] - cn[b0], ck[w0] - ck[b0], base / window, bins, same_time)
        decision = evaluate(rule, win, baseline)
        if is_open:
            if not decision.fire and resolved(rule, decision):
                is_open, resolved_at = False, t
        elif decision.fire and t - resolved_at >= cooldown:
            opened.append(t / steps)
            is_open = True
    return opened


def rules_for(stream: Stream) -> dict[str, dict[str, Any]]:
    common = {"window": f"{stream.window}h", "baseline": "7d", "min_mentions": 20, "cooldown": "4h", "notify": []}
    return {
        "sentimon medium": validate_rule(0, {"name": "sentimon", **common}),
        "sentimon high": validate_rule(0, {"name": "sentimon-high", "sensitivity": "high", **common}),
        "naive 1.5x": validate_rule(0, {"name": "naive", "threshold": round(1.5 * stream.share, 3), **common}),
    }


def run(weeks: int, seeds: int, steps: int = 1) -> list[dict[str, Any]]:
    rows = []
    for stream in STREAMS:
        rules = rules_for(stream)
        tallies = {name: {"hits": {m: 0 for m in MULTIPLIERS}, "total": {m: 0 for m in MULTIPLIERS},
                          "delays": [], "false": 0, "quiet_weeks": 0, "mentions": 0} for name in rules}
        for seed in range(seeds):
            rng = random.Random(zlib.crc32(f"{stream.name}:{seed}".encode()))
            # spiky run: one wave every ~5 days after the 1-week warm-up, sizes in turn
            spikes, h, i = [], HOURS_PER_WEEK + 24, 0
            while h < weeks * HOURS_PER_WEEK - 24:
                spikes.append((h + rng.randrange(0, 24), MULTIPLIERS[i % len(MULTIPLIERS)]))
                h += 120
                i += 1
            ns, ks = simulate(stream, weeks, rng, spikes, steps)
            quiet_n, quiet_k = simulate(stream, weeks, random.Random(rng.random()), [], steps)
            for name, rule in rules.items():
                tally = tallies[name]
                opened = replay(rule, ns, ks, stream.window, steps)
                for start, mult in spikes:
                    tally["total"][mult] += 1
                    # detected "within one window": opened by the end of the first full window
                    # after the wave began (a wave shorter than the window counts its length)
                    hit = [t for t in opened if start < t <= start + max(stream.window, SPIKE_HOURS)]
                    if hit:
                        tally["hits"][mult] += 1
                        tally["delays"].append(hit[0] - start)
                false = replay(rule, quiet_n, quiet_k, stream.window, steps)
                tally["false"] += len(false)
                tally["quiet_weeks"] += weeks - 1
                tally["mentions"] += sum(sum(ns[s * steps:(s + SPIKE_HOURS) * steps]) for s, _ in spikes)
        for name, tally in tallies.items():
            row = {"stream": stream.name, "rule": name, "window": f"{stream.window}h"}
            for mult in MULTIPLIERS:
                row[f"x{mult:g}"] = tally["hits"][mult] / max(1, tally["total"][mult])
            row["delay_h"] = statistics.median(tally["delays"]) if tally["delays"] else None
            row["false_per_week"] = tally["false"] / max(1, tally["quiet_weeks"])
            row["false_per_month"] = row["false_per_week"] * 30 / 7
            row["spikes"] = sum(tally["total"].values())
            row["wave_mentions"] = round(tally["mentions"] / max(1, row["spikes"]))
            rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = ["stream", "rule", "window", "spikes", "wave_mentions", "x1.5", "x2", "x3", "delay_h",
            "false_per_week", "false_per_month"]

    def cell(key: str, value: Any) -> str:
        if value is None:
            return "-"
        if key.startswith("x"):
            return f"{value:.0%}"
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    cells = [[cell(k, r[k]) for k in head] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small run (also when CI=true).")
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--checks-per-hour", type=int, default=None,
                        help="How often rules are checked (default 4; the daemon checks every 5m).")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("CI", "").lower() == "true"
    weeks = args.weeks or (8 if quick else 26)
    seeds = args.seeds or (1 if quick else 3)
    steps = args.checks_per_hour or (2 if quick else 4)
    started = time.perf_counter()
    rows = run(weeks, seeds, steps)
    print(f"alert quality: {len(STREAMS)} streams x {seeds} seeds x {weeks} weeks, "
          f"{steps} checks an hour, "
          f"{SPIKE_HOURS}h complaint waves multiplying the negative share by "
          f"{', '.join(f'{m:g}' for m in MULTIPLIERS)}; false alarms on spike-free twins")
    print(table(rows))
    print(f"\n{time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
