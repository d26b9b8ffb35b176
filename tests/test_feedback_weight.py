"""The feedback-weight experiment on tiny synthetic records: weighting, the W=0 contract, the grid."""

import functools

import numpy as np
import pytest

from model.features import ANALYZERS, build_pipeline
from training.data import source_weights
from training.experiments.feedback_weight import (
    EQUAL_SOURCE,
    FEEDBACK,
    MemoAnalyzer,
    build_memoised,
    draw_feedback,
    effective_weight,
    feedback_share,
    fit_with_feedback,
    format_table,
    run_experiment,
    split_newsroom,
    training_weights,
)
from training.records import COMMENT, EDITORIAL, Record

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES, TINY_PARAMS

TOPICS = ["transit levy", "school board budget", "riding nomination", "hospital wing", "pension reform",
          "carbon tax", "police contract", "housing plan", "ferry schedule", "mining licence"]
# The simulated newsroom: its readers write formally, so the base corpora read them as editorial.
DESK = [f"The {t} was approved by the provincial legislature on Monday, officials confirmed." for t in TOPICS]
READERS = [f"The {t} is, in my considered view, a disgrace to every taxpayer in this province." for t in TOPICS]
IN_DOMAIN = ("paper_readers", "paper_desk")


def records(texts, label, source):
    return [Record(text, label, source, f"{source}:{i}") for i, text in enumerate(texts)]


@pytest.fixture(scope="module")
def corpus():
    return (records(EDITORIAL_EXAMPLES, EDITORIAL, "wire") + records(COMMENT_EXAMPLES, COMMENT, "forum")
            + records(DESK, EDITORIAL, "paper_desk") + records(READERS, COMMENT, "paper_readers"))


@pytest.fixture(scope="module")
def build():
    return functools.partial(build_pipeline, {**TINY_PARAMS, "clf__class_weight": None})


@pytest.fixture(scope="module")
def parts(corpus):
    return split_newsroom(corpus, IN_DOMAIN)


def test_the_draw_is_seeded_and_noise_flips_exactly_its_share_of_the_same_rows(parts):
    clean = draw_feedback(parts["pool"], 10, seed=3)
    noisy = draw_feedback(parts["pool"], 10, seed=3, flip_share=0.2)
    assert clean == draw_feedback(parts["pool"], 10, seed=3)
    assert {r.source for r in clean} == {FEEDBACK}
    assert [r.text for r in noisy] == [r.text for r in clean]
    assert sum(a.label != b.label for a, b in zip(clean, noisy)) == 2


def test_feedback_rows_weigh_w_times_a_corpus_row_of_their_label(parts):
    feedback = draw_feedback(parts["pool"], 8, seed=0)
    rows, weights = training_weights(parts["base"], feedback, 3)
    assert rows[len(parts["base"]):] == feedback
    # retrain scales the weights to average 1; the corpus rows keep their proportions.
    assert sum(weights) == pytest.approx(len(rows))
    scale = weights[0] / source_weights(parts["base"])[0]
    assert weights[:len(parts["base"])] == pytest.approx([w * scale for w in source_weights(parts["base"])])
    assert effective_weight(parts["base"], feedback, 3) == {EDITORIAL: 3.0, COMMENT: 3.0}
    rows, weights = training_weights(parts["base"], feedback, EQUAL_SOURCE)
    assert weights == source_weights(parts["base"] + feedback)
    shares = [feedback_share(parts["base"], feedback, w) for w in (0, 1, 3, 30)]
    assert shares[0] == 0 and shares == sorted(shares) and 0.5 < shares[-1] < 1


