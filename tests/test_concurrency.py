"""The CLI reads while another process writes: WAL and the busy timeout keep "database is
locked" from ever reaching the user."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.store import Store

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from sentimon.mention import Classification, Mention, TopicScore
    from sentimon.store import Store

    store = Store(sys.argv[1])
    now = datetime.now(timezone.utc)
    cls = Classification("negative", {"negative": 0.8, "neutral": 0.1, "positive": 0.1},
                         (TopicScore("delivery", 0.9, "negative"),), "test")
    print("ready", flush=True)
    for batch in range(int(sys.argv[2])):
        mentions = [Mention("load", f"{batch}-{i}", f"late parcel number {i}", now) for i in range(400)]
        store.save_batch("load", mentions, [cls] * len(mentions), cursor=str(batch))
    """
)


def test_cli_queries_while_another_process_writes(tmp_path):
    config = tmp_path / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n')
    db = tmp_path / "s.db"
    runner = CliRunner()
    Store(db).close()  # creates the schema (query commands never create a database)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "ready"
    queries = 0
    try:
        while writer.poll() is None:
            for args in (["mentions", "--topic", "delivery", "--limit", "5"], ["stats", "--by", "hour"],
                         ["mentions", "--search", "parcel", "--format", "json"]):
                result = runner.invoke(cli, ["--config", str(config), *args])
                assert result.exit_code == 0, result.output
                assert "locked" not in result.output
                queries += 1
            time.sleep(0.01)
    finally:
        _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert queries >= 3
    final = runner.invoke(cli, ["--config", str(config), "stats", "--format", "json"])
    assert '"total": 24000' in final.output
