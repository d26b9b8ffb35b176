"""How much weight moderator feedback should get in retraining, measured on a simulated newsroom.

    python -m training.experiments.feedback_weight --data-dir ../shared/data [--out runs/feedback-weight.json]

The Globe and Mail pair (reader comments against opinion-section paragraphs) stands in for a
newsroom the base corpora do not cover: it is the worst left-out source in leave-one-source-out
evaluation. The base model is fitted on every other source; "feedback" is ``n`` rows drawn from
the Globe training groups (both labels, as moderators see both) and added as one more source.
Each feedback row weighs ``W`` times the mean weight of a corpus row of its label (corpus rows
keep ``source_weights``), with ``training.corrections``' own weighting; ``W = 0`` leaves the
feedback out. Every fit is scored on the held-out
Globe groups (the in-domain gain) and on the other sources' held-out split (what must not get
worse), against the retrain gate's tolerances. The default grid is 73 fits (--seeds 0 1 and fewer
--weights shorten it).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from joblib import Parallel, delayed

from model.features import ANALYZERS, DEFAULT_BLOCKS, DEFAULT_PARAMS, build_pipeline
from model.atomic import atomic_open
from model.labels import COMMENT, EDITORIAL, LABELS
from model.progress import say
from training.data import DataError, cap_sources, clean, load_corpora, source_weights, split_by_group
from training.evaluate import evaluate
from training.records import Record
from training.corrections import training_weights as retrain_weights
from training.gate import GATE_TOLERANCE, SOURCE_TOLERANCE

IN_DOMAIN = ("globe_mail_comments", "globe_mail_editorial")
FEEDBACK = "feedback"
# The weighting that treats feedback as one more corpus source under source_weights.
EQUAL_SOURCE = "source"
# The promotion gate's tolerances (training.gate): pooled macro-F1, each source's accuracy.
POOLED_TOLERANCE = GATE_TOLERANCE


class MemoAnalyzer:
    """A feature analyzer that remembers each text's terms: every fit of the grid reads the same
    texts again, and tokenising them is most of a fit's time."""

    def __init__(self, analyzer):
        self.analyzer = analyzer
        self.terms: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        terms = self.terms.get(text)
        if terms is None:
            terms = self.terms[text] = self.analyzer(text)
        return terms


def build_memoised(params: dict, blocks, memos: dict):
    """``build_pipeline(params, blocks)`` with each block's analyzer replaced by its memo (same terms)."""
    pipeline = build_pipeline(params, blocks)
    pipeline.set_params(**{f"features__{name}__analyzer": memos[name] for name in blocks})
    return pipeline


def draw_feedback(pool: list[Record], n: int, seed: int, flip_share: float = 0.0) -> list[Record]:
    """``n`` rows of ``pool`` at random as source ``feedback``, a ``flip_share`` of them mislabelled.

    The same seed draws the same rows whatever ``flip_share`` is, so a noisy draw differs from
    its clean twin only in the flipped labels.
    """
    rng = random.Random(seed)
    rows = rng.sample(pool, min(n, len(pool)))
    flipped = set(random.Random(f"flip:{seed}").sample(range(len(rows)), round(flip_share * len(rows))))
    other = {EDITORIAL: COMMENT, COMMENT: EDITORIAL}
    return [
        replace(r, source=FEEDBACK, group=f"{FEEDBACK}:{r.group}",
                label=other[r.label] if i in flipped else r.label)
        for i, r in enumerate(rows)
    ]


def training_weights(base: list[Record], feedback: list[Record], weight) -> tuple[list[Record], list[float]]:
    """The rows to fit and their sample weights.

    ``weight`` a number W: ``training.corrections``' own weighting (corpus rows keep
    ``source_weights``, each feedback row W times the mean corpus weight of its label, all scaled
    to average 1); W = 0 drops the feedback rows altogether, since even unweighted they would
    shift the TF-IDF vocabulary. ``weight == "source"``: ``source_weights`` over corpus and
    feedback together, feedback counting as one more source.
    """
    if weight == EQUAL_SOURCE:
        rows = base + feedback
        return rows, source_weights(rows)
    if float(weight) == 0 or not feedback:
        return list(base), source_weights(base)
    # uncapped (max_share=1): the grid measures W itself, and the share at which the gate breaks
    return base + feedback, retrain_weights(base, feedback, float(weight), max_share=1.0)


