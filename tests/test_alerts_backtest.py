"""`sentimon alerts backtest` over a real store: what would have fired, with nothing sent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.store import Store
from test_alerts_support import seed_quiet, seed_spike

CONFIG = """
[storage]
path = "replay.db"

[[alerts]]
name = "negative spike"
window = "12h"
notify = ["x"]

[[alerts]]
name = "other"
metric = "volume"
window = "12h"
sensitivity = "low"

[notifiers.x]
type = "console"
"""


def test_backtest_lists_the_alert_that_would_have_opened_and_sends_nothing(write_config):
    path = write_config(CONFIG)
    now = datetime.now(timezone.utc)
    store = Store(path.parent / "replay.db")
    seed_quiet(store, now=now, days=14)
    wave = now - timedelta(days=2)
    seed_spike(store, now=wave)
    store.close()
    run = CliRunner().invoke
    args = ["--config", str(path), "alerts", "backtest", "--rule", "negative spike", "--since", "3d", "--every", "1h"]
    result = run(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    opened = [r for r in rows if r["action"] == "opened"]
    assert len(opened) == 1 and opened[0]["rule"] == "negative spike" and opened[0]["negative"] >= 5
    at = datetime.fromisoformat(opened[0]["at"].replace("Z", "+00:00"))
    assert wave - timedelta(hours=6) < at <= wave + timedelta(hours=1)
    assert any(r["action"] == "resolved" and r["event"] == opened[0]["event"] for r in rows)
    table = run(cli, args)
    assert table.exit_code == 0 and "opened" in table.output and "ALERT" not in table.output
    assert "1 alert(s) would have opened; nothing was sent" in table.output
    store = Store(path.parent / "replay.db")
    assert store.db.execute("SELECT COUNT(*) FROM alert_events").fetchone()[0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0
    store.close()
    unknown = run(cli, ["--config", str(path), "alerts", "backtest", "--rule", "nope"])
    assert unknown.exit_code == 2 and "no alert rule named 'nope'" in unknown.output
