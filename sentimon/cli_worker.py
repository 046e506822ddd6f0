"""`sentimon worker`: run connectors as jobs on PostgreSQL; start one on each machine."""

from __future__ import annotations

import click


@click.command()
@click.option("--name", help="This worker's name in the logs and the job table (default: worker).")
@click.option("--queues", help="Comma-separated queues this worker serves, of fetch, classify, "
              "schedule and alerts (default: all). Without classify it never loads the model: what "
              "it fetches is stored pending for a classify worker.")
@click.pass_obj
def worker(app, name: str | None, queues: str | None = None) -> None:
    """Run the connectors as jobs shared by every worker on the same PostgreSQL ([storage] url).

    Start one on each machine: each connector runs on one worker at a time, on its `every`
    (at most once a minute), and connectors sharing a secret (one Reddit app, one API key)
    one at a time between them; a failing source backs off and a Retry-After is honoured by
    every worker. A worker that dies mid-run is noticed within a minute and the next run goes
    on from the stored cursor. Ctrl-C or SIGTERM ends the job in hand, then
    stops. Alert rules are checked and notifications sent here too, by one worker at a time
    on [daemon] check_every and deliver_every; `sentimon run` on PostgreSQL is one worker.

    To run the model on its own box (a GPU), start `sentimon worker --queues classify` there
    and `--queues fetch,schedule,alerts` on the others (docs/scale.md).
    """
    try:
        from sentimon.worker import QUEUES, run_worker
    except ModuleNotFoundError as exc:
        raise click.ClickException(f"sentimon worker needs {exc.name}: pip install 'sentimon[postgres]'") from None
    chosen = QUEUES if queues is None else tuple(q.strip() for q in queues.split(",") if q.strip())
    run_worker(app, name=name, queues=chosen)
