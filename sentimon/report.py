"""``sentimon report``: one self-contained HTML page (inline SVG, no external requests).

``gather`` collects the numbers (also printed by ``--format json``); ``render_html`` draws
them. Every string from a mention is escaped; links are only http(s).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from alerts import storage as alert_tables
from sentimon.report_charts import esc as _esc
from sentimon.report_charts import topic_chart, volume_chart
from sentimon.mention_store import MentionStore
from sentimon.store import MentionQuery, to_db_time
from sentimon.timeline import filled, local_text, regroup

TOPIC_LINES = 5  # topics drawn in the trend chart, most negative first


def gather(
    store: MentionStore, since: timedelta | datetime, now: datetime | None = None, *,
    until: datetime | None = None, zone: ZoneInfo | None = None, brands: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The report's numbers for [since, until or now), compared with the period before.

    ``since`` is a start or a length back from the end. Buckets (hours up to two days, else
    days) are in ``zone`` and every empty one is a zero, so the charts keep time. ``brands``
    (stored key -> name, ours first) adds share of voice when it names more than one. Either
    store answers (its ``window_*`` reads), with the same numbers for the same mentions."""
    now = now or datetime.now(timezone.utc)
    zone = zone or ZoneInfo("UTC")
    end = until or now
    start = end - since if isinstance(since, timedelta) else since
    length = end - start
    previous = start - length
    span = [to_db_time(start), to_db_time(end)]
    prev_span = [to_db_time(previous), to_db_time(start)]
    unit = "hour" if length <= timedelta(days=2) else "day"
    hours = [
        {"hour": h, "total": t, "negative": n, "neutral": neu, "positive": p}
        for h, t, n, neu, p in store.window_hours(span)
    ]
    series = [{**row, "bucket": row[unit]} for row in filled(regroup(hours, unit, zone), unit, zone, start, end)]
    total, negative = store.window_counts(span)
    prev_total, prev_negative = store.window_counts(prev_span)
    before = {row[0]: row[2] for row in store.window_topics(prev_span)}
    topics: list[dict[str, Any]] = sorted(
        ({"topic": name, "total": t, "negative": n, "neutral": neu, "positive": p,
          "negative_previous": before.get(name, 0), "change": n - before.get(name, 0)}
         for name, t, n, neu, p in store.window_topics(span)),
        key=lambda r: (-r["negative"], -r["total"]),
    )
    sources = [
        {"source": s, "total": t, "negative": n, "negative_share": round(n / t, 4) if t else 0.0}
        for s, t, n in store.window_groups("source", span)
    ]
    with store.alert_tables() as db:
        alerts = alert_tables.opened_between(db, *span)
    # One row per text: a copied complaint (a bot, a resent push) shows once, with its count.
    worst = store.window_most_negative(span)
    return {
        "generated_at": to_db_time(now), "since": to_db_time(start), "until": to_db_time(end),
        "timezone": zone.key, "unit": unit, "total": total, "negative": negative,
        "negative_share": round(negative / total, 4) if total else 0.0,
        "baseline_share": round(prev_negative / prev_total, 4) if prev_total else None,
        "previous_total": prev_total, "series": series,
        "topic_series": _topic_series(store, span, [t["topic"] for t in topics[:TOPIC_LINES]], unit, zone, start, end),
        "topics": topics, "sources": sources, "alerts": alerts, "most_negative": [dict(r) for r in worst],
        "brands": _share_of_voice(store, span, start, end, brands) if brands and len(brands) > 1 else [],
    }


