"""One exception tree, so the CLI can turn any of them into a single clear line."""

from __future__ import annotations


class SentimonError(Exception):
    """Base of every error sentimon raises on purpose; its message is meant for users."""

    exit_code = 1


class ConfigError(SentimonError):
    """The configuration file is missing, malformed or names something unknown."""

    exit_code = 2


class ConnectorError(SentimonError):
    """A source could not be read; the run is recorded as failed and retried later.

    ``retry_after`` (seconds) is set when the source said when to come back (HTTP 429).
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelError(SentimonError):
    """A model could not be loaded or run."""


class NotifyError(SentimonError):
    """A notification could not be delivered; ``retry_after`` as for ConnectorError.

    ``permanent`` marks failures that retrying cannot fix (HTTP 400/404, bad address).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class StorageError(SentimonError):
    """The database could not be opened, migrated or written."""


class NewerSchema(StorageError):
    """The database holds migrations a later sentimon applied (one machine upgraded first, or a
    rollback after an upgrade): running on a schema this code does not know could misread or
    damage what the later one wrote, so both stores refuse it with this one message."""

    def __init__(self, where: str, unknown: str, known: str) -> None:
        super().__init__(
            f"{where}: the database's schema is newer than this sentimon's (it has migration "
            f"{unknown}; this version knows {known}): upgrade sentimon on this machine before it "
            "uses this database, or use a copy made before the upgrade")
