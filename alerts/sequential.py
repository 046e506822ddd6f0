"""Sustained shifts: add up the evidence of the last few windows, beside the one-window test.

A doubling of complaints at ordinary volume is rarely significant in any single window (9
negatives where 4.5 were expected, p = 0.03, happens by chance several times a day), but three
such windows in a row are. ``scan`` looks back over the newest 2..K consecutive windows, each
judged against its own seasonal baseline exactly as the one-window test judged it, adds up their
mentions, negatives and expectations, and takes the exact tail of the sum: binomial for a share
(against the mention-weighted usual share, which is conservative for windows whose usual shares
differ), Poisson for a count. A share's tail is beta-binomial like the one-window test's, with
the windows' variances 1 + (n_i - 1) rho added up (each window drifts on its own); a count is
divided by the quasi-Poisson factor. The overdispersion is the one estimated before the stretch
began (the oldest window's baseline): a week's baseline that already holds the first hours of a
wave reads it as noise and would hide the rest. The most
significant stretch is kept. For each stretch length this is the generalized
likelihood-ratio test of a level shift with an unknown size (a window-limited GLR), with the
exact p-value in place of the ratio's chi-square approximation; the level it must reach was
tuned at medium with ``bench/alerts.py`` on seasonal, bursty simulated streams and scales with
the rule's alpha.

A stretch only counts windows that are each above usual, so an alert can say, truthfully,
"negatives have run above usual for 3 windows". It keeps no state: every check recomputes the
stretch from the stored mentions of the last K windows, so a restarted daemon and
``alerts backtest`` see exactly what a long-running daemon would.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from alerts import stats
from alerts.rules import AlertRule, Counts, Decision, observed_value, resolved

SUSTAINED_SHARE = 1 / 6
"""The stretch test's level as a share of the rule's one-window alpha (medium: 0.00005). Every
check tries several stretch lengths and neighbouring checks share windows, so it must be
stricter; tuned with bench/alerts.py (26 weeks x 3 seeds, a check every 15 minutes): at medium,
0.0001 added 0.2-0.6 false alerts a month to the 40/h streams, 0.00005 adds 0-0.23 (0.97 ->
1.20 on the grumpy stream) and still catches 95% of sustained doublings at 40/h within six 1h
windows (docs/BENCHMARKS.md). With the beta-binomial baseline it was tuned again on seeds
100-103: a half of alpha bought +3 points at 40/h (x2 within 3 windows 43% -> 46%) and +9 at 8/h
for 0.81 -> 1.24 false alerts a month on the 250/h stream, so a sixth stays. Measured again
(docs/BENCHMARKS.md): a quarter and a third bought nothing at 40/h on seeds 100-103 (43%) for
0.90 and 0.99 false alerts a month at 250/h; a test that knew the true usual share and scatter
would catch 62% at one false alert a month (seeds 0-2), so the level is not what is missing.
Scaling with alpha keeps low, high and explicit levels in step."""


@dataclass(frozen=True)
class Past:
    """One window of history as the one-window test saw it (its counts and its decision)."""

    counts: Counts
    decision: Decision


@dataclass(frozen=True)
class Stretch:
    """The newest ``windows`` windows taken together: their summed counts and the test of them."""

    windows: int
    counts: Counts
    decision: Decision


def level(rule: AlertRule) -> float | None:
    """The stretch test's level for ``rule``, or None when the rule has no sustained test (a
    fixed-limit rule, or ``sustained = 0``)."""
    alpha = rule.alpha
    if alpha is None or rule.sustained < 2:
        return None
    return alpha * SUSTAINED_SHARE


def scan(rule: AlertRule, history: Sequence[Past]) -> Stretch | None:
    """The most significant run of the newest 2..``rule.sustained`` windows (``history`` is
    newest first), each above usual; None when there is no such run or no sustained test."""
    alpha = level(rule)
    if alpha is None:
        return None
    metric = rule.metric
    n = k = 0
    expected = spread = 0.0
    phi = 1.0
    best: Stretch | None = None
    for j, past in enumerate(history[: rule.sustained], start=1):
        d = past.decision
        if d.state == "warming_up" or d.observed <= d.expected:
            break  # the run of windows above usual ends here
        n, k = n + past.counts.n, k + past.counts.k
        expected += d.expected * past.counts.n if metric == "negative_share" else d.expected
        spread += past.counts.n * max(past.counts.n - 1, 0)
        # the oldest window's overdispersion: its baseline holds none of the stretch
        phi = max(1.0, d.dispersion)
        if metric == "negative_share":  # windows vary independently: their variances add up
            phi = 1.0 + d.rho * spread / max(n, 1)
        if j >= 2:
            stretch = _test(rule, j, Counts(n, k), expected, phi, alpha)
            if best is None or stretch.decision.p_value < best.decision.p_value:
                best = stretch
    return best


def _test(rule: AlertRule, windows: int, counts: Counts, expected_sum: float, phi: float,
          alpha: float) -> Stretch:
    metric = rule.metric
    observed = observed_value(metric, counts)
    if metric == "negative_share":
        share = min(max(expected_sum / counts.n, 0.5 / counts.n), 1 - 1e-9)
        expected = expected_sum / counts.n
        # a beta-binomial over all the stretch's mentions with the summed windows' variance
        rho = (phi - 1.0) / (counts.n - 1) if counts.n > 1 else 0.0
        p_value = stats.betabinom_sf(counts.k, counts.n, share, rho)
        floor = 0.5 / counts.n
    else:
        expected = expected_sum
        p_value = stats.poisson_sf(observed / phi, max(expected, 0.5) / phi)
        floor = 0.5
    ratio = observed / max(expected, floor)
    reasons = [f"over the last {windows} windows p={p_value:.2g}, needs <= {alpha:.2g}"]
    fire = p_value <= alpha and observed > expected
    if ratio < rule.min_ratio:
        fire = False
        reasons.append(f"over the last {windows} windows {ratio:.2f}x usual, needs {rule.min_ratio:g}x")
    if counts.n < rule.min_mentions or (metric != "volume" and counts.k < rule.min_negative):
        fire = False
    threshold = rule.threshold
    per_window = observed if metric == "negative_share" else observed / windows
    if threshold is not None and per_window < threshold:
        fire = False
    decision = Decision("tested", observed, expected, p_value, ratio, phi, fire, tuple(reasons),
                        windows=windows, level=alpha)
    return Stretch(windows, counts, decision)


def family(rule: AlertRule, stretches: Sequence[Stretch | None]) -> list[Stretch | None]:
    """The stretches of a per-topic rule with Holm's correction across the topics that have one,
    at the stretch level, so ten topics do not mean ten times the false alarms here either."""
    alpha = level(rule)
    present = [i for i, s in enumerate(stretches) if s is not None]
    if alpha is None or not present:
        return list(stretches)
    keep = stats.holm([stretches[i].decision.p_value for i in present], alpha)  # type: ignore[union-attr]
    result = list(stretches)
    for i, ok in zip(present, keep):
        s = stretches[i]
        assert s is not None
        result[i] = replace(s, decision=replace(s.decision, fire=ok and s.decision.fire))
    return result


def holding(rule: AlertRule, one: Decision, fire: bool, stretch: Stretch | None) -> Stretch | None:
    """The stretch when it is what holds an alert now: it fires and the one-window test does not,
    or neither fires and only the stretch is still short of clearing (the same hysteresis as
    the one-window test, at the stretch's level). Otherwise None: the one-window test speaks."""
    if stretch is None or fire:
        return None
    if stretch.decision.fire:
        return stretch
    if resolved(rule, one) and not resolved(rule, stretch.decision):
        return stretch
    return None
