"""Text in, ``Classification`` out: sentiment, topics and per-topic sentiment, offline by default.

This package knows text and nothing about sources or SQL. The public surface is small:

- ``ModelSettings`` (its table ``MODEL_SETTINGS``) / ``TOPIC_SETTINGS``: the ``[model]`` and
  ``[topics.NAME]`` tables.
- ``TopicSpec`` and ``DEFAULT_TOPICS``: the customer-experience taxonomy.
- ``load_classifier(settings, topics)``: the bundled MiniLM-L6 model with its shipped heads, a
  user-trained head directory, or any Hugging Face sequence-classification model.

Nothing here imports torch or transformers at import time, so ``sentimon --help`` stays instant.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Sequence

from models.taxonomy import DEFAULT_TOPICS, TOPIC_SETTINGS, TopicSpec
from sentimon.settings import Setting, Settings, parse, setting, settings_of

# torch's OpenMP threads spin while waiting for work; on cores shared with any other busy
# process (the daemon's own threads, a second job) the spinning thread holds the core the
# working one needs: on 2 shared cores one text took 0.49 s instead of 0.014 s, a batch ran
# at 31 texts/s instead of 158 (docs/BENCHMARKS.md, start-up). Read when torch loads, so it is
# set before anything here imports torch; an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

@dataclass(frozen=True, kw_only=True)
class ModelSettings(Settings):
    """The ``[model]`` table, typed: the config hands one to ``load_classifier``, and code run
    without a config (benchmarks, recipes) builds one from a few keys."""

    sentiment: str = setting(
        "str", "bundled",
        help='the sentiment model: "bundled" (offline MiniLM-L6 with shipped heads), '
             "a Hugging Face text-classification hub id, or a local folder holding such a model")
    path: str = setting(
        "str", "",
        help="a folder written by `sentimon model train --out DIR`; "
             "its heads replace the shipped ones")
    threads: int = setting(
        "int", 0, help="CPU threads for the model; 0 = all cores this process may use")
    batch_size: int = setting(
        "int", 32, help="texts per forward pass (length-sorted, so padding stays small)")
    backend: str = setting(
        "str", "auto", choices=("auto", "fp32", "bf16", "int8"),
        help="numeric backend: auto (the fastest measured within 0.5 F1 points of fp32), "
             "fp32, bf16, int8")
    max_length: int = setting(
        "int", 256, help="tokens per window; longer texts are split into windows and aggregated")
    labels: dict[str, str] = setting(
        "dict[str,str]", {},
        help="map a Hugging Face model's labels onto negative/neutral/positive, "
             'e.g. {LABEL_0 = "negative"}')
    topic_threshold: float = setting(
        "float", 0.0,
        help="override the calibrated zero-shot topic threshold (relative similarity); "
             "0 = calibrated")
    topic_keyword_bonus: float = setting(
        "float", -1.0,
        help="added to a topic's score when one of its words occurs; -1 = the calibrated value")
    languages: list[str] = setting(
        "list[str]", ["en"],
        help="languages the sentiment model reads (the bundled model adds de, fr, es, it, pt, ar "
             "through its multilingual head); a mention in another detected language is kept "
             "with its `lang`")


MODEL_SETTINGS: tuple[Setting, ...] = settings_of(ModelSettings)


def load_classifier(model_settings: ModelSettings | Mapping[str, Any] | None,
                    topics: Sequence[TopicSpec]) -> Any:
    """Build the configured classifier from the config's ``ModelSettings``, or from a partial
    table of keys (checked, defaults filled) for callers without a config.

    Raises ``sentimon.errors.ModelError`` with the fix in its message when the model cannot load,
    ``sentimon.settings.SettingError`` for a key or value a ``[model]`` table could not hold.
    """
    from models.classifier import build

    return build(parse(ModelSettings, model_settings or {}, "model"), list(topics))


__all__ = ["DEFAULT_TOPICS", "MODEL_SETTINGS", "ModelSettings", "TOPIC_SETTINGS", "TopicSpec",
           "load_classifier"]
