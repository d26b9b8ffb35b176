"""Calibration and the review band, both chosen on out-of-source scores.

The review band is the range of P(editorial) in which the service answers ``review`` instead of
a label, so that a person looks. Its edges are the widest-precision-preserving thresholds:
every text below ``low`` is called a comment and every text at or above ``high`` editorial,
each with at least the target precision.

Both are fitted on leave-one-source-out scores (each text scored by a model that never saw its
source, see ``training.loso``), with every source weighing the same, because that is the kind of
text the service meets: outlets it was not trained on. Calibration is Platt scaling, an affine
map of the logit, so it folds exactly into the logistic regression's coefficients and the
served probabilities stay those of the saved pipeline. ``out_of_source_report`` measures both
honestly: for each source, the scaling and the band are fitted on the other sources and applied
to it.
"""

from __future__ import annotations

import numpy as np

from sklearn.linear_model import LogisticRegression

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


def _deepest_cut(values: np.ndarray, correct: np.ndarray, precision: float, weights: np.ndarray) -> int | None:
    """The last index up to which ``correct`` (in ``values`` order, weighted) keeps ``precision``,
    at a place where the next value differs (a threshold cannot split equal values)."""
    share = np.cumsum(correct * weights) / np.cumsum(weights)
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


def choose_review_band(labels: list[str], p_editorial, precision: float = 0.99, weights=None,
                       positive: str = EDITORIAL) -> dict:
    """The narrowest band [low, high) outside which each decision is at least ``precision`` precise.

    Texts with P(editorial) >= ``high`` are called editorial and those below ``low`` comments;
    each edge is the deepest cut that keeps the precision on these labels (weighted by
    ``weights``, if given; the shares it reports are weighted too). ``positive`` names the label
    that ``p_editorial`` is the probability of (the kind model's band uses ``sarcastic``).
    """
    p = np.asarray(p_editorial, dtype=float)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=float)
    editorial = np.array([label == positive for label in labels])
    down = np.argsort(-p, kind="stable")
    high = _edge(p[down], _deepest_cut(p[down], editorial[down], precision, w[down]), beyond=1.0)
    up = np.argsort(p, kind="stable")
    low_cut = _deepest_cut(p[up], ~editorial[up], precision, w[up])
    low = _edge(p[up], low_cut, beyond=0.0)
    if low_cut == len(p) - 1:
        low = float(np.nextafter(low, 2.0))  # every text is a comment: include the top one
    if low > high:
        low = high = THRESHOLD
    return {"band": [low, high], "target_precision": precision, **band_figures(editorial, p, (low, high), w)}


def band_figures(editorial: np.ndarray, p: np.ndarray, band, weights=None) -> dict:
    """Precision of each decided side, share sent to review and accuracy of the decided texts."""
    low, high = band
    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=float)
    decided_ed, decided_co = p >= high, p < low
    decided = decided_ed | decided_co
    correct = (decided_ed & editorial) | (decided_co & ~editorial)

    def share(numerator, denominator):
        total = w[denominator].sum()
        return round(float(w[numerator].sum() / total), 4) if total > 0 else None

    return {
        "precision_editorial": share(decided_ed & editorial, decided_ed),
        "precision_comment": share(decided_co & ~editorial, decided_co),
        "decided_accuracy": share(correct, decided),
        "review_share": share(~decided, np.ones(len(p), dtype=bool)),
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


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def fit_platt(labels, p_editorial, weights=None) -> tuple[float, float]:
    """``(a, b)`` so that ``sigmoid(a * logit + b)`` is calibrated on these (weighted) scores."""
    z = _logit(p_editorial).reshape(-1, 1)
    y = np.array([label == EDITORIAL for label in labels])
    model = LogisticRegression(C=1e6, solver="lbfgs").fit(z, y, sample_weight=weights)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def apply_platt(p_editorial, scaling: tuple[float, float]) -> np.ndarray:
    """The calibrated P(editorial) of uncalibrated ones."""
    a, b = scaling
    return 1.0 / (1.0 + np.exp(-(a * _logit(p_editorial) + b)))


def fold_platt(pipeline, scaling: tuple[float, float]):
    """Fold the scaling into the pipeline's logistic regression, in place: its ``predict_proba``
    then gives the calibrated probabilities exactly. Returns the pipeline."""
    a, b = scaling
    clf = pipeline.named_steps["clf"]
    classes = list(clf.classes_)
    # The decision function is the logit of classes_[1]; scale it as the logit of editorial.
    sign = 1.0 if classes.index(EDITORIAL) == 1 else -1.0
    clf.coef_ = clf.coef_ * a
    clf.intercept_ = clf.intercept_ * a + sign * b
    return pipeline


def out_of_source_report(records, p_out_of_source, precision: float = 0.99, weights=None) -> dict:
    """Calibration and review band fitted on out-of-source scores, with honest figures.

    The shipped scaling and band are fitted on every source. The per-source figures (and the
    pooled ones) come from a scaling and band fitted on all *other* sources and applied to the
    source, so they say what the service does on an outlet the whole procedure never saw.
    """
    labels = [r.label for r in records]
    sources = np.array([r.source for r in records])
    p = np.asarray(p_out_of_source, dtype=float)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=float)
    editorial = np.array([label == EDITORIAL for label in labels])
    scaling = fit_platt(labels, p, w)
    calibrated = apply_platt(p, scaling)
    band = choose_review_band(labels, calibrated, precision, w)
    held_calibrated = np.empty(len(p))
    held_band = {}
    for name in sorted(set(sources.tolist())):
        rest, own = sources != name, sources == name
        rest_labels = [label for label, keep in zip(labels, rest) if keep]
        other_scaling = fit_platt(rest_labels, p[rest], w[rest])
        held_calibrated[own] = apply_platt(p[own], other_scaling)
        other_band = choose_review_band(rest_labels, apply_platt(p[rest], other_scaling), precision, w[rest])["band"]
        held_band[name] = other_band
    per_source = {}
    decided_ed, decided_co = np.zeros(len(p), bool), np.zeros(len(p), bool)
    for name, (low, high) in held_band.items():
        own = sources == name
        decided_ed[own] = held_calibrated[own] >= high
        decided_co[own] = held_calibrated[own] < low
        figures = band_figures(editorial[own], held_calibrated[own], (low, high))
        per_source[name] = {
            "label": labels[int(np.flatnonzero(own)[0])],
            "n": figures["n"],
            "accuracy": round(float(((held_calibrated[own] >= THRESHOLD) == editorial[own]).mean()), 4),
            "review_share": figures["review_share"],
            "decided_accuracy": figures["decided_accuracy"],
        }
    decided = decided_ed | decided_co
    correct = (decided_ed & editorial) | (decided_co & ~editorial)
    return {
        "platt_scaling": {"a": round(scaling[0], 6), "b": round(scaling[1], 6)},
        "review_band": band,
        "held_out_sources": {
            "expected_calibration_error": expected_calibration_error(labels, held_calibrated),
            "expected_calibration_error_uncalibrated": expected_calibration_error(labels, p),
            "reliability": reliability(labels, held_calibrated),
            "review_share": round(float((w * ~decided).sum() / w.sum()), 4),
            "decided_accuracy": round(float((w * correct).sum() / (w * decided).sum()), 4) if decided.any() else None,
            "source_weighted": weights is not None,
            "per_source": per_source,
        },
    }
