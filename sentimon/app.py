"""What the CLI's commands and the daemon share: the config, a store per thread, one model.

The model is loaded at most once per process and only when something needs classifying,
so `sentimon mentions` and `--help` stay instant.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sentimon.config import Config, load_config
from sentimon.logs import redactor
from sentimon.pipeline import Classifier
from sentimon.store import Store

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
        self._stores: list[Store] = []
        self._classifier: Classifier | None = None
        self._lock = threading.Lock()
        self._identity: tuple[int, int] | None = None
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

    def store(self) -> Store:
        """This thread's connection (sqlite3 connections must not cross threads)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self.open_store()
            self._local.store = store
            with self._lock:
                self._stores.append(store)
        return store

    def open_store(self) -> Store:
        """A new connection to the configured database (the caller closes it). Only the
        first one of a process may create the file; later ones must find that same file, so
        a database deleted under a running daemon is refused, not silently recreated empty."""
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

                log.info("loading model %s", self.config.model.get("sentiment", "bundled"))
                self._classifier = models.load_classifier(self.config.model, self.config.topics)
            return self._classifier

    def close(self) -> None:
        with self._lock:
            for store in self._stores:
                store.close()
            self._stores.clear()
