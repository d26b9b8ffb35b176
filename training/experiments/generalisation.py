"""Compare classifier settings by what predicts a new outlet: leave-one-source-out macro-F1.

Every variant is scored by ``training.loso`` (each source scored by a model fitted on all the
others), sharing one count of the terms, and printed as a row: pooled and source-balanced
macro-F1, ROC-AUC, the worst left-out source, and the share the out-of-source 99% band would
send to review. This is the experiment that chose the defaults in ``model.features``.

    python -m training.experiments.generalisation --data-dir ../shared/data --cap 6000
    python -m training.experiments.generalisation --variant '{"name": "C1", "params": {"clf__C": 1}}'
    python -m training.experiments.generalisation --cap 0 --split --precision 0.97 --length-buckets 30 \
        --variant '{"name": "sqrt", "weights": "sqrt"}'

``--split`` scores ``make train``'s training split (its held-out 20% of groups left aside), so the
figures are the ones ``make train`` prints for the same settings. Each row also gives what the
review band does out of source (``training.calibration.out_of_source_report``: for each left-out
source, the scaling and the band at ``--precision`` are fitted on the other sources): the share
sent to review, the decisions outside it that are right, and the calibration error.
``--length-buckets`` also tries a band per bucket of token counts (edges given), chosen the same
way, against the one band.

``--cap`` samples at most that many texts per source (the default run's 6,000 keeps the run to
tens of minutes on 2 cores; rankings, not absolute figures, are what it is for).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

import numpy as np

from model.features import DEFAULT_PARAMS, build_pipeline
from model.labels import LABELS
from training.calibration import apply_platt, choose_review_band, fit_platt, out_of_source_report
from training.data import DataError, cap_sources, clean, load_corpora, source_weights, split_by_group
from training.evaluate import loso_report
from training.loso import TermCounts, out_of_source_probabilities
from model.text import normalize, tokenize

# The variants measured when the defaults were chosen (see the README's model section).
PRESETS = [
    {"name": "min_df 5/3", "params": {"features__words__min_df": 5, "features__style__min_df": 3}},
    {"name": "min_df 5/3, C=1", "params": {"features__words__min_df": 5, "features__style__min_df": 3, "clf__C": 1.0}},
    {"name": "min_df 10/5 (default)", "params": {"features__words__min_df": 10, "features__style__min_df": 5}},
]


def sqrt_weights(records) -> np.ndarray:
    """Weights proportional to 1/sqrt(source size), both labels weighing the same; mean 1."""
    per_source = Counter(r.source for r in records)
    weights = np.array([1 / np.sqrt(per_source[r.source]) for r in records])
    labels = np.array([r.label for r in records])
    for label in LABELS:
        inside = labels == label
        weights[inside] *= (len(records) / len(LABELS)) / weights[inside].sum()
    return weights


# First-person words: an editorial text that has them is argued in the first person (a column, a
# speech), the register the model reads as a comment.
FIRST_PERSON = frozenset({"i", "me", "my", "mine", "we", "us", "our", "ours"})
# A comment of this many words or more is long and argued, the register the model reads as editorial.
LONG_COMMENT_WORDS = 60


def register_weights(records, factor: float = 2.0) -> np.ndarray:
    """``source_weights`` with the texts of the register the other label writes in (comments of
    ``LONG_COMMENT_WORDS`` words or more, editorial texts in the first person) weighing ``factor``
    times as much, each label's total kept."""
    weights = np.asarray(source_weights(records), dtype=float)
    labels = np.array([r.label for r in records])
    totals = {label: weights[labels == label].sum() for label in LABELS}
    for index, record in enumerate(records):
        words = record.text.lower().split()
        if record.label == "comment":
            crossing = len(words) >= LONG_COMMENT_WORDS
        else:
            crossing = any(w.strip(".,;:!?\"'()") in FIRST_PERSON for w in words)
        if crossing:
            weights[index] *= factor
    for label in LABELS:
        inside = labels == label
        weights[inside] *= totals[label] / weights[inside].sum()
    return weights


WEIGHTS = {"source": source_weights, "sqrt": sqrt_weights, "none": None, "register": register_weights,
           "register3": lambda records: register_weights(records, 3.0)}


def builder(variant: dict):
    """An unfitted-pipeline factory for one variant (params, blocks, transformer weights)."""
    params = {**DEFAULT_PARAMS, "clf__class_weight": None, **variant.get("params", {})}
    blocks = tuple(variant.get("blocks", ("words", "style")))

    def build():
        pipeline = build_pipeline(params, blocks)
        if variant.get("transformer_weights"):
            pipeline.named_steps["features"].set_params(transformer_weights=variant["transformer_weights"])
        return pipeline

    return build


