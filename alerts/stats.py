"""The statistics behind alert rules, in plain ``math`` so sentimon needs no SciPy.

Every function here is pure. Binomial tails are exact sums in log space at every size (no
overflow at large counts, no approximation error where alerts are decided: a normal
approximation of the binomial was 96% off at n=2500, p=0.005, k=30 and fired where it should
not), and Poisson tails the same way.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterable, Sequence

SENSITIVITY_ALPHA = {"low": 0.0001, "medium": 0.0003, "high": 0.002}
"""Per-check significance level for each sensitivity word. A rule is checked every few
minutes on a sliding window, so there are hundreds of overlapping tests a month. Measured by
bench/alerts.py (seasonal, overdispersed streams, a check every 15 minutes), medium keeps
false alarms under one a month per rule; high catches smaller waves for ~3x the false
alarms; low is for noisy, high-volume streams where only large waves matter."""

def normal_sf(z: float) -> float:
    """P(Z >= z) for a standard normal variable."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _log_binom_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        + k * math.log(p) + (n - k) * math.log1p(-p)
    )


def binom_sf(k: int, n: int, p: float) -> float:
    """One-sided upper tail P(X >= k) for X ~ Binomial(n, p), exact at every n.

    The terms are summed in log space from ``k`` upwards and stopped once they are e^-40
    below the largest, so the cost is about the width of the distribution, not ``n``; where
    ``k`` lies below the mean the (short) lower tail is summed instead and subtracted.
    """
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    if k <= n * p:
        return max(0.0, 1.0 - _log_sum(_log_binom_pmf(i, n, p) for i in range(k - 1, -1, -1)))
    return min(1.0, _log_sum(_log_binom_pmf(i, n, p) for i in range(k, n + 1)))


def _log_sum(values: Iterable[float], stop: bool = True) -> float:
    """Sum exp(v) over a run of log-terms that is unimodal-then-falling, stopping once the
    terms are past their peak and negligible (e^-40 of the largest); ``stop=False`` sums
    them all (a U-shaped run, which may rise again)."""
    terms: list[float] = []
    top = -math.inf
    for value in values:
        if stop and value < top - 40 and value < terms[-1]:
            break
        terms.append(value)
        top = max(top, value)
    return math.exp(top) * sum(math.exp(v - top) for v in terms)


def betabinom_sf(k: int, n: int, p: float, rho: float) -> float:
    """Upper tail P(X >= k) for a beta-binomial X: n mentions whose negative share is itself
    drawn around ``p`` with intra-window correlation ``rho``, so Var X = n p (1-p) (1 + (n-1) rho).

    That is how real streams vary: the share drifts from hour to hour, so a busy hour (a viral
    thread, 5x the usual volume) scatters far more than a binomial, and more than a fixed
    quasi-binomial factor, allows. ``rho = 0`` is the binomial. Exact, summed in log space like
    ``binom_sf``.
    """
    if rho <= 0.0:
        return binom_sf(k, n, p)
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    rho = min(rho, 0.5)
    a, b = p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho
    const = math.lgamma(n + 1) + math.lgamma(a + b) - math.lgamma(n + a + b) - math.lgamma(a) - math.lgamma(b)

    def log_pmf(i: int) -> float:
        return (const - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                + math.lgamma(i + a) + math.lgamma(n - i + b))

    unimodal = a >= 1.0 and b >= 1.0  # otherwise the pmf may rise again at an end
    if k <= n * p:
        return max(0.0, 1.0 - _log_sum((log_pmf(i) for i in range(k - 1, -1, -1)), unimodal))
    return min(1.0, _log_sum((log_pmf(i) for i in range(k, n + 1)), unimodal))


def _log_poisson_pmf(i: int, mu: float) -> float:
    return i * math.log(mu) - mu - math.lgamma(i + 1)


def poisson_sf(k: float, mu: float) -> float:
    """One-sided upper tail P(X >= k) for X ~ Poisson(mu), exact at every mu (summed like
    ``binom_sf``: a normal approximation above mu = 5000 was 11% off at mu = 6000, k = 6300).
    ``k`` may be fractional after a dispersion adjustment; it is rounded up (conservative)."""
    k = math.ceil(k - 1e-9)
    if k <= 0:
        return 1.0
    if mu <= 0.0:
        return 0.0
    if k <= mu:
        return max(0.0, 1.0 - _log_sum(_log_poisson_pmf(i, mu) for i in range(k - 1, -1, -1)))
    return min(1.0, _log_sum(_log_poisson_pmf(i, mu) for i in itertools.count(k)))


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a share: honest at small n, where k/n +- 2se is not."""
    if n <= 0:
        return (0.0, 1.0)
    phat = k / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def holm(p_values: Sequence[float], alpha: float) -> list[bool]:
    """Holm's step-down correction: which hypotheses to reject at family-wise level ``alpha``.

    Uniformly better than Bonferroni and valid under any dependence between the tests (topics
    share mentions, so they are dependent). Monotone in ``alpha``: a larger alpha never
    rejects fewer, which keeps "higher sensitivity never removes an alert" true per topic.
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    m = len(p_values)
    reject = [False] * m
    for rank, index in enumerate(order):
        if p_values[index] <= alpha / (m - rank):
            reject[index] = True
        else:
            break
    return reject


