"""A lean BERT encoder in plain torch, for the bundled MiniLM-L6 weights.

Why not ``transformers.BertModel``: importing transformers' modeling code pulls in scipy,
sympy and torch.fx (about 146 MB resident before a single weight is loaded), which is most of
what kept a classifying process over its 500 MB budget. BERT's forward pass is small and
stable, so it is written out here once; its parameter names match transformers' ``BertModel``
exactly (``encoder.layer.5.attention.self.query.weight``...), so the package's
``model.safetensors`` and our fine-tuned layer artifacts load unchanged, and a test holds its
output to transformers' own on the same weights. Hub models keep using transformers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class BertConfig:
    """The fields of a BERT ``config.json`` this encoder needs."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("model_type", "bert") != "bert" or raw.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: not a BERT config with GELU activations")
        return cls(**{name: raw[name] for name in cls.__dataclass_fields__ if name in raw})


class Embeddings(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(0.1)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)[None]
        x = x + self.token_type_embeddings.weight[0]  # single-segment input: token type 0
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout_p = 0.1

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, s, self.heads, d // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=keep,
            dropout_p=self.dropout_p if self.training else 0.0, scale=1 / math.sqrt(d // self.heads),
        )
        return out.transpose(1, 2).reshape(b, s, d)


class Residual(nn.Module):
    """Dense, dropout, then LayerNorm over the sum with the block's input (BERT's "output")."""

    def __init__(self, width_in: int, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(width_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(0.1)

    def forward(self, h: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(h)) + skip)


class Attention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.self = SelfAttention(c)  # transformers' parameter name: attention.self.*
        self.output = Residual(c.hidden_size, c)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, keep), x)


class Intermediate(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    """One transformer block. ``mask`` is the (batch, tokens) padding mask, 1 for real tokens."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Residual(c.intermediate_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.attention(x, attention_keep(mask))
        return self.output(self.intermediate(h), h)


def attention_keep(mask: torch.Tensor) -> torch.Tensor:
    """(batch, 1, 1, tokens) boolean: which keys every query may attend to."""
    return mask.bool()[:, None, None, :]


class Stack(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.num_hidden_layers))


class Bert(nn.Module):
    """Embeddings and the layer stack; ``encoder.layer`` may be sliced to stop early."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Stack(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                output_hidden_states: bool = False) -> Any:
        """Like transformers' output: ``last_hidden_state`` and, if asked, ``hidden_states``
        (the embeddings, then each layer's output)."""
        x = self.embeddings(input_ids)
        states = [x]
        for layer in self.encoder.layer:
            x = layer(x, attention_mask)
            states.append(x)
        return SimpleNamespace(last_hidden_state=x, hidden_states=tuple(states) if output_hidden_states else None)


def load(folder: Path, dtype: torch.dtype = torch.float32) -> Bert:
    """The BERT in ``folder`` (config.json and model.safetensors), in ``dtype``, in eval mode.

    The module is created in ``dtype`` and each tensor of the file is copied into it as it is
    read, so loading holds one copy of the weights, not two (a bf16 model: 45 MB, not 135).
    The pooler and other heads in the file are ignored; a missing encoder weight is an error."""
    from safetensors import safe_open

    config = BertConfig.from_file(folder / "config.json")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        model = Bert(config)
    finally:
        torch.set_default_dtype(previous)
    params = model.state_dict()
    found: set[str] = set()
    with safe_open(str(folder / "model.safetensors"), framework="pt") as weights, torch.no_grad():
        for key in weights.keys():
            name = key.removeprefix("bert.")
            if name in params:
                params[name].copy_(weights.get_tensor(key))
                found.add(name)
    missing = sorted(set(params) - found)
    if missing:
        raise ValueError(f"{folder / 'model.safetensors'} lacks {len(missing)} BERT weights, e.g. {missing[0]}")
    return model.eval()


def pad(seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (input_ids, mask) tensors for token-id sequences of different lengths."""
    width = max(len(s) for s in seqs)
    input_ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        input_ids[row, : len(seq)] = torch.as_tensor(seq)
        mask[row, : len(seq)] = 1
    return input_ids, mask


def run_layers(layers: Sequence[nn.Module], states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Apply a stack of layers (e.g. fine-tuned top layers) to hidden ``states``."""
    for layer in layers:
        states = layer(states, mask)
    return states


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the real tokens' vectors (sentence-transformers pooling), in fp32."""
    m = mask.unsqueeze(-1).float()
    return (states.float() * m).sum(1) / m.sum(1).clamp(min=1)
