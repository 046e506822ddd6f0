"""Alert rules: their settings, and the decision as a pure function of window statistics.

``evaluate`` sees only counts (the window, the baseline and its window-sized bins) and
returns a ``Decision``; it reads no clock and no database, so the statistics are tested
with property tests and replayed by the benchmark exactly as the daemon runs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Sequence

from alerts import stats
from sentimon.durations import parse_duration
from sentimon.settings import (
    Setting, SettingError, Settings, raise_problems, setting, settings_of, validate,
)

METRICS = ("negative_share", "negative_count", "volume")


@dataclass(frozen=True, kw_only=True)
class AlertRule(Settings):
    """One ``[[alerts]]`` rule, declared once: the keys, kinds, defaults and help below drive
    validation and docs, and the rule travels through alerts/ as this frozen, typed object
    (durations as timedelta), so a reader cannot misspell a key or meet an unconverted default.

    The fields after the settings are derived when the rule is built: ``validate_rule`` sets
    ``baseline_period`` and ``alpha``, the config sets ``brand`` to its stored key and
    ``brand_terms`` (with ``dataclasses.replace``)."""

    name: str = setting("str", help="Shown in every notification and identifies the rule's alerts: "
        "keep it unique and stable.")
    metric: str = setting("str", "negative_share", choices=METRICS,
        help="negative_share (binomial test), negative_count or volume (Poisson test).")
    window: timedelta = setting("duration", timedelta(hours=1), help="Recent period compared with the baseline.")
    baseline: str = setting("str", "7d",
        help='Trailing period before the window ("7d"), or "same_hour_of_week" (the same '
             "window in each of the previous 4 weeks) for seasonal sources.")
    sensitivity: str = setting("str", "", help="low | medium | high, or a significance level such as "
        '"0.001". Default medium (or none when `threshold` is set).')
    threshold: float | None = setting("float", None, help="A plain fixed limit on the observed value (a share "
        "0-1, or a count per window). Alone it replaces the test; with `sensitivity` both must hold.")
    min_mentions: int = setting("int", 20, help="No alert on a window with fewer mentions.")
    min_negative: int = setting("int", 5, help="No negative_share/negative_count alert with fewer negatives.")
    min_baseline: int = setting("int", 50, help="Warm-up: no alert until the baseline holds this many mentions.")
    min_ratio: float = setting("float", 1.25, help="Effect size guard: observed must be at least this "
        "multiple of the baseline, so huge volumes do not alert on trivial shifts.")
    cooldown: timedelta = setting("duration", timedelta(hours=4),
        help="After an alert resolves, the same rule and scope stay quiet this long.")
    worse_factor: float = setting("float", 1.5, help="Re-notify an open alert only when its excess "
        "over the baseline has grown by this factor since the last notice.")
    sustained: int = setting("int", 6, help="Also alert when the newest 2 to this many windows together "
        "run above usual (a sustained shift no single window shows); 0 turns it off.")
    notify_resolved: bool = setting("bool", False, help="Also send a notice when the alert clears.")
    per_topic: bool = setting("bool", False, help="Evaluate every topic separately (Holm-corrected).")
    topics: list[str] = setting("list[str]", [], help="Only mentions with one of these topics.")
    sources: list[str] = setting("list[str]", [], help="Only mentions from these connectors.")
    brand: str = setting("str", "", help='Brand whose mentions the rule tests: empty for our own, a '
        'competitor\'s name from a connector\'s `brand`, or "*" for all together.')
    kinds: list[str] = setting("list[str]", [], help="Only these kinds (review, post, comment, ...).")
    min_rating: int = setting("int", 0, help="Only mentions rated at least this (1-5); 0 for any.")
    max_rating: int = setting("int", 0, help="Only mentions rated at most this (1-5); 0 for any.")
    notify: list[str] = setting("list[str]", [], help="Notifier names from [notifiers.NAME].")
    enabled: bool = setting("bool", True, help="false keeps the rule in the file but never checks it.")
    baseline_period: timedelta | None = None
    """The baseline as a period; None for "same_hour_of_week"."""
    alpha: float | None = None
    """The significance level the rule tests at; None when a threshold stands alone."""
    brand_terms: tuple[str, ...] = ()
    """The words naming the rule's brand, left out of an alert's phrases."""


RULE_SETTINGS: tuple[Setting, ...] = settings_of(AlertRule)


def validate_rule(index: int, table: dict[str, Any]) -> AlertRule:
    """Check one ``[[alerts]]`` table; return the rule with defaults converted and ``alpha``
    and ``baseline_period`` resolved. Every problem of the table is raised together."""
    where = f"alerts[{index}]"
    rule = validate(table, RULE_SETTINGS, where)
    problems: list[SettingError] = []

    def problem(key: str, text: str) -> None:
        problems.append(SettingError(f"{where}.{key}", text))

    if not rule["name"].strip():
        problem("name", "expected a non-empty name")
    rule["baseline_period"] = None
    if rule["baseline"] != "same_hour_of_week":
        try:
            rule["baseline_period"] = parse_duration(rule["baseline"])
        except ValueError as exc:
            problem("baseline", f'{exc}; or "same_hour_of_week"')
        else:
            if rule["baseline_period"] < rule["window"]:
                problem("baseline", "expected a baseline at least as long as the window")
    try:
        rule["alpha"] = _alpha(rule["sensitivity"], where)
    except SettingError as exc:
        problems.append(exc)
        rule["alpha"] = None
    if rule["threshold"] is not None and rule["threshold"] < 0:  # a negative limit means none
        rule["threshold"] = None
    elif rule["metric"] == "negative_share" and rule["threshold"] is not None and rule["threshold"] > 1:
        problem("threshold", "expected a share between 0 and 1 for negative_share")
    if rule["alpha"] is None and rule["threshold"] is None:
        rule["alpha"] = stats.SENSITIVITY_ALPHA["medium"]
    for key in ("min_rating", "max_rating"):
        if rule[key] and not 1 <= rule[key] <= 5:
            problem(key, "expected a rating 1-5 (or 0 for any)")
    if not (rule["sustained"] == 0 or 2 <= rule["sustained"] <= 48):
        problem("sustained", "expected 0 (off) or a number of windows from 2 to 48")
    for key in ("min_ratio", "worse_factor"):
        if rule[key] < 1.0:
            problem(key, "expected a number of at least 1.0")
    raise_problems(problems)
    return AlertRule(**rule)


def _alpha(sensitivity: str, where: str) -> float | None:
    value = sensitivity.strip().lower()
    if not value:
        return None
    if value in stats.SENSITIVITY_ALPHA:
        return stats.SENSITIVITY_ALPHA[value]
    try:
        alpha = float(value)
    except ValueError:
        alpha = -1.0
    if not 0.0 < alpha < 0.5:
        raise SettingError(
            f"{where}.sensitivity",
            f"expected low, medium, high or a significance level between 0 and 0.5, got {value!r}",
        )
    return alpha


@dataclass(frozen=True)
class Counts:
    """What the window, or the baseline, holds: mentions and negatives, and for the baseline
    its length in windows, the per-window ``bins`` used to estimate overdispersion, and
    ``same_time``: the pooled (mentions, negatives, windows) of the baseline bins at the
    window's time of day, so that a rhythm (grumpier nights, busier evenings) is expected."""

    n: int
    k: int = 0
    windows: float = 1.0
    bins: tuple[tuple[int, int], ...] = ()
    same_time: tuple[int, int, float] | None = None