def effective_weight(base: list[Record], feedback: list[Record], weight) -> dict:
    """For each label, a feedback row's mean weight over a corpus row's: W itself for a number."""
    rows, weights = training_weights(base, feedback, weight)
    result = {}
    for label in LABELS:
        corpus = [w for r, w in zip(rows, weights) if r.source != FEEDBACK and r.label == label]
        extra = [w for r, w in zip(rows, weights) if r.source == FEEDBACK and r.label == label]
        result[label] = round(statistics.fmean(extra) / statistics.fmean(corpus), 3) if extra else 0.0
    return result


def feedback_share(base: list[Record], feedback: list[Record], weight) -> float:
    """The feedback rows' share of the total sample weight of a fit."""
    rows, weights = training_weights(base, feedback, weight)
    return round(sum(w for r, w in zip(rows, weights) if r.source == FEEDBACK) / sum(weights), 4)


def fit_with_feedback(build, base: list[Record], feedback: list[Record], weight):
    """A fresh pipeline from ``build()`` fitted on the base corpus plus weighted feedback."""
    rows, weights = training_weights(base, feedback, weight)
    pipeline = build()
    pipeline.fit([r.text for r in rows], [r.label for r in rows], clf__sample_weight=weights)
    return pipeline


def score(pipeline, in_domain_test: list[Record], base_test: list[Record]) -> dict:
    """In-domain macro-F1 and accuracy per in-domain source; base pooled macro-F1 and per-source accuracy."""
    inside = evaluate(pipeline, in_domain_test)
    outside = evaluate(pipeline, base_test)
    return {
        "in_domain": {"macro_f1": inside["macro_f1"],
                      "accuracy": {k: v["accuracy"] for k, v in inside["per_source"].items()}},
        "base": {"macro_f1": outside["macro_f1"],
                 "accuracy": {k: v["accuracy"] for k, v in outside["per_source"].items()}},
    }


def compare(scores: dict, reference: dict) -> dict:
    """Changes against the no-feedback model, and whether the retrain gate would pass them."""
    pooled = round(scores["base"]["macro_f1"] - reference["base"]["macro_f1"], 4)
    by_source = {k: round(v - reference["base"]["accuracy"][k], 4) for k, v in scores["base"]["accuracy"].items()}
    worst = min(by_source, key=by_source.get)
    return {
        "in_domain_gain": round(scores["in_domain"]["macro_f1"] - reference["in_domain"]["macro_f1"], 4),
        "base_pooled": pooled,
        "worst_source": worst,
        "worst_source_change": by_source[worst],
        "gate": pooled >= -POOLED_TOLERANCE and by_source[worst] >= -SOURCE_TOLERANCE,
    }


def _cell(build, base, pool, in_domain_test, base_test, n, weight, seed, flip_share):
    feedback = draw_feedback(pool, n, seed, flip_share)
    pipeline = fit_with_feedback(build, base, feedback, weight)
    return {
        "n": n, "weight": weight, "seed": seed, "flip_share": flip_share,
        "feedback_labels": dict(Counter(r.label for r in feedback)),
        "effective_weight": effective_weight(base, feedback, weight),
        "feedback_share": feedback_share(base, feedback, weight),
        **score(pipeline, in_domain_test, base_test),
    }


def split_newsroom(records: list[Record], in_domain=IN_DOMAIN, test_share: float = 0.2, seed: int = 0) -> dict:
    """Base train/test (every other source) and the in-domain feedback pool/test, split by group."""
    train, test = split_by_group(records, test_share=test_share, seed=seed)
    inside = set(in_domain)
    return {
        "base": [r for r in train if r.source not in inside],
        "base_test": [r for r in test if r.source not in inside],
        "pool": [r for r in train if r.source in inside],
        "in_domain_test": [r for r in test if r.source in inside],
    }


