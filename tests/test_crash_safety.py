"""SIGKILL the daemon (a real process) at random moments: nothing lost, nothing doubled.

Reduced size here (CI has 2 cores); bench/crash.py runs the same scenario with 20,000.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from crash import run_scenario  # noqa: E402

pytestmark = pytest.mark.slow


def test_every_mention_stored_exactly_once_across_sigkills(tmp_path):
    result = run_scenario(tmp_path, mentions=8000, kills=10)
    assert result["kills"] == 10
    # kills landed while work was under way, not all before or after it
    assert 0 < result["stored_at_kills"][0] and result["stored_at_kills"][-1] < 8000
    assert result["stored"] == result["distinct"] == 8000
    assert result["unclassified"] == 0
    assert result["cursor_offset"] == result["file_size"] and result["cursor_line"] == 8000
    assert result["exit_code"] == 0
