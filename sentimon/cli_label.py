"""``sentimon label``: record a person's correction of one mention's sentiment or topics."""

from __future__ import annotations

import getpass
import json
import os

import click

from sentimon.corrections import Correction, apply_correction, parse_topic
from sentimon.output import ROW_ID


def _author() -> str:
    return os.environ.get("SENTIMON_USER") or getpass.getuser()


@click.command()
@click.argument("mention_id", type=ROW_ID)
@click.option("--sentiment", type=click.Choice(["negative", "neutral", "positive"]), help="The right sentiment.")
@click.option("--topic", "topics", multiple=True, metavar="NAME[:SENTIMENT]",
              help="Add or fix a topic, optionally with its own sentiment; repeatable.")
@click.option("--remove-topic", "removed", multiple=True, metavar="NAME", help="A topic the mention is not about; repeatable.")
@click.option("--note", help="Why, for whoever reads the history.")
@click.option("--by", "author", default=None, help="Who corrects (default $SENTIMON_USER, else the login name).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def label(app, mention_id: int, sentiment, topics, removed, note, author, fmt: str) -> None:
    """Correct MENTION_ID's sentiment and topics; the model's output is kept in the history.

    \b
    Example:
      sentimon label 42 --sentiment negative --topic delivery:negative --remove-topic quality

    Corrections feed `sentimon model train --from-corrections`.
    """
    correction = Correction(
        sentiment=sentiment, set_topics=[parse_topic(t) for t in topics], remove_topics=removed,
        note=note, known_topics=[t.name for t in app.config.topics],
    )
    entry = apply_correction(app.store(), mention_id, correction, author=author or _author())
    if fmt == "json":
        click.echo(json.dumps(entry, indent=2))
        return
    shown = ", ".join(f"{t['name']} {t['sentiment']}" for t in entry["topics"]) or "no topics"
    click.echo(f"mention {mention_id}: {entry['sentiment']}; {shown} (by {entry['author']}, was "
               f"{entry['before']['sentiment']})")