def choose_weight(cells: list[dict], tolerance: float = POOLED_TOLERANCE):
    """The smallest W whose mean in-domain gain is within ``tolerance`` of the best W that passes
    the gate in every clean cell; None when no W > 0 passes."""
    by_weight: dict[float, list[dict]] = {}
    for cell in cells:
        if cell["weight"] != EQUAL_SOURCE and cell["flip_share"] == 0 and float(cell["weight"]) > 0:
            by_weight.setdefault(float(cell["weight"]), []).append(cell)
    passing = {w: statistics.fmean(c["change"]["in_domain_gain"] for c in group)
               for w, group in by_weight.items() if all(c["change"]["gate"] for c in group)}
    if not passing:
        return None
    best = max(passing.values())
    return min(w for w, gain in passing.items() if gain >= best - tolerance)


def summarise(cells: list[dict]) -> list[dict]:
    """One row per (weighting, n, flip share): means over seeds, worst cases over seeds."""
    groups: dict[tuple, list[dict]] = {}
    for cell in cells:
        groups.setdefault((str(cell["weight"]), cell["n"], cell["flip_share"]), []).append(cell)
    rows = []
    for (weight, n, flip), group in groups.items():
        f1 = [c["in_domain"]["macro_f1"] for c in group]
        worst = min(group, key=lambda c: c["change"]["worst_source_change"])
        rows.append({
            "weight": group[0]["weight"], "n": n, "flip_share": flip, "seeds": len(group),
            "effective_weight": {label: round(statistics.fmean(c["effective_weight"][label] for c in group), 3)
                                 for label in LABELS},
            "feedback_share": round(statistics.fmean(c["feedback_share"] for c in group), 3),
            "in_domain_macro_f1": round(statistics.fmean(f1), 4),
            "in_domain_macro_f1_sd": round(statistics.stdev(f1), 4) if len(f1) > 1 else 0.0,
            "in_domain_gain": round(statistics.fmean(c["change"]["in_domain_gain"] for c in group), 4),
            "in_domain_accuracy": {
                k: round(statistics.fmean(c["in_domain"]["accuracy"][k] for c in group), 4)
                for k in group[0]["in_domain"]["accuracy"]
            },
            "base_macro_f1": round(statistics.fmean(c["base"]["macro_f1"] for c in group), 4),
            "base_pooled_change": round(statistics.fmean(c["change"]["base_pooled"] for c in group), 4),
            "base_pooled_change_worst": min(c["change"]["base_pooled"] for c in group),
            "worst_source": worst["change"]["worst_source"],
            "worst_source_change": worst["change"]["worst_source_change"],
            "gate_passed": sum(c["change"]["gate"] for c in group),
        })
    return rows


def run_experiment(records: list[Record], build, sizes=(100, 400, 1600), weights=(1, 3, 5, 10, 30, 100),
                   seeds=(0, 1, 2), in_domain=IN_DOMAIN, equal_source: bool = True, flip_share: float = 0.1,
                   noise_weights=None, test_share: float = 0.2, split_seed: int = 0, n_jobs: int = 1,
                   progress=None) -> dict:
    """Fit the no-feedback model, every (n, W, seed) cell and the label-noise cells; score them all.

    ``noise_weights`` None: the noise check runs at the recommended W (see ``choose_weight``).
    """
    weights = [w if w == EQUAL_SOURCE else float(w) for w in weights]
    parts = split_newsroom(records, in_domain, test_share, split_seed)
    if not parts["pool"] or not parts["in_domain_test"]:
        raise DataError(f"no training or held-out rows for the in-domain sources {', '.join(in_domain)}")
    fixed = (build, parts["base"], parts["pool"], parts["in_domain_test"], parts["base_test"])

    def run(jobs):
        out = []
        for cell in Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_cell)(*fixed, *job) for job in jobs):
            out.append(cell)
            if progress:
                progress(cell)
        return out

    reference = run([(0, 0.0, 0, 0.0)])[0]
    reference["change"] = compare(reference, reference)
    grid = [(n, w, s, 0.0) for n in sizes for w in [*weights, *([EQUAL_SOURCE] if equal_source else [])]
            for s in seeds if w != 0]
    cells = run(grid)
    for cell in cells:
        cell["change"] = compare(cell, reference)
    recommended = choose_weight(cells)
    if noise_weights is None:
        noise_weights = [] if recommended is None else [recommended]
    noise_weights = [w if w == EQUAL_SOURCE else float(w) for w in noise_weights]
    noisy = run([(n, w, s, flip_share) for w in noise_weights for n in sizes for s in seeds]) if flip_share else []
    for cell in noisy:
        cell["change"] = compare(cell, reference)
    return {
        "counts": {name: dict(Counter(r.label for r in rows)) for name, rows in parts.items()},
        "reference": reference,
        "cells": cells + noisy,
        "summary": summarise(cells + noisy),
        "recommended_weight": recommended,
        "noise": noise_shrink(cells, noisy),
    }


