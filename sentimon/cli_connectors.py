"""``sentimon connectors reset``: forget where a connector stopped, so it reads again.

Rows skipped for a reason fixed later (a date layout, a column name) and rows deleted by hand
can only come back if the source is read again; stored mentions are not added twice, as
``(source, external_id)`` is unique and file rows keep their identity (docs/connectors.md).
"""

from __future__ import annotations

from datetime import datetime

import click

from sentimon.output import moment_option


@click.group()
def connectors() -> None:
    """Manage configured connectors: reset where one stopped so it reads its source again."""


@connectors.command()
@click.argument("name")
@click.option("--since", callback=moment_option,
              help="Re-read only from this point: a duration back from now (7d) or an ISO date. "
                   "For files: files modified since then are read again from the start.")
@click.pass_obj
def reset(app, name: str, since: datetime | None) -> None:
    """Reset connector NAME's cursor; its next fetch re-reads the source (all of it, or what
    changed --since), and mentions already stored are not added twice.

    Example: sentimon connectors reset helpdesk && sentimon fetch helpdesk
    """
    entry = app.config.connector(name)
    store = app.store()
    cursor = entry.cls(name, entry.options).reset_cursor(store.get_cursor(name), since)
    store.save_batch(name, [], [], cursor)
    scope = f"what changed since {since:%Y-%m-%d %H:%M} UTC" if since else "everything it offers"
    click.echo(f"{name}: cursor reset; the next fetch reads {scope} again "
               "(stored mentions are not added twice)")
