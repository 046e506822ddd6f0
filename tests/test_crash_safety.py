"""SIGKILL the daemon (a real process) at random moments while it imports and alerts fire:
nothing lost, nothing doubled, every alert delivered exactly once.

Reduced size here (8,000 mentions, for CI's 2 cores); bench/crash.py
runs the same scenario with 20,000 and also kills mid-delivery.
"""

from __future__ import annotations

import pytest
from benchscripts import load_bench


crash = load_bench("crash")
ALERT_RULES, run_scenario = crash.ALERT_RULES, crash.run_scenario

pytestmark = pytest.mark.slow
# Each round stores about one 500-line batch before its kill lands, so ten mid-run kills need
# more than 5,000 lines; 3,000 ran out after six.
MENTIONS = 8000


def test_every_mention_stored_and_every_alert_delivered_exactly_once_across_sigkills(tmp_path):
    result = run_scenario(tmp_path, mentions=MENTIONS, kills=10)
    assert not result["timed_out"], result  # a machine too busy to finish says so first
    assert result["kills"] == 10
    # kills landed while work was under way, not all before or after it
    assert 0 < result["stored_at_kills"][0] and result["stored_at_kills"][-1] < MENTIONS
    assert result["stored"] == result["distinct"] == MENTIONS
    assert result["unclassified"] == 0
    assert result["cursor_offset"] == result["file_size"] and result["cursor_line"] == MENTIONS
    assert result["exit_code"] == 0
    # each rule alerted once; each alert's delivery recorded as sent and received
    assert result["alert_events"] == result["rules_alerted"] == ALERT_RULES
    assert result["deliveries"] == result["deliveries_sent"] == ALERT_RULES
    assert result["keys_received"] == result["delivery_keys"]
    # without kills timed mid-delivery a repeat needs a kill in the millisecond between the
    # POST and recording it; the receiver would drop it by key, but here there should be none
    assert result["repeats"] <= 1
