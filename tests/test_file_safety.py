"""Files sentimon creates beside the database (issue 14, item 8): the daemon lock never follows
a symbolic link, a symlinked database path shares its target's lock, and a new database (with
its WAL) is readable by its owner only."""

from __future__ import annotations

import os
import stat

import pytest

from sentimon.daemon import DaemonLock
from sentimon.errors import SentimonError
from sentimon.store import Store


def test_a_symlinked_lock_file_is_refused_and_its_target_left_alone(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (tmp_path / "s.db.lock").symlink_to(target)
    with pytest.raises(SentimonError, match="symbolic link"):
        DaemonLock(tmp_path / "s.db").acquire()
    assert target.read_text() == "keep me"


def test_a_symlinked_database_path_takes_the_same_lock(tmp_path):
    (tmp_path / "link.db").symlink_to(tmp_path / "real.db")
    first = DaemonLock(tmp_path / "real.db")
    first.acquire()
    try:
        with pytest.raises(SentimonError, match="already running"):
            DaemonLock(tmp_path / "link.db").acquire()
    finally:
        first.release()


def test_a_new_database_and_its_wal_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        store = Store(tmp_path / "s.db")
        store.start_run("x", __import__("datetime").datetime.now().astimezone())
    finally:
        os.umask(old)
    for name in ("s.db", "s.db-wal"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    store.close()


@pytest.mark.parametrize("command", [["run", "--once"], ["fetch"]])
def test_a_storage_folder_that_cannot_be_created_is_one_line(tmp_path, write_config, command):
    from click.testing import CliRunner

    from sentimon.cli import cli

    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "in.jsonl").write_text("")
    config = write_config(
        '[storage]\npath = "afile/data/s.db"\n'
        '[[connectors]]\nname = "f"\ntype = "files"\npath = "in.jsonl"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), *command])
    assert result.exit_code == 1, result.output
    assert "Error:" in result.output or "cannot create" in result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(
        result.exception, SystemExit
    )
