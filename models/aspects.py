"""Per-topic sentiment from token states: attend to where the mention speaks of the topic.

Why: clauses alone cannot split "we ordered the pasta and the waiter was rude", where two
topics share a clause (MAMS is built of such sentences; the clause method scored 0.45 on its
validation pairs). This head looks at every token of the text once per found topic:

1. *where*: each token's base-space state (the sentence-similarity space the topic prototypes
   live in) is compared with the topic's centroid, plainly and relative to all topics'; a
   small 1-D convolution over that profile spreads the focus from the aspect word to its
   neighbours, plus a learned per-token salience (opinion words) on the tuned states;
2. *what*: the attention-weighted tuned (sentiment) states, beside the whole text's mean, go
   through a LayerNorm -> GELU -> 3 head.

It has no per-topic weights: the query is the centroid of whatever taxonomy the user writes,
so it serves any topic. ``mix`` sets its share against the clause's own sentiment-head verdict
(the shipped head uses 1.0: the classifier's whole-text prior does that job better; model card). Token states come from the same
encoder pass as everything else (``Encoder.encode(keep_tokens=...)``). Inference is numpy;
training (``train``) uses torch and cached token states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from models.heads import _gelu, layer_norm
from models.topics import normalise

FILE = "aspects.safetensors"
DEFAULT_MIX = 1.0  # weight of this head against the clause's sentiment-head verdict (model card)


@dataclass
class AspectHead:
    """Arrays of the trained head (``conv.*``, ``salience.*``, ``ln.*``, ``hidden.*``, ``out.*``)."""

    weights: dict[str, np.ndarray]
    mix: float = DEFAULT_MIX
    meta: dict[str, Any] = field(default_factory=dict)

    def attention(self, tuned: np.ndarray, base: np.ndarray, query: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        """(topics, tokens) attention of each ``query`` centroid over the text's tokens."""
        w = self.weights
        unit = normalise(base.astype(np.float32))
        cos = query @ unit.T  # (topics, tokens)
        rel = cos - (unit @ centroids.T).mean(1)[None]
        kernel = w["conv.weight"][0]  # (2 channels, width)
        pad = kernel.shape[1] // 2
        profile = np.stack([np.pad(cos, ((0, 0), (pad, pad))), np.pad(rel, ((0, 0), (pad, pad)))], 1)
        logits = np.full(cos.shape, float(w["conv.bias"][0]), dtype=np.float32)
        for k in range(kernel.shape[1]):
            logits += (profile[:, :, k : k + cos.shape[1]] * kernel[:, k, None]).sum(1)
        logits += (tuned @ w["salience.weight"][0] + w["salience.bias"][0])[None]
        logits -= logits.max(1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(1, keepdims=True)

    def probs(self, tuned: np.ndarray, base: np.ndarray, query: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        """(topics, 3) sentiment of a text towards each ``query`` row (a topic centroid).

        ``tuned``/``base`` are the text's (tokens, dim) states, ``centroids`` all topics'.
        """
        w = self.weights
        tuned = tuned.astype(np.float32)
        attended = self.attention(tuned, base, query, centroids) @ tuned
        x = np.concatenate([attended, np.repeat(tuned.mean(0, keepdims=True), len(query), 0)], 1)
        z = _gelu(layer_norm(x, w["ln.weight"], w["ln.bias"]) @ w["hidden.weight"].T + w["hidden.bias"])
        z = z @ w["out.weight"].T + w["out.bias"]
        z = np.exp(z - z.max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)


def save(path: Path, head: AspectHead) -> None:
    from safetensors.numpy import save_file

    meta = {"mix": str(head.mix), **{k: str(v) for k, v in head.meta.items()}}
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in head.weights.items()},
              str(path / FILE), metadata=meta)
    (path / FILE).chmod(0o644)


def load(path: Path) -> AspectHead | None:
    """The folder's aspect head, or None when it has none (then the clause method alone runs)."""
    from safetensors import SafetensorError, safe_open

    from sentimon.errors import ModelError

    file = path / FILE
    if not file.exists():
        return None
    try:
        with safe_open(str(file), "np") as f:
            weights = {k: f.get_tensor(k).astype(np.float32) for k in f.keys()}  # noqa: SIM118 (not a dict)
            meta = dict(f.metadata() or {})
        mix = float(meta.pop("mix", DEFAULT_MIX))
    except (OSError, ValueError, SafetensorError) as exc:
        raise ModelError(f"cannot read {file}: {exc}; delete it or retrain the model") from None
    missing = {"conv.weight", "salience.weight", "ln.weight", "hidden.weight", "out.weight"} - set(weights)
    if missing:
        raise ModelError(f"{file} is not an aspect head (missing {min(missing)}): delete it or retrain")
    return AspectHead(weights, mix, meta)


