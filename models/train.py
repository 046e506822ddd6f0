"""Training the sentiment head: the code behind ``sentimon model train`` and the shipped artifact.

Why a head over frozen vectors by default: on a 2-core CPU the encoder forward pass is the whole
cost, so texts are embedded once and the head (LayerNorm -> 256 GELU -> 3) trains in seconds;
a CX team can retrain on their own labelled mentions in minutes. A stratified part of every
input file (``holdout``, fixed ``seed``) is kept out of training and used for the scores
``model train`` prints; ``sentimon model eval FILE --holdout F --seed S`` scores exactly those rows.

Two ways to get a head:

- ``adapt_head`` (what ``model train`` does): start from the configured model's head and nudge
  it. A team has tens of corrections, not tens of thousands of rows; a head trained from random
  weights on them knows only their vocabulary (TweetEval macro-F1 0.14-0.37 after 36-100
  corrections, against 0.68), while one that starts from the shipped head keeps what it knew
  (0.67-0.68) and learns the new words. What keeps it from drifting is distillation: on anchor vectors it is asked to give the
  answers the starting model gave. The anchors are the team's mentions nobody corrected (their
  own domain) plus samples of the starting model's training distribution (``VectorStats``, the
  general one). See "Learning from corrections" in models/MODEL_CARD.md for what was measured.
- ``fit_head`` (``model train --from-scratch``, and how the v1 head was made): random weights,
  epoch and class weights picked on the held-out part; for thousands of labelled rows.

Reproduce the v1 head (see models/MODEL_CARD.md)::

    sentimon model train --from-scratch ../shared/data/tweeteval_sentiment/train.jsonl \
        ../shared/data/womens_ecommerce_clothing_reviews/train.jsonl --out models/artifacts/bundled
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from models import heads
from models.data import Example, read_jsonl, split, unescape
from models.metrics import sentiment_report
from sentimon.mention import SENTIMENTS

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261201
DEFAULT_HOLDOUT = 0.1
BATCH = 256
# Adapting a head (measured in MODEL_CARD.md, "Learning from corrections"):
ADAPT_EPOCHS = 5
ADAPT_MIN_STEPS = 100     # so 40 corrections (one batch) still get enough updates to move it
ADAPT_LR = 1e-3
ANCHOR_WEIGHT = 3.0       # distillation on the anchors vs cross-entropy on the labels
GENERAL_ANCHORS = 4000    # samples of the starting model's training distribution
Progress = Callable[[int], None]


def head_net(dim: int, hidden: int, dropout: float = 0.1) -> Any:
    """LayerNorm -> Dropout -> hidden GELU -> Dropout -> 3 (or LayerNorm -> 3 without hidden)."""
    import torch

    layers: list[Any] = [torch.nn.LayerNorm(dim)]
    if hidden:
        layers += [torch.nn.Dropout(dropout), torch.nn.Linear(dim, hidden), torch.nn.GELU(), torch.nn.Dropout(dropout)]
    layers.append(torch.nn.Linear(hidden or dim, 3))
    return torch.nn.Sequential(*layers)


def hidden_size(weights: dict[str, np.ndarray]) -> int:
    return int(weights["hidden.weight"].shape[0]) if "hidden.weight" in weights else 0


def load_net(weights: dict[str, np.ndarray], dropout: float = 0.1) -> Any:
    """A torch head holding ``weights`` (the arrays ``_export`` writes): the inverse of ``_export``."""
    import torch

    hidden = hidden_size(weights)
    net = head_net(int(weights["ln.weight"].shape[0]), hidden, dropout)
    names = {"0": "ln"}
    linear = [str(i) for i, layer in enumerate(net) if isinstance(layer, torch.nn.Linear)]
    names.update(zip(linear, ["hidden", "out"] if hidden else ["out"]))
    state = {}
    for key in net.state_dict():
        layer, param = key.split(".")
        state[key] = torch.from_numpy(weights[f"{names[layer]}.{param}"].astype(np.float32))
    net.load_state_dict(state)
    return net


def start_weights(head: heads.SentimentHead) -> dict[str, np.ndarray]:
    """The head's arrays with its temperature and class re-weighting folded into the output layer.

    Why: ``p * w`` renormalised is ``softmax(z / T + log w)``, so the adapted head starts from
    (and is anchored to) the answers the configured model really gives, calibration included.
    """
    weights = {k: v.astype(np.float32).copy() for k, v in head.weights.items()}
    temperature = float(head.meta.get("temperature", 1.0))
    weights["out.weight"] = weights["out.weight"] / temperature
    weights["out.bias"] = weights["out.bias"] / temperature
    correction = head.meta.get("prior_correction")
    if correction:
        weights["out.bias"] = weights["out.bias"] + np.log(np.asarray(correction, dtype=np.float32))
    return weights


def _batches(n: int, size: int, gen: Any) -> Iterator[Any]:
    """Shuffled index batches covering all ``n`` rows (the last one may be smaller)."""
    import torch

    perm = torch.randperm(n, generator=gen)
    for start in range(0, n, size):
        yield perm[start : start + size]


def _endless_batches(n: int, size: int, gen: Any) -> Iterator[Any]:
    while True:
        yield from _batches(n, size, gen)


def _macro_f1(net: Any, x: Any, y: np.ndarray) -> float:
    import torch

    net.eval()
    with torch.no_grad():
        pred = net(x).argmax(-1).numpy()
    return sentiment_report([SENTIMENTS[i] for i in y], [SENTIMENTS[i] for i in pred])["macro_f1"]


def fit_head(
    x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *,
    hidden: int = 256, epochs: int = 30, lr: float = 1e-3, weight_decay: float = 1e-2,
    dropout: float = 0.1, seed: int = 0, sample_weight: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], float]:
    """Train a new head from random weights with AdamW; keep the epoch with the best held-out macro-F1."""
    import torch

    torch.manual_seed(seed)
    net = head_net(x.shape[1], hidden, dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    size = min(BATCH, len(x))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * math.ceil(len(x) / size) + 1)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    wt = torch.from_numpy((sample_weight if sample_weight is not None else np.ones(len(x))).astype(np.float32))
    xv = torch.from_numpy(x_val.astype(np.float32))
    gen = torch.Generator().manual_seed(seed)
    best: tuple[float, dict[str, np.ndarray]] = (-1.0, {})
    for _ in range(epochs):
        net.train()
        for idx in _batches(len(xt), size, gen):
            loss = (torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx], reduction="none") * wt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        score = _macro_f1(net, xv, y_val)
        if score > best[0]:
            best = (score, _export(net, hidden))
    return best[1], best[0]


def adapt_head(
    start: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, *, anchors: np.ndarray | None = None,
    epochs: int = ADAPT_EPOCHS, lr: float = ADAPT_LR, anchor_weight: float = ANCHOR_WEIGHT, seed: int = 0,
) -> dict[str, np.ndarray]:
    """Fine-tune the head ``start`` on ``(x, y)`` without forgetting what it knew.

    Each step adds, to the cross-entropy on a batch of labelled rows, ``anchor_weight`` times the
    KL divergence from the starting head's probabilities on a batch of ``anchors`` (vectors of
    mentions nobody corrected, samples of the training distribution), so only what the labels
    contradict moves. No epoch selection: a team's held-out part is a handful of rows, too few
    to choose by.
    """
    import copy

    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    net = load_net(start)
    teacher = copy.deepcopy(net).eval()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    size = min(BATCH, len(x))
    steps = max(ADAPT_MIN_STEPS, epochs * math.ceil(len(x) / size))
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    xa = torch.from_numpy(anchors.astype(np.float32)) if anchors is not None and len(anchors) else None
    gen = torch.Generator().manual_seed(seed)
    batches = _endless_batches(len(xt), size, gen)
    net.train()
    for _ in range(steps):
        idx = next(batches)
        loss = F.cross_entropy(net(xt[idx]), yt[idx])
        if xa is not None:
            pick = torch.randint(len(xa), (BATCH,), generator=gen)
            with torch.no_grad():
                target = F.softmax(teacher(xa[pick]), -1)
            loss = loss + anchor_weight * F.kl_div(F.log_softmax(net(xa[pick]), -1), target, reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    return _export(net, hidden_size(start))


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


# What a starting model measured about itself (an adapted copy must not claim it) and the
# calibration ``start_weights`` folds into the adapted weights.
_MEASURED = ("history", "scores", "validation_scores", "heldout_scores", "trained_on", "train_rows",
             "train_seconds", "prior_correction", "temperature")


def inherited_meta(start: heads.Artifact | None, base_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new model's meta before training: the starting model's settings (topic calibration,
    backend, languages) under a user model's name, without what it measured about itself."""
    meta = {k: v for k, v in (start.meta if start else {}).items() if k not in _MEASURED}
    meta.update({"name": "sentimon-minilm-user", "version": time.strftime("%Y%m%d"), **(base_meta or {})})
    return meta


