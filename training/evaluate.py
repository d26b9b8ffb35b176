"""Scores on held-out data: the metrics table, per-source scores and leave-one-source-out."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    roc_auc_score,
)

from model.labels import COMMENT, EDITORIAL, LABELS, label_for
from training.data import source_weights
from training.records import Record


def class_probabilities(pipeline, texts: list[str], label: str) -> np.ndarray:
    """P(``label``) for each text, from the pipeline itself: computed as the service computes it
    (``model.scoring.BatchScorer``, each text tokenised once, in the service's chunks) when the
    pipeline is one the service scores, else by ``predict_proba``. The two agree to rounding."""
    from model.classifier import token_chunks
    from model.scoring import BatchScorer
    from model.text import normalize, tokenize

    classes = list(pipeline.classes_)
    try:
        scorer = BatchScorer([pipeline])
    except (KeyError, AttributeError, ValueError):  # not TF-IDF blocks and a linear classifier
        return pipeline.predict_proba(texts)[:, classes.index(label)]
    chunks = token_chunks(tokenize(normalize(text)) for text in texts)
    positive = np.concatenate([scorer.probabilities(chunk)[0] for chunk in chunks] or [np.empty(0)])
    return positive if classes[1] == label else 1.0 - positive


def editorial_probabilities(pipeline, texts: list[str]) -> np.ndarray:
    """P(editorial) for each text (``class_probabilities``)."""
    return class_probabilities(pipeline, texts, EDITORIAL)


def metrics(labels: list[str], p_editorial) -> dict:
    """Accuracy, macro-F1, ROC-AUC, Brier score and the confusion matrix (rows: truth)."""
    p = np.asarray(p_editorial, dtype=float)
    predicted = [label_for(x) for x in p]
    truth = np.array([label == EDITORIAL for label in labels])
    both = len(set(labels)) == 2
    return {
        "n": len(labels),
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "macro_f1": round(float(f1_score(labels, predicted, labels=list(LABELS), average="macro", zero_division=0)), 4),
        "roc_auc": round(float(roc_auc_score(truth, p)), 4) if both else None,
        "brier": round(float(brier_score_loss(truth, p)), 4),
        "confusion": {
            "labels": list(LABELS),
            "matrix": confusion_matrix(labels, predicted, labels=list(LABELS)).tolist(),
        },
    }


def per_source(records: list[Record], p_editorial) -> dict:
    """For each source: its label, size, accuracy and mean P(editorial)."""
    rows = defaultdict(list)
    for record, p in zip(records, p_editorial):
        rows[record.source].append((record.label, float(p)))
    table = {}
    for name in sorted(rows):
        items = rows[name]
        label = items[0][0]
        correct = sum(label_for(p) == truth for truth, p in items)
        table[name] = {
            "label": label,
            "n": len(items),
            "accuracy": round(correct / len(items), 4),
            "mean_p_editorial": round(sum(p for _, p in items) / len(items), 4),
        }
    return table


def evaluate(pipeline, records: list[Record], with_probabilities: bool = False):
    """Pooled metrics plus per-source scores of ``pipeline`` on ``records`` (and P(editorial))."""
    p = editorial_probabilities(pipeline, [r.text for r in records])
    result = {**metrics([r.label for r in records], p), "per_source": per_source(records, p)}
    return (result, p) if with_probabilities else result


def leave_one_source_out(build, records: list[Record], weighted: bool = True, n_jobs: int = 1, progress=None,
                         with_probabilities: bool = False, counts=None):
    """Train on every source but one and score the one left out, for each source.

    Returns the per-source table (accuracy on the unseen source) and pooled metrics over all
    out-of-source predictions: the figure that predicts how the model does on a new outlet
    (and, if asked, the out-of-source P(editorial) of every record, in order). ``counts`` are the
    records' term counts (``training.loso.TermCounts``) when the caller has them already.
    """
    from training.loso import out_of_source_probabilities

    p = out_of_source_probabilities(build, records, source_weights if weighted else None,
                                    n_jobs=n_jobs, progress=progress, counts=counts)
    result = loso_report(records, p)
    return (result, p) if with_probabilities else result


def loso_report(records: list[Record], p_out_of_source) -> dict:
    """Pooled, source-balanced and per-source figures of out-of-source probabilities."""
    pooled_p = np.asarray(p_out_of_source, dtype=float)
    pooled = metrics([r.label for r in records], pooled_p)
    table = per_source(records, pooled_p)
    by_label = {
        label: round(float(np.mean([row["accuracy"] for row in table.values() if row["label"] == label])), 4)
        for label in LABELS
    }
    # Macro-F1 with every source weighing the same, so big sources do not hide small failures.
    weights = source_weights(records)
    predicted = [label_for(x) for x in pooled_p]
    balanced = f1_score([r.label for r in records], predicted, average="macro", sample_weight=weights)
    return {
        "pooled": pooled,
        "source_balanced_macro_f1": round(float(balanced), 4),
        "mean_accuracy_by_label": by_label,
        "worst_source_accuracy": min(row["accuracy"] for row in table.values()),
        "per_source": table,
    }


def format_table(result: dict) -> str:
    """A plain-text table of a per-source result, worst first."""
    rows = sorted(result["per_source"].items(), key=lambda kv: kv[1]["accuracy"])
    lines = [f"{'source':<24}{'label':<11}{'n':>7}{'accuracy':>10}{'mean P(ed)':>12}"]
    for name, row in rows:
        lines.append(f"{name:<24}{row['label']:<11}{row['n']:>7}{row['accuracy']:>10.4f}{row['mean_p_editorial']:>12.4f}")
    return "\n".join(lines)


__all__ = ["COMMENT", "EDITORIAL", "evaluate", "format_table", "leave_one_source_out", "loso_report", "metrics"]
