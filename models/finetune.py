"""Fine-tuning the top encoder layers for sentiment, cheaply enough for a 2-core CPU.

Why only the top layers, and why cache below them: the bottom layers of MiniLM-L6 carry
general language; sentiment needs the top ones to move. Their input (the hidden states after
layer ``split``) does not change while they train, so it is computed once per text and kept in
memory (fp16); each epoch then costs only the top layers' forward and backward pass, about a
third of a full fine-tune. The tuned layers ship as an fp16 delta (a few MB) and run beside the
untouched base layers at inference, so topics keep the base sentence-similarity space while
sentiment reads the tuned one, and the layers below ``split`` run once for both.

Given an encoder built with a model's tuned layers and that model's head (``start``), training
continues from them instead of from the base layers and a random head, the same warm start
``models.train.adapt_head`` gives a head alone.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from typing import Any, Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)
Progress = Callable[[int], None]


def hidden_at(encoder: Any, texts: Sequence[str], split: int, max_length: int = 128,
              batch_size: int = 64, progress: Progress | None = None) -> list[Any]:
    """Per text, the (tokens, dim) fp16 hidden states after ``split`` base layers (no grad)."""
    import torch

    from models.bert import pad

    ids = [[encoder.cls_id, *seq[: max_length - 2], encoder.sep_id] for seq in encoder.token_ids(texts)]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: list[Any] = [None] * len(ids)
    model = encoder.model
    full = model.encoder.layer
    model.encoder.layer = full[:split]  # the layers above the split would be wasted work here
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            input_ids, mask = pad([ids[i] for i in idx])
            with torch.inference_mode():
                states = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            for row, i in enumerate(idx):
                out[i] = states[row, : len(ids[i])].to(torch.float16).clone()
            if progress:
                progress(len(idx))
    finally:
        model.encoder.layer = full
    return out


def run_top(layers: Sequence[Any], states: Any, mask: Any) -> Any:
    """Apply encoder ``layers`` to ``states`` with ``mask``; return the mean-pooled vectors."""
    from models.bert import mean_pool, run_layers

    return mean_pool(run_layers(layers, states, mask), mask)


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed random batches: little padding, still shuffled."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def _stack(states: Sequence[Any], idx: Sequence[int]) -> tuple[Any, Any]:
    import torch

    width = max(states[i].shape[0] for i in idx)
    dim = states[idx[0]].shape[1]
    x = torch.zeros((len(idx), width, dim), dtype=torch.float32)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for row, i in enumerate(idx):
        x[row, : states[i].shape[0]] = states[i].float()
        mask[row, : states[i].shape[0]] = 1
    return x, mask


def finetune_top(
    encoder: Any, states: Sequence[Any], labels: np.ndarray, split: int, *,
    eval_states: Sequence[Any] = (), eval_labels: np.ndarray | None = None,
    epochs: float = 1.0, batch_size: int = 32, lr: float = 1e-4, head_lr: float = 1e-3,
    hidden: int = 256, seed: int = 0, sample_weight: np.ndarray | None = None,
    progress: Progress | None = None, score: Callable[[np.ndarray, np.ndarray], float] | None = None,
    start_head: dict[str, np.ndarray] | None = None,
    checkpoint: Callable[[dict[str, float], Any, dict[str, np.ndarray]], None] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray], list[dict[str, float]]]:
    """Train layers ``split..`` plus a head; return (layer state dict, head arrays, history).

    The layers start from the encoder's tuned ones when it has them above ``split`` (else the
    base ones), the head from ``start_head`` when given (else random). ``checkpoint(entry,
    layers, head arrays)`` is called at each evaluation, so a long run can be stopped and kept.
    """
    import torch

    from models.train import _export, head_net, hidden_size, load_net

    torch.manual_seed(seed)
    rng = random.Random(seed)
    top = _top_layers(encoder, split)
    head = load_net(start_head) if start_head else head_net(encoder.dim, hidden)
    hidden = hidden_size(start_head) if start_head else hidden
    opt = torch.optim.AdamW([{"params": top.parameters(), "lr": lr},
                             {"params": head.parameters(), "lr": head_lr}], weight_decay=0.01)
    lengths = [s.shape[0] for s in states]
    per_epoch = math.ceil(len(states) / batch_size)
    total = max(1, int(per_epoch * epochs))
    warm = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1.0, (step + 1) / warm) * max(0.0, (total - step) / max(1, total - warm)))
    y = torch.as_tensor(labels, dtype=torch.long)
    w = torch.as_tensor(sample_weight if sample_weight is not None else np.ones(len(labels)), dtype=torch.float32)
    history: list[dict[str, float]] = []
    step, started = 0, time.time()
    batches: list[list[int]] = []
    while step < total:
        if not batches:
            batches = _batches(lengths, batch_size, rng)
        idx = batches.pop()
        top.train()
        head.train()
        x, mask = _stack(states, idx)
        logits = head(run_top(top, x, mask))
        loss = (torch.nn.functional.cross_entropy(logits, y[idx], reduction="none") * w[idx]).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(top.parameters()) + list(head.parameters()), 1.0)
        opt.step()
        sched.step()
        step += 1
        if progress:
            progress(len(idx))
        if step % 300 == 0 or step == total:
            entry = {"step": step, "loss": round(loss.item(), 4), "seconds": round(time.time() - started, 1)}
            if eval_labels is not None and score is not None and len(eval_states):
                entry["heldout"] = score(predict(top, head, eval_states), eval_labels)
            history.append(entry)
            log.info("finetune %s", entry)
            if checkpoint is not None:
                checkpoint(entry, top, _export(head, hidden))
    top_state = {f"encoder.layer.{split + i}.{k}": v.detach().clone()
                 for i, layer in enumerate(top) for k, v in layer.state_dict().items()}
    return top_state, _export(head, hidden), history


def _top_layers(encoder: Any, split: int) -> Any:
    """Trainable copies of the layers above ``split``: the encoder's tuned ones if it has them."""
    import torch

    if encoder.tuned is not None and encoder.split == split:
        return copy.deepcopy(encoder.tuned)
    base = encoder.model.encoder.layer
    return torch.nn.ModuleList([copy.deepcopy(base[i]) for i in range(split, len(base))])