def split_files(
    paths: Sequence[str | Path], holdout: float, seed: int,
) -> tuple[list[list[Example]], list[list[Example]]]:
    """Per file, (training rows, held-out rows); a file under 20 rows is scored on its first fifth."""
    trains, helds = [], []
    for path in paths:
        rows = read_jsonl(path, "sentiment")
        tr, he = split(rows, holdout, seed) if holdout > 0 and len(rows) >= 20 else (rows, rows[: max(1, len(rows) // 5)])
        trains.append(tr)
        helds.append(he)
    return trains, helds


def label_ids(rows: Sequence[Example]) -> np.ndarray:
    return np.array([SENTIMENTS.index(r.label) for r in rows], dtype=np.int64)


def score_head(head: heads.SentimentHead, x: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    report = sentiment_report([SENTIMENTS[i] for i in gold], [SENTIMENTS[i] for i in head.probs(x).argmax(-1)])
    return {k: report[k] for k in ("n", "accuracy", "macro_f1", "macro_recall")}


def train(
    paths: Sequence[str | Path], out: str | Path, *, embed: Callable[[list[str]], np.ndarray],
    start: heads.Artifact | None = None, anchors: Sequence[str] = (),
    holdout: float = DEFAULT_HOLDOUT, seed: int = DEFAULT_SEED, hidden: int = 256, epochs: int | None = None,
    progress: Progress | None = None, base_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Embed labelled JSONL ``paths``, adapt or fit a head, save it to ``out``; return the meta.

    With ``start`` (the configured model) its head is adapted (``adapt_head``, distilled on the
    ``anchors`` texts and on samples of ``start.stats``) and the folder keeps its tuned encoder
    layers, stats and topic settings, so ``embed`` must return that model's sentiment vectors.
    Without it a new head is fit from scratch over whatever ``embed`` returns.
    """
    started = time.time()
    trains, helds = split_files(paths, holdout, seed)

    def vectors(texts: list[str]) -> np.ndarray:
        out_rows = []
        for first in range(0, len(texts), 512):
            chunk = texts[first : first + 512]
            out_rows.append(embed([unescape(t) for t in chunk]))
            if progress:
                progress(len(chunk))
        return np.concatenate(out_rows) if out_rows else np.zeros((0, 384), np.float32)

    x = vectors([r.text for rows in trains for r in rows])
    y = np.concatenate([label_ids(rows) for rows in trains])
    xh = [vectors([r.text for r in rows]) for rows in helds]
    yh = [label_ids(rows) for rows in helds]
    meta = inherited_meta(start, base_meta)
    if start is not None:
        initial = start_weights(start.head)
        epochs = epochs or ADAPT_EPOCHS
        xa = vectors(list(anchors))
        if start.stats is not None:
            xa = np.concatenate([xa, start.stats.sample(GENERAL_ANCHORS, seed)])
        weights = adapt_head(initial, x, y, anchors=xa, epochs=epochs, seed=seed)
        head, before = heads.SentimentHead(weights, {}), heads.SentimentHead(initial, {})
        meta.update({"warm_start": {"from": str(start.path), "model": start.name}, "anchor_rows": len(anchors),
                     "anchor_samples": GENERAL_ANCHORS if start.stats else 0, "anchor_weight": ANCHOR_WEIGHT,
                     "lr": ADAPT_LR})
    else:
        epochs = epochs or 30
        weights, _ = fit_head(x, y, np.concatenate(xh), np.concatenate(yh), hidden=hidden, epochs=epochs, seed=seed)
        head, before = heads.SentimentHead(weights, {}), None
        head.meta["prior_correction"] = prior_correction([head.probs(v) for v in xh], yh)
        meta.update({"features": "mean", "prior_correction": head.meta["prior_correction"]})
    held_scores = {}
    for path, v, g in zip(paths, xh, yh):
        held_scores[f"{Path(path).parent.name}/{Path(path).name}"] = scores = score_head(head, v, g)
        if before is not None:
            scores["start_macro_f1"] = score_head(before, v, g)["macro_f1"]
    meta.update({
        "labels": list(SENTIMENTS), "hidden": hidden_size(weights), "holdout": holdout, "seed": seed,
        "epochs": epochs, "trained_on": [str(p) for p in paths], "train_rows": len(x),
        "heldout_scores": held_scores, "train_seconds": round(time.time() - started, 1),
    })
    heads.save(Path(out), weights, meta, encoder=start.encoder if start else None,
               stats=start.stats if start else None, aspect_head=start.aspect_head if start else None)
    return meta
