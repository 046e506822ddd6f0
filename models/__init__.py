"""Text in, ``Classification`` out: sentiment, topics and per-topic sentiment, offline by default.

This package knows text and nothing about sources or SQL. The public surface is small:

- ``MODEL_SETTINGS`` / ``TOPIC_SETTINGS``: the ``[model]`` and ``[topics.NAME]`` tables.
- ``TopicSpec`` and ``DEFAULT_TOPICS``: the customer-experience taxonomy.
- ``load_classifier(settings, topics)``: the bundled MiniLM-L6 model with its shipped heads, a
  user-trained head directory, or any Hugging Face sequence-classification model.

Nothing here imports torch or transformers at import time, so ``sentimon --help`` stays instant.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from models.taxonomy import DEFAULT_TOPICS, TOPIC_SETTINGS, TopicSpec
from sentimon.settings import Setting

# torch's OpenMP threads spin while waiting for work; on cores shared with any other busy
# process (the daemon's own threads, a second job) the spinning thread holds the core the
# working one needs: on 2 shared cores one text took 0.49 s instead of 0.014 s, a batch ran
# at 31 texts/s instead of 158 (docs/BENCHMARKS.md, start-up). Read when torch loads, so it is
# set before anything here imports torch; an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

MODEL_SETTINGS: tuple[Setting, ...] = (
    Setting("sentiment", "str", "bundled",
            'the sentiment model: "bundled" (offline MiniLM-L6 with shipped heads), a Hugging Face '
            "text-classification hub id, or a local folder holding such a model"),
    Setting("path", "str", "",
            "a folder written by `sentimon model train --out DIR`; its heads replace the shipped ones"),
    Setting("threads", "int", 0, "CPU threads for the model; 0 = all cores this process may use"),
    Setting("batch_size", "int", 32, "texts per forward pass (length-sorted, so padding stays small)"),
    Setting("backend", "str", "auto",
            "numeric backend: auto (the fastest measured within 0.5 F1 points of fp32), fp32, bf16, int8",
            choices=("auto", "fp32", "bf16", "int8")),
    Setting("max_length", "int", 256, "tokens per window; longer texts are split into windows and aggregated"),
    Setting("labels", "dict[str,str]", {},
            'map a Hugging Face model\'s labels onto negative/neutral/positive, e.g. {LABEL_0 = "negative"}'),
    Setting("topic_threshold", "float", 0.0,
            "override the calibrated zero-shot topic threshold (relative similarity); 0 = calibrated"),
    Setting("topic_keyword_bonus", "float", -1.0,
            "added to a topic's score when one of its words occurs; -1 = the calibrated value"),
    Setting("languages", "list[str]", ["en"],
            "languages the sentiment model reads (the bundled model adds de, fr, es, it, pt, ar through "
            "its multilingual head); a mention in another detected language is kept with its `lang`"),
)


def load_classifier(model_settings: dict[str, Any], topics: Sequence[TopicSpec]) -> Any:
    """Build the configured classifier; ``model_settings`` may be partial (defaults are filled).

    Raises ``sentimon.errors.ModelError`` with the fix in its message when the model cannot load.
    """
    from models.classifier import build

    settings = {s.name: s.default for s in MODEL_SETTINGS}
    settings.update(model_settings or {})
    return build(settings, list(topics))


__all__ = ["DEFAULT_TOPICS", "MODEL_SETTINGS", "TOPIC_SETTINGS", "TopicSpec", "load_classifier"]
