"""Topic phrase vectors kept on disk between starts (issue 19 item 3, start-up).

Stub embedders for the cache's rules (a hit skips embedding, any change of taxonomy, weights
or settings recomputes, a broken file or folder never breaks a load) and one load of the real
bundled model for the promise that matters: classifications from cached vectors are the same,
bit for bit, as from computed ones.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from models.taxonomy import DEFAULT_TOPICS, TopicSpec
from models.topics import CACHE_ENV, TopicIndex, cache_dir, cached_embed, normalise

TOPICS = [TopicSpec("delivery", "shipping, courier", ("parcel was late",)),
          TopicSpec("price", "cost, value for money", ("too expensive",))]


class CountingEmbed:
    """A deterministic stand-in for the encoder that records what it was asked to embed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        seeds = [sum(map(ord, t)) for t in texts]
        return np.stack([np.random.default_rng(s).standard_normal(384).astype(np.float32) for s in seeds])


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"v1")
    return folder


def build(topics: list[TopicSpec], embed, weights: Path, folder: Path, **settings) -> TopicIndex:
    return TopicIndex.build(topics, cached_embed(embed, [weights], {"backend": "fp32", **settings}, folder))


def same(a: TopicIndex, b: TopicIndex) -> bool:
    return np.array_equal(a.phrases, b.phrases) and np.array_equal(a.centroids, b.centroids)


def test_a_second_start_reads_the_vectors_instead_of_embedding(tmp_path, weights):
    embed = CountingEmbed()
    first = build(TOPICS, embed, weights, tmp_path / "cache")
    second = build(TOPICS, embed, weights, tmp_path / "cache")
    assert len(embed.calls) == 1
    assert same(first, second) and same(second, TopicIndex.build(TOPICS, CountingEmbed()))


def test_a_changed_taxonomy_is_embedded_again(tmp_path, weights):
    embed = CountingEmbed()
    build(TOPICS, embed, weights, tmp_path / "cache")
    edited = [TOPICS[0], dataclasses.replace(TOPICS[1], examples=("too expensive", "overpriced"))]
    index = build(edited, embed, weights, tmp_path / "cache")
    assert len(embed.calls) == 2 and "overpriced" in embed.calls[1]
    assert same(index, TopicIndex.build(edited, CountingEmbed()))


def test_changed_weights_or_settings_are_embedded_again(tmp_path, weights):
    embed = CountingEmbed()
    build(TOPICS, embed, weights, tmp_path / "cache")
    build(TOPICS, embed, weights, tmp_path / "cache", backend="bf16")
    (weights / "model.safetensors").write_bytes(b"retrained")
    build(TOPICS, embed, weights, tmp_path / "cache")
    assert len(embed.calls) == 3


@pytest.mark.parametrize("content", [b"", b"not a numpy file", "wrong shape"])
def test_a_broken_cache_file_is_recomputed(tmp_path, weights, content):
    embed = CountingEmbed()
    expected = build(TOPICS, embed, weights, tmp_path / "cache")
    (path,) = (tmp_path / "cache").glob("phrases-*.npy")
    if content == "wrong shape":
        np.save(path, np.zeros((1, 384), dtype=np.float32))
    else:
        path.write_bytes(content)
    assert same(build(TOPICS, embed, weights, tmp_path / "cache"), expected)
    assert len(embed.calls) == 2
    build(TOPICS, embed, weights, tmp_path / "cache")  # the recomputed file was written back
    assert len(embed.calls) == 2


def test_a_folder_that_cannot_be_written_only_costs_time(tmp_path, weights):
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    embed = CountingEmbed()
    index = build(TOPICS, embed, weights, blocked / "cache")
    assert same(index, build(TOPICS, embed, weights, blocked / "cache")) and len(embed.calls) == 2


def test_the_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_dir() is None
    embed = CountingEmbed()
    assert cached_embed(embed, [], {}) is embed
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "sentimon"


TEXTS = [
    "My parcel arrived two weeks late and nobody answered my emails",
    "Lovely shoes, but far too expensive for what they are",
    "The courier left the box in the rain and the refund took a month",
    "Great customer service, they sorted the return in a day",
    "Ordered the trail runners in size 42.",
]


def test_the_bundled_model_classifies_the_same_from_cached_vectors(tmp_path, monkeypatch):
    """One load: its phrase vectors are computed and cached; the cached ones give equal results."""
    import models
    from models import classifier as module

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    seen: dict = {}

    def spy(embed, sources, settings, directory=None):
        seen.update(embed=embed, sources=sources, settings=settings)
        return cached_embed(embed, sources, settings, directory)

    monkeypatch.setattr(module, "cached_embed", spy)
    computed = models.load_classifier({}, DEFAULT_TOPICS)
    assert len(list(tmp_path.glob("phrases-*.npy"))) == 1

    def refuse(texts: list[str]) -> np.ndarray:
        raise AssertionError("the phrases were embedded again")

    specs = computed.topics.topics
    warm = TopicIndex.build(specs, cached_embed(refuse, seen["sources"], seen["settings"]))
    phrases = [p for spec in specs for p in spec.phrases]
    assert np.array_equal(warm.phrases, normalise(seen["embed"](phrases)))  # as without a cache
    assert same(warm, computed.topics)
    twin = copy.copy(computed)
    twin.topics = dataclasses.replace(computed.topics, phrases=warm.phrases, centroids=warm.centroids)
    assert twin.classify(TEXTS) == computed.classify(TEXTS)
