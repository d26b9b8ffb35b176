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
