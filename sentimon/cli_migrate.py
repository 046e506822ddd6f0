"""`sentimon migrate --to`: move a SQLite deployment to PostgreSQL in one command (issue 18)."""

from __future__ import annotations

import os
import sys

import click

from sentimon.errors import SentimonError

URL_ENV = "SENTIMON_DATABASE_URL"


def _has_password(url: str) -> bool:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return bool(conninfo_to_dict(url).get("password"))
    except Exception:  # noqa: BLE001 - an unreadable URL is reported by the connection
        return False


@click.command()
@click.option("--to", "url", metavar="URL",
              help=f"postgresql://USER@HOST:PORT/DB (default: ${URL_ENV}). Give the password in "
                   f"PGPASSWORD or ${URL_ENV}, never here.")
@click.option("--batch", default=2000, show_default=True, help="Mentions per transaction.")
@click.pass_obj
def migrate(app, url: str | None, batch: int) -> None:
    """Copy this config's SQLite database into PostgreSQL, then check the copy.

    Every table is copied with its ids; the per-day counts are rebuilt by PostgreSQL and
    compared with SQLite's. Safe to run again: it resumes after what it already copied. A
    running daemon may go on writing during a first pass; stop it before the last one, then
    point `[storage] url` at PostgreSQL.
    """
    from sentimon.pgstore.copy import count_mentions, copy_to_postgres
    from sentimon.pgstore.store import redacted

    if url and _has_password(url):
        click.echo(f"the URL holds a password, which the shell history and `ps` would show: put "
                   f"it in PGPASSWORD or ${URL_ENV}, and give --to without it", err=True)
        sys.exit(2)
    url = url or os.environ.get(URL_ENV, "")
    if not url:
        click.echo(f"give --to postgresql://... or set ${URL_ENV}", err=True)
        sys.exit(2)
    path = app.config.db_path
    done: list[int] = []  # mentions committed by this run, batch by batch

    def progress(n: int) -> None:
        done.append(n)
        bar.update(n)

    try:
        total = count_mentions(path) if path.exists() else 0
        with click.progressbar(length=total, label="copying mentions", file=sys.stderr) as bar:
            report = copy_to_postgres(path, url, batch=batch, progress=progress)
    except SentimonError as exc:
        click.echo(f"error: {exc}", err=True)
        if done:  # a restart or a lost network mid-copy: say that nothing is lost
            click.echo(f"{sum(done)} mentions were copied before it stopped, batch by batch; run "
                       "the same command again: it resumes after them", err=True)
        sys.exit(1)
    click.echo(f"{path} -> {redacted(url)}: copied {report.copied['mentions']} mentions "
               f"({report.totals['mentions']} there now)")
    for table, n in report.totals.items():
        click.echo(f"  {table}: {n} rows, {report.copied.get(table, 0)} copied now")
    click.echo(f"checked: row counts equal, {report.rollups_checked} roll-up rows equal")
