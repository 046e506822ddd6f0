"""The message every notifier renders: one JSON-ready dict built when the alert is recorded.

Building it once, at check time, and storing it in the outbox means a retry hours later
sends exactly what the first attempt would have, and each notifier only formats (Slack
blocks, an email, JSON) without knowing any statistics.
"""

from __future__ import annotations

from typing import Any

_METRIC_LABEL = {"negative_share": "negative share", "negative_count": "negative mentions",
                 "volume": "mentions"}


def _pct(value: float) -> str:
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def value_text(metric: str, value: float) -> str:
    return _pct(value) if metric == "negative_share" else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def title(kind: str, details: dict[str, Any]) -> str:
    """One line built from the rule name and numbers only: safe for an email Subject."""
    nums = details["numbers"]
    metric = nums["metric"]
    where = f" [{details['topic']}]" if details.get("topic") else ""
    label = _METRIC_LABEL.get(metric, metric)
    observed = value_text(metric, nums["observed"])
    expected = value_text(metric, nums["expected"])
    prefix = {"opened": "", "worse": "Worse: ", "resolved": "Resolved: ", "test": "TEST: "}.get(kind, "")
    if kind == "resolved":
        return f"{prefix}{details['rule']}{where}: {label} back to {observed} (expected {expected})"
    return (f"{prefix}{details['rule']}{where}: {label} {observed} in the last {nums['window']} "
            f"(expected {expected})")


def summary_lines(details: dict[str, Any]) -> list[str]:
    """The numbers as plain lines, shared by console, email and Slack."""
    n = details["numbers"]
    low, high = n["share_interval"]
    lines = [
        f"{n['mentions']} mentions in the last {n['window']}, {n['negative']} negative "
        f"({_pct(n['negative_share'])}, 95% interval {_pct(low)}-{_pct(high)})",
        f"baseline ({n['baseline']}): {_pct(n['baseline_share'])} negative of {n['baseline_mentions']} mentions",
    ]
    if n["metric"] != "negative_share":
        lines.append(f"{_METRIC_LABEL[n['metric']]}: {n['observed']:.0f} vs {n['expected']:.1f} expected per window")
    # "expected" is the baseline share, raised to the same time of day's where that is higher
    test = f"expected {value_text(n['metric'], n['expected'])}: {n['ratio']:.1f}x that"
    if n.get("alpha") is not None:
        test += f", p = {n['p_value']:.2g} (alpha {n['alpha']:g})"
    if n.get("threshold") is not None:
        test += f", threshold {value_text(n['metric'], n['threshold'])}"
    lines.append(test)
    return lines


def driver_lines(details: dict[str, Any]) -> list[str]:
    return [f"{d['topic']}: {d['negative']} negative (about {d['expected']:g} expected)"
            for d in details.get("drivers", [])]


def phrase_lines(details: dict[str, Any]) -> list[str]:
    return [f"\"{p['phrase']}\" in {p['window']} mentions ({_pct(p['window_share'])} vs "
            f"{_pct(p['baseline_share'])} before)" for p in details.get("phrases", [])]


def build(kind: str, event: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    """The payload stored in ``deliveries.payload`` for one notification."""
    summary = summary_lines(details)
    if kind == "resolved":
        n = details["numbers"]
        summary = [f"{_METRIC_LABEL.get(n['metric'], n['metric'])} is back to "
                   f"{value_text(n['metric'], n['observed'])} against a baseline of "
                   f"{value_text(n['metric'], n['expected'])}; the alert opened at {event.get('opened_at')}"]
    return {
        "kind": kind, "event_id": event.get("id"), "rule": details["rule"],
        "scope": details.get("scope", ""), "status": event.get("status", "open"),
        "opened_at": event.get("opened_at"), "title": title(kind, details),
        "summary": summary, "drivers": details.get("drivers", []),
        "phrases": details.get("phrases", []), "examples": details.get("examples", []),
        "series": details.get("series", []), "numbers": details["numbers"],
        "test": kind == "test",
    }


def test_message(now_text: str) -> dict[str, Any]:
    """A clearly marked sample for ``sentimon alerts test``, exercising every part."""
    details = {
        "rule": "sentimon test", "scope": "", "topic": None,
        "numbers": {"metric": "negative_share", "window": "1h", "baseline": "7d", "mentions": 42,
                    "negative": 17, "negative_share": 0.405, "share_interval": [0.27, 0.56],
                    "baseline_mentions": 900, "baseline_share": 0.12, "observed": 0.405,
                    "expected": 0.12, "ratio": 3.4, "p_value": 1e-7, "dispersion": 1.0,
                    "alpha": 0.001, "threshold": None},
        "drivers": [{"topic": "delivery", "negative": 12, "expected": 1.5, "excess": 10.5}],
        "phrases": [{"phrase": "tracking never", "window": 7, "window_share": 0.41, "baseline_share": 0.01}],
        "examples": [{"id": 0, "source": "sentimon", "kind": "test", "url": "https://example.com/",
                      "author": None, "title": None, "rating": None, "created_at": now_text,
                      "score_negative": 0.9,
                      "text": "This is a test message from `sentimon alerts test`; no action needed."}],
        "series": [{"hour": f"h{i}", "n": 20, "negative": 2 + (i > 40) * 6} for i in range(48)],
    }
    payload = build("test", {"id": None, "status": "test", "opened_at": now_text}, details)
    payload["title"] = "TEST from sentimon: notifications work (no action needed)"
    return payload