def noise_shrink(clean_cells: list[dict], noisy_cells: list[dict]) -> list[dict]:
    """For each noisy (W, n): the clean gain, the noisy gain and the share of the gain kept."""
    def gain(cells, weight, n):
        gains = [c["change"]["in_domain_gain"] for c in cells if str(c["weight"]) == weight and c["n"] == n]
        return round(statistics.fmean(gains), 4) if gains else None

    rows = []
    for weight, n in dict.fromkeys((str(c["weight"]), c["n"]) for c in noisy_cells):
        flipped = [c for c in noisy_cells if str(c["weight"]) == weight and c["n"] == n]
        clean_gain, noisy_gain = gain(clean_cells, weight, n), gain(noisy_cells, weight, n)
        rows.append({
            "weight": flipped[0]["weight"], "n": n, "flip_share": flipped[0]["flip_share"],
            "clean_gain": clean_gain, "noisy_gain": noisy_gain,
            "kept_share": round(noisy_gain / clean_gain, 3) if clean_gain and clean_gain > 0 else None,
            "gate_passed": f"{sum(c['change']['gate'] for c in flipped)}/{len(flipped)}",
        })
    return rows


def format_table(result: dict) -> str:
    """The summary as plain text: in-domain macro-F1 and base changes per weighting and n."""
    ref = result["reference"]
    lines = [
        f"no feedback (W=0): in-domain macro-F1 {ref['in_domain']['macro_f1']:.4f} "
        f"({', '.join(f'{k} {v:.3f}' for k, v in ref['in_domain']['accuracy'].items())}); "
        f"base pooled macro-F1 {ref['base']['macro_f1']:.4f}",
        f"{'W':>7}{'n':>6}{'noise':>6}{'effW ed/com':>13}{'fb share':>9}{'in-dom F1':>11}{'±sd':>7}{'gain':>8}"
        f"{'com acc':>9}{'ed acc':>8}{'base ΔF1':>10}{'worst':>8}{'worst source Δacc':>30}{'gate':>6}",
    ]
    comments, editorial = IN_DOMAIN
    for row in sorted(result["summary"], key=lambda r: (r["flip_share"], r["weight"] == EQUAL_SOURCE,
                                                        r["n"], 0 if r["weight"] == EQUAL_SOURCE else float(r["weight"]))):
        eff = row["effective_weight"]
        acc = row["in_domain_accuracy"]
        lines.append(
            f"{str(row['weight']):>7}{row['n']:>6}{row['flip_share']:>6.0%}"
            f"{eff[EDITORIAL]:>7.2f}/{eff[COMMENT]:<5.2f}{row['feedback_share']:>9.1%}"
            f"{row['in_domain_macro_f1']:>11.4f}{row['in_domain_macro_f1_sd']:>7.4f}{row['in_domain_gain']:>+8.4f}"
            f"{acc.get(comments, float('nan')):>9.3f}{acc.get(editorial, float('nan')):>8.3f}"
            f"{row['base_pooled_change']:>+10.4f}{row['base_pooled_change_worst']:>+8.4f}"
            f"{row['worst_source'] + ' ' + format(row['worst_source_change'], '+.4f'):>30}"
            f"{row['gate_passed']:>4}/{row['seeds']}"
        )
    lines.append(f"recommended W: {result['recommended_weight']} (smallest W within {POOLED_TOLERANCE} in-domain "
                 "macro-F1 of the best W that passes the gate in every clean cell)")
    for row in result["noise"]:
        lines.append(f"label noise {row['flip_share']:.0%} at W={row['weight']}, n={row['n']}: gain "
                     f"{row['clean_gain'] if row['clean_gain'] is None else format(row['clean_gain'], '+.4f')} -> "
                     f"{row['noisy_gain']:+.4f} (kept {row['kept_share']}), "
                     f"gate {row['gate_passed']}")
    return "\n".join(lines)


