"""``sentimon model train|eval|info``: adapt and measure the model from the command line.

Thin commands over ``models.train`` and ``models.evaluate`` (the sqlite-utils habit). They work
without a config file (the defaults: bundled model, CX taxonomy); with one, they use its
``[model]`` and ``[topics]`` tables, so ``--config restaurants.toml`` evaluates another taxonomy.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sentimon.errors import ModelError, SentimonError

if TYPE_CHECKING:
    from models import ModelSettings


def _settings(app: Any) -> tuple[ModelSettings, list[Any]]:
    """The config's model settings and topics, or the defaults when no config file exists."""
    import models

    if app is not None and Path(app.config_path).exists():
        return app.config.model, list(app.config.topics)
    return models.ModelSettings(), list(models.DEFAULT_TOPICS)


def _load(app: Any, **overrides: Any) -> tuple[Any, list[Any]]:
    """The configured classifier with the command's options (``--backend``, ``--path``) over
    its ``[model]`` settings."""
    import models

    settings, topics = _settings(app)
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    return models.load_classifier(settings, topics), topics


def _with_corrections(app: Any, files: tuple[Path, ...], use: bool, workdir: Path) -> tuple[Path, ...]:
    """FILES plus, with --from-corrections, the database's corrected mentions as one JSONL file
    (``sentimon label``), so a team's own judgements train and score the model."""
    if use:
        from sentimon.corrections import training_rows

        path = workdir / "corrections.jsonl"
        rows = list(training_rows(app.store()))
        if not rows:
            raise SentimonError(f"{app.database}: no corrections yet; record some with `sentimon label`")
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        files = (*files, path)
    if not files:
        raise click.UsageError("give labelled JSONL FILES, --from-corrections, or both")
    return files


_FILES = click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
_FROM_CORRECTIONS = click.option(
    "--from-corrections", is_flag=True,
    help="Also use the mentions corrected with `sentimon label` (its own held-out split too); "
         "`train` holds the model to its answers on the uncorrected ones.",
)


@click.group(name="model")
def model() -> None:
    """Train, evaluate and inspect the sentiment and topic model."""


