"""The daemon's connectors that share one rate-limited credential take turns (issue 18's
per-credential lock, on SQLite too): the daemon runs connectors on a thread pool, so two
connectors on one Reddit app or API key used to run at once and exceed its limit together.
Real daemon object, real (test-only) ``clocked`` connectors that log each run's start and end.
"""

from __future__ import annotations

import threading
from pathlib import Path

from workers_support import clocked_config, clocked_runs

from connectors.base import BUILTIN
from sentimon.app import App
from sentimon.config import load_config
from sentimon.daemon import Daemon

KEYS = {"KEY_A": "key-aaaa-1234", "KEY_A_AGAIN": "key-aaaa-1234", "KEY_B": "key-bbbb-5678"}


def _overlap(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> bool:
    return any(a_start < b_end and b_start < a_end for a_start, a_end in first for b_start, b_end in second)


def test_connectors_on_one_credential_take_turns_and_others_do_not_wait(tmp_path: Path, monkeypatch,
                                                                        keyword_model) -> None:
    monkeypatch.setitem(BUILTIN, "clocked", "workers_support:ClockedConnector")
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    path = clocked_config(tmp_path, {"a1": {"api_key": "${KEY_A}", "hold": 0.5},
                                     "a2": {"api_key": "${KEY_A_AGAIN}", "hold": 0.5},
                                     "b1": {"api_key": "${KEY_B}", "hold": 0.5}})
    text = path.read_text().replace('url = "${SENTIMON_DATABASE_URL}"', f'path = "{tmp_path / "s.db"}"')
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    app = App(path, load_config(path))
    daemon = Daemon(app)
    threads = [threading.Thread(target=daemon.run_connector_job, args=(name,)) for name in ("a1", "a2", "b1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    app.close()
    a1, a2, b1 = (clocked_runs(tmp_path, name) for name in ("a1", "a2", "b1"))
    assert len(a1) == len(a2) == len(b1) == 1
    assert not _overlap(a1, a2)  # one key, read from two variables: one at a time
    assert _overlap(a1 + a2, b1)  # another key does not wait
    assert not any(value in repr(daemon._credentials) for value in KEYS.values())
