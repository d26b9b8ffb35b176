"""The decision policy: labels, the review band, band validation."""

import pytest

from model.labels import NO_BAND, check_band, decision_for, label_for


@pytest.mark.parametrize(("p", "label"), [(0.0, "comment"), (0.4999, "comment"), (0.5, "editorial"), (1.0, "editorial")])
def test_label_for(p, label):
    assert label_for(p) == label


@pytest.mark.parametrize(
    ("p", "decision"),
    [(0.05, "comment"), (0.1, "review"), (0.5, "review"), (0.8999, "review"), (0.9, "editorial"), (1.0, "editorial")],
)
def test_decision_for_band(p, decision):
    assert decision_for(p, (0.1, 0.9)) == decision


def test_no_band_means_the_label():
    for p in (0.0, 0.3, 0.5, 0.7, 1.0):
        assert decision_for(p, NO_BAND) == label_for(p)


def test_check_band():
    assert check_band([0, 1]) == (0.0, 1.0)
    for bad in ([0.5], (0.7, 0.3), [0, 2], ["0", 1], [False, 1], 0.5):
        with pytest.raises(ValueError):
            check_band(bad)


def test_a_band_with_a_number_too_large_for_a_float_is_a_value_error():
    import pytest

    from model.labels import check_band

    with pytest.raises(ValueError, match="too large"):
        check_band([10**400, 1])
