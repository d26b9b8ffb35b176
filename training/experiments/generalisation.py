"""Compare classifier settings by what predicts a new outlet: leave-one-source-out macro-F1.

Every variant is scored by ``training.loso`` (each source scored by a model fitted on all the
others), sharing one count of the terms, and printed as a row: pooled and source-balanced
macro-F1, ROC-AUC, the worst left-out source, and the share the out-of-source 99% band would
send to review. This is the experiment that chose the defaults in ``model.features``.

    python -m training.experiments.generalisation --data-dir ../shared/data --cap 6000
    python -m training.experiments.generalisation --variant '{"name": "C1", "params": {"clf__C": 1}}'

``--cap`` samples at most that many texts per source (the default run's 6,000 keeps the run to
tens of minutes on 2 cores; rankings, not absolute figures, are what it is for).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

import numpy as np
from sklearn.metrics import f1_score

from model.features import DEFAULT_PARAMS, build_pipeline
from model.labels import LABELS, label_for
from training.calibration import choose_review_band
from training.data import DataError, cap_sources, clean, load_corpora, source_weights
from training.evaluate import loso_report
from training.loso import TermCounts, out_of_source_probabilities

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


WEIGHTS = {"source": source_weights, "sqrt": sqrt_weights, "none": None}


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


def score_variant(variant: dict, records, counts: TermCounts | None, jobs: int) -> dict:
    """The out-of-source figures of one variant."""
    p = out_of_source_probabilities(builder(variant), records, WEIGHTS[variant.get("weights", "source")],
                                    n_jobs=jobs, counts=counts)
    report = loso_report(records, p)
    labels = [r.label for r in records]
    band = choose_review_band(labels, p, 0.99, source_weights(records))
    worst = min(report["per_source"].items(), key=lambda kv: kv[1]["accuracy"])
    return {
        "name": variant["name"],
        "pooled_macro_f1": report["pooled"]["macro_f1"],
        "source_balanced_macro_f1": report["source_balanced_macro_f1"],
        "roc_auc": report["pooled"]["roc_auc"],
        "worst_source": f"{worst[0]} {worst[1]['accuracy']:.3f}",
        "review_share_at_99": band["review_share"],
        "per_source": {name: row["accuracy"] for name, row in report["per_source"].items()},
    }


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m training.experiments.generalisation",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/data", help="folder of public corpora")
    parser.add_argument("--cap", type=int, default=6000, help="at most this many texts per source (0: all)")
    parser.add_argument("--variant", action="append", default=[],
                        help="a variant as JSON (name, params, blocks, weights, transformer_weights); "
                             "repeatable; default: the presets")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", help="also write the rows as JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Score each variant and print the table."""
    args = build_parser().parse_args(argv)
    variants = [json.loads(v) for v in args.variant] or PRESETS
    try:
        records, _ = clean(load_corpora(args.data_dir))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    records = cap_sources(records, args.cap, seed=0)
    print(f"{len(records)} texts from {len({r.source for r in records})} sources", file=sys.stderr)
    rows, counts, counted_blocks = [], None, None
    for variant in variants:
        blocks = tuple(variant.get("blocks", ("words", "style")))
        if blocks != counted_blocks:
            counts, counted_blocks = TermCounts(builder(variant)(), [r.text for r in records]), blocks
        row = score_variant(variant, records, counts, args.jobs)
        rows.append(row)
        print(f"{row['name']:<42}{row['pooled_macro_f1']:>8.4f}{row['source_balanced_macro_f1']:>8.4f}"
              f"{row['roc_auc']:>8.4f}  {row['worst_source']:<30}{row['review_share_at_99']:>7.1%}", flush=True)
    if args.out:
        from model.atomic import write_atomically

        write_atomically(args.out, json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
