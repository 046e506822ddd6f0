"""Test doubles shared by tests about HTTP and storage, where the model is not what is tested."""

from __future__ import annotations

from dataclasses import replace

from sentimon.mention import Classification, TopicScore


class KeywordClassifier:
    """Any object with ``.name`` and ``.classify(texts)`` is a Classifier to the pipeline:
    "late" in a text reads negative, anything else positive."""

    name = "test-keywords"

    def classify(self, texts):
        results = []
        for text in texts:
            negative = "late" in text.lower()
            scores = {
                "negative": 0.9 if negative else 0.05,
                "neutral": 0.05,
                "positive": 0.05 if negative else 0.9,
            }
            results.append(
                Classification("negative" if negative else "positive", scores, model=self.name)
            )
        return results


class TopicKeywordClassifier(KeywordClassifier):
    """The same keyword rules, plus topics: delivery for a late text, price when it says
    "price", so per-topic commands have something to count."""

    def classify(self, texts):
        results = []
        for text, result in zip(texts, super().classify(texts)):
            negative = result.sentiment == "negative"
            topics = [TopicScore("delivery", 0.9, "negative")] if negative else []
            if "price" in text.lower():
                topics.append(TopicScore("price", 0.8, result.sentiment))
            results.append(replace(result, topics=tuple(topics)))
        return results
