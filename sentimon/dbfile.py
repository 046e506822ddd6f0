"""The database as a file on disk: is it still the file we opened, and may we create it?

SQLite keeps writing through an open descriptor after the file is deleted or replaced, so a
daemon whose database was removed would accept (and answer 200 for) data that vanishes at
the next restart. A store remembers its file's identity (device, inode) when it opens it and
checks it before every write: one ``stat``, far cheaper than the write it guards.
"""

from __future__ import annotations

import os
from pathlib import Path

from sentimon.errors import StorageError

FileIdentity = tuple[int, int]


class DatabaseGone(StorageError):
    """The database file was deleted or replaced while this process had it open."""


def identity(path: Path) -> FileIdentity | None:
    """(device, inode) of the file at ``path``, or None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def check_same_file(path: Path, expected: FileIdentity | None) -> None:
    """Raise DatabaseGone unless ``path`` is still the file that was opened as ``expected``."""
    if expected is None:
        return
    found = identity(path)
    if found == expected:
        return
    what = "was deleted" if found is None else "was replaced by another file"
    raise DatabaseGone(
        f"{path}: the database file {what} while sentimon had it open; nothing more is stored "
        "until it is back: restore the file (move it back), or restart sentimon to start a new, "
        "empty database"
    )


def create_private(path: Path) -> None:
    """Create an empty file readable by its owner only (0600), if there is none: the
    database (SQLite gives the WAL and shared-memory files its mode, so they follow), exports
    and reports. The data is customer text, not for every local user."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def missing(path: Path) -> StorageError:
    """The error for a command that reads a database which does not exist (yet, or any more)."""
    return StorageError(
        f"database file {path} does not exist; run `sentimon init` or `sentimon run` to create "
        "it, or check [storage] path in the config"
    )
