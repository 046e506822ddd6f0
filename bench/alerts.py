"""Alert quality benchmark: detection rate, delay and false alarms of today's one-window rule,
the rule with the sustained (multi-window) test, and a naive rule, on the same streams.

Simulates weeks of hourly mention streams with daily and weekly seasonality in volume and
negative share, overdispersed noise (gamma-distributed volume, beta-distributed share) and
bursts (a viral thread: 2-5x the volume for 1-3 hours at the usual share), then injects
complaint waves: short ones (3 hours) and sustained ones (a day, or 12 windows if longer),
multiplying the negative share by 1.5, 2 or 3. The rules are replayed exactly as the daemon
runs them: ``alerts.rules.evaluate`` for the window, ``alerts.sequential.scan`` over the newest
windows, ``alerts.rules.resolved`` with the open / resolve / cooldown lifecycle, on a sliding
window checked every 15 minutes (``--checks-per-hour``). The naive rule is what people
configure by hand: "alert when the negative share of the window exceeds 1.5x its usual level".

    python bench/alerts.py            # 26 weeks x 3 seeds per stream
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

from alerts.rules import AlertRule, Counts, evaluate, resolved, validate_rule  # noqa: E402
from alerts.sequential import Past, holding, scan  # noqa: E402

HOURS_PER_WEEK = 168
SPIKE_HOURS = 3
SUSTAINED_WINDOWS = 12
MULTIPLIERS = (1.5, 2.0, 3.0)
KINDS = ("short", "sustained")


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


def wave_hours(stream: Stream, kind: str) -> int:
    return SPIKE_HOURS if kind == "short" else max(24, SUSTAINED_WINDOWS * stream.window)


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


def rhythm(hour: int) -> float:
    """The usual volume at ``hour`` as a multiple of the stream's nominal mentions an hour: a
    daily rhythm from 0.4x (03:00) to 1.6x (15:00), and weekends at three quarters."""
    daily = 1 + 0.6 * math.sin((hour % 24 - 9) / 24 * 2 * math.pi)
    return daily * (0.75 if (hour // 24) % 7 >= 5 else 1.0)


def busy(stream: Stream, start: int) -> bool:
    """Whether a wave starting at ``start`` runs its first 3 windows at the stream's nominal
    volume or more (by day on a weekday): "a doubling at 40 mentions an hour" taken literally,
    where a night at 16/h is not."""
    hours = range(start, start + 3 * stream.window)
    return sum(rhythm(h) for h in hours) / len(hours) >= 1.0


def simulate(stream: Stream, weeks: int, rng: random.Random, waves: list[tuple[int, float, int]],
             steps: int = 1) -> tuple[list[int], list[int]]:
    """(mentions, negatives) per 1/``steps`` hour. ``waves``: (start hour, share multiplier,
    hours) complaint waves that add negative mentions until the share is multiplied. Volume
    and share noise are drawn per hour, so finer steps do not average the overdispersion away."""
    hours = weeks * HOURS_PER_WEEK
    ns, ks = [0] * (hours * steps), [0] * (hours * steps)
    boost = {}
    for start, mult, length in waves:
        for h in range(start, min(hours, start + length)):
            boost[h] = mult
    burst_until, burst, owed = -1, 1.0, 0.0
    for h in range(hours):
        if h > burst_until and rng.random() < 0.01:  # a viral thread: more volume, usual share
            burst_until, burst = h + rng.randrange(1, 4) - 1, rng.uniform(2, 5)
        hour_of_day = h % 24
        lam = stream.per_hour * rhythm(h) * rng.gammavariate(8, 1 / 8) / steps
        lam *= burst if h <= burst_until else 1.0
        share = stream.share * (1 + 0.15 * math.cos(hour_of_day / 24 * 2 * math.pi))
        share = min(0.95, rng.betavariate(share * 150, (1 - share) * 150))
        for u in range(h * steps, (h + 1) * steps):
            n = poisson(rng, lam)
            k = binomial(rng, n, share)
            if h in boost:
                # carry the fractions: rounding each quarter hour's 0.4 extra complaints at 8/h
                # to 0 left most of a "doubling" out (the share rose to ~1.6x, at night ~1x)
                target = min(0.95, stream.share * boost[h])
                owed += n * (target - stream.share) / (1 - target)
                extra = math.floor(owed)
                owed -= extra
                n, k = n + extra, k + extra
            ns[u], ks[u] = n, k
    return ns, ks


def windows(rule: AlertRule, ns: list[int], ks: list[int], window_hours: int,
            steps: int = 1) -> list[Past]:
    """What the one-window test sees at each check, a check every 1/``steps`` hour after the
    first week (index i is the check at the end of unit ``first_check + i``): the window's
    counts and its decision against the trailing week, as ``alerts.query.scopes`` builds it."""
    window, base = window_hours * steps, HOURS_PER_WEEK * steps
    cn, ck = [0], [0]
    for n, k in zip(ns, ks):
        cn.append(cn[-1] + n)
        ck.append(ck[-1] + k)
    day = 24 * steps
    same_idx = [i for i in range(base // window) if (base - i * window) % day == 0] if day % window == 0 else []
    result = []
    for t in range(base + window, len(ns) + 1):  # a check at the end of unit t-1
        w0, b0 = t - window, t - window - base
        win = Counts(cn[t] - cn[w0], ck[t] - ck[w0])
        bins = tuple((cn[b0 + i + window] - cn[b0 + i], ck[b0 + i + window] - ck[b0 + i])
                     for i in range(0, base, window))
        same = [bins[i] for i in same_idx]
        same_time = (sum(b[0] for b in same), sum(b[1] for b in same), float(len(same))) if same else None
        baseline = Counts(cn[w0] - cn[b0], ck[w0] - ck[b0], base / window, bins, same_time)
        result.append(Past(win, evaluate(rule, win, baseline)))
    return result


def first_check(window_hours: int, steps: int) -> int:
    return (HOURS_PER_WEEK + window_hours) * steps


def replay(rule: AlertRule, pasts: list[Past], window_hours: int, steps: int = 1) -> list[float]:
    """Hours at which an alert opened: one open alert at a time; the one-window test, the
    sustained test over the newest windows, resolution and cooldown as in alerts.engine."""
    window = window_hours * steps
    first = first_check(window_hours, steps)
    cooldown = rule.cooldown.total_seconds() / 3600 * steps
    opened, is_open, resolved_at = [], False, -10.0**9
    for i, past in enumerate(pasts):
        t = first + i
        one = past.decision
        if one.fire and not is_open:
            stretch = None
        else:
            stretch = scan(rule, [pasts[j] for j in range(i, -1, -window)][: rule.sustained])
        held = holding(rule, one, one.fire, stretch)
        fire = one.fire or (held is not None and held.decision.fire)
        if is_open:
            if not fire and resolved(rule, held.decision if held else one):
                is_open, resolved_at = False, t
        elif fire and t - resolved_at >= cooldown:
            opened.append(t / steps)
            is_open = True
    return opened


def rules_for(stream: Stream) -> dict[str, dict[str, Any]]:
    common = {"window": f"{stream.window}h", "baseline": "7d", "min_mentions": 20, "cooldown": "4h", "notify": []}
    return {
        "one-window medium": validate_rule(0, {"name": "today", "sustained": 0, **common}),
        "sustained medium": validate_rule(0, {"name": "sustained", **common}),
        "sustained high": validate_rule(0, {"name": "sustained-high", "sensitivity": "high", **common}),
        "naive 1.5x": validate_rule(0, {"name": "naive", "threshold": round(1.5 * stream.share, 3), **common}),
    }


def _waves(stream: Stream, kind: str, weeks: int, rng: random.Random) -> list[tuple[int, float, int]]:
    """Waves after the 1-week warm-up, sizes in turn: short ones every ~5 days; sustained ones
    a baseline week apart, so each is judged against a week that holds no earlier wave."""
    length = wave_hours(stream, kind)
    gap = 120 if kind == "short" else HOURS_PER_WEEK + length + 24
    waves, h, i = [], HOURS_PER_WEEK + 24, 0
    while h + 24 + length < weeks * HOURS_PER_WEEK:
        waves.append((h + rng.randrange(0, 24), MULTIPLIERS[i % len(MULTIPLIERS)], length))
        h += gap
        i += 1
    return waves


def _pasts(rule: AlertRule, cache: dict[Any, list[Past]], key: Any, ns: list[int], ks: list[int],
           stream: Stream, steps: int) -> list[Past]:
    """Window decisions depend on the rule's alpha and threshold only: share them between rules."""
    key = (key, rule.alpha, rule.threshold)
    if key not in cache:
        cache[key] = windows(rule, ns, ks, stream.window, steps)
    return cache[key]


