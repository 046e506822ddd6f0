"""Test doubles shared by tests about HTTP and storage, where the model is not what is tested."""

from __future__ import annotations

from sentimon.mention import Classification


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
