"""`sentimon report` as a CX lead reads and prints it: percentages, local readable times, a
per-topic trend chart with axes and a legend, no repeated texts, a fixed ISO period, print CSS."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import Store

DAY = datetime(2026, 11, 9, tzinfo=timezone.utc)  # a Monday: the week reported is 9-16 Nov


def verdict(sentiment: str, topic: str, negative: float) -> Classification:
    scores = {"negative": negative, "neutral": 0.05, "positive": max(0.0, 0.95 - negative)}
    return Classification(sentiment, scores, (TopicScore(topic, 0.8, sentiment),), "t")


@pytest.fixture
def run(tmp_path, write_config):
    config = write_config('[storage]\npath = "s.db"\n[display]\ntimezone = "America/New_York"\n')
    store = Store(tmp_path / "s.db")
    rows = []
    for day in range(-3, 10):  # some before and after the week, which must not show
        for i in range(7):
            bad = i < 4
            text = "Parcel lost AGAIN" if bad and i < 3 else f"review {day}-{i}"
            topic = ("delivery", "price", "quality")[i % 3]
            rows.append((Mention("shop", f"{day}-{i}", text if 0 <= day < 7 else f"outside {day}-{i}",
                                 DAY + timedelta(days=day, hours=12 + i)),
                         verdict("negative" if bad else "positive", topic, 0.99 if day < 0 else 0.6 + i / 20)))
    store.save_batch("shop", [m for m, _ in rows], [v for _, v in rows])
    store.close()
    return lambda *args: CliRunner().invoke(cli, ["--config", str(config), *args])


def test_report_on_a_fixed_iso_week(run, tmp_path):
    out = tmp_path / "r.html"
    result = run("report", "--since", "2026-11-09", "--until", "2026-11-16", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(run("report", "--since", "2026-11-09", "--until", "2026-11-16", "--format", "json").output)
    assert data["total"] == 49 and data["timezone"] == "America/New_York"
    page = out.read_text()
    texts = re.findall(r'<div class="mention">(.*?)<br>', page)
    assert texts and all("outside" not in t for t in texts)  # from the period asked only
    assert len(texts) == len(set(texts)) and texts.count("Parcel lost AGAIN") == 1  # no repeats
    assert not re.search(r"0\.\d{3,}", page)  # no 0.5797101449275363 anywhere
    assert re.search(r"<td>\d+%</td>", page)  # shares as percentages
    assert "America/New_York" in page and "T0" not in re.sub(r"<[^>]+>", " ", page)  # readable times
    assert "2026-11-09 00:00 to 2026-11-16 00:00" in page  # the period, in New York
    assert re.search(r"· 2026-11-1\d 10:00 ·", page)  # the worst (15:00 UTC), in New York


def test_report_has_a_topic_trend_chart_with_axes_and_legend(run, tmp_path):
    out = tmp_path / "r.html"
    run("report", "--since", "2026-11-09", "--until", "2026-11-16", "--out", str(out))
    page = out.read_text()
    charts = re.findall(r'<svg class="chart[^"]*".*?</svg>', page, re.S)
    assert len(charts) == 2
    topics = next(c for c in charts if "delivery" in c)
    assert 'class="legend"' in topics and "price" in topics and "quality" in topics
    for chart in charts:
        assert 'class="axis"' in chart and 'class="tick"' in chart


def test_report_prints_cleanly(run, tmp_path):
    out = tmp_path / "r.html"
    run("report", "--since", "2026-11-09", "--until", "2026-11-16", "--out", str(out))
    assert "@media print" in out.read_text()


def test_report_since_accepts_durations_and_rejects_nonsense(run):
    assert run("report", "--since", "3650d", "--format", "json").exit_code == 0
    bad = run("report", "--since", "last week")
    assert bad.exit_code == 2 and "ISO date" in bad.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; the print check needs it")
def test_report_prints_to_pdf_in_chromium(run, tmp_path):
    out = tmp_path / "r.html"
    run("report", "--since", "2026-11-09", "--until", "2026-11-16", "--out", str(out))
    pdf = tmp_path / "r.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}",
                    "--no-pdf-header-footer", out.as_uri()], capture_output=True, timeout=120, check=True)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000


def test_most_negative_mentions_link_reply_url_when_safe(tmp_path, write_config):
    """Issue 17: a reviewer answers from the report. A source's reply_url (kept in ``extra``)
    is linked beside "open"; one that is not http(s) is untrusted and stays unlinked."""
    config = write_config('[storage]\npath = "s.db"\n')
    store = Store(tmp_path / "s.db")
    at = DAY + timedelta(hours=12)
    rows = [
        Mention("appstoreconnect", "r1", "Crashes on launch", at, url="https://apps.example/r1",
                extra={"reply_url": "https://appstoreconnect.example/reviews/r1?a=1&b=2"}),
        Mention("shop", "r2", "Refund never came", at + timedelta(hours=1), url="https://shop.example/r2",
                extra={"reply_url": "javascript:alert(1)"}),
        Mention("push", "r3", "Box was crushed", at + timedelta(hours=2), extra={"reply_url": 5}),
    ]
    store.save_batch("x", rows, [verdict("negative", "delivery", 0.9)] * len(rows))
    store.close()
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "--since", "2026-11-09",
                                      "--until", "2026-11-16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    blocks = {re.sub(r"<br>.*", "", b, flags=re.S): b
              for b in re.findall(r'<div class="mention">(.*?)</div>', out.read_text(), re.S)}
    assert set(blocks) == {"Crashes on launch", "Refund never came", "Box was crushed"}
    assert ('<a href="https://appstoreconnect.example/reviews/r1?a=1&amp;b=2" rel="noopener noreferrer">'
            'reply</a>') in blocks["Crashes on launch"]
    assert ">open</a>" in blocks["Refund never came"] and "reply" not in blocks["Refund never came"]
    assert "javascript:" not in out.read_text()
    assert "<a " not in blocks["Box was crushed"]  # a number is no link, and no crash