def score_variant(variant: dict, records, counts: TermCounts | None, jobs: int, precision: float = 0.97,
                  length_edges: list[int] | None = None) -> dict:
    """The out-of-source figures of one variant (``length_edges``: also the band per length bucket)."""
    p = out_of_source_probabilities(builder(variant), records, WEIGHTS[variant.get("weights", "source")],
                                    n_jobs=jobs, counts=counts)
    report = loso_report(records, p)
    labels = [r.label for r in records]
    weights = source_weights(records)
    band = choose_review_band(labels, p, 0.99, weights)
    held = out_of_source_report(records, p, precision=precision, weights=weights)["held_out_sources"]
    worst = min(report["per_source"].items(), key=lambda kv: kv[1]["accuracy"])
    row = {
        "name": variant["name"],
        "pooled_macro_f1": report["pooled"]["macro_f1"],
        "source_balanced_macro_f1": report["source_balanced_macro_f1"],
        "roc_auc": report["pooled"]["roc_auc"],
        "worst_source": f"{worst[0]} {worst[1]['accuracy']:.3f}",
        "sources_below_085": sum(row["accuracy"] < 0.85 for row in report["per_source"].values()),
        "review_share_at_99": band["review_share"],
        "out_of_source_band": {"precision": precision, "review_share": held["review_share"],
                               "decided_accuracy": held["decided_accuracy"],
                               "expected_calibration_error": held["expected_calibration_error"]},
        "per_source": {name: row["accuracy"] for name, row in report["per_source"].items()},
    }
    if length_edges:
        row["band_by_length"] = band_by_length(records, p, length_edges, precision, weights)
    return row


def band_by_length(records, p_out_of_source, edges: list[int], precision: float, weights) -> dict:
    """Review share and decided accuracy of a review band chosen per bucket of token counts
    (``edges``: a bucket's largest count, ascending; the last bucket is open), each left-out
    source judged with the scaling and bands fitted on the other sources, as
    ``out_of_source_report`` judges the one band (weighted the same way)."""
    p = np.asarray(p_out_of_source, dtype=float)
    w = np.asarray(weights, dtype=float)
    labels = np.array([r.label for r in records])
    sources = np.array([r.source for r in records])
    editorial = labels == "editorial"
    lengths = np.array([len(tokenize(normalize(r.text))) for r in records])
    bucket = np.searchsorted(np.asarray(edges), lengths, side="left")
    decided_ed, decided_co = np.zeros(len(p), bool), np.zeros(len(p), bool)
    for name in sorted(set(sources.tolist())):
        own, rest = sources == name, sources != name
        scaling = fit_platt(labels[rest].tolist(), p[rest], w[rest])
        calibrated = apply_platt(p, scaling)
        for k in range(len(edges) + 1):
            fit_rows, judged = rest & (bucket == k), own & (bucket == k)
            if not judged.any() or len(set(labels[fit_rows].tolist())) < 2:
                continue
            low, high = choose_review_band(labels[fit_rows].tolist(), calibrated[fit_rows], precision,
                                           w[fit_rows])["band"]
            decided_ed[judged] = calibrated[judged] >= high
            decided_co[judged] = calibrated[judged] < low
    decided = decided_ed | decided_co
    correct = (decided_ed & editorial) | (decided_co & ~editorial)
    return {"edges": list(edges), "review_share": round(float((w * ~decided).sum() / w.sum()), 4),
            "decided_accuracy": round(float((w * correct).sum() / (w * decided).sum()), 4) if decided.any() else None}


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m training.experiments.generalisation",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/data", help="folder of public corpora")
    parser.add_argument("--cap", type=int, default=6000, help="at most this many texts per source (0: all)")
    parser.add_argument("--variant", action="append", default=[],
                        help="a variant as JSON (name, params, blocks, weights, transformer_weights); "
                             "repeatable; default: the presets")
    parser.add_argument("--split", action="store_true",
                        help="score make train's training split (its held-out groups left aside)")
    parser.add_argument("--precision", type=float, default=0.97,
                        help="the review band's promise for the out-of-source band figures (default 0.97)")
    parser.add_argument("--length-buckets", default="",
                        help="comma-separated token-count edges: also try a review band per length bucket")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", help="also write the rows as JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Score each variant and print the table."""
    args = build_parser().parse_args(argv)
    variants = [json.loads(v) for v in args.variant] or PRESETS
    try:
        edges = sorted(int(x) for x in args.length_buckets.split(",") if x.strip())
    except ValueError:
        print(f"error: --length-buckets takes whole numbers separated by commas (got {args.length_buckets!r})",
              file=sys.stderr)
        return 2
    try:
        records, _ = clean(load_corpora(args.data_dir))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    records = cap_sources(records, args.cap, seed=0)
    if args.split:
        records, _held_out = split_by_group(records, test_share=0.2, seed=0)
    print(f"{len(records)} texts from {len({r.source for r in records})} sources", file=sys.stderr)
    rows, counts, counted_blocks = [], None, None
    for variant in variants:
        blocks = tuple(variant.get("blocks", ("words", "style")))
        if blocks != counted_blocks:
            counts, counted_blocks = TermCounts(builder(variant)(), [r.text for r in records]), blocks
        row = score_variant(variant, records, counts, args.jobs, args.precision, edges)
        rows.append(row)
        band = row["out_of_source_band"]
        print(f"{row['name']:<42}{row['pooled_macro_f1']:>8.4f}{row['source_balanced_macro_f1']:>8.4f}"
              f"{row['roc_auc']:>8.4f}  {row['worst_source']:<30}{row['sources_below_085']:>3}"
              f"{row['review_share_at_99']:>7.1%}  at {args.precision:.0%} out of source: review "
              f"{band['review_share']:.1%}, right {band['decided_accuracy']:.2%}, "
              f"ECE {band['expected_calibration_error']:.4f}", flush=True)
        if edges:
            by_length = row["band_by_length"]
            print(f"{'':<42}a band per length bucket {edges}: review {by_length['review_share']:.1%}, "
                  f"right {by_length['decided_accuracy']:.2%}", flush=True)
    if args.out:
        from model.atomic import write_atomically

        write_atomically(args.out, json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
