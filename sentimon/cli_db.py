"""``sentimon db upgrade`` and ``sentimon db status``: the database's schema, by hand.

Why a command when every process migrates on start: on PostgreSQL a DBA may want to apply
(and read) the migrations before rolling out a new version to several machines, and a
deployment script wants an exit status. Both commands print the server and database only:
the URL comes from the environment and its password is never shown.
"""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """The database's schema: apply pending migrations, or show the version.

    On PostgreSQL ([storage] url = "${SENTIMON_DATABASE_URL}") the URL is read from that
    environment variable; on SQLite ([storage] path) the file is migrated when opened."""


@db.command()
@click.pass_obj
def upgrade(app) -> None:
    """Apply pending schema migrations to the configured database, then print the version.

    Safe to repeat: a database that is up to date is only read, and processes upgrading
    together apply each migration once (PostgreSQL: under an advisory lock). Every sentimon
    process also upgrades when it opens the database; run this first to upgrade ahead of a
    rollout. Exit status 1 when the server cannot be reached or a migration fails.

    Example: SENTIMON_DATABASE_URL=postgresql://sentimon:PASSWORD@db:5432/sentimon sentimon db upgrade
    """
    storage = app.config.storage
    if storage.postgresql:
        from sentimon.pgstore import migrate

        done, version = migrate.upgrade_url(storage.url)
        for name in done:
            click.echo(f"applied {name}")
        click.echo(f"{app.database}: schema version {version} of {migrate.SCHEMA_VERSION}"
                   f"{'' if done else ' (already up to date)'}")
        return
    store = app.store()  # SQLite migrates as it opens the file (a missing file is refused)
    click.echo(f"{app.database}: schema version {store.schema_version} of {store.latest_schema_version}")


@db.command()
@click.pass_obj
def status(app) -> None:
    """Show the configured database (never its password), its schema version and the
    migrations still pending, changing nothing. Exit status 1 when some are pending."""
    storage = app.config.storage
    if storage.postgresql:
        from sentimon.pgstore import migrate

        version, pending = migrate.status_url(storage.url)
        latest = migrate.SCHEMA_VERSION
    else:  # SQLite: opening the file brings it up to date, as every command does
        store = app.store()
        version, latest, pending = store.schema_version, store.latest_schema_version, []
    click.echo(f"{app.database}: schema version {version} of {latest}")
    for name in pending:
        click.echo(f"pending {name}")
    if version < latest:
        click.echo("run `sentimon db upgrade` to apply them" if pending else "run `sentimon db upgrade`")
        raise SystemExit(1)
