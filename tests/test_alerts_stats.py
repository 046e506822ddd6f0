"""The statistics and rules as pure functions: known values, then properties (hypothesis)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alerts import stats
from alerts.rules import Counts, Decision, evaluate, family, resolved
from test_alerts_support import rule


def test_binomial_tail_matches_hand_values():
    assert stats.binom_sf(3, 5, 0.5) == pytest.approx(16 / 32)
    assert stats.binom_sf(0, 5, 0.3) == 1.0 and stats.binom_sf(6, 5, 0.3) == 0.0
    assert stats.binom_sf(10, 10, 0.1) == pytest.approx(1e-10)


def _exact_binom_sf(k: int, n: int, p: Fraction) -> float:
    """The reference: the tail as one exact big-integer sum (no logs, no floats until the end)."""
    a, b = p.numerator, p.denominator
    total = sum(math.comb(n, i) * a**i * (b - a) ** (n - i) for i in range(k, n + 1))
    return float(Fraction(total, b**n))


@pytest.mark.parametrize(
    "k, n, p",
    [(460, 2001, "1/5"), (30, 2500, "1/200"), (26, 2500, "1/200"), (12, 2500, "1/200"),
     (900, 5000, "1/5"), (5, 3000, "1/1000"), (1500, 3000, "1/2"), (400, 2001, "1/5")],
)
def test_binomial_tail_is_exact_at_extreme_counts(k, n, p):
    p = Fraction(p)
    assert stats.binom_sf(k, n, float(p)) == pytest.approx(_exact_binom_sf(k, n, p), rel=1e-9)


def test_binomial_tail_at_the_medium_threshold_no_longer_fires_early():
    # The old normal approximation gave 1.1e-4 here, below medium's alpha of 0.0003.
    assert stats.binom_sf(26, 2500, 0.005) > stats.SENSITIVITY_ALPHA["medium"]


def test_poisson_tail_matches_hand_values():
    assert stats.poisson_sf(3, 1.0) == pytest.approx(1 - math.exp(-1) * 2.5)
    assert stats.poisson_sf(0, 4.0) == 1.0
    assert stats.poisson_sf(60, 20.0) < 1e-10


def _exact_poisson_sf(k: int, mu: str) -> float:
    """The reference: the upper tail summed term by term in 80-digit decimals (no logs)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 80
        m = Decimal(mu)
        term = (-m).exp()
        for i in range(1, k + 1):
            term = term * m / i
        total, i = Decimal(0), k
        while term > total * Decimal(10) ** -30 or i <= m:
            total += term
            i += 1
            term = term * m / i
        return float(total)


@pytest.mark.parametrize(
    "k, mu",
    [(6300, "6000"), (12000, "10000"), (4300, "4000"), (30, "0.001"), (3, "0.000000001"),
     (60, "20"), (5, "4"), (9800, "10000")],
)
def test_poisson_tail_is_exact_at_extreme_counts(k, mu):
    # mu = 6000, k = 6300 was 11% off under the normal approximation used above mu = 5000
    assert stats.poisson_sf(k, float(mu)) == pytest.approx(_exact_poisson_sf(k, mu), rel=1e-9)


def test_wilson_interval_is_sane_at_the_edges():
    low, high = stats.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-3)
    low, high = stats.wilson_interval(24, 30)
    assert low < 0.8 < high


def test_holm_is_stricter_than_none_and_kinder_than_bonferroni():
    p = [0.001, 0.012, 0.02, 0.5]
    assert stats.holm(p, 0.05) == [True, True, True, False]  # Bonferroni (0.0125) keeps only two
    assert stats.holm([0.01] * 10, 0.05) == [False] * 10        # ten coin flips do not all fire


def test_dispersion_is_one_for_binomial_noise_and_large_for_bursty_bins():
    quiet = [(20, 3), (20, 4), (20, 2), (20, 3), (20, 4), (20, 3), (20, 2), (20, 3)]
    bursty = [(20, 0), (20, 12), (20, 0), (20, 11), (20, 1), (20, 12), (20, 0), (20, 10)]
    assert stats.dispersion(quiet, 0.15) == 1.0
    assert stats.dispersion(bursty, 0.2) > 5


def test_warm_up_guards_and_a_clear_spike():
    r = rule()
    assert evaluate(r, Counts(30, 24), Counts(10, 1, 14)).state == "warming_up"
    assert evaluate(r, Counts(10, 9), Counts(300, 45, 14)).state == "too_few"
    d = evaluate(r, Counts(30, 24), Counts(300, 45, 14))
    assert d.state == "tested" and d.fire and d.p_value < 1e-9


def test_threshold_alone_is_a_plain_fixed_limit():
    r = rule(threshold=0.5)
    assert evaluate(r, Counts(30, 16), Counts(0, 0, 0)).fire          # no baseline needed
    assert not evaluate(r, Counts(30, 14), Counts(300, 30, 14)).fire
    both = rule(threshold=0.5, sensitivity="high")
    assert not evaluate(both, Counts(30, 16), Counts(300, 150, 14)).fire  # above limit, not unusual