def run(weeks: int, seeds: int, steps: int = 1, first_seed: int = 0,
        only: str | None = None) -> list[dict[str, Any]]:
    """``first_seed``: tune on other seeds than the reported table's (which uses 0, 1, 2);
    ``only``: the streams whose name contains it (a short run while iterating)."""
    rows = []
    for stream in STREAMS:
        if only and only not in f"{stream.name} {stream.window}h":
            continue
        rules = rules_for(stream)
        tallies = {name: {"hits": {}, "total": {}, "delays": {}, "false": 0, "quiet_weeks": 0}
                   for name in rules}
        for seed in range(first_seed, first_seed + seeds):
            rng = random.Random(zlib.crc32(f"{stream.name}:{stream.window}:{seed}".encode()))
            runs = {}
            for kind in KINDS:
                waves = _waves(stream, kind, weeks, rng)
                runs[kind] = (waves, *simulate(stream, weeks, random.Random(rng.random()), waves, steps))
            quiet = simulate(stream, weeks, random.Random(rng.random()), [], steps)
            cache: dict[Any, list[Past]] = {}
            for name, rule in rules.items():
                tally = tallies[name]
                for kind, (waves, ns, ks) in runs.items():
                    opened = replay(rule, _pasts(rule, cache, kind, ns, ks, stream, steps), stream.window, steps)
                    for start, mult, length in waves:
                        _score(tally, kind, stream, start, mult, length, opened)
                false = replay(rule, _pasts(rule, cache, "quiet", *quiet, stream, steps), stream.window, steps)
                tally["false"] += len(false)
                tally["quiet_weeks"] += weeks - 1
        for name, tally in tallies.items():
            rows.append(_row(stream, name, tally))
    return rows


