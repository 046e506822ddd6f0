"""`sentimon alerts backtest` over a real store: what would have fired, with nothing sent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sentimon.store import Store
from test_alerts_support import alert_rule

OTHER = """
[[alerts]]
name = "other"
metric = "volume"
window = "12h"
sensitivity = "low"
"""


def test_backtest_lists_the_alert_that_would_have_opened_and_sends_nothing(alerts_cli):
    wave = datetime.now(timezone.utc) - timedelta(days=2)
    run = alerts_cli("replay.db", rules=alert_rule() + OTHER, quiet={"days": 14}, spike={"now": wave})
    args = ["backtest", "--rule", "negative spike", "--since", "3d", "--every", "1h"]
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    opened = [r for r in rows if r["action"] == "opened"]
    assert len(opened) == 1 and opened[0]["rule"] == "negative spike" and opened[0]["negative"] >= 5
    at = datetime.fromisoformat(opened[0]["at"].replace("Z", "+00:00"))
    assert wave - timedelta(hours=6) < at <= wave + timedelta(hours=1)
    assert any(r["action"] == "resolved" and r["event"] == opened[0]["event"] for r in rows)
    table = run(*args)
    assert table.exit_code == 0 and "opened" in table.output and "ALERT" not in table.output
    assert "1 alert(s) would have opened; nothing was sent" in table.output
    store = Store(run.db)
    assert store.db.execute("SELECT COUNT(*) FROM alert_events").fetchone()[0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0
    store.close()
    unknown = run("backtest", "--rule", "nope")
    assert unknown.exit_code == 2 and "no alert rule named 'nope'" in unknown.output
