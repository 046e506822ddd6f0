"""Calibrating zero-shot topic thresholds on labelled aspect data (``model train --task topics``).

Why thresholds and not a trained classifier first: the taxonomy is the user's, usually with
little or no labelled data, and a similarity threshold is the one number zero-shot detection
needs. With labelled rows each topic gets its own threshold (the F1-best one, shrunk toward the
global one when the topic has few examples), stored in the model folder's ``meta.json``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from models import aspects, heads
from models.data import read_many, split, unescape
from models.evaluate import gold_topics
from models.taxonomy import TopicSpec

GRID = np.round(np.arange(-0.30, 0.90, 0.01), 2)


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def best_thresholds(sim: np.ndarray, gold: np.ndarray, prior: int = 20) -> tuple[float, np.ndarray]:
    """Global micro-F1-best threshold, and per-topic ones shrunk toward it by ``prior`` rows."""
    scores = [_f1(((sim >= t) & gold).sum(), ((sim >= t) & ~gold).sum(), ((sim < t) & gold).sum()) for t in GRID]
    glob = float(GRID[int(np.argmax(scores))])
    per = np.full(sim.shape[1], glob, dtype=np.float32)
    for k in range(sim.shape[1]):
        s, g = sim[:, k], gold[:, k]
        if not g.any():
            continue
        f = [_f1(((s >= t) & g).sum(), ((s >= t) & ~g).sum(), ((s < t) & g).sum()) for t in GRID]
        n = int(g.sum())
        per[k] = (n * float(GRID[int(np.argmax(f))]) + prior * glob) / (n + prior)
    return glob, per


def calibrate_topics(classifier: Any, files: Sequence[str | Path], topics: Sequence[TopicSpec],
                     out: str | Path, *, holdout: float = 0.0, seed: int = 0,
                     source: Path | None = None) -> dict[str, Any]:
    """Fit thresholds on ``files`` and write a model folder (a copy of ``source``'s head) to ``out``."""
    rows = read_many(files, "topics")
    if holdout > 0:
        rows = split(rows, holdout, seed)[0]
    names = [t.name for t in topics]
    gold_maps = gold_topics(rows, names)
    gold = np.array([[name in g for name in names] for g in gold_maps], dtype=bool)
    sim = classifier.topic_similarity([unescape(r.text) for r in rows])
    glob, per = best_thresholds(sim, gold)
    out = Path(out)
    source = source or heads.BUNDLED
    if out.resolve() != source.resolve():
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "head.safetensors", out / "head.safetensors")
        # the vector statistics that anchor later `model train` runs, and the aspect head
        for name in (heads.STATS_FILE, aspects.FILE):
            if (source / name).exists():
                shutil.copy2(source / name, out / name)
    artifact = heads.load(source)
    meta = dict(artifact.meta)
    meta["topic_threshold"] = glob
    meta["topic_thresholds"] = {name: round(float(t), 3) for name, t in zip(names, per) if gold[:, names.index(name)].any()}
    meta["topics_trained_on"] = [str(f) for f in files]
    import json

    (out / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return meta