def holm_thresholds(p_values: Sequence[float], alpha: float) -> list[float]:
    """The level each hypothesis is compared with in Holm's procedure (``alpha / (m - rank)``
    by ascending p-value), so a quiet topic can say which threshold it missed."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    result = [alpha] * len(p_values)
    for rank, index in enumerate(order):
        result[index] = alpha / (len(p_values) - rank)
    return result


_TRIM = 0.05
_TRIMMED_CHI2_MEAN = 0.7208 / 0.95
"""E[X | X below its 95th percentile] for X ~ chi-square(1): P(chi2_3 < 3.841) / 0.95."""


def dispersion(bins: Sequence[tuple[int, int]], share: float | None) -> float:
    """How much more the baseline varies than a binomial (``share`` given) or Poisson model
    predicts, estimated from window-sized baseline bins (at least 1.0).

    Real streams are overdispersed (a viral thread, a weekday rhythm); testing them as pure
    binomial/Poisson would call every bump significant. Dividing the counts by this factor
    (quasi-likelihood) keeps false alarms near the nominal level. The estimate is the mean
    squared Pearson residual with the top 5% of bins trimmed (and rescaled for the trim),
    so last Tuesday's spike in the baseline does not make this week's spike look ordinary.
    Fewer than 6 bins say too little to estimate it, so 1.0 is returned.
    """
    if share is None:
        counts = [n for n, _ in bins]
        if len(counts) < 6:
            return 1.0
        mean = sum(counts) / len(counts)
        if mean <= 0:
            return 1.0
        residuals = [(c - mean) ** 2 / mean for c in counts]
    else:
        used = [(n, k) for n, k in bins if n > 0]
        if len(used) < 6 or share <= 0.0 or share >= 1.0:
            return 1.0
        residuals = [(k - n * share) ** 2 / (n * share * (1 - share)) for n, k in used]
    return max(1.0, _trimmed(residuals))


def overdispersion(bins: Sequence[tuple[int, int]], share: float) -> float:
    """The intra-window correlation ``rho`` of the beta-binomial that fits the baseline bins'
    scatter around ``share`` (0.0 for binomial noise; at most 0.5).

    A bin of n mentions has E[Pearson residual] = 1 + (n-1) rho, so a fixed factor fitted on
    ordinary hours is too small for a busy one and too large for a quiet night. The moment
    estimate keeps the robustness of ``dispersion``: the top 5% of residuals are trimmed
    (standardized by a first estimate, so busy bins are not trimmed for being busy), and
    rescaled for the trim. Fewer than 6 bins say too little, so 0.0 is returned.
    """
    used = [(n, k) for n, k in bins if n > 0]
    if len(used) < 6 or share <= 0.0 or share >= 1.0:
        return 0.0
    residuals = [((k - n * share) ** 2 / (n * share * (1 - share)), n - 1) for n, k in used]
    rho = 0.0
    for _ in range(2):  # trim by the residuals standardized with the previous estimate
        ranked = sorted(residuals, key=lambda r: r[0] / (1 + r[1] * rho))
        m = len(ranked)
        drop = int(m * _TRIM)
        kept = ranked[: m - drop]
        scale = (_TRIMMED_CHI2_MEAN if drop else 1.0) * (m - 1) / m
        spread = sum(n1 for _, n1 in kept)
        if spread <= 0:
            return 0.0
        rho = min(0.5, max(0.0, (sum(r for r, _ in kept) / scale - len(kept)) / spread))
    return rho


def _trimmed(residuals: list[float]) -> float:
    m = len(residuals)
    drop = int(m * _TRIM)
    if drop == 0:
        return sum(residuals) / (m - 1)
    kept = sorted(residuals)[: m - drop]
    return sum(kept) / len(kept) / _TRIMMED_CHI2_MEAN * m / (m - 1)
