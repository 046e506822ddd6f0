"""Training the sentiment head: the code behind ``sentimon model train`` and the shipped artifact.

Why a head over frozen vectors by default: on a 2-core CPU the encoder forward pass is the whole
cost, so texts are embedded once and the head (LayerNorm -> 256 GELU -> 3) trains in seconds;
a CX team can retrain on their own labelled mentions in minutes. A stratified part of every
input file (``holdout``, fixed ``seed``) is kept out of training and used to pick the epoch and
to calibrate class weights for macro recall; ``sentimon model eval FILE --holdout F --seed S``
scores exactly those rows.

Reproduce the shipped head (see models/MODEL_CARD.md)::

    sentimon model train ../shared/data/tweeteval_sentiment/train.jsonl \
        ../shared/data/womens_ecommerce_clothing_reviews/train.jsonl --out models/artifacts/bundled
"""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from models import heads
from models.data import Example, read_jsonl, split, unescape
from models.metrics import sentiment_report
from sentimon.mention import SENTIMENTS

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261201
DEFAULT_HOLDOUT = 0.1
Progress = Callable[[int], None]


def fit_head(
    x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *,
    hidden: int = 256, epochs: int = 30, lr: float = 1e-3, weight_decay: float = 1e-2,
    dropout: float = 0.1, seed: int = 0, sample_weight: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], float]:
    """Train LayerNorm -> hidden GELU -> 3 with AdamW; keep the epoch with the best held-out macro-F1."""
    import torch

    torch.manual_seed(seed)
    dim = x.shape[1]
    layers: list[Any] = [torch.nn.LayerNorm(dim)]
    if hidden:
        layers += [torch.nn.Dropout(dropout), torch.nn.Linear(dim, hidden), torch.nn.GELU(), torch.nn.Dropout(dropout)]
    layers.append(torch.nn.Linear(hidden or dim, 3))
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * max(1, len(x) // 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps + 1)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    wt = torch.from_numpy((sample_weight if sample_weight is not None else np.ones(len(x))).astype(np.float32))
    xv = torch.from_numpy(x_val.astype(np.float32))
    gen = torch.Generator().manual_seed(seed)
    best: tuple[float, dict[str, np.ndarray]] = (-1.0, {})
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(perm) - 255, 256):
            idx = perm[start : start + 256]
            loss = (torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx], reduction="none") * wt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            pred = net(xv).argmax(-1).numpy()
        score = sentiment_report([SENTIMENTS[i] for i in y_val], [SENTIMENTS[i] for i in pred])["macro_f1"]
        if score > best[0]:
            best = (score, _export(net, hidden))
    return best[1], best[0]


def _export(net: Any, hidden: int) -> dict[str, np.ndarray]:
    state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    names = ["ln"] + (["hidden", "out"] if hidden else ["out"])
    linear_keys = sorted({k.split(".")[0] for k in state if k.split(".")[0] != "0"}, key=int)
    out = {"ln.weight": state["0.weight"], "ln.bias": state["0.bias"]}
    for name, key in zip(names[1:], linear_keys):
        out[f"{name}.weight"], out[f"{name}.bias"] = state[f"{key}.weight"], state[f"{key}.bias"]
    return out


def prior_correction(probs: list[np.ndarray], golds: list[np.ndarray]) -> list[float]:
    """Per-class multipliers that maximise mean macro-F1 + macro-recall over the held-out files.

    Why: the training mix is skewed (reviews are 77% positive, tweets 15% negative), and argmax
    of a skewed model under-calls the rare class; re-weighting recovers macro recall cheaply.
    """
    grid = [0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 2.5]
    best = (-1.0, [1.0, 1.0, 1.0])
    for neg, pos in itertools.product(grid, grid):
        weights = np.array([neg, 1.0, pos], dtype=np.float32)
        total = 0.0
        for p, g in zip(probs, golds):
            pred = (p * weights).argmax(-1)
            report = sentiment_report([SENTIMENTS[i] for i in g], [SENTIMENTS[i] for i in pred])
            total += report["macro_f1"] + report["macro_recall"]
        if total > best[0] + 1e-9:
            best = (total, [float(neg), 1.0, float(pos)])
    return best[1]


def train(
    paths: Sequence[str | Path], out: str | Path, *, embed: Callable[[list[str]], np.ndarray],
    holdout: float = DEFAULT_HOLDOUT, seed: int = DEFAULT_SEED, hidden: int = 256, epochs: int = 30,
    progress: Progress | None = None, base_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Embed, fit and save a head from labelled JSONL ``paths``; return the written meta."""
    started = time.time()
    trains: list[list[Example]] = []
    helds: list[list[Example]] = []
    for path in paths:
        rows = read_jsonl(path, "sentiment")
        tr, he = split(rows, holdout, seed) if holdout > 0 and len(rows) >= 20 else (rows, rows[: max(1, len(rows) // 5)])
        trains.append(tr)
        helds.append(he)

    def vectors(rows: list[Example]) -> np.ndarray:
        out_rows = []
        for start in range(0, len(rows), 512):
            chunk = rows[start : start + 512]
            out_rows.append(embed([unescape(r.text) for r in chunk]))
            if progress:
                progress(len(chunk))
        return np.concatenate(out_rows) if out_rows else np.zeros((0, 384), np.float32)

    xs = [vectors(r) for r in trains]
    xh = [vectors(r) for r in helds]
    ys = [np.array([SENTIMENTS.index(r.label) for r in rows]) for rows in trains]
    yh = [np.array([SENTIMENTS.index(r.label) for r in rows]) for rows in helds]
    x, y = np.concatenate(xs), np.concatenate(ys)
    weights, _ = fit_head(x, y, np.concatenate(xh), np.concatenate(yh), hidden=hidden, epochs=epochs, seed=seed)
    head = heads.SentimentHead(weights, {})
    correction = prior_correction([head.probs(v) for v in xh], yh)
    head.meta["prior_correction"] = correction
    held_scores = {}
    for path, v, g in zip(paths, xh, yh):
        pred = head.probs(v).argmax(-1)
        report = sentiment_report([SENTIMENTS[i] for i in g], [SENTIMENTS[i] for i in pred])
        held_scores[f"{Path(path).parent.name}/{Path(path).name}"] = {
            k: report[k] for k in ("n", "accuracy", "macro_f1", "macro_recall")}
    meta = dict(base_meta or {})
    meta.update({
        "labels": list(SENTIMENTS), "features": "mean", "hidden": hidden,
        "prior_correction": correction, "holdout": holdout, "seed": seed,
        "trained_on": [str(p) for p in paths], "train_rows": int(len(x)),
        "heldout_scores": held_scores, "train_seconds": round(time.time() - started, 1),
    })
    meta.setdefault("name", "sentimon-minilm-user")
    meta.setdefault("version", time.strftime("%Y%m%d"))
    heads.save(Path(out), weights, meta)
    return meta
