"""Calibration measures and the review band, on tiny hand-made predictions."""

import pytest

from training.calibration import (
    calibration_report,
    choose_review_band,
    expected_calibration_error,
    reliability,
)
from training.records import Record


def test_perfectly_calibrated_predictions_have_zero_ece():
    labels = ["editorial"] * 3 + ["comment"] * 7 + ["editorial"] * 7 + ["comment"] * 3
    p = [0.3] * 10 + [0.7] * 10
    assert expected_calibration_error(labels, p) == pytest.approx(0.0)
    curve = reliability(labels, p)
    assert [row["n"] for row in curve if row["n"]] == [10, 10]


def test_overconfident_predictions_have_a_gap():
    labels = ["editorial", "comment"] * 5
    assert expected_calibration_error(labels, [0.95, 0.95] * 5) == pytest.approx(0.45)


def test_review_band_keeps_each_decision_precise():
    # Comments at 0.0-0.3, editorial at 0.7-1.0, and a muddle of both in the middle.
    p = [0.05, 0.1, 0.2, 0.3, 0.45, 0.5, 0.55, 0.6, 0.8, 0.9, 0.95]
    labels = ["comment"] * 4 + ["editorial", "comment", "editorial", "comment"] + ["editorial"] * 3
    band = choose_review_band(labels, p, precision=0.99)
    low, high = band["band"]
    # Each edge sits halfway between the last text decided and the next: 0.3|0.45 and 0.6|0.8.
    assert (low, high) == (pytest.approx(0.375), pytest.approx(0.7))
    assert band["precision_editorial"] == 1.0 and band["precision_comment"] == 1.0
    assert band["review_share"] == pytest.approx(4 / 11, abs=1e-4)


def test_review_band_when_nothing_is_precise_enough():
    band = choose_review_band(["comment", "editorial"] * 4, [0.5] * 8, precision=0.99)
    assert band["review_share"] == 1.0


def test_calibration_report_has_the_cross_check():
    records = [Record(f"t{i}", "editorial" if i % 2 else "comment", "s", f"g{i}") for i in range(40)]
    p = [0.9 if r.label == "editorial" else 0.1 for r in records]
    report = calibration_report(records, p)
    assert report["review_band"]["review_share"] == 0.0
    for half in report["review_band_cross_check"].values():
        assert half["precision_editorial"] == 1.0 and half["precision_comment"] == 1.0


def test_weights_change_which_decisions_the_band_must_keep_precise():
    # One comment sits among the editorial texts at 0.9. Unweighted, 9 of 10 above 0.85 is 90%
    # precise; when that one comment weighs as much as the nine editorial texts, it is 50%.
    p = [0.1] * 10 + [0.9] * 10
    labels = ["comment"] * 10 + ["editorial"] * 9 + ["comment"]
    unweighted = choose_review_band(labels, p, precision=0.9)
    assert unweighted["band"] == [pytest.approx(0.5), pytest.approx(0.5)] and unweighted["review_share"] == 0.0
    weights = [1.0] * 19 + [9.0]
    weighted = choose_review_band(labels, p, precision=0.9, weights=weights)
    assert weighted["band"][1] == 1.0  # nothing is called editorial
    assert weighted["review_share"] == pytest.approx(18 / 28, abs=1e-4)


def test_platt_scaling_folds_exactly_into_the_pipeline():
    import numpy as np

    from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES
    from model.features import build_pipeline
    from model.scoring import FastScorer
    from training.calibration import apply_platt, fold_platt
    from training.evaluate import editorial_probabilities

    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES
    labels = ["editorial"] * len(EDITORIAL_EXAMPLES) + ["comment"] * len(COMMENT_EXAMPLES)
    params = {"features__words__min_df": 1, "features__style__min_df": 1}
    pipeline = build_pipeline(params).fit(texts, labels)
    before = editorial_probabilities(pipeline, texts + ["an unseen text, who knows"])
    fold_platt(pipeline, (0.6, -0.3))
    after = editorial_probabilities(pipeline, texts + ["an unseen text, who knows"])
    assert np.allclose(after, apply_platt(before, (0.6, -0.3)), atol=1e-12)
    assert FastScorer(pipeline).probability(texts[0]) == pytest.approx(after[0], abs=1e-12)


def test_platt_scaling_learns_an_overconfident_scores_shrinkage():
    import numpy as np

    from training.calibration import fit_platt

    rng = np.random.default_rng(0)
    truth = rng.random(4000) < 0.5
    z_true = np.where(truth, 1.0, -1.0) + rng.normal(0, 1, 4000)
    p_calibrated = 1 / (1 + np.exp(-2 * z_true))  # logit 2z: the log-odds of truth given z is 2z
    p_overconfident = 1 / (1 + np.exp(-6 * z_true))  # three times too sure
    labels = ["editorial" if t else "comment" for t in truth]
    a, b = fit_platt(labels, p_overconfident)
    assert a == pytest.approx(1 / 3, abs=0.05) and b == pytest.approx(0, abs=0.1)
    assert expected_calibration_error(labels, p_calibrated) < 0.03


def test_out_of_source_report_measures_each_source_with_a_band_fitted_elsewhere():
    from training.calibration import out_of_source_report

    records, p = [], []
    # Two sources score cleanly; "odd" has its comments at 0.8: no band fitted on the others
    # can catch them, so its decided accuracy shows the failure that the pooled fit would hide.
    for source, label, score in (("a", "editorial", 0.9), ("b", "comment", 0.1), ("c", "editorial", 0.85),
                                 ("d", "comment", 0.2), ("odd", "comment", 0.8)):
        for i in range(50):
            records.append(Record(f"{source}{i}", label, source, f"{source}:{i}"))
            p.append(score)
    report = out_of_source_report(records, p, precision=0.99)
    rows = report["held_out_sources"]["per_source"]
    assert set(rows) == {"a", "b", "c", "d", "odd"}
    assert rows["a"]["decided_accuracy"] == 1.0 and rows["b"]["decided_accuracy"] == 1.0
    assert rows["odd"]["accuracy"] == 0.0 and rows["odd"]["decided_accuracy"] == 0.0
    assert report["held_out_sources"]["decided_accuracy"] < 1.0
    assert set(report["platt_scaling"]) == {"a", "b"}
    assert 0.0 <= report["held_out_sources"]["expected_calibration_error"] <= 1.0