def test_w0_is_training_without_feedback(parts, build):
    feedback = draw_feedback(parts["pool"], 8, seed=0)
    texts = [r.text for r in parts["in_domain_test"] + feedback]
    plain = build().fit([r.text for r in parts["base"]], [r.label for r in parts["base"]],
                        clf__sample_weight=source_weights(parts["base"]))
    assert np.array_equal(fit_with_feedback(build, parts["base"], feedback, 0).predict_proba(texts),
                          plain.predict_proba(texts))
    # Zero-weight rows kept in the fit would still change the vocabulary and the IDF.
    with_rows = build().fit([r.text for r in parts["base"] + feedback],
                            [r.label for r in parts["base"] + feedback],
                            clf__sample_weight=source_weights(parts["base"]) + [0.0] * len(feedback))
    assert not np.allclose(with_rows.predict_proba(texts), plain.predict_proba(texts))


def test_larger_w_moves_predictions_on_the_feedback_towards_its_labels(parts, build):
    feedback = draw_feedback(parts["pool"], 10, seed=1)
    texts = [r.text for r in feedback]
    readers = np.array([r.label == COMMENT for r in feedback])
    assert readers.any() and (~readers).any()

    def p_true(weight):
        pipeline = fit_with_feedback(build, parts["base"], feedback, weight)
        p = pipeline.predict_proba(texts)[:, list(pipeline.classes_).index(EDITORIAL)]
        return np.where(readers, 1 - p, p).mean()

    moved = [p_true(w) for w in (0, 1, 10, 100)]
    assert moved == sorted(moved) and moved[-1] - moved[0] > 0.2
    # The formal reader comments start out read as editorial, and W=100 turns them.
    model = fit_with_feedback(build, parts["base"], feedback, 100)
    assert set(model.predict([r.text for r in feedback if r.label == COMMENT])) == {COMMENT}


def test_the_memoised_pipeline_is_the_default_pipeline(parts):
    params = {**TINY_PARAMS, "clf__class_weight": None}
    memos = {name: MemoAnalyzer(ANALYZERS[name]) for name in ("words", "style")}
    texts = [r.text for r in parts["base"]]
    labels = [r.label for r in parts["base"]]
    held = [r.text for r in parts["in_domain_test"]]
    plain = build_pipeline(params, ("words", "style")).fit(texts, labels).predict_proba(held)
    for _ in range(2):  # the second fit reads every text from the memo
        memoised = build_memoised(params, ("words", "style"), memos).fit(texts, labels).predict_proba(held)
        assert np.array_equal(memoised, plain)
    assert set(texts + held) <= set(memos["words"].terms)


def test_the_grid_scores_every_cell_against_the_no_feedback_model(corpus, build):
    result = run_experiment(corpus, build, sizes=(4, 8), weights=(1, 30), seeds=(0,), in_domain=IN_DOMAIN)
    assert result["reference"]["change"]["in_domain_gain"] == 0
    clean = [c for c in result["cells"] if c["flip_share"] == 0]
    assert sorted((c["n"], str(c["weight"])) for c in clean) == sorted(
        (n, w) for n in (4, 8) for w in ("1.0", "30.0", EQUAL_SOURCE))
    for cell in result["cells"]:
        change = cell["change"]
        assert change["in_domain_gain"] == pytest.approx(
            cell["in_domain"]["macro_f1"] - result["reference"]["in_domain"]["macro_f1"], abs=1e-4)
        assert change["gate"] == (change["base_pooled"] >= -0.005 and change["worst_source_change"] >= -0.02)
    assert result["recommended_weight"] in (None, 1.0, 30.0)
    noisy = [c for c in result["cells"] if c["flip_share"] > 0]
    assert len(noisy) == (0 if result["recommended_weight"] is None else 2)
    assert {(r["weight"], r["n"]) for r in result["noise"]} == {(c["weight"], c["n"]) for c in noisy}


def test_the_noise_check_runs_at_any_w_even_one_outside_the_grid(corpus, build):
    result = run_experiment(corpus, build, sizes=(8,), weights=(3,), seeds=(0,), in_domain=IN_DOMAIN,
                            equal_source=False, noise_weights=(3, 7))
    rows = {row["weight"]: row for row in result["noise"]}
    assert set(rows) == {3.0, 7.0}
    assert rows[3.0]["clean_gain"] is not None and rows[7.0]["clean_gain"] is None
    assert "W=7.0" in format_table(result)
