"""Calibration on held-out data, and the review band chosen from it.

The review band is the range of P(editorial) in which the service answers ``review`` instead of
a label, so that a person looks. Its edges are the widest-precision-preserving thresholds:
every text below ``low`` is called a comment and every text at or above ``high`` editorial,
each with at least the target precision on the held-out split.
"""

from __future__ import annotations

import numpy as np

from model.labels import EDITORIAL, THRESHOLD


def reliability(labels: list[str], p_editorial, bins: int = 10) -> list[dict]:
    """The reliability curve: for each probability bin, mean prediction, observed share, count."""
    p = np.asarray(p_editorial, dtype=float)
    truth = np.array([label == EDITORIAL for label in labels], dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    curve = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        curve.append({
            "bin": [round(float(edges[b]), 2), round(float(edges[b + 1]), 2)],
            "n": n,
            "mean_predicted": round(float(p[inside].mean()), 4) if n else None,
            "observed_editorial": round(float(truth[inside].mean()), 4) if n else None,
        })
    return curve


def expected_calibration_error(labels: list[str], p_editorial, bins: int = 10) -> float:
    """ECE: the count-weighted mean gap between predicted and observed share over the bins."""
    curve = reliability(labels, p_editorial, bins)
    total = sum(row["n"] for row in curve)
    gap = sum(row["n"] * abs(row["mean_predicted"] - row["observed_editorial"]) for row in curve if row["n"])
    return round(gap / total, 4)


def _deepest_cut(values: np.ndarray, correct: np.ndarray, precision: float) -> int | None:
    """The last index up to which ``correct`` (in ``values`` order) keeps ``precision``, at a
    place where the next value differs (a threshold cannot split equal values)."""
    share = np.cumsum(correct) / np.arange(1, len(values) + 1)
    for i in np.flatnonzero(share >= precision)[::-1]:
        if i == len(values) - 1 or values[i] != values[i + 1]:
            return int(i)
    return None


def _edge(values: np.ndarray, cut: int | None, beyond: float) -> float:
    """Halfway between the last value kept and the next one; ``beyond`` if none is kept."""
    if cut is None:
        return beyond
    if cut == len(values) - 1:
        return float(values[cut])
    return float((values[cut] + values[cut + 1]) / 2)


def choose_review_band(labels: list[str], p_editorial, precision: float = 0.99) -> dict:
    """The narrowest band [low, high) outside which each decision is at least ``precision`` precise.

    Texts with P(editorial) >= ``high`` are called editorial and those below ``low`` comments;
    each edge is the deepest cut that keeps the precision on these labels.
    """
    p = np.asarray(p_editorial, dtype=float)
    editorial = np.array([label == EDITORIAL for label in labels])
    down = np.argsort(-p, kind="stable")
    high = _edge(p[down], _deepest_cut(p[down], editorial[down], precision), beyond=1.0)
    up = np.argsort(p, kind="stable")
    low_cut = _deepest_cut(p[up], ~editorial[up], precision)
    low = _edge(p[up], low_cut, beyond=0.0)
    if low_cut == len(p) - 1:
        low = float(np.nextafter(low, 2.0))  # every text is a comment: include the top one
    if low > high:
        low = high = THRESHOLD
    decided_ed, decided_co = p >= high, p < low
    return {
        "band": [low, high],
        "target_precision": precision,
        "precision_editorial": round(float(editorial[decided_ed].mean()), 4) if decided_ed.any() else None,
        "precision_comment": round(float((~editorial[decided_co]).mean()), 4) if decided_co.any() else None,
        "review_share": round(float((~(decided_ed | decided_co)).mean()), 4),
        "n": int(len(p)),
    }


def cross_checked_band(records, p_editorial, precision: float = 0.99) -> dict:
    """Choose the band on one half of the held-out groups and measure it on the other, both ways.

    The band shipped is chosen on the whole split; these figures say how precise it is on texts
    it was not chosen on.
    """
    from training.data import split_by_group

    p_by_id = {id(r): p for r, p in zip(records, p_editorial)}
    half_a, half_b = split_by_group(records, test_share=0.5, seed=1)
    result = {}
    for name, fit, check in (("a_to_b", half_a, half_b), ("b_to_a", half_b, half_a)):
        if len({r.label for r in fit}) < 2 or len({r.label for r in check}) < 2:
            continue
        low, high = choose_review_band([r.label for r in fit], [p_by_id[id(r)] for r in fit], precision)["band"]
        p = np.array([p_by_id[id(r)] for r in check])
        editorial = np.array([r.label == EDITORIAL for r in check])
        ed, co = p >= high, p < low
        result[name] = {
            "band": [low, high],
            "precision_editorial": round(float(editorial[ed].mean()), 4) if ed.any() else None,
            "precision_comment": round(float((~editorial[co]).mean()), 4) if co.any() else None,
            "review_share": round(float((~(ed | co)).mean()), 4),
        }
    return result


def calibration_report(records, p_editorial, precision: float = 0.99) -> dict:
    """ECE, the reliability curve, the review band and its cross-check, for the model card."""
    labels = [r.label for r in records]
    return {
        "expected_calibration_error": expected_calibration_error(labels, p_editorial),
        "reliability": reliability(labels, p_editorial),
        "review_band": choose_review_band(labels, p_editorial, precision),
        "review_band_cross_check": cross_checked_band(records, p_editorial, precision),
    }