SEASONAL_PRIOR = 2.0
"""Weight, in windows, that pulls the time-of-day estimate toward the whole baseline; a week
holds only seven same-time windows, so the raw estimate alone would be noisy."""


def seasonal_expected(metric: str, baseline: Counts, overall: float) -> float:
    """The baseline value for this time of day (shrunk toward ``overall``), never below it.

    Taking the larger of the two only ever makes a test more conservative: the hours that are
    usually worse stop raising false alarms, and no hour becomes easier to alert on.
    """
    if baseline.same_time is None:
        return overall
    n, k, windows = baseline.same_time
    if windows <= 0:
        return overall
    if metric == "negative_share":
        prior = SEASONAL_PRIOR * n / windows
        seasonal = (k + prior * overall) / (n + prior) if n + prior > 0 else overall
    else:
        total = n if metric == "volume" else k
        seasonal = (total + SEASONAL_PRIOR * overall) / (windows + SEASONAL_PRIOR)
    return max(overall, seasonal)


@dataclass(frozen=True)
class Decision:
    """The outcome of one test. ``fire`` is before multiple-testing correction; ``state`` says
    why a rule did not run a test (``warming_up``, ``too_few``) or ``tested``."""

    state: str
    observed: float
    expected: float
    p_value: float = 1.0
    ratio: float = 0.0
    dispersion: float = 1.0
    fire: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)
    windows: int = 1
    """How many consecutive windows the figures cover (more than one for a sustained shift)."""
    level: float | None = None
    """The level the p-value was held to when it is not the rule's alpha (a sustained test)."""
    rho: float = 0.0
    """The baseline's beta-binomial overdispersion (negative_share); ``dispersion`` is the
    variance factor 1 + (n-1) rho it gives this window."""

    @property
    def excess(self) -> float:
        return self.observed - self.expected


