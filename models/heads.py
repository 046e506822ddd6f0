"""The small sentiment head over pooled encoder vectors: numpy at inference, torch to train.

Why numpy at inference: the head is a few hundred thousand multiply-adds per text, far below
the encoder's cost, and keeping it out of torch means a head is just arrays in a safetensors
file that anyone can inspect. Artifacts are a folder holding ``head.safetensors`` (the head,
and optionally fine-tuned encoder layers under ``encoder.*``), ``meta.json`` (labels,
architecture, calibration, measured scores) and optionally ``anchors.safetensors`` (the
``VectorStats`` of what the head was trained on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sentimon.errors import ModelError
from sentimon.mention import SENTIMENTS

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
BUNDLED = ARTIFACTS / "bundled"
STATS_FILE = "anchors.safetensors"


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


@dataclass
class SentimentHead:
    """``probs = softmax(W2 · gelu(LN(x) W1 + b1) + b2)`` (or a linear layer when no hidden)."""

    weights: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return list(self.meta.get("labels", SENTIMENTS))

    def logits(self, x: np.ndarray) -> np.ndarray:
        w = self.weights
        x = x.astype(np.float32)
        if "ln.weight" in w:
            x = layer_norm(x, w["ln.weight"], w["ln.bias"])
        if "hidden.weight" in w:
            x = _gelu(x @ w["hidden.weight"].T + w["hidden.bias"])
        return x @ w["out.weight"].T + w["out.bias"]

    def probs(self, x: np.ndarray) -> np.ndarray:
        z = self.logits(x) / float(self.meta.get("temperature", 1.0))
        z = z - z.max(-1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(-1, keepdims=True)
        bias = self.meta.get("prior_correction")
        if bias:  # re-weight classes (calibrated on validation data) to favour macro recall
            p = p * np.asarray(bias, dtype=np.float32)
            p = p / p.sum(-1, keepdims=True)
        return p


@dataclass
class VectorStats:
    """Mean and covariance (``factor.T @ factor``) of the sentiment vectors a head was trained on.

    Why: a head adapted to a team's corrections is held to its old answers on samples of this
    Gaussian, which keeps it from forgetting the training distribution without shipping the
    training texts (which may not be redistributed). 150k numbers, 0.3 MB in fp16.
    """

    mean: np.ndarray    # (dim,)
    factor: np.ndarray  # (k, dim)

    @classmethod
    def fit(cls, x: np.ndarray) -> VectorStats:
        mean = x.mean(0)
        values, vectors = np.linalg.eigh(np.cov(x - mean, rowvar=False))
        factor = np.sqrt(np.clip(values, 0, None))[:, None] * vectors.T
        return cls(mean.astype(np.float32), np.ascontiguousarray(factor, dtype=np.float32))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        z = np.random.default_rng(seed).standard_normal((n, self.factor.shape[0]), dtype=np.float32)
        return self.mean + z @ self.factor


@dataclass
class Artifact:
    """A loaded artifact folder: the sentiment head, encoder overrides, and its metadata."""

    head: SentimentHead
    encoder: dict[str, Any]
    meta: dict[str, Any]
    path: Path
    base_head: SentimentHead | None = None  # a head over the base vectors, averaged in when present
    stats: VectorStats | None = None  # what the head was trained on, to adapt it without forgetting
    aspect_head: Any = None  # models.aspects.AspectHead over these tuned layers' token states, if any

    def probs(self, tuned: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Sentiment probabilities: the tuned head, or its blend with the base-vector head."""
        p = self.head.probs(tuned)
        if self.base_head is None:
            return p
        w = float(self.meta.get("ensemble_weight", 0.5))
        return w * p + (1.0 - w) * self.base_head.probs(base)

    @property
    def name(self) -> str:
        return f"{self.meta.get('name', 'sentimon-minilm')}-{self.meta.get('version', '0')}"


def save(path: Path, head: dict[str, np.ndarray], meta: dict[str, Any],
         encoder: dict[str, Any] | None = None, base_head: dict[str, np.ndarray] | None = None,
         stats: VectorStats | None = None, aspect_head: Any = None) -> None:
    """Write an artifact folder; encoder tensors and stats are stored fp16 to keep it a few MB.

    An ``aspect_head`` reads the tuned layers' token states, so it is only kept by callers that
    keep those layers; without one, a stale file from an earlier model in the folder is removed.
    """
    from safetensors.numpy import save_file

    from models import aspects

    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"head.{k}": np.ascontiguousarray(v, dtype=np.float32) for k, v in head.items()}
    for key, value in (base_head or {}).items():
        tensors[f"base_head.{key}"] = np.ascontiguousarray(value, dtype=np.float32)
    for key, value in (encoder or {}).items():
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        tensors[f"encoder.{key}"] = np.ascontiguousarray(array, dtype=np.float16)
    save_file(tensors, str(path / "head.safetensors"))
    (path / "head.safetensors").chmod(0o644)
    save_stats(path, stats)
    if aspect_head is not None:
        aspects.save(path, aspect_head)
    elif (path / aspects.FILE).exists():
        (path / aspects.FILE).unlink()
    (path / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def save_stats(path: Path, stats: VectorStats | None) -> None:
    """Write (or, for None, remove) the folder's ``anchors.safetensors``."""
    from safetensors.numpy import save_file

    if stats is not None:
        save_file({"mean": np.ascontiguousarray(stats.mean, dtype=np.float16),
                   "factor": np.ascontiguousarray(stats.factor, dtype=np.float16)}, str(path / STATS_FILE))
        (path / STATS_FILE).chmod(0o644)
    elif (path / STATS_FILE).exists():
        (path / STATS_FILE).unlink()  # left by an earlier model in this folder: not this one's


def load(path: Path) -> Artifact:
    """Read an artifact folder; a broken or foreign folder is a ModelError naming the fix."""
    from safetensors.numpy import load_file

    path = Path(path)
    meta_file, tensor_file = path / "meta.json", path / "head.safetensors"
    if not meta_file.exists() or not tensor_file.exists():
        raise ModelError(
            f"{path} is not a sentimon model folder (needs meta.json and head.safetensors): "
            "write one with `sentimon model train FILE.jsonl --out DIR`, or clear [model] path"
        )
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        tensors = load_file(str(tensor_file))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the model folder {path}: {exc}; retrain it with `sentimon model train`") from None
    head = {k[5:]: v.astype(np.float32) for k, v in tensors.items() if k.startswith("head.")}
    encoder: dict[str, Any] = {}
    if any(k.startswith("encoder.") for k in tensors):
        import torch

        encoder = {k[8:]: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items() if k.startswith("encoder.")}
    if "out.weight" not in head:
        raise ModelError(f"{tensor_file} holds no sentiment head: retrain it with `sentimon model train`")
    base = {k[10:]: v.astype(np.float32) for k, v in tensors.items() if k.startswith("base_head.")}
    base_meta = {"prior_correction": meta.get("base_prior_correction")} if base else {}
    from models import aspects

    return Artifact(SentimentHead(head, meta), encoder, meta, path,
                    SentimentHead(base, base_meta) if base else None, _load_stats(path / STATS_FILE),
                    aspects.load(path))


def _load_stats(path: Path) -> VectorStats | None:
    from safetensors.numpy import load_file

    if not path.exists():
        return None
    try:
        tensors = load_file(str(path))
        return VectorStats(tensors["mean"].astype(np.float32), tensors["factor"].astype(np.float32))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read {path}: {exc}; delete it or retrain with `sentimon model train`") from None
