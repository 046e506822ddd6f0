"""``sentimon report``: one self-contained HTML page (inline SVG, no external requests).

``gather`` collects the numbers (also printed by ``--format json``); ``render_html`` draws
them. Every string from a mention is escaped; links are only http(s).
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta, timezone
from typing import Any

from sentimon.store import Store, to_db_time


def _bucket_sql(span: timedelta) -> tuple[str, str]:
    """Hourly buckets for short periods, daily otherwise."""
    if span <= timedelta(days=2):
        return "substr(created_at, 1, 13) || ':00'", "hour"
    return "substr(created_at, 1, 10)", "day"


def gather(store: Store, since: timedelta, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    start, previous = now - since, now - 2 * since
    span = [to_db_time(start), to_db_time(now)]
    prev_span = [to_db_time(previous), to_db_time(start)]
    bucket, unit = _bucket_sql(since)
    q = store.db.execute
    series = [
        {"bucket": b, "total": t, "negative": n, "negative_share": round(n / t, 4) if t else 0.0}
        for b, t, n in q(
            f"SELECT {bucket} AS b, COUNT(*), SUM(sentiment = 'negative') FROM mentions "
            "WHERE created_at >= ? AND created_at < ? GROUP BY b ORDER BY b", span
        ).fetchall()
    ]
    total, negative = q("SELECT COUNT(*), COALESCE(SUM(sentiment = 'negative'), 0) FROM mentions "
                        "WHERE created_at >= ? AND created_at < ?", span).fetchone()
    prev_total, prev_negative = q("SELECT COUNT(*), COALESCE(SUM(sentiment = 'negative'), 0) FROM mentions "
                                  "WHERE created_at >= ? AND created_at < ?", prev_span).fetchone()
    topic_sql = (
        "SELECT t.topic, COUNT(*), SUM(t.sentiment = 'negative'), SUM(t.sentiment = 'neutral'), "
        "SUM(t.sentiment = 'positive') FROM mention_topics t JOIN mentions m ON m.id = t.mention_id "
        "WHERE m.created_at >= ? AND m.created_at < ? GROUP BY t.topic"
    )
    before = {row[0]: row[2] for row in q(topic_sql, prev_span).fetchall()}
    topics = sorted(
        ({"topic": name, "total": t, "negative": n, "neutral": neu, "positive": p,
          "negative_previous": before.get(name, 0), "change": n - before.get(name, 0)}
         for name, t, n, neu, p in q(topic_sql, span).fetchall()),
        key=lambda r: (-r["negative"], -r["total"]),
    )
    sources = [
        {"source": s, "total": t, "negative": n, "negative_share": round(n / t, 4) if t else 0.0}
        for s, t, n in q("SELECT source, COUNT(*), SUM(sentiment = 'negative') FROM mentions "
                         "WHERE created_at >= ? AND created_at < ? GROUP BY source ORDER BY 2 DESC", span).fetchall()
    ]
    alerts = [dict(r) for r in store.db.execute_returning_dicts(
        "SELECT id, rule, scope, status, opened_at, resolved_at, observed, baseline FROM alert_events "
        "WHERE opened_at >= ? ORDER BY opened_at", [to_db_time(start)])]
    worst = store.db.execute_returning_dicts(
        "SELECT id, source, url, title, text, created_at, score_negative FROM mentions "
        "WHERE created_at >= ? AND created_at < ? AND sentiment = 'negative' "
        "ORDER BY score_negative DESC, created_at DESC LIMIT 10", span)
    return {
        "generated_at": to_db_time(now), "since": to_db_time(start), "unit": unit,
        "total": total, "negative": negative,
        "negative_share": round(negative / total, 4) if total else 0.0,
        "baseline_share": round(prev_negative / prev_total, 4) if prev_total else None,
        "previous_total": prev_total, "series": series, "topics": topics, "sources": sources,
        "alerts": alerts, "most_negative": [dict(r) for r in worst],
    }


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _safe_url(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _chart(series: list[dict[str, Any]], baseline: float | None, alerts: list[dict[str, Any]]) -> str:
    """Bars of volume with the negative part, a line of negative share, the baseline dashed."""
    width, height, pad = 720, 220, 30
    if not series:
        return '<p class="empty">No mentions in this period.</p>'
    n = len(series)
    step = (width - 2 * pad) / n
    peak = max(p["total"] for p in series) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="Volume and negative share over time">']
    for i, point in enumerate(series):
        x = pad + i * step
        h_total = (height - 2 * pad) * point["total"] / peak
        h_neg = (height - 2 * pad) * point["negative"] / peak
        parts.append(f'<rect class="vol" x="{x:.1f}" y="{height - pad - h_total:.1f}" width="{step * 0.8:.1f}" height="{h_total:.1f}"><title>{_esc(point["bucket"])}: {point["total"]} mentions</title></rect>')
        parts.append(f'<rect class="neg" x="{x:.1f}" y="{height - pad - h_neg:.1f}" width="{step * 0.8:.1f}" height="{h_neg:.1f}"/>')
    line = " ".join(f"{pad + (i + 0.4) * step:.1f},{height - pad - (height - 2 * pad) * p['negative_share']:.1f}" for i, p in enumerate(series))
    parts.append(f'<polyline class="share" points="{line}"/>')
    if baseline is not None:
        y = height - pad - (height - 2 * pad) * baseline
        parts.append(f'<line class="baseline" x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}"><title>baseline negative share {baseline:.0%}</title></line>')
    buckets = [p["bucket"] for p in series]
    for alert in alerts:
        label = alert["opened_at"][:13] + ":00" if len(buckets[0]) > 10 else alert["opened_at"][:10]
        if label in buckets:
            x = pad + (buckets.index(label) + 0.4) * step
            parts.append(f'<line class="alert" x1="{x:.1f}" x2="{x:.1f}" y1="{pad}" y2="{height - pad}"><title>alert: {_esc(alert["rule"])}</title></line>')
    parts.append(f'<text x="{pad}" y="{height - 8}">{_esc(buckets[0])}</text><text x="{width - pad}" y="{height - 8}" text-anchor="end">{_esc(buckets[-1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[dict[str, Any]], columns: list[str], caption: str) -> str:
    head = "".join(f"<th>{_esc(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_esc(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f'<table><caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;max-width:980px;padding:1rem;color:#222}
h1{font-size:1.4rem}.kpis{display:flex;flex-wrap:wrap;gap:1rem}.kpi{background:#f4f4f6;border-radius:8px;padding:.6rem 1rem}
.kpi b{display:block;font-size:1.5rem}.chart{width:100%;height:auto}.vol{fill:#c9d6ea}.neg{fill:#d9534f}
.share{fill:none;stroke:#7a1f1c;stroke-width:2}.baseline{stroke:#555;stroke-dasharray:6 4}.alert{stroke:#f0ad4e;stroke-width:3}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.9rem}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border-bottom:1px solid #ddd;padding:.3rem .4rem;text-align:left;vertical-align:top}
.mention{border-left:4px solid #d9534f;padding:.3rem .6rem;margin:.5rem 0;background:#fcf3f3}
.wrap{overflow-x:auto}@media (max-width:600px){body{padding:.5rem}.kpi b{font-size:1.2rem}}
"""


