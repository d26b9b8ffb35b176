"""The classifier over a bundled artifact: the kind of comment comes with comments only."""

import numpy as np
import pytest
import sklearn

from model import Classifier
from model.artifact import ModelBundle, save
from model.features import build_pipeline

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES, TINY_PARAMS

SARCASTIC = [
    "Oh great, another tax. Just what we all needed.",
    "Wow, what a genius plan, I'm sure it will work this time.",
    "Sure, because politicians always keep their promises.",
    "Brilliant, let's spend even more money we don't have.",
]
OPINION = [
    "I think the council should fund more bus routes.",
    "The plan is too expensive and will not help renters.",
    "My view is that taxes should be lower for small firms.",
    "This policy will hurt families who rent downtown.",
]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES
    labels = ["editorial"] * len(EDITORIAL_EXAMPLES) + ["comment"] * len(COMMENT_EXAMPLES)
    classifier = build_pipeline(TINY_PARAMS).fit(texts, labels)
    kind = build_pipeline(TINY_PARAMS).fit(SARCASTIC + OPINION, ["sarcastic"] * 4 + ["opinion"] * 4)
    directory = tmp_path_factory.mktemp("bundle")
    save(ModelBundle(classifier, kind), {"version": "bundle-1", "versions": {"scikit-learn": sklearn.__version__}}, directory)
    return Classifier.load(directory)


def test_kind_only_for_comments(bundled):
    results = bundled.classify([EDITORIAL_EXAMPLES[0], COMMENT_EXAMPLES[0]])
    assert [r["label"] for r in results] == ["editorial", "comment"]
    assert "kind" not in results[0]
    kind = results[1]["kind"]
    assert kind["label"] in ("sarcastic", "opinion")
    assert kind["scores"]["sarcastic"] + kind["scores"]["opinion"] == pytest.approx(1.0)


def test_kind_scores_are_the_kind_pipelines(bundled):
    texts = COMMENT_EXAMPLES + SARCASTIC + OPINION
    expected = bundled.kind_pipeline.predict_proba(texts)[:, 1]
    served = [bundled.kind(t)["scores"]["sarcastic"] for t in texts]
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-12)


def test_a_kind_model_with_other_classes_is_refused(tmp_path):
    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES
    labels = ["editorial"] * len(EDITORIAL_EXAMPLES) + ["comment"] * len(COMMENT_EXAMPLES)
    pipeline = build_pipeline(TINY_PARAMS).fit(texts, labels)
    save({"classifier": pipeline, "kind": pipeline}, {"version": "x", "versions": {"scikit-learn": sklearn.__version__}}, tmp_path)
    with pytest.raises(ValueError, match="expected classes"):
        Classifier.load(tmp_path)


def test_plain_pipeline_artifact_has_no_kind(tiny_classifier):
    assert tiny_classifier.kind(COMMENT_EXAMPLES[0]) is None
    assert "kind" not in tiny_classifier.classify([COMMENT_EXAMPLES[0]])[0]


def test_the_kind_label_is_stated_only_outside_the_cards_confident_band(bundled):
    texts = COMMENT_EXAMPLES + SARCASTIC + OPINION
    q = {t: bundled.kind(t)["scores"]["sarcastic"] for t in texts}
    low, high = sorted(q.values())[len(q) // 3], sorted(q.values())[2 * len(q) // 3]
    card = {**bundled.card, "kind": {"metrics": {"confident_band": {"band": [low, high]}}}}
    banded = Classifier({"classifier": bundled.pipeline, "kind": bundled.kind_pipeline}, card)
    stated = {"sarcastic": 0, "opinion": 0, None: 0}
    for text in texts:
        kind = banded.kind(text)
        assert kind["scores"] == bundled.kind(text)["scores"]
        expected = "sarcastic" if q[text] >= high else "opinion" if q[text] < low else None
        assert kind.get("label") == expected
        stated[kind.get("label")] += 1
    assert all(stated.values())  # each case met at least once


def test_editorial_probability_is_exactly_the_score_classify_gives_one_text(tiny_classifier):
    for text in EDITORIAL_EXAMPLES + COMMENT_EXAMPLES + ["", "!!!", "a"]:
        p = tiny_classifier.editorial_probability(text)
        assert p == tiny_classifier.classify([text])[0]["scores"]["editorial"]
        # and so a band whose upper edge is p leaves the text outside it
        assert tiny_classifier.classify([text], review_band=(p / 2, p))[0]["decision"] != "review"


def test_a_text_past_max_tokens_scores_as_the_saved_pipeline_and_as_its_start(bundled):
    """Past MAX_TOKENS tokens the rest of a text is not read, by serving and training alike: the
    served probability is still exactly the saved pipeline's, and the tail cannot move it."""
    from model.text import MAX_TOKENS

    start = ((EDITORIAL_EXAMPLES[0] + " ") * 200).split()[:MAX_TOKENS]
    text = " ".join(start)
    tail = " ".join([COMMENT_EXAMPLES[0]] * 100)
    served = [bundled.classify([t])[0]["scores"]["editorial"] for t in (text, text + " " + tail)]
    expected = bundled.pipeline.predict_proba([text, text + " " + tail])[:, list(bundled.pipeline.classes_).index("editorial")]
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-12)
    assert served[0] == pytest.approx(served[1], abs=1e-12)
    batch = bundled.classify([text + " " + tail] * 5)  # the batch path reads the same tokens
    assert batch[0]["scores"]["editorial"] == pytest.approx(served[1], abs=1e-12)


def test_batch_scores_are_the_batch_probabilities_and_kinds_classify_gives():
    from model import Classifier

    classifier = Classifier.load()
    texts = [f"{text} {i}" for i, text in enumerate(
        ["The minister said on Tuesday that talks would resume.", "lol as if anyone believes that",
         "Oh great, another genius plan from these clowns.", "Shares fell 3% in early trading."] * 2)]
    editorial, kinds = classifier.batch_scores(texts)
    results = classifier.classify(texts)
    assert editorial == [result["scores"]["editorial"] for result in results]
    assert len(kinds) == len(texts)
    for kind, result in zip(kinds, results):
        if "kind" in result:  # classify gives a comment's kind; batch_scores gives every text's
            assert kind == result["kind"]
