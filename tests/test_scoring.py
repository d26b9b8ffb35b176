"""The fast scorer gives the saved pipeline's own probabilities."""

import numpy as np

from model.features import char_terms, style_terms, word_terms

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES

UNSEEN = [
    "The minister said the plan would be reviewed.",
    "lol no way!!!",
    "Zzzz qqqq",  # no known term in some blocks
    "\u201cCurly\u201d quotes \u2013 and dashes\u2026 5,000 people, said AFP.",
    "I think the mayor is a total clown, honestly",
    "Überraschung! 😀 Ça va?",
    "a",
]


def test_fast_scorer_matches_predict_proba(tiny_classifier):
    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES + UNSEEN
    pipeline = tiny_classifier.pipeline
    expected = pipeline.predict_proba(texts)[:, list(pipeline.classes_).index("editorial")]
    fast = np.array([tiny_classifier.editorial_probability(t) for t in texts])
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-12)


def test_logit_is_intercept_plus_contributions(tiny_classifier):
    scorer = tiny_classifier.scorer
    for text in UNSEEN + COMMENT_EXAMPLES[:3]:
        parts = scorer.contributions(text)
        total = scorer.intercept + sum(sum(block.values()) for block in parts.values())
        assert abs(total - scorer.logit(text)) < 1e-9


def test_classify_returns_labels_and_scores_in_order(tiny_classifier):
    results = tiny_classifier.classify([EDITORIAL_EXAMPLES[0], COMMENT_EXAMPLES[0]])
    assert [r["label"] for r in results] == ["editorial", "comment"]
    for result in results:
        scores = result["scores"]
        assert set(scores) == {"editorial", "comment"}
        assert abs(scores["editorial"] + scores["comment"] - 1) < 1e-12


def test_term_functions():
    tokens = ["i", "think", "N", "!"]
    assert word_terms(tokens) == ["i", "think", "N", "!", "i think", "think N", "N !"]
    assert " i " in char_terms(["i"]) and " N " in char_terms(["N"])
    assert "th" in char_terms(["think"]) and "think" in char_terms(["think"])
    style = style_terms(tokens)
    assert "i w N" in style and "<len 3>" in style and "<open end>" not in style
    assert "<open end>" in style_terms(["no", "stop"])
