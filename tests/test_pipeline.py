"""The pipeline's own rule: a star rating is evidence about sentiment, combined with the text's."""

from __future__ import annotations

import pytest

from sentimon.mention import Classification, TopicScore
from sentimon.pipeline import with_rating

FACTUAL = Classification("neutral", {"negative": 0.42, "neutral": 0.54, "positive": 0.04},
                         (TopicScore("delivery", 0.8, "negative"),), "m")


def test_one_star_turns_a_factual_complaint_negative_and_keeps_topics():
    result = with_rating(FACTUAL, 1)
    assert result.sentiment == "negative"
    assert abs(sum(result.scores.values()) - 1) < 1e-9
    assert result.topics == FACTUAL.topics and result.model == "m"


def test_no_rating_leaves_the_model_alone():
    assert with_rating(FACTUAL, None) is FACTUAL


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_more_stars_never_make_a_text_more_negative(rating):
    text = Classification("neutral", {"negative": 0.3, "neutral": 0.4, "positive": 0.3})
    if rating < 5:
        assert with_rating(text, rating + 1).scores["negative"] < with_rating(text, rating).scores["negative"]


def test_a_confident_text_outweighs_a_contradicting_star():
    glowing = Classification("positive", {"negative": 0.001, "neutral": 0.004, "positive": 0.995})
    assert with_rating(glowing, 2).sentiment == "positive"  # a mis-click on the stars