def test_resolution_has_hysteresis():
    r = rule()
    assert not resolved(r, Decision("tested", 0.3, 0.15, p_value=0.01))  # not significant, not cleared
    assert resolved(r, Decision("tested", 0.2, 0.15, p_value=0.2))
    assert resolved(r, Decision("tested", 0.1, 0.15, p_value=0.9))


# --- properties -------------------------------------------------------------------------

levels = st.sampled_from(["low", "medium", "high", "0.05", "0.2"])
bins = st.lists(st.tuples(st.integers(0, 80), st.integers(0, 80)).map(lambda t: (max(t), min(t))),
                max_size=20)


@st.composite
def baselines(draw):
    n = draw(st.integers(50, 5000))
    k = draw(st.integers(0, n))
    same_time = None
    if draw(st.booleans()):
        sn = draw(st.integers(0, n))
        same_time = (sn, draw(st.integers(0, min(sn, k))), float(draw(st.integers(1, 7))))
    return Counts(n, k, draw(st.floats(1, 200)), tuple(draw(bins)), same_time)


@given(baselines(), st.integers(0, 500), st.data(), levels, st.sampled_from(["negative_share", "negative_count", "volume"]))
@settings(max_examples=300, deadline=None)
def test_at_or_below_baseline_never_fires(baseline, n, data, level, metric):
    r = rule(sensitivity=level, metric=metric, min_mentions=0, min_negative=0, min_ratio=1.0)
    if metric == "negative_share":
        share = baseline.k / baseline.n
        k = data.draw(st.integers(0, math.floor(n * share + 1e-9)))
    else:
        rate = (baseline.k if metric == "negative_count" else baseline.n) / baseline.windows
        if metric == "volume":
            n = min(n, math.floor(rate))
            k = 0
        else:
            k = data.draw(st.integers(0, math.floor(rate)))
            n = max(n, k)
    assert not evaluate(r, Counts(n, k), baseline).fire


@given(baselines(), st.integers(1, 400), st.data())
@settings(max_examples=300, deadline=None)
def test_raising_sensitivity_never_removes_an_alert(baseline, n, data):
    k = data.draw(st.integers(0, n))
    order = ["low", "medium", "high", "0.05"]
    fired = [evaluate(rule(sensitivity=s, min_negative=0), Counts(n, k), baseline).fire for s in order]
    for lower, higher in zip(fired, fired[1:]):
        assert higher or not lower


@given(st.lists(st.tuples(st.integers(20, 200), st.floats(0, 1)), min_size=1, max_size=10), baselines())
@settings(max_examples=200, deadline=None)
def test_raising_sensitivity_never_removes_a_per_topic_alert(windows, baseline):
    decisions_by_level = []
    for level in ("low", "medium", "high"):
        r = rule(sensitivity=level, per_topic=True, min_negative=0)
        decisions = [evaluate(r, Counts(n, round(n * s)), baseline) for n, s in windows]
        decisions_by_level.append(family(r, decisions))
    for lower, higher in zip(decisions_by_level, decisions_by_level[1:]):
        assert all(h or not low for low, h in zip(lower, higher))


@given(st.integers(20, 200), st.floats(0.05, 0.4), st.floats(1.5, 3.0), st.integers(2, 5))
@settings(max_examples=300, deadline=None)
def test_scaling_counts_makes_a_real_shift_more_significant(n, base_share, lift, factor):
    k = min(n, math.ceil(n * min(0.95, base_share * lift)))
    assume(k / n >= base_share * 1.5)
    baseline = Counts(20 * n, round(20 * n * base_share), 20)
    bigger = Counts(20 * n * factor, round(20 * n * base_share) * factor, 20)
    r = rule(min_negative=0)
    small = evaluate(r, Counts(n, k), baseline)
    large = evaluate(r, Counts(n * factor, k * factor), bigger)
    assert large.p_value <= small.p_value


@given(st.floats(1, 50), st.floats(1.5, 4), st.integers(2, 6))
@settings(max_examples=200, deadline=None)
def test_scaling_counts_makes_a_real_count_spike_more_significant(rate, lift, factor):
    r = rule(metric="negative_count", min_negative=0, min_mentions=0)
    x = math.ceil(rate * lift)
    small = evaluate(r, Counts(x, x), Counts(round(rate * 30), round(rate * 30), 30))
    large = evaluate(r, Counts(x * factor, x * factor), Counts(round(rate * 30) * factor, round(rate * 30) * factor, 30))
    assert large.p_value <= small.p_value


def test_a_usually_grumpy_hour_expects_more_but_never_less():
    from alerts.rules import seasonal_expected

    night = Counts(1000, 150, 168, (), same_time=(70, 21, 7.0))   # 30% at this hour, 15% overall
    calm = Counts(1000, 150, 168, (), same_time=(70, 3, 7.0))     # 4% at this hour
    assert 0.15 < seasonal_expected("negative_share", night, 0.15) < 0.30
    assert seasonal_expected("negative_share", calm, 0.15) == 0.15
    r = rule(min_negative=0)
    assert evaluate(r, Counts(40, 16), Counts(1000, 150, 168)).fire
    assert not evaluate(r, Counts(40, 16), night).fire
