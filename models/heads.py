"""The small sentiment head over pooled encoder vectors: numpy at inference, torch to train.

Why numpy at inference: the head is a few hundred thousand multiply-adds per text, far below
the encoder's cost, and keeping it out of torch means a head is just arrays in a safetensors
file that anyone can inspect. Artifacts are a folder holding ``head.safetensors`` (the head,
and optionally fine-tuned encoder layers under ``encoder.*``) and ``meta.json`` (labels,
architecture, calibration, measured scores).
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
            mu = x.mean(-1, keepdims=True)
            var = x.var(-1, keepdims=True)
            x = (x - mu) / np.sqrt(var + 1e-5) * w["ln.weight"] + w["ln.bias"]
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
class Artifact:
    """A loaded artifact folder: the sentiment head, encoder overrides, and its metadata."""

    head: SentimentHead
    encoder: dict[str, Any]
    meta: dict[str, Any]
    path: Path
    base_head: SentimentHead | None = None  # a head over the base vectors, averaged in when present

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
         encoder: dict[str, Any] | None = None, base_head: dict[str, np.ndarray] | None = None) -> None:
    """Write an artifact folder; encoder tensors are stored fp16 to keep it a few MB."""
    from safetensors.numpy import save_file

    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"head.{k}": np.ascontiguousarray(v, dtype=np.float32) for k, v in head.items()}
    for key, value in (base_head or {}).items():
        tensors[f"base_head.{key}"] = np.ascontiguousarray(value, dtype=np.float32)
    for key, value in (encoder or {}).items():
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        tensors[f"encoder.{key}"] = np.ascontiguousarray(array, dtype=np.float16)
    save_file(tensors, str(path / "head.safetensors"))
    (path / "head.safetensors").chmod(0o644)
    (path / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


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
    return Artifact(SentimentHead(head, meta), encoder, meta, path,
                    SentimentHead(base, base_meta) if base else None)