# -- training -------------------------------------------------------------------------------
Pair = tuple[int, int, int]  # (text index, topic row in its centroid table, label index)


def _net(dim: int, hidden: int, kernel: int, focus: float = 10.0) -> Any:
    import torch
    from torch import nn

    class Net(nn.Module):
        """The torch twin of ``AspectHead``; ``export`` gives its arrays."""

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(2, 1, kernel, padding=kernel // 2)
            assert self.conv.bias is not None  # bias=True, the default; the stubs allow bias=False
            self.salience = nn.Linear(dim, 1)
            self.ln = nn.LayerNorm(2 * dim)
            self.hidden = nn.Linear(2 * dim, hidden)
            self.out = nn.Linear(hidden, 3)
            with torch.no_grad():  # start as plain similarity attention, no salience
                self.conv.weight.zero_()
                self.conv.weight[0, :, kernel // 2] = focus
                self.conv.bias.zero_()
                self.salience.weight.zero_()
                self.salience.bias.zero_()

        def forward(self, tuned: Any, base: Any, mask: Any, query: Any, centroids: Any) -> Any:
            unit = base / base.norm(dim=-1, keepdim=True).clamp_min(1e-9)
            cos = (unit * query[:, None, :]).sum(-1)
            rel = cos - (unit @ centroids.T).mean(-1)
            logits = self.conv(torch.stack([cos, rel], 1))[:, 0] + self.salience(tuned)[..., 0]
            attention = torch.softmax(logits.masked_fill(mask == 0, -1e4), -1)
            mean = (tuned * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            x = torch.cat([(attention[..., None] * tuned).sum(1), mean], -1)
            return self.out(nn.functional.gelu(self.hidden(self.ln(x)), approximate="tanh"))

    return Net()


def _batch(states: Sequence[tuple[np.ndarray, np.ndarray]], queries: np.ndarray, pairs: Sequence[Pair]) -> tuple[Any, ...]:
    import torch

    width = max(states[i][0].shape[0] for i, _, _ in pairs)
    dim = queries.shape[1]
    tuned, base = torch.zeros(len(pairs), width, dim), torch.zeros(len(pairs), width, dim)
    mask = torch.zeros(len(pairs), width)
    for row, (i, _, _) in enumerate(pairs):
        n = states[i][0].shape[0]
        tuned[row, :n] = torch.from_numpy(states[i][0].astype(np.float32))
        base[row, :n] = torch.from_numpy(states[i][1].astype(np.float32))
        mask[row, :n] = 1
    query = torch.from_numpy(queries[[t for _, t, _ in pairs]].astype(np.float32))
    labels = torch.tensor([y for _, _, y in pairs], dtype=torch.long)
    return tuned, base, mask, query, labels


def train(states: Sequence[tuple[np.ndarray, np.ndarray]], queries: np.ndarray, groups: np.ndarray,
          pairs: Sequence[Pair], *, epochs: int = 3, lr: float = 1e-3, batch_size: int = 32,
          hidden: int = 256, kernel: int = 5, focus: float = 10.0, seed: int = 0, mix: float = DEFAULT_MIX,
          progress: Any = None) -> AspectHead:
    """Fit a head on ``pairs`` over cached (tuned, base) token ``states``.

    ``queries`` holds every training topic's centroid; ``groups[t]`` names the taxonomy topic
    ``t`` belongs to, so each pair is scored relative to its own taxonomy's topics only.
    ``focus`` is the starting sharpness of the attention on topic-like tokens (lower: their
    neighbours, where the opinion usually is, start with more weight).
    """
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = _net(queries.shape[1], hidden, kernel, focus)
    tables = {g: torch.from_numpy(queries[groups == g].astype(np.float32)) for g in np.unique(groups)}
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    net.train()
    for _ in range(epochs):
        order = rng.permutation(len(pairs))
        for start in range(0, len(order), batch_size):
            chunk = [pairs[j] for j in order[start : start + batch_size]]
            loss = torch.zeros(())  # a tensor from the start, so it has backward()
            for group in {int(groups[t]) for _, t, _ in chunk}:  # one centroid table per taxonomy
                part = [p for p in chunk if groups[p[1]] == group]
                tuned, base, mask, query, labels = _batch(states, queries, part)
                logits = net(tuned, base, mask, query, tables[group])
                loss = loss + torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
            opt.zero_grad()
            (loss / len(chunk)).backward()
            opt.step()
            if progress:
                progress(len(chunk))
    arrays = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return AspectHead(arrays, mix, {"kernel": kernel, "focus": focus, "hidden": hidden, "epochs": epochs, "lr": lr,
                                    "pairs": len(pairs)})
