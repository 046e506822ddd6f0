"""What the CLI's commands and the daemon share: the config, the store, one model.

The store is SQLite's, one connection per thread, or PostgreSQL's, one pooled ``PgStore``
for the whole process (``[storage] url``). The model is loaded at most once per process and
only when something needs classifying, so `sentimon mentions` and `--help` stay instant.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from typing import TYPE_CHECKING

from sentimon.config import Config, load_config
from sentimon.errors import StorageError
from sentimon.logs import redactor
from sentimon.mention_store import MentionStore
from sentimon.pipeline import Classifier
from sentimon.store import Store

if TYPE_CHECKING:
    from sentimon.pgstore import PgStore

log = logging.getLogger(__name__)


def exposes_secrets(config: Config) -> bool:
    """True when the config references secrets and every user on the machine can read it:
    the values live in the environment, but the file still says where they are used."""
    try:
        return bool(config.secrets) and bool(config.path.stat().st_mode & 0o004)
    except OSError:
        return False


class App:
    def __init__(self, config_path: str | Path, config: Config | None = None) -> None:
        self.config_path = Path(config_path)
        self._config = config
        self._local = threading.local()
        self._stores: list[MentionStore] = []
        self._classifier: Classifier | None = None
        self._lock = threading.Lock()
        self._identity: tuple[int, int] | None = None
        self._pg: PgStore | None = None
        # Commands that only read set this False: they must not create an empty database
        # where the configured one is missing (deleted, moved, or a typo in the path).
        self.creates_database = True

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            redactor.add(self._config.secrets)
            if exposes_secrets(self._config):
                log.warning("%s references secrets and is readable by every user; chmod 600 it",
                            self.config_path)
        return self._config

    @property
    def database(self) -> str:
        """Where the mentions live, fit to print: the SQLite file, or the PostgreSQL server and
        database without user or password."""
        storage = self.config.storage
        if storage.postgresql:
            from sentimon.pgstore import redacted

            return redacted(storage.url)
        return str(storage.path)

    def store(self) -> MentionStore:
        """This thread's connection (sqlite3 connections must not cross threads), or on
        PostgreSQL the process's one pooled store."""
        if self.config.storage.postgresql:
            return self._postgresql()
        store = getattr(self._local, "store", None)
        if store is None:
            store = self.open_store()
            self._local.store = store
            with self._lock:
                self._stores.append(store)
        return store

    def open_store(self) -> MentionStore:
        """A new connection to the configured database (the caller closes it). On PostgreSQL
        one pool serves every thread: this is the shared store, which only App.close closes."""
        if self.config.storage.postgresql:
            return self._postgresql()
        return self._open_sqlite()

    def release_store(self, store: MentionStore) -> None:
        """Give back a store from ``open_store``: a SQLite connection is closed; the shared
        PostgreSQL pool stays open for the rest of the process (App.close closes it)."""
        if store is not self._pg:
            store.close()

    def require_sqlite(self, command: str, why: str) -> None:
        """Stop ``command``, which works on the SQLite file only, on PostgreSQL with one line
        saying ``why`` and what to use there."""
        if self.config.storage.postgresql:
            raise StorageError(f"{command} works on the SQLite file only ([storage] url is set): {why}")

    def _postgresql(self) -> PgStore:
        """One pool per process, opened (and migrated) on first use."""
        with self._lock:
            if self._pg is None:
                from sentimon.pgstore import PgStore

                self._pg = PgStore(self.config.storage.url)
            return self._pg

    def _open_sqlite(self) -> Store:
        """Only the first connection of a process may create the file; later ones must find
        that same file, so a database deleted under a running daemon is refused, not silently
        recreated empty."""
        with self._lock:
            expect, first = self._identity, self._identity is None
        store = Store(self.config.db_path, create=first and self.creates_database, expect=expect)
        with self._lock:
            self._identity = self._identity or store.identity
        return store

    def classifier(self) -> Classifier:
        with self._lock:
            if self._classifier is None:
                import models

                log.info("loading model %s", self.config.model.sentiment)
                self._classifier = models.load_classifier(self.config.model, self.config.topics)
            return self._classifier

    def close(self) -> None:
        with self._lock:
            for store in self._stores:
                store.close()
            self._stores.clear()
            if self._pg is not None:
                self._pg.close()
                self._pg = None