@model.command()
@_FILES
@_FROM_CORRECTIONS
@click.option("--task", type=click.Choice(["sentiment", "topics"]), default="sentiment", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--holdout", type=float, default=0.0, help="Score only this held-out fraction of each file (as `train` split it).")
@click.option("--seed", type=int, default=None, help="Seed of that split (default: the one `train` uses).")
@click.option("--backend", type=click.Choice(["auto", "fp32", "bf16", "int8"]), default=None, help="Override [model] backend.")
@click.option("--path", "model_path", default=None, help="Override [model] path (a folder from `model train`).")
@click.option("--baseline", is_flag=True, help="Also score the keyword matcher (topics) on the same rows.")
@click.option("--suite", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Score every validation set under this folder (e.g. ../shared/data) in one table.")
@click.pass_obj
def eval(app: Any, files: tuple[Path, ...], from_corrections: bool, task: str, fmt: str, holdout: float,
         seed: int | None, backend: str | None, model_path: str | None, baseline: bool, suite: Path | None) -> None:
    """Score the model on labelled JSONL FILES: macro-F1, macro-recall, accuracy (sentiment) or
    micro/macro-F1 and per-topic sentiment accuracy (topics).

    With --suite DIR, every set under DIR is scored at once (its validation.jsonl, or the
    held-out 10% of its train.jsonl), sentiment and topics, per language where rows say one.
    """
    import tempfile

    if suite is not None:
        if files or from_corrections:
            raise click.UsageError("--suite scores the sets under its folder: give no FILES with it")
        _eval_suite(suite, fmt, seed, backend, model_path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        _eval(app, _with_corrections(app, files, from_corrections, Path(tmp)), task, fmt, holdout, seed,
              backend, model_path, baseline)


def _eval(app: Any, files: tuple[Path, ...], task: str, fmt: str, holdout: float, seed: int | None,
          backend: str | None, model_path: str | None, baseline: bool) -> None:
    from models.data import read_jsonl, split
    from models.evaluate import evaluate_keywords, evaluate_sentiment, evaluate_topics
    from models.train import DEFAULT_SEED

    rows = []
    for path in files:
        part = read_jsonl(path, task)
        if holdout > 0:
            part = split(part, holdout, DEFAULT_SEED if seed is None else seed)[1]
        rows.extend(part)
    classifier, topics = _load(app, backend=backend, path=model_path)
    with click.progressbar(length=len(rows), label="classifying", file=sys.stderr) as bar:
        if task == "sentiment":
            report = evaluate_sentiment(classifier, rows, bar.update)
        else:
            report = evaluate_topics(classifier, rows, topics, bar.update)
    report["model"] = classifier.name
    if baseline and task == "topics":
        report["baseline"] = evaluate_keywords(rows, topics)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(_table(report))


def _eval_suite(root: Path, fmt: str, seed: int | None, backend: str | None, model_path: str | None) -> None:
    """``model eval --suite``: one classifier per taxonomy (topic sets bring their own)."""
    import models
    from models import suite as suites
    from models.train import DEFAULT_SEED
    from sentimon.config import load_config

    sets, skipped = suites.discover(root)
    if not sets:
        raise SentimonError(f"{root}: no sub-folder holds a validation.jsonl or train.jsonl")
    settings = {k: v for k, v in {"backend": backend, "path": model_path}.items() if v is not None}
    loaded: dict[Path | None, tuple[Any, list[Any]]] = {}
    plan = [(entry, suites.rows_of(entry, DEFAULT_SEED if seed is None else seed)) for entry in sets]
    results: list[dict[str, Any]] = []
    with click.progressbar(length=sum(len(rows) for _, rows in plan), label="classifying", file=sys.stderr) as bar:
        for entry, rows in plan:
            if entry.taxonomy not in loaded:
                topics = list(load_config(entry.taxonomy).topics) if entry.taxonomy else list(models.DEFAULT_TOPICS)
                loaded[entry.taxonomy] = (models.load_classifier(settings, topics), topics)
            classifier, topics = loaded[entry.taxonomy]
            results.extend(suites.score_set(entry, rows, classifier, topics, bar.update))
    name = next(iter(loaded.values()))[0].name
    if fmt == "json":
        click.echo(json.dumps({"model": name, "results": results, "skipped": skipped}, indent=2))
        return
    click.echo(suites.table(results, name))
    for line in skipped:
        click.echo(f"skipped {line}")


def _table(report: dict[str, Any]) -> str:
    lines = [f"model {report['model']}  task {report['task']}  n={report['n']}"]
    if report["task"] == "sentiment":
        lines.append(f"accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
                     f"macro-recall {report['macro_recall']:.4f}")
        rows, key = report["per_class"], "class"
    else:
        lines.append(f"micro-F1 {report['micro_f1']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
                     f"aspect sentiment accuracy {report['aspect_sentiment_accuracy']:.4f}")
        if "baseline" in report:
            base = report["baseline"]
            lines.append(f"keyword baseline: micro-F1 {base['micro_f1']:.4f}  macro-F1 {base['macro_f1']:.4f}")
        rows, key = report["per_topic"], "topic"
    lines.append(f"{key:<18}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, r in rows.items():
        lines.append(f"{name:<18}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}{r['support']:>10}")
    return "\n".join(lines)


@model.command()
@_FILES
@_FROM_CORRECTIONS
@click.option("--task", type=click.Choice(["sentiment", "topics"]), default="sentiment", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write the model to.")
@click.option("--holdout", type=float, default=0.1, show_default=True, help="Fraction of each file kept out for validation.")
@click.option("--seed", type=int, default=None, help="Seed of the held-out split.")
@click.option("--epochs", type=float, default=None,
              help="Passes over the data (default 5 when adapting, 30 --from-scratch, 1 with --finetune).")
@click.option("--finetune", is_flag=True, help="Also fine-tune the top two encoder layers (slower, more accurate).")
@click.option("--from-scratch", is_flag=True,
              help="Train a new head over the base encoder instead of adapting the configured model.")
@click.pass_obj
def train(app: Any, files: tuple[Path, ...], from_corrections: bool, task: str, out: Path, holdout: float,
          seed: int | None, epochs: float | None, finetune: bool, from_scratch: bool) -> None:
    """Adapt the configured model to labelled JSONL FILES (sentiment), or calibrate per-topic
    thresholds on them (topics).

    Training starts from the configured model ([model] path, else the bundled one), so a few
    dozen labels teach it without losing what it knew. Then set [model] path = "OUT" in the
    config. With --from-corrections the mentions your team corrected join the data and the
    rest of the database's mentions hold the model to its current answers;
    `model eval --from-corrections --holdout 0.1` then scores the held-out part of them.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _train(app, _with_corrections(app, files, from_corrections, Path(tmp)), task, out, holdout, seed,
               epochs, finetune, from_scratch, from_corrections)


def _start_dir(settings: ModelSettings) -> Path:
    """The configured model's folder: training starts from it."""
    from models import heads

    return Path(settings.path).expanduser() if settings.path else heads.BUNDLED


def _train(app: Any, files: tuple[Path, ...], task: str, out: Path, holdout: float, seed: int | None,
           epochs: float | None, finetune: bool, from_scratch: bool, from_corrections: bool) -> None:
    from models import train as training

    seed = training.DEFAULT_SEED if seed is None else seed
    if not 0 <= holdout < 1:
        raise click.BadParameter("expected a fraction in [0, 1)", param_hint="--holdout")
    settings, _ = _settings(app)
    if task == "topics":
        from models.calibrate import calibrate_topics

        classifier, topics = _load(app)
        meta = calibrate_topics(classifier, files, topics, out, holdout=holdout, seed=seed, source=_start_dir(settings))
        click.echo(f"topic thresholds: {json.dumps(meta['topic_thresholds'])}")
    else:
        meta = _train_sentiment(app, settings, files, out, holdout, seed, epochs, finetune, from_scratch,
                                from_corrections)
        for name, scores in meta["heldout_scores"].items():
            before = f" (was {scores['start_macro_f1']:.4f})" if "start_macro_f1" in scores else ""
            click.echo(f"{name}: held-out n={scores['n']} macro-F1 {scores['macro_f1']:.4f}{before} "
                       f"macro-recall {scores['macro_recall']:.4f} accuracy {scores['accuracy']:.4f}")
    click.echo(f'wrote {out}; use it with [model] path = "{out}"')


def _train_sentiment(app: Any, settings: ModelSettings, files: tuple[Path, ...], out: Path, holdout: float,
                     seed: int, epochs: float | None, finetune: bool, from_scratch: bool,
                     from_corrections: bool) -> dict[str, Any]:
    """Adapt the configured model (or, ``from_scratch``, fit a new head over the base encoder)."""
    from models import heads
    from models import train as training
    from models.data import read_jsonl
    from models.encoder import Encoder, set_threads

    start = None if from_scratch else heads.load(_start_dir(settings))
    anchors: list[str] = []
    if from_corrections and start is not None and not finetune:
        from sentimon.corrections import anchor_texts

        anchors = anchor_texts(app.store())
    total = sum(len(read_jsonl(f)) for f in files) + len(anchors)
    set_threads(settings.threads)
    encoder = Encoder(batch_size=settings.batch_size or 32, overrides=start.encoder if start else None)
    if finetune:
        from models.finetune import train_finetuned

        with click.progressbar(length=total, label="caching layer states", file=sys.stderr) as bar:
            return train_finetuned([str(f) for f in files], str(out), encoder=encoder, holdout=holdout,
                                   seed=seed, epochs=epochs or 1.0, progress=bar.update, start=start)
    with click.progressbar(length=total, label="embedding", file=sys.stderr) as bar:
        return training.train(files, out, embed=lambda texts: encoder.embed_both(texts)[0], start=start,
                              anchors=anchors, holdout=holdout, seed=seed,
                              epochs=int(epochs) if epochs else None, progress=bar.update)


@model.command()
@click.pass_obj
def info(app: Any) -> None:
    """Show the configured model, its backend, artifact scores and topics."""
    try:
        classifier, topics = _load(app)
    except SentimonError:
        raise
    except Exception as exc:  # pragma: no cover - unexpected loader failure, shown as one line
        raise ModelError(f"cannot load the model: {exc}") from None
    click.echo(f"model: {classifier.name}")
    if getattr(classifier, "backend", ""):
        import torch

        click.echo(f"backend: {classifier.backend}, {torch.get_num_threads()} threads")
    click.echo("languages: " + ", ".join(classifier.languages))
    click.echo("topics: " + ", ".join(t.name for t in topics))