def render_html(data: dict[str, Any]) -> str:
    baseline = data["baseline_share"]
    kpis = [("mentions", data["total"]), ("negative", data["negative"]),
            ("negative share", f"{data['negative_share']:.0%}"),
            ("previous period", f"{baseline:.0%}" if baseline is not None else "n/a"),
            ("alerts", len(data["alerts"]))]
    mentions = []
    for m in data["most_negative"]:
        url = _safe_url(m.get("url"))
        link = f' <a href="{_esc(url)}" rel="noopener noreferrer">open</a>' if url else ""
        title = f"<b>{_esc(m['title'])}</b> " if m.get("title") else ""
        mentions.append(f'<div class="mention">{title}{_esc(m["text"][:600])}<br><small>{_esc(m["source"])} · {_esc(m["created_at"])} · {m["score_negative"]:.0%} negative{link}</small></div>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>sentimon report</title><style>{_CSS}</style></head><body>
<h1>sentimon report <small>since {_esc(data['since'])}</small></h1>
<div class="kpis">{''.join(f'<div class="kpi"><b>{_esc(v)}</b>{_esc(k)}</div>' for k, v in kpis)}</div>
<h2>Volume and negative share per {_esc(data['unit'])}</h2>
{_chart(data['series'], baseline, data['alerts'])}
<div class="wrap">{_table(data['topics'], ['topic', 'total', 'negative', 'neutral', 'positive', 'negative_previous', 'change'], 'Topics by negative volume (change against the previous period)')}</div>
<div class="wrap">{_table(data['sources'], ['source', 'total', 'negative', 'negative_share'], 'Sources')}</div>
<div class="wrap">{_table(data['alerts'], ['rule', 'scope', 'status', 'opened_at', 'resolved_at', 'observed', 'baseline'], 'Alerts')}</div>
<h2>Most negative mentions</h2>{''.join(mentions) or '<p class="empty">None.</p>'}
<footer><small>generated {_esc(data['generated_at'])} by sentimon</small></footer>
</body></html>
"""