def observed_value(metric: str, window: Counts) -> float:
    if metric == "negative_share":
        return window.k / window.n if window.n else 0.0
    return float(window.k if metric == "negative_count" else window.n)


def evaluate(rule: AlertRule, window: Counts, baseline: Counts, alpha: float | None = None) -> Decision:
    """Test ``window`` against ``baseline`` for ``rule``; ``alpha`` overrides the rule's own
    (the per-topic path passes the family's level and applies Holm afterwards)."""
    metric = rule.metric
    alpha = rule.alpha if alpha is None else alpha
    observed = observed_value(metric, window)
    threshold = rule.threshold
    fixed_only = alpha is None and threshold is not None
    if not fixed_only and (baseline.n < rule.min_baseline or baseline.windows <= 0):
        need = rule.min_baseline
        return Decision("warming_up", observed, 0.0, reasons=(
            f"the baseline holds {baseline.n} mentions; it needs {need} "
            f"({max(need - baseline.n, 0)} more) before this rule can judge",))
    if metric == "negative_share":
        overall = baseline.k / baseline.n if baseline.n else 0.0
    else:
        total = baseline.k if metric == "negative_count" else baseline.n
        overall = total / baseline.windows if baseline.windows > 0 else 0.0
    expected = seasonal_expected(metric, baseline, overall)
    guards = []
    if window.n < rule.min_mentions:
        need = rule.min_mentions
        guards.append(f"{window.n} mentions in the window; needs {need} (min_mentions, {need - window.n} more)")
    if metric != "volume" and window.k < rule.min_negative:
        need = rule.min_negative
        guards.append(f"{window.k} negative in the window; needs {need} (min_negative, {need - window.k} more)")
    if guards:
        return Decision("too_few", observed, expected, reasons=tuple(guards))

    if fixed_only and threshold is not None:
        fire = observed >= threshold and observed > 0
        reason = f"observed {observed:.4g} vs threshold {threshold:g}"
        return Decision("tested", observed, expected, 1.0, 0.0, 1.0, fire, (reason,))
    assert alpha is not None  # validate_rule sets one unless a threshold stands alone
    p_value, phi, rho = test(metric, window, baseline, expected, overall)
    # A share of 0 in the baseline would make any negative "infinitely" worse; floor it at
    # half a mention so the ratio stays meaningful.
    floor = 0.5 / max(baseline.n, 1) if metric == "negative_share" else 0.5 / max(baseline.windows, 1e-9)
    ratio = observed / max(expected, floor)
    fire = observed > expected and ratio >= rule.min_ratio
    fire = fire and p_value <= alpha
    reasons = [f"p={p_value:.2g}, needs <= {alpha:.2g}"]
    if ratio < rule.min_ratio:
        reasons.append(f"{ratio:.2f}x usual, needs {rule.min_ratio:g}x (min_ratio)")
    if threshold is not None:
        fire = fire and observed >= threshold
        reasons.append(f"observed {observed:.4g} vs threshold {threshold:g}")
    return Decision("tested", observed, expected, p_value, ratio, phi, fire, tuple(reasons), rho=rho)