def _share_of_voice(store: MentionStore, span: list[str], start: datetime, end: datetime,
                    brands: dict[str, str]) -> list[dict[str, Any]]:
    """Per brand: mentions, negative share, part of all mentions and the most frequent negative
    topics. Every configured brand has a row (none found is news too), in ``brands``' order,
    then any brand only the history holds (a competitor no longer watched)."""
    counts = {key: (t, n) for key, t, n in store.window_groups("brand", span)}
    top = store.top_negative_topics(MentionQuery(since=start, until=end), "brand")
    everyone = sum(t for t, _ in counts.values())
    rows = []
    for key in [*brands, *sorted(k for k in counts if k not in brands)]:
        total, negative = counts.get(key, (0, 0))
        rows.append({"brand": brands.get(key, key), "total": total, "negative": negative,
                     "negative_share": round(negative / total, 4) if total else 0.0,
                     "share_of_voice": round(total / everyone, 4) if everyone else 0.0,
                     "top_negative_topics": top.get(key, [])})
    return rows


def _topic_series(store: MentionStore, span: list[str], names: list[str], unit: str, zone: ZoneInfo,
                  start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per topic, mentions and negative ones per bucket (zeros included), for the trend chart."""
    if not names:
        return []
    rows = store.window_topic_hours(span, names)
    out = []
    for name in names:
        hours = [{"hour": h, "total": n, "negative": neg, "neutral": 0, "positive": 0}
                 for topic, h, n, neg in rows if topic == name]
        points = filled(regroup(hours, unit, zone), unit, zone, start, end)
        out.append({"topic": name, "points": [{"bucket": p[unit], "total": p["total"],
                                               "negative": p["negative"]} for p in points]})
    return out


def _safe_url(url: object) -> str | None:
    """``url`` if it is an http(s) URL, else None. Takes any value: ``extra`` keeps a pushed
    ``"reply_url": 5`` as a number, which must drop the link, not crash the report."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None


def _link(url: object, label: str) -> str:
    """A mention's link, or nothing: its URLs come from the source (untrusted), so only
    http(s) is linked, escaped, and the page it opens gets no handle back on the report."""
    safe = _safe_url(url)
    return f' <a href="{_esc(safe)}" rel="noopener noreferrer">{_esc(label)}</a>' if safe else ""


def _table(rows: list[dict[str, Any]], columns: list[str], caption: str) -> str:
    head = "".join(f"<th>{_esc(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_esc(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f'<table><caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pct(value: Any) -> str:
    return "" if value is None else f"{float(value):.0%}"


def _display_rows(data: dict[str, Any], zone: ZoneInfo) -> tuple[list, list, list]:
    """Sources, alerts and brands as people read them: shares as percentages, times local."""
    sources = [{**r, "negative_share": _pct(r["negative_share"])} for r in data["sources"]]
    brands = [{**r, "negative_share": _pct(r["negative_share"]), "share_of_voice": _pct(r["share_of_voice"]),
               "top_negative_topics": ", ".join(r["top_negative_topics"])} for r in data.get("brands", [])]
    alerts = []
    for a in data["alerts"]:
        share = a.get("metric") == "negative_share"
        number = _pct if share else (lambda v: "" if v is None else f"{v:.1f}")
        alerts.append({**a, "opened_at": local_text(a["opened_at"], zone),
                       "resolved_at": local_text(a["resolved_at"], zone),
                       "observed": number(a["observed"]), "baseline": number(a["baseline"])})
    return sources, alerts, brands


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;max-width:1200px;padding:1rem;color:#222}
h1{font-size:1.4rem}h1 small{font-weight:400;color:#555}.kpis{display:flex;flex-wrap:wrap;gap:1rem}
.kpi{background:#f4f4f6;border-radius:8px;padding:.6rem 1rem}.kpi b{display:block;font-size:1.5rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1rem}
.chart{width:100%;height:auto;font-size:11px}.vol{fill:#c9d6ea}.neg{fill:#d9534f}
.share{fill:none;stroke:#7a1f1c;stroke-width:2}.share-key{fill:#7a1f1c}.baseline{stroke:#555;stroke-dasharray:6 4}
.baseline-key{fill:#555}.topic{fill:none;stroke-width:2}.axis{stroke:#333}.grid{stroke:#e4e4e4}
.tick{fill:#444}.axis-title{fill:#222;font-weight:600}.legend text{fill:#222}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.9rem}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border-bottom:1px solid #ddd;padding:.3rem .4rem;text-align:left;vertical-align:top}
.mention{border-left:4px solid #d9534f;padding:.3rem .6rem;margin:.5rem 0;background:#fcf3f3}
.wrap{overflow-x:auto}@media (max-width:600px){body{padding:.5rem}.kpi b{font-size:1.2rem}}
@media print{@page{size:A4;margin:14mm}body{max-width:none;padding:0;font-size:10pt;color:#000}
.charts{display:block}.chart{max-height:80mm;page-break-inside:avoid;break-inside:avoid}
.kpi{background:none;border:1px solid #999}.wrap{overflow:visible}table,tr,.mention{break-inside:avoid}
h2{break-after:avoid}.mention{background:none}a{color:#000;text-decoration:none}
a[href]::after{content:" (" attr(href) ")";font-size:8pt;color:#444;word-break:break-all}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def render_html(data: dict[str, Any]) -> str:
    zone = ZoneInfo(data.get("timezone") or "UTC")
    baseline = data["baseline_share"]
    kpis = [("mentions", data["total"]), ("negative", data["negative"]),
            ("negative share", f"{data['negative_share']:.0%}"),
            ("previous period", f"{baseline:.0%}" if baseline is not None else "n/a"),
            ("alerts", len(data["alerts"]))]
    mentions = []
    for m in data["most_negative"]:
        link = _link(m.get("url"), "open") + _link(m.get("reply_url"), "reply")
        title = f"<b>{_esc(m['title'])}</b> " if m.get("title") else ""
        repeats = f" · {m['repeats']} times" if m.get("repeats", 1) > 1 else ""
        mentions.append(f'<div class="mention">{title}{_esc(m["text"][:600])}<br><small>{_esc(m["source"])} · '
                        f'{_esc(local_text(m["created_at"], zone))} · {m["score_negative"]:.0%} negative{repeats}{link}</small></div>')
    sources, alerts, brands = _display_rows(data, zone)
    voice = _table(brands, ['brand', 'total', 'negative', 'negative_share', 'share_of_voice', 'top_negative_topics'],
                   'Share of voice: our brand and the competitors watched') if brands else ''
    period = f"{local_text(data['since'], zone)} to {local_text(data.get('until') or data['generated_at'], zone)} ({zone.key})"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>sentimon report</title><style>{_CSS}</style></head><body>
<h1>sentimon report <small>{_esc(period)}</small></h1>
<div class="kpis">{''.join(f'<div class="kpi"><b>{_esc(v)}</b>{_esc(k)}</div>' for k, v in kpis)}</div>
<div class="charts"><section><h2>Volume and negative share per {_esc(data['unit'])}</h2>
{volume_chart(data['series'], data['unit'], baseline)}</section>
<section><h2>Topics: negative mentions per {_esc(data['unit'])}</h2>
{topic_chart(data.get('topic_series', []), data['unit'])}</section></div>
<div class="wrap">{_table(data['topics'], ['topic', 'total', 'negative', 'neutral', 'positive', 'negative_previous', 'change'], 'Topics by negative volume (change against the previous period)')}</div>
<div class="wrap">{voice}</div>
<div class="wrap">{_table(sources, ['source', 'total', 'negative', 'negative_share'], 'Sources')}</div>
<div class="wrap">{_table(alerts, ['rule', 'scope', 'status', 'opened_at', 'resolved_at', 'observed', 'baseline'], f'Alerts (times in {zone.key})')}</div>
<h2>Most negative mentions</h2>{''.join(mentions) or '<p class="empty">None.</p>'}
<footer><small>generated {_esc(local_text(data['generated_at'], zone))} ({_esc(zone.key)}) by sentimon</small></footer>
</body></html>
"""