def _score(tally: dict[str, Any], kind: str, stream: Stream, start: int, mult: float, length: int,
           opened: list[float]) -> None:
    """A short wave counts as caught when an alert opens while it lasts or within one window
    after it began; a sustained one, within 3 and within 6 windows (and tallied again among
    the ``busy`` ones). Delays are in windows."""
    horizon = max(stream.window, length) if kind == "short" else min(length, 6 * stream.window)
    hit = [t for t in opened if start < t <= start + horizon]
    keys = [(kind, mult)] + ([(kind, mult, "busy")] if kind == "sustained" and busy(stream, start) else [])
    for key in keys:
        tally["total"][key] = tally["total"].get(key, 0) + 1
        delays = tally["delays"].setdefault(key, [])
        if hit:
            delays.append((hit[0] - start) / stream.window)


def _row(stream: Stream, name: str, tally: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"stream": stream.name, "rule": name, "window": f"{stream.window}h"}
    for key, total in sorted(tally["total"].items(), key=str):
        delays = tally["delays"][key]
        kind, mult = key[:2]
        label = f"{kind} x{mult:g}"
        if len(key) == 3:  # the waves at the stream's nominal volume or more
            row[label + " <=3w busy"] = sum(d <= 3 for d in delays) / total
            row[label + " busy runs"] = total
            continue
        if kind == "short":
            row[label] = len(delays) / total
        else:
            row[label + " <=3w"] = sum(d <= 3 for d in delays) / total
            row[label + " <=6w"] = len(delays) / total
        row[label + " delay_w"] = statistics.median(delays) if delays else None
        row[label + " runs"] = total
    row["false_per_week"] = tally["false"] / max(1, tally["quiet_weeks"])
    row["false_per_month"] = row["false_per_week"] * 30 / 7
    return row


