"""The HTML report: data, escaping, and a render in real headless Chromium with no network."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.report import gather, render_html
from sentimon.store import Store

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def seed(store: Store) -> None:
    def cls(sentiment, topic):
        scores = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, sentiment: 0.9}
        return Classification(sentiment, scores, (TopicScore(topic, 0.8, sentiment),), "t")

    rows = []
    for day in range(14):
        for i in range(10):
            negative = (day < 2 and i < 6) or i == 0
            rows.append((Mention("shop", f"{day}-{i}", "<script>alert(1)</script> late <b>parcel</b>" if negative else "lovely boots",
                                 NOW - timedelta(days=day, hours=i), url="javascript:alert(1)" if i == 1 else f"https://x.example/{day}/{i}"),
                         cls("negative", "delivery") if negative else cls("positive", "quality")))
    store.save_batch("shop", [m for m, _ in rows], [c for _, c in rows])


def test_gather_compares_with_previous_period(tmp_path):
    store = Store(tmp_path / "s.db")
    seed(store)
    data = gather(store, timedelta(days=7), now=NOW + timedelta(minutes=1))
    assert data["total"] == 70 and data["previous_total"] == 70
    assert data["negative"] == 7 + 10 and data["baseline_share"] == pytest.approx(0.1)
    assert data["topics"][0]["topic"] == "delivery" and data["topics"][0]["change"] == 10
    assert len(data["series"]) in (7, 8) and data["unit"] == "day"
    assert data["most_negative"][0]["score_negative"] == pytest.approx(0.9)


def test_html_escapes_mention_text_and_drops_unsafe_links(tmp_path):
    store = Store(tmp_path / "s.db")
    seed(store)
    page = render_html(gather(store, timedelta(days=7)))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "javascript:" not in page
    assert "https://" in page and "<svg" in page
    assert "http-equiv=\"Content-Security-Policy\"" in page


def test_cli_writes_report_and_json(tmp_path, write_config):
    config = write_config('[storage]\npath = "s.db"\n')
    seed(Store(tmp_path / "s.db"))
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "--out", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("<!doctype html>")
    data = json.loads(CliRunner().invoke(cli, ["--config", str(config), "report", "--format", "json"]).output)
    assert data["total"] == 70


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); the render check needs it")
def test_report_renders_in_headless_chromium_without_network(tmp_path):
    store = Store(tmp_path / "s.db")
    seed(store)
    page = tmp_path / "report.html"
    page.write_text(render_html(gather(store, timedelta(days=7))))
    netlog = tmp_path / "net.json"
    shot = tmp_path / "shot.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--user-data-dir={tmp_path / 'profile'}", '--host-resolver-rules=MAP * ~NOTFOUND',
              f"--log-net-log={netlog}", "--window-size=1000,1400"]
    subprocess.run([*common, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<svg" in dom and dom.count("<table>") == 3 and "Most negative mentions" in dom
    # Chromium's own housekeeping (update and time services) is "not an origin"; anything the
    # page itself asked for carries the file:// page's origin ("null") as initiator.
    text = netlog.read_text().rstrip().rstrip(",")
    events = json.loads(text if text.endswith("}") and text.count("{") == text.count("}") else text + "]}")["events"]
    requests = [e["params"]["url"] for e in events
                if e.get("params", {}).get("url", "").startswith(("http://", "https://"))
                and e["params"].get("initiator", "not an origin") != "not an origin"]
    assert requests == [], f"the report made network requests: {requests[:3]}"
