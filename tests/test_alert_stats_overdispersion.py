"""The beta-binomial baseline: an exact tail, a fitted overdispersion, and what it changes for
alerts (a busy hour at the usual share stays quiet; a few quiet hours of doubled complaints add
up sooner)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from alerts import sequential, stats
from alerts.rules import Counts, evaluate
from test_alerts_support import rule


def _exact_betabinom_sf(k: int, n: int, a: int, b: int) -> float:
    """The reference for integer a, b: one big-integer sum of
    C(n,i) (i+a-1)! (n-i+b-1)!, divided once by (n+a+b-1)! B(a, b) (no logs, no floats)."""
    f = math.factorial
    total = sum(math.comb(n, i) * f(i + a - 1) * f(n - i + b - 1) for i in range(k, n + 1))
    return float(Fraction(total * f(a + b - 1), f(n + a + b - 1) * f(a - 1) * f(b - 1)))


@pytest.mark.parametrize(
    "k, n, a, b",  # p = a/(a+b), rho = 1/(a+b+1)
    [(20, 40, 2, 8), (5, 40, 2, 8), (30, 2500, 1, 199), (120, 2500, 1, 199), (2400, 5000, 3, 7),
     (900, 1000, 30, 170), (3, 3000, 1, 999), (1, 50, 1, 1), (60, 200, 15, 85)],
)
def test_beta_binomial_tail_is_exact_at_extreme_counts(k, n, a, b):
    p, rho = a / (a + b), 1 / (a + b + 1)
    got = stats.betabinom_sf(k, n, p, rho)
    assert got == pytest.approx(_exact_betabinom_sf(k, n, a, b), rel=1e-9)


def test_beta_binomial_tail_is_the_binomial_without_overdispersion_and_wider_with_it():
    assert stats.betabinom_sf(30, 100, 0.15, 0.0) == stats.binom_sf(30, 100, 0.15)
    assert stats.betabinom_sf(30, 100, 0.15, 0.01) > 10 * stats.binom_sf(30, 100, 0.15)
    assert stats.betabinom_sf(0, 100, 0.15, 0.01) == 1.0 and stats.betabinom_sf(101, 100, 0.15, 0.01) == 0.0


def _beta_binomial_bins(rng: random.Random, sizes: list[int], share: float, rho: float) -> list[tuple[int, int]]:
    bins = []
    for n in sizes:
        s = rng.betavariate(share * (1 - rho) / rho, (1 - share) * (1 - rho) / rho) if rho > 0 else share
        bins.append((n, sum(rng.random() < s for _ in range(n))))
    return bins


def test_overdispersion_is_zero_for_binomial_bins_and_found_for_beta_binomial_ones():
    rng = random.Random(7)
    sizes = [rng.choice([15, 40, 60, 150]) for _ in range(400)]
    assert stats.overdispersion(_beta_binomial_bins(rng, sizes, 0.2, 0.0), 0.2) < 0.002
    rho = stats.overdispersion(_beta_binomial_bins(rng, sizes, 0.2, 0.02), 0.2)
    assert 0.012 < rho < 0.03
    assert stats.overdispersion([(40, 6)] * 5, 0.15) == 0.0  # too few bins to say


def _bursty_week(seed: int = 3) -> Counts:
    """168 hourly bins of ~40 mentions whose share drifts hour to hour (rho ~ 0.01), as the
    streams in bench/alerts.py and real ones do."""
    rng = random.Random(seed)
    bins = tuple(_beta_binomial_bins(rng, [rng.randint(20, 60) for _ in range(168)], 0.15, 0.01))
    return Counts(sum(n for n, _ in bins), sum(k for _, k in bins), 168.0, bins)


def _old_p_value(window: Counts, baseline: Counts) -> float:
    """The quasi-binomial test this replaced: counts divided by one fixed factor."""
    share = baseline.k / baseline.n
    phi = stats.dispersion(baseline.bins, share)
    return stats.binom_sf(math.ceil(window.k / phi - 1e-9), max(1, math.floor(window.n / phi + 1e-9)), share)


def test_a_busy_hour_at_the_usual_share_no_longer_fires():
    # A viral thread: 5x the usual volume for an hour. Its share scatters with the hour's drift
    # (sd ~ 0.04 at rho 0.01), so 25% negative is a 2.5-sigma hour, not a complaint wave; the
    # fixed factor fitted on 40-mention hours called it p ~ 1e-4 and fired at medium.
    baseline = _bursty_week()
    window = Counts(200, 50)
    alpha = stats.SENSITIVITY_ALPHA["medium"]
    assert _old_p_value(window, baseline) <= alpha
    d = evaluate(rule(window="1h"), window, baseline)
    assert d.state == "tested" and not d.fire and d.p_value > 10 * alpha
    assert d.dispersion == pytest.approx(1 + 199 * d.rho) and d.dispersion > 2


def test_three_busy_hours_at_a_slightly_high_share_are_not_a_sustained_shift():
    # A viral thread that lasts three hours (180 mentions each, 22% negative where 14% is
    # usual): each hour drifts with its own share, so the stretch's variance is the sum of the
    # hours' 1 + (n-1) rho, not 540 mentions at the fixed factor, which called it p ~ 1e-5.
    baseline = _bursty_week()
    r = rule(window="1h")
    pasts = [sequential.Past(Counts(180, 39), evaluate(r, Counts(180, 39), baseline)) for _ in range(3)]
    assert not any(p.decision.fire for p in pasts)
    share = baseline.k / baseline.n
    phi = stats.dispersion(baseline.bins, share)
    old = stats.binom_sf(math.ceil(3 * 39 / phi - 1e-9), math.floor(540 / phi + 1e-9), share)
    assert old <= sequential.level(r)  # the quasi-binomial stretch fired here
    stretch = sequential.scan(r, pasts)
    assert stretch is not None and stretch.windows == 3
    assert not stretch.decision.fire and stretch.decision.p_value > 10 * sequential.level(r)
    # while a real doubling over the same three hours still fires
    doubled = [sequential.Past(Counts(180, 60), evaluate(r, Counts(180, 60), baseline))] * 3
    assert sequential.scan(r, doubled).decision.fire  # type: ignore[union-attr]