SHORT_HEAD = ["stream", "rule", "window", "short x1.5", "short x2", "short x3", "short x2 delay_w",
              "false_per_month"]
SUSTAINED_HEAD = ["stream", "rule", "window"] + [
    f"sustained x{m:g} {what}" for m in MULTIPLIERS for what in ("<=3w", "<=6w", "delay_w")] + [
    "sustained x2 <=3w busy", "sustained x2 busy runs"]


def table(rows: list[dict[str, Any]], head: list[str]) -> str:
    def cell(key: str, value: Any) -> str:
        if value is None:
            return "-"
        if key.startswith(("short", "sustained")) and not key.endswith(("delay_w", "runs")):
            return f"{value:.0%}"
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    cells = [[cell(k, r.get(k)) for k in head] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    return "\n".join(lines)


TARGETS = (  # (stream, window, rule, column, at least) from issue #16
    ("medium 40/h", "1h", "sustained medium", "sustained x2 <=3w", 0.90),
    ("medium 40/h", "3h", "sustained medium", "sustained x2 <=3w", 0.90),
    ("small 8/h", "4h", "sustained medium", "sustained x2 <=6w", 0.80),
    ("small 8/h", "4h", "sustained medium", "sustained x3 <=3w", 0.90),
)


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    """Each target of issue #16 against what was measured, met or not."""
    found = {(r["stream"], r["window"], r["rule"]): r for r in rows}
    lines = []
    for stream, window, rule, column, need in TARGETS:
        row = found.get((stream, window, rule))
        if row is not None and column in row:
            got = row[column]
            lines.append(f"{'met ' if got >= need else 'MISSED'} {stream} {window} {rule}: {column} "
                         f"{got:.0%} (target >= {need:.0%})")
            if f"{column} busy" in row:
                lines.append(f"       of which the {row[column.split(' <=')[0] + ' busy runs']} waves at the "
                             f"nominal volume or more: {row[column + ' busy']:.0%}")
    for r in rows:
        if r["rule"] != "naive 1.5x":
            ok = r["false_per_month"] <= 1.0
            lines.append(f"{'met ' if ok else 'MISSED'} {r['stream']} {r['window']} {r['rule']}: "
                         f"{r['false_per_month']:.2f} false alerts a month (target <= 1)")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small run (also when CI=true).")
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--checks-per-hour", type=int, default=None,
                        help="How often rules are checked (default 4; the daemon checks every 5m).")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="Seeds first_seed.. (the reported table uses 0; tune on others, e.g. 100).")
    parser.add_argument("--only", default=None, help="Only the streams whose 'name window' contains this.")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("CI", "").lower() == "true"
    weeks = args.weeks or (8 if quick else 26)
    seeds = args.seeds or (1 if quick else 3)
    steps = args.checks_per_hour or (2 if quick else 4)
    started = time.perf_counter()
    rows = run(weeks, seeds, steps, args.first_seed, args.only)
    print(f"alert quality: {len(STREAMS)} streams x {seeds} seeds from {args.first_seed} x {weeks} weeks, {steps} checks an hour; "
          f"waves multiplying the negative share by {', '.join(f'{m:g}' for m in MULTIPLIERS)}; "
          "false alarms on wave-free twins")
    print(f"\nshort waves ({SPIKE_HOURS}h; caught while they last or within one window), false alerts a month:")
    print(table(rows, SHORT_HEAD))
    print(f"\nsustained shifts (a day or {SUSTAINED_WINDOWS} windows): caught within 3 and 6 windows, "
          "median delay in windows:")
    print(table(rows, SUSTAINED_HEAD))
    print("\ntargets (issue #16):")
    print("\n".join(verdicts(rows)))
    print(f"\n{time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