def test(metric: str, window: Counts, baseline: Counts, expected: float,
         overall: float | None = None) -> tuple[float, float, float]:
    """The one-sided p-value that the window is above the baseline, the variance factor used,
    and (negative_share) the beta-binomial rho behind it.

    negative_share: beta-binomial test of k of n against the expected share, its rho fitted to
    the baseline bins' scatter around the ``overall`` baseline value (a busy window varies
    more than a quiet one; a fixed quasi-binomial factor let bursts fire). Counts: Poisson test
    of the window's count against the expected count per window, divided by the bins'
    overdispersion (quasi-Poisson).
    """
    if metric == "negative_share":
        share = min(max(expected, 0.5 / max(baseline.n, 1)), 1 - 1e-9)
        around = overall if overall is not None else expected
        rho = stats.overdispersion(baseline.bins, min(max(around, 0.5 / max(baseline.n, 1)), 1 - 1e-9))
        return stats.betabinom_sf(window.k, window.n, share, rho), 1 + (window.n - 1) * rho, rho
    bins = [(n if metric == "volume" else k, 0) for n, k in baseline.bins]
    phi = stats.dispersion(bins, None)
    x = window.n if metric == "volume" else window.k
    mu = max(expected, 0.5 / max(baseline.windows, 1.0))
    return stats.poisson_sf(x / phi, mu / phi), phi, 0.0


def family(rule: AlertRule, decisions: Sequence[Decision]) -> list[bool]:
    """Which decisions of one per-topic rule fire after Holm's correction across the topics
    that were actually tested, so ten topics do not mean ten times the false alarms."""
    tested = [i for i, d in enumerate(decisions) if d.state == "tested"]
    alpha = rule.alpha
    if alpha is None:
        return [d.fire for d in decisions]
    keep = stats.holm([decisions[i].p_value for i in tested], alpha)
    result = [False] * len(decisions)
    for i, ok in zip(tested, keep):
        result[i] = ok and decisions[i].fire
    return result


def with_family_reasons(rule: AlertRule, decisions: Sequence[Decision]) -> list[Decision]:
    """The decisions of a per-topic rule, their p-value reason naming the Holm-adjusted
    threshold each topic had to meet (not the rule's alpha, which only the best topic gets)."""
    tested = [i for i, d in enumerate(decisions) if d.state == "tested"]
    alpha = rule.alpha
    if alpha is None or not tested:
        return list(decisions)
    levels = stats.holm_thresholds([decisions[i].p_value for i in tested], alpha)
    result = list(decisions)
    for i, level in zip(tested, levels):
        d = decisions[i]
        why = (f"p={d.p_value:.2g}, needs <= {level:.2g} ({alpha:g} shared by {len(tested)} topics, Holm)",)
        result[i] = replace(d, reasons=why + tuple(r for r in d.reasons if not r.startswith("p=")))
    return result


def resolved(rule: AlertRule, decision: Decision) -> bool:
    """Whether an open alert has cleared. Hysteresis (the p-value must rise well above alpha,
    or the value fall back to the baseline) stops an alert flapping open/resolved/open."""
    threshold = rule.threshold
    if rule.alpha is None:
        return threshold is not None and decision.observed < threshold * 0.9
    if decision.state == "warming_up":
        return False
    if decision.observed <= decision.expected:
        return True
    if decision.state == "too_few":
        return True
    alpha = decision.level if decision.level is not None else rule.alpha
    return decision.p_value > math.sqrt(alpha)