def predict(top: Any, head: Any, states: Sequence[Any], batch_size: int = 128) -> np.ndarray:
    """Class probabilities for cached ``states`` (for held-out scoring during training)."""
    import torch

    top.eval()
    head.eval()
    out = np.zeros((len(states), 3), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            x, mask = _stack(states, idx)
            out[idx] = torch.softmax(head(run_top(top, x, mask)), -1).numpy()
    return out


def pooled_features(top: Any, states: Sequence[Any]) -> np.ndarray:
    """Mean-pooled tuned vectors for cached states (to refit or calibrate a head)."""
    import torch

    top.eval()
    out = np.zeros((len(states), states[0].shape[1] if len(states) else 0), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
    with torch.inference_mode():
        for start in range(0, len(order), 128):
            idx = order[start : start + 128]
            x, mask = _stack(states, idx)
            out[idx] = run_top(top, x, mask).numpy()
    return out


def train_finetuned(
    paths: Sequence[str], out: str, *, encoder: Any, holdout: float, seed: int, split: int = 4,
    epochs: float = 1.0, lr: float = 1e-4, max_length: int = 128, progress: Progress | None = None,
    base_meta: dict[str, Any] | None = None, start: Any = None,
) -> dict[str, Any]:
    """``sentimon model train --finetune``: cache, fine-tune layers ``split..``, calibrate, save.

    Each file keeps a stratified ``holdout`` (fixed ``seed``) for scoring. With ``start`` (the
    ``heads.Artifact`` whose tuned layers ``encoder`` was built with) training continues from
    its layers and head, calibration included; without it, class weights are fitted on the
    held-out rows.
    """
    from pathlib import Path

    from models import heads
    from models import train as training
    from models.data import unescape
    from sentimon.mention import SENTIMENTS

    started = time.time()
    trains, helds = training.split_files(paths, holdout, seed)
    cache = lambda rows: hidden_at(encoder, [unescape(r.text) for r in rows], split, max_length, progress=progress)  # noqa: E731
    train_states = [s for rows in trains for s in cache(rows)]
    held_states = [cache(rows) for rows in helds]
    y = np.concatenate([training.label_ids(rows) for rows in trains])
    top_state, head_w, history = finetune_top(encoder, train_states, y, split, epochs=epochs, lr=lr, seed=seed,
                                              start_head=training.start_weights(start.head) if start else None)
    top = _top_layers(encoder, split)
    for offset, layer in enumerate(top):
        prefix = f"encoder.layer.{split + offset}."
        layer.load_state_dict({k[len(prefix):]: v for k, v in top_state.items() if k.startswith(prefix)})
    features = [pooled_features(top, s) for s in held_states]
    golds = [training.label_ids(rows) for rows in helds]
    head = heads.SentimentHead(head_w, {})
    if start is None:
        head.meta["prior_correction"] = training.prior_correction([head.probs(f) for f in features], golds)
    scores = {f"{Path(path).parent.name}/{Path(path).name}": training.score_head(head, f, g)
              for path, f, g in zip(paths, features, golds)}
    meta = training.inherited_meta(start, base_meta)
    meta.update({"labels": list(SENTIMENTS), "features": f"mean of fine-tuned layers {split}+",
                 "hidden": training.hidden_size(head_w), "split_layer": split, **head.meta,
                 "holdout": holdout, "seed": seed, "epochs": epochs, "lr": lr, "max_length": max_length,
                 "trained_on": [str(p) for p in paths], "train_rows": len(y), "heldout_scores": scores,
                 "history": history, "train_seconds": round(time.time() - started, 1)})
    if start is not None:
        meta["warm_start"] = {"from": str(start.path), "model": start.name}
    heads.save(Path(out), head_w, meta, encoder=top_state)
    return meta
