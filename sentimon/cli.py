"""The ``sentimon`` command line: thin commands over the library (the sqlite-utils habit).

Each command parses options, calls one library function and prints the result. Errors that
sentimon raises on purpose become one line on stderr and exit 1 (runtime) or 2 (config or
usage); only real bugs show a traceback.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from sentimon import __version__
from sentimon.config import default_config_path
from sentimon.errors import SentimonError
from sentimon.logs import redactor, setup_logging
from sentimon.output import emit, moment_option, private_file

log = logging.getLogger(__name__)
# Commands that may create the database; every other one refuses a missing file (dbfile.py).
CREATES_DATABASE = frozenset({"init", "run", "fetch", "serve"})


class SentimonGroup(click.Group):
    """Turns SentimonError into one line and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SentimonError as exc:
            click.echo(f"Error: {redactor.redact(str(exc))}", err=True)  # as logs: remotes echo
            ctx.exit(exc.exit_code)


@click.group(cls=SentimonGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sentimon")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Config file. Default: $SENTIMON_CONFIG, else ./sentimon.toml.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """Monitor reviews and social mentions, classify their sentiment and topics, and
    alert on negative spikes.

    Start with `sentimon init --demo && sentimon run --once`.
    """
    from sentimon.app import App

    setup_logging(logging.DEBUG if verbose else logging.INFO)
    ctx.obj = App(config_path or default_config_path())
    ctx.obj.creates_database = ctx.invoked_subcommand in CREATES_DATABASE
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.option("--demo", is_flag=True, help="Write the offline demo config and its sample data.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_obj
def init(app, demo: bool, force: bool) -> None:
    """Write a commented starter config (or the demo) and create the database."""
    from sentimon.setup_files import write_config

    for path in write_config(app.config_path, demo=demo, force=force):
        click.echo(f"wrote {path}")
    store = app.store()
    click.echo(f"database {app.database} ready (schema version {store.schema_version})")
    if demo:
        click.echo("next: sentimon run --once   (fetch, classify, store, check alerts)")
    else:
        click.echo(f"next: add a [[connectors]] entry to {app.config_path} (commented examples inside),\n"
                   "      check it with `sentimon doctor`, then `sentimon run --once`")


def _print_run(result, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(result.__dict__))
        return
    status = f"error: {result.error}" if result.error else "ok"
    off_brand = f"off-brand {result.dropped}, " if result.dropped else ""
    click.echo(
        f"{result.source}: fetched {result.fetched}, new {result.new}, skipped {result.skipped}, "
        f"{off_brand}{result.seconds:.1f}s, {status}"
    )


def _show_progress(result) -> None:
    """A one-line counter on stderr while a backfill pages through history."""
    click.echo(f"\r{result.source}: fetched {result.fetched}, new {result.new}", nl=False, err=True)


def fetch_all(app, names: tuple[str, ...] = (), *, backfill: bool = False, fmt: str = "table", stop=None) -> bool:
    """Run the named (default: all enabled) connectors once; True when all succeeded."""
    from sentimon.pipeline import due_connectors, run_connectors

    entries = due_connectors(app.config, names)
    if not entries:
        click.echo("no connectors configured", err=True)
    for entry in entries if backfill else ():
        if not entry.cls.supports_backfill:  # the source's API serves only its newest items
            click.echo(f"{entry.name}: {entry.type} cannot pull history; fetching what is new only",
                       err=True)
    ok = True
    for result in run_connectors(app.store, app.classifier, entries, backfill=backfill, stop=stop,
                                 on_batch=_show_progress if backfill else None):
        if backfill:
            click.echo(err=True)
        ok = ok and result.ok
        _print_run(result, fmt)
    return ok


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--backfill", is_flag=True, help="Also pull history, where the source allows it.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def fetch(app, names: tuple[str, ...], backfill: bool, fmt: str) -> None:
    """Run the named connectors (default: all) once and store what is new.

    Prints one line per connector: fetched, new, skipped, seconds, error.
    """
    from sentimon.interrupt import stop_on_interrupt

    with stop_on_interrupt() as stop:
        try:
            ok = fetch_all(app, names, backfill=backfill, fmt=fmt, stop=stop)
        except KeyboardInterrupt:
            click.echo("stopped; what was stored stays stored, the next fetch goes on from there", err=True)
            sys.exit(130)
    if not ok or stop.is_set():
        sys.exit(130 if stop.is_set() else 1)


@cli.command()
@click.option("--once", is_flag=True, help="Run every connector, then alerts, once, and exit.")
@click.pass_obj
def run(app, once: bool) -> None:
    """Run the daemon: each connector on its schedule, alert checks and deliveries.

    Stops cleanly on SIGTERM, SIGHUP or Ctrl-C after the batch in hand. On PostgreSQL
    ([storage] url) it is one `sentimon worker` serving every queue; start more with
    `sentimon worker`.
    """
    from sentimon.daemon import Daemon

    if not any(c.enabled for c in app.config.connectors):
        click.echo(f"no connectors configured in {app.config_path}: add a [[connectors]] entry "
                   "(see docs/connectors.md); only alerts and deliveries will run", err=True)
    if once:
        sys.exit(0 if Daemon(app).run_once() else 1)
    if app.config.storage.postgresql:
        from sentimon.cli_worker import worker

        click.get_current_context().invoke(worker, name="run")
        return
    Daemon(app).serve_forever()


def _app_or_defaults(ctx: click.Context) -> Any:
    """The App, or one on the built-in defaults when no config file was named and none is in
    this folder: a newcomer's first command needs no setup. A named file stays required, so a
    typo in --config is an error rather than a silent switch of model and topics."""
    from sentimon.app import App
    from sentimon.config import parse_config

    app = ctx.obj
    named = ctx.find_root().params.get("config_path") or os.environ.get("SENTIMON_CONFIG")
    if named or app.config_path.exists():
        return app
    return App(app.config_path, config=parse_config({}, app.config_path))


@cli.command()
@click.argument("texts", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table", show_default=True)
@click.pass_context
def classify(ctx: click.Context, texts: tuple[str, ...], fmt: str) -> None:
    """Classify texts given as arguments (or one per line on stdin, or with `-`).

    Needs no config file: without one it uses the bundled model and the default topics."""
    app = _app_or_defaults(ctx)
    if not texts or texts == ("-",):
        texts = tuple(line.rstrip("\n") for line in sys.stdin if line.strip())
    results = app.classifier().classify(list(texts))
    rows = [{"text": t, **r.as_dict(), "lang": r.lang} for t, r in zip(texts, results)]
    if fmt == "table":
        table = [
            {**r, "topics": ", ".join(f"{t['name']} {t['sentiment']}" for t in r["topics"]),
             "confidence": max(r["scores"].values())}
            for r in rows
        ]
        emit(table, "table", ["sentiment", "confidence", "lang", "topics", "text"], flexible="text")
    else:
        emit(rows, fmt, [])


@cli.command()
@click.option("--since", callback=moment_option, help="Duration back from now (30d) or ISO date.")
@click.option("--until", callback=moment_option, help="Duration back from now or ISO date.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), default="jsonl", show_default=True,
              help="parquet needs pyarrow (pip install 'sentimon[parquet]') and --out.")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="File to write (default stdout).")
@click.pass_obj
def export(app, since, until, fmt: str, out: str) -> None:
    """Stream mentions with their classification and topics, for BI tools.

    Rows are read in chunks, so exporting millions of mentions uses little memory.
    """
    from sentimon.brands import own_name
    from sentimon.export import write_export, write_parquet

    brand = own_name(app.config)
    if fmt == "parquet":
        if out == "-":
            raise click.UsageError("--format parquet writes a binary file: give --out FILE.parquet")
        private_file(out)
        count = write_parquet(app.store(), Path(out), since=since, until=until, own_brand=brand)
    else:
        if out != "-":
            private_file(out)
        with click.open_file(out, "w", encoding="utf-8") as handle:
            count = write_export(app.store(), handle, fmt, since=since, until=until, own_brand=brand)
    click.echo(f"exported {count} mentions", err=True)


@cli.command()
@click.option("--since", callback=moment_option, default="7d", show_default=True,
              help="Start: a duration back from now (24h, 7d) or an ISO date (2026-11-09).")
@click.option("--until", callback=moment_option, help="End (not included): a duration back from now or an ISO date; default now.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"), show_default=True)
@click.option("--format", "fmt", type=click.Choice(["html", "json"]), default="html", show_default=True)
@click.pass_obj
def report(app, since, until, out: Path, fmt: str) -> None:
    """Write a self-contained HTML page (prints to PDF cleanly): volume and per-topic trends
    against the previous period of the same length, topics, share of voice (when competitors
    are configured), sources, alerts and the most negative mentions, times in [display]
    timezone (or print its data as JSON)."""
    from sentimon.brands import configured, shown
    from sentimon.report import gather, render_html
    from sentimon.timeline import display_zone

    if until is not None and since >= until:
        raise click.BadParameter("--since is not before --until", param_hint="'--since' / '--until'")
    brands = {key: shown(key, app.config) for key in sorted(configured(app.config))}  # '' (ours) first
    data = gather(app.store(), since, until=until, zone=display_zone(app.config), brands=brands)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    private_file(out)
    out.write_text(render_html(data), encoding="utf-8")
    click.echo(f"wrote {out} ({data['total']} mentions, {data['negative_share']:.0%} negative)")


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("metadata.json"), show_default=True)
@click.pass_obj
def datasette(app, out: Path) -> None:
    """Write Datasette metadata (titles, column help, facets, canned queries) for the database.

    Then open it with: datasette sentimon.db -m metadata.json
    """
    from sentimon.datasette_meta import metadata

    import shutil

    app.require_sqlite("sentimon datasette", "Datasette reads SQLite files, not PostgreSQL; "
                       "browse with psql, or write a file with `sentimon export`")
    db_path = app.config.db_path
    out.write_text(json.dumps(metadata(db_path), indent=2), encoding="utf-8")
    click.echo(f"wrote {out}; open with: datasette {db_path} -m {out}")
    if shutil.which("datasette") is None:
        click.echo("datasette is not installed here: pip install 'sentimon[datasette]'")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def doctor(app, fmt: str) -> None:
    """Check the config, credentials, model, database and scheduler health."""
    from sentimon.doctor import run_checks

    checks = run_checks(app)
    if fmt == "json":
        click.echo(json.dumps(checks, indent=2, default=str))
    else:
        for check in checks:
            mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[check["status"]]
            click.echo(f"[{mark}] {check['name']}: {check['detail']}")
    if any(c["status"] == "fail" for c in checks):
        sys.exit(1)


def _register_subcommands() -> None:
    """Command groups that live in their own modules (model, alerts, serve)."""
    import importlib

    for module_name, attr in (
        ("sentimon.cli_model", "model"),
        ("sentimon.cli_alerts", "alerts"),
        ("sentimon.cli_serve", "serve"),
        ("sentimon.cli_label", "label"),
        ("sentimon.cli_connectors", "connectors"),
        ("sentimon.cli_query", "mentions"),
        ("sentimon.cli_query", "stats"),
        ("sentimon.cli_db", "db"),
        ("sentimon.cli_migrate", "migrate"),
        ("sentimon.cli_worker", "worker"),
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        cli.add_command(getattr(module, attr))


_register_subcommands()


def main() -> None:
    try:
        cli(prog_name="sentimon")
    finally:
        # Once torch is loaded, the collections Python runs while shutting down walk its
        # hundreds of thousands of objects: 0.3-0.4 s after `sentimon classify` has printed its
        # answer. Frozen objects are skipped; nothing is left to do with them at exit.
        gc.freeze()


if __name__ == "__main__":
    main()
