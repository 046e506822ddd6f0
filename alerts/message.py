"""The message every notifier renders: one JSON-ready dict built when the alert is recorded.

Building it once, at check time, and storing it in the outbox means a retry hours later
sends exactly what the first attempt would have, and each notifier only formats (Slack
blocks, an email, JSON) without knowing any statistics.
"""

from __future__ import annotations

from typing import Any

_METRIC_LABEL = {"negative_share": "negative share", "negative_count": "negative mentions",
                 "volume": "mentions"}


def pct(value: float) -> str:
    """A share for people: whole percent, one decimal below 10% so 0.4% is not "0%"."""
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def value_text(metric: str, value: float) -> str:
    return pct(value) if metric == "negative_share" else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


_UNIT_WORDS = {"m": "minute", "h": "hour", "d": "day", "w": "week"}


def span_words(span: str) -> str:
    """"12h" -> "12 hours", "1h" -> "hour": the window as a person says it after "the last"."""
    number, unit = span[:-1], _UNIT_WORDS.get(span[-1:])
    if unit is None or not number.isdigit():
        return span
    return unit if number == "1" else f"{number} {unit}s"


def headline(details: dict[str, Any]) -> str:
    """The alert in one plain sentence, with the very figure the test compared against:
    "32 of 58 mentions in the last 12 hours were negative (55%); usually about 20%." A sustained
    shift says how long it has run: "Negatives have run above usual for 3 windows in a row (the
    last 3 hours): 41 of 96 mentions were negative (43%); usually about 20%."."""
    n = details["numbers"]
    metric, last = n["metric"], f"in the last {span_words(n['window'])}"
    usual = value_text(metric, n["expected"])
    runs = n.get("windows", 1)
    if runs > 1:
        what = {"negative_share": "Negatives", "negative_count": "Negative mentions"}.get(metric, "Mentions")
        lead = f"{what} have run above usual for {runs} windows in a row (the last {span_words(n['window'])}): "
        if metric == "negative_share":
            return (f"{lead}{n['negative']} of {n['mentions']} mentions were negative "
                    f"({pct(n['negative_share'])}); usually about {usual}.")
        count = n["negative"] if metric == "negative_count" else n["mentions"]
        return f"{lead}{count}; usually about {usual}."
    if metric == "negative_share":
        return (f"{n['negative']} of {n['mentions']} mentions {last} were negative "
                f"({pct(n['negative_share'])}); usually about {usual}.")
    if metric == "negative_count":
        return f"{n['negative']} negative mentions {last}; usually about {usual}."
    return f"{n['mentions']} mentions {last}; usually about {usual}."


def title(kind: str, details: dict[str, Any]) -> str:
    """One line built from the rule name and numbers only: safe for an email Subject."""
    nums = details["numbers"]
    metric = nums["metric"]
    where = f" [{details['topic']}]" if details.get("topic") else ""
    prefix = {"opened": "", "worse": "Worse: ", "resolved": "Resolved: ", "test": "TEST: "}.get(kind, "")
    if kind == "resolved":
        label = _METRIC_LABEL.get(metric, metric)
        return (f"{prefix}{details['rule']}{where}: {label} back to {value_text(metric, nums['observed'])} "
                f"(usually about {value_text(metric, nums['expected'])})")
    return f"{prefix}{details['rule']}{where}: {headline(details)}"


def summary_lines(details: dict[str, Any]) -> list[str]:
    """Plain words first (the headline, then what "usually" rests on), the statistics last on
    one "Details:" line for whoever wants them; shared by console, email and Slack."""
    n = details["numbers"]
    before = (f"Over the {n['baseline']} before, {pct(n['baseline_share'])} of "
              f"{n['baseline_mentions']} mentions were negative")
    if n["metric"] == "negative_share" and pct(n["expected"]) != pct(n["baseline_share"]):
        before += f"; at this time of day, about {pct(n['expected'])}"  # the figure tested
    lines = [headline(details), before + "."]
    low, high = n["share_interval"]
    facts = [f"{n['ratio']:.1f}x usual", f"share 95% interval {pct(low)}-{pct(high)}"]
    if n.get("alpha") is not None:
        facts.append(f"p = {n['p_value']:.2g} (needed {n['alpha']:g})")
    if n.get("threshold") is not None:
        facts.append(f"threshold {value_text(n['metric'], n['threshold'])}")
    return [*lines, "Details: " + ", ".join(facts)]


def ack_hint(event_id: int) -> str:
    """How to act on an alert from where it was read: every notifier ends with this line."""
    return (f"alert #{event_id} · acknowledge (stops follow-ups): sentimon alerts ack {event_id}"
            f" · everything again: sentimon alerts show {event_id}")


def driver_lines(details: dict[str, Any]) -> list[str]:
    return [f"{d['topic']}: {d['negative']} negative (about {d['expected']:g} expected)"
            for d in details.get("drivers", [])]


def phrase_lines(details: dict[str, Any]) -> list[str]:
    return [f"\"{p['phrase']}\" in {p['window']} mentions ({pct(p['window_share'])} vs "
            f"{pct(p['baseline_share'])} before)" for p in details.get("phrases", [])]


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