def _weight(value: str):
    return value if value == EQUAL_SOURCE else float(value)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m training.feedback_weight``."""
    parser = argparse.ArgumentParser(prog="python -m training.experiments.feedback_weight", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("COMMENT_CLASSIFIER_DATA"),
                        help="folder of public corpora (default: $COMMENT_CLASSIFIER_DATA)")
    parser.add_argument("--out", type=Path, default=Path("runs/feedback-weight.json"), help="JSON results file")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1600], help="feedback rows drawn")
    parser.add_argument("--weights", type=float, nargs="+", default=[1, 3, 5, 10, 30, 100],
                        help="W values besides 0")
    parser.add_argument("--no-equal-source", dest="equal_source", action="store_false",
                        help="skip the feedback-as-one-more-source weighting")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the feedback draw")
    parser.add_argument("--flip-share", type=float, default=0.1, help="share of feedback labels flipped (0: skip)")
    parser.add_argument("--noise-weights", type=_weight, nargs="+",
                        help="W values for the label-noise check (default: the recommended W)")
    parser.add_argument("--cap", type=int, default=1500, help="at most this many texts per base source")
    parser.add_argument("--in-domain-cap", type=int, default=4000,
                        help="at most this many texts per in-domain source (training.train's default cap)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cap and the group split")
    parser.add_argument("--jobs", type=int, default=1, help="fits in parallel")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the experiment, print the table and write the JSON results."""
    args = build_parser().parse_args(argv)
    if args.data_dir is None:
        say("error: give --data-dir (the folder of public corpora, e.g. ../shared/data)")
        return 2
    started = time.monotonic()
    try:
        records, _ = clean(load_corpora(args.data_dir))
    except DataError as error:
        say(f"error: {error}")
        return 2
    inside = [r for r in records if r.source in IN_DOMAIN]
    records = (cap_sources([r for r in records if r.source not in IN_DOMAIN], args.cap, seed=args.seed)
               + cap_sources(inside, args.in_domain_cap, seed=args.seed))
    params = {**DEFAULT_PARAMS, "clf__class_weight": None}  # as training.train does with source weights
    memos = {name: MemoAnalyzer(ANALYZERS[name]) for name in DEFAULT_BLOCKS}
    build = functools.partial(build_memoised, params, DEFAULT_BLOCKS, memos)
    total = len(args.sizes) * (len(args.weights) + args.equal_source) * len(args.seeds) + 1

    def progress(cell):
        say(f"[{time.monotonic() - started:6.0f}s] n={cell['n']} W={cell['weight']} seed={cell['seed']} "
            f"noise={cell['flip_share']}: in-domain {cell['in_domain']['macro_f1']:.4f}, base {cell['base']['macro_f1']:.4f}")

    say(f"{len(records)} texts; about {total} fits plus the label-noise check")
    try:
        result = run_experiment(records, build, sizes=args.sizes, weights=args.weights, seeds=args.seeds,
                                equal_source=args.equal_source, flip_share=args.flip_share,
                                noise_weights=args.noise_weights, split_seed=args.seed, n_jobs=args.jobs,
                                progress=progress)
    except DataError as error:
        say(f"error: {error}")
        return 2
    result["settings"] = {
        "sizes": args.sizes, "weights": [0, *args.weights], "equal_source": args.equal_source, "seeds": args.seeds,
        "flip_share": args.flip_share, "cap": args.cap, "in_domain_cap": args.in_domain_cap, "seed": args.seed,
        "in_domain": list(IN_DOMAIN), "blocks": list(DEFAULT_BLOCKS), "params": params,
        "gate": {"pooled_macro_f1": -POOLED_TOLERANCE, "per_source_accuracy": -SOURCE_TOLERANCE},
        "seconds": round(time.monotonic() - started, 1),
    }
    print(format_table(result))
    with atomic_open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    say(f"wrote {args.out} in {result['settings']['seconds']:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
