"""Fit the pipeline on the corpora, evaluate it, and write a versioned artifact with its card.

    python -m training --data-dir ../shared/data              # the public corpora
    python -m training --data-dir ../shared/data --data mine.csv   # plus a newsroom's own file
    python -m training --data mine.csv --no-corpora           # a newsroom's file alone
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import scipy
import sklearn

from model.artifact import DEFAULT_DIR, ModelError, load, save
from model.features import ANALYZERS, DEFAULT_BLOCKS, DEFAULT_PARAMS, build_pipeline
from model.labels import LABELS, THRESHOLD
from training.data import (
    DataError,
    cap_sources,
    clean,
    fingerprint,
    load_corpora,
    load_user_file,
    source_weights,
    split_by_group,
)
from training.calibration import calibration_report
from training.evaluate import evaluate, format_table, leave_one_source_out

DATA_SETTING = "COMMENT_CLASSIFIER_DATA"
LICENCE_NOTE = (
    "Trained on public research corpora, several under non-commercial licences: SOCC/C3 and the "
    "SFU constructiveness corpus (CC BY-NC-SA 4.0), Twitter US Airline Sentiment (CC BY-NC-SA 4.0), "
    "the Brown corpus and the Penn Treebank sample (non-commercial), and news texts (BBC, Reuters, "
    "ABC, Globe and Mail, Project Syndicate, AllSides-crawled articles) licensed for research use "
    "only, Us vs. Them (CC BY-NC 4.0) and the Kaggle insults and Disqus comments (research use). "
    "Use this model for research and evaluation; for commercial use, retrain on data you hold "
    "the rights to (make train DATA=your-file.csv CORPORA=0)."
)
# A candidate may score this much lower in macro-F1 than the model it replaces before the
# gate refuses it: below the run-to-run noise of a fit on the same data.
GATE_TOLERANCE = 0.005


class GateRefused(Exception):
    """The candidate scored worse than the current model on the same held-out split."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--param takes KEY=VALUE, got {pair!r}")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def add_training_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The data, split and fitting options that ``python -m training`` and ``training.retrain`` share."""
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(DATA_SETTING),
                        help=f"folder of public corpora (setting DATA_DIR in make, {DATA_SETTING} here)")
    parser.add_argument("--data", type=Path, action="append", default=[],
                        help="a labelled CSV/TSV/JSONL file of your own (text,label[,source,group]); repeatable")
    parser.add_argument("--no-corpora", action="store_true", help="train on --data files only")
    parser.add_argument("--sources", nargs="*", help="only these corpus sources")
    parser.add_argument("--min-words", type=int, default=3, help="drop texts shorter than this")
    parser.add_argument("--cap", type=int, default=4000, help="at most this many texts per source (0: no cap)")
    parser.add_argument("--test-share", type=float, default=0.2, help="share of each source's groups held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--review-precision", type=float, default=0.99,
                        help="precision each non-review decision must reach on the held-out split")
    parser.add_argument("--no-weights", action="store_true", help="do not weigh sources equally within a label")
    parser.add_argument("--blocks", nargs="+", choices=sorted(ANALYZERS), default=list(DEFAULT_BLOCKS),
                        help=f"feature blocks (default: {' '.join(DEFAULT_BLOCKS)})")
    parser.add_argument("--param", action="append", default=[], help="pipeline parameter KEY=VALUE, e.g. clf__C=2")
    parser.add_argument("--loso", action=argparse.BooleanOptionalAction, default=True,
                        help="run leave-one-source-out evaluation (default: on)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel folds for leave-one-source-out")
    parser.add_argument("--kind", action=argparse.BooleanOptionalAction, default=True,
                        help="also train the sarcastic/opinion model on the corpora's sarcasm labels (default: on)")
    parser.add_argument("--pages", type=int, default=500,
                        help="synthetic held-out pages to evaluate page segmentation on (0: skip)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m training``."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.split("\n")[0])
    add_training_arguments(parser)
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="model folder to write (default: model/)")
    parser.add_argument("--force", action="store_true", help="replace the current model even if it scores better")
    parser.add_argument("--report", type=Path, help="also write the evaluation as JSON here")
    return parser


def collect(args) -> list:
    """Every raw record the arguments ask for."""
    records = []
    if not args.no_corpora:
        if args.data_dir is None:
            if not args.data:
                raise DataError(
                    f"no data: set DATA_DIR (make train DATA_DIR=path/to/corpora) or {DATA_SETTING}, "
                    "or give your own file with DATA=file.csv"
                )
            _say(f"no corpora folder set ({DATA_SETTING}); training on your file(s) alone")
        else:
            from tqdm import tqdm

            bar = tqdm(desc="importing", unit="src", file=sys.stderr)
            for record in load_corpora(args.data_dir, args.sources, progress=lambda n: bar.set_postfix_str(n) or bar.update()):
                records.append(record)
            bar.close()
    for path in args.data:
        records.extend(load_user_file(path))
    return records


def current_model_score(out: Path, test) -> tuple[float, str] | None:
    """Macro-F1 of the model now in ``out`` on this run's test split, or None if there is none."""
    try:
        artifact, card = load(out)
    except ModelError as error:
        if (out / "card.json").exists():
            _say(f"the current model cannot be compared ({error}); it will be replaced")
        return None
    pipeline = artifact["classifier"] if isinstance(artifact, dict) else artifact
    return evaluate(pipeline, test)["macro_f1"], card.get("version")


def evaluate_pages(args, pipeline):
    """Page segmentation figures on synthetic held-out pages, or None when not asked for."""
    if not args.pages or args.no_corpora or args.data_dir is None:
        return None
    from model.scoring import FastScorer
    from training.pages import evaluate_segmenter

    _say(f"evaluating page segmentation on {args.pages} synthetic held-out pages ...")
    result = evaluate_segmenter(args.data_dir, FastScorer(pipeline).probability, pages=args.pages, seed=args.seed)
    _say(f"segmentation: block accuracy {result['segment']['block_accuracy']}, exact boundary "
         f"{result['segment']['boundary_exact']} (blocks alone: {result['argmax']['block_accuracy']}, "
         f"{result['argmax']['boundary_exact']})")
    return result


def fit_kind_model(args):
    """The sarcastic/opinion pipeline and its report, or (None, None) when not asked for."""
    if not args.kind or args.no_corpora or args.data_dir is None:
        return None, None
    from training.kind import format_kind_table, load_kinds, train_kind

    _say("fitting the kind-of-comment model on the sarcasm labels ...")
    pipeline, report = train_kind(load_kinds(args.data_dir), seed=args.seed, loso=args.loso)
    _say(format_kind_table(report))
    return pipeline, report


@dataclass
class Prepared:
    """The data of one training run: what was imported, what was kept, and its split."""

    raw: list
    records: list
    dropped: Counter
    train: list
    test: list


def prepare(args) -> Prepared:
    """Import, clean, cap and split the data the arguments ask for; DataError says what is wrong."""
    raw = collect(args)
    records, dropped = clean(raw, min_words=args.min_words)
    records = cap_sources(records, args.cap, seed=args.seed)
    _say(f"{len(raw)} texts imported; kept {len(records)} after cleaning and capping; dropped {dict(dropped)}")
    labels = Counter(r.label for r in records)
    if any(labels[label] == 0 for label in LABELS):
        raise DataError(f"both labels are needed, got {dict(labels)}")
    train, test = split_by_group(records, test_share=args.test_share, seed=args.seed)
    if not test or len({r.label for r in test}) < 2:
        raise DataError("the held-out split lacks a label: give more groups per label")
    return Prepared(raw, records, dropped, train, test)


def pipeline_builder(args) -> tuple:
    """``(build, params, weighted)``: a factory of unfitted pipelines for these arguments."""
    params = {**DEFAULT_PARAMS, **_parse_params(args.param)}
    weighted = not args.no_weights
    if weighted:
        params["clf__class_weight"] = None
    return functools.partial(build_pipeline, params, tuple(args.blocks)), params, weighted


def fit(build, records, sample_weight=None):
    """A fresh pipeline fitted on ``records`` (with per-record weights, if given)."""
    pipeline = build()
    fit_kwargs = {} if sample_weight is None else {"clf__sample_weight": sample_weight}
    pipeline.fit([r.text for r in records], [r.label for r in records], **fit_kwargs)
    return pipeline


def score_held_out(args, pipeline, test) -> tuple[dict, dict]:
    """``(held_out, calibration)`` of ``pipeline`` on ``test``, printed as it goes."""
    held_out, p_test = evaluate(pipeline, test, with_probabilities=True)
    calibration = calibration_report(test, p_test, precision=args.review_precision)
    _say(f"held-out split: accuracy {held_out['accuracy']}, macro-F1 {held_out['macro_f1']}, "
         f"ROC-AUC {held_out['roc_auc']}, Brier {held_out['brier']}")
    _say(format_table(held_out))
    band = calibration["review_band"]
    _say(f"calibration: ECE {calibration['expected_calibration_error']}; review band {band['band']} "
         f"sends {band['review_share']:.1%} of held-out texts to review for {args.review_precision:.0%} precise decisions")
    return held_out, calibration


def run_loso(args, build, train, weighted: bool) -> dict | None:
    """Leave-one-source-out over ``train``, or None when turned off or with too few sources."""
    sources = sorted({r.source for r in train})
    if not args.loso or len(sources) <= 2:
        return None
    from tqdm import tqdm

    bar = tqdm(total=len(sources), desc="leave-one-source-out", unit="fold", file=sys.stderr)
    loso = leave_one_source_out(build, train, weighted=weighted, n_jobs=args.jobs,
                                progress=lambda name: bar.set_postfix_str(name) or bar.update())
    bar.close()
    _say(f"leave-one-source-out: pooled macro-F1 {loso['pooled']['macro_f1']}, "
         f"source-balanced macro-F1 {loso['source_balanced_macro_f1']}, ROC-AUC {loso['pooled']['roc_auc']}")
    _say(format_table(loso))
    return loso


def build_card(args, data: Prepared, *, params: dict, weighted: bool, held_out: dict, calibration: dict,
               loso: dict | None, segmentation: dict | None, kind_report: dict | None, started: float,
               forced: bool) -> dict:
    """The model card of a run: version, data, hyperparameters, metrics, versions, licence."""
    data_fingerprint = fingerprint(data.records)
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return {
        "version": f"{created:%Y%m%dT%H%M%SZ}-{data_fingerprint[:8]}-{secrets.token_hex(2)}",
        "created": created.isoformat(),
        "task": "editorial prose vs reader comment",
        "labels": list(LABELS),
        "threshold": THRESHOLD,
        "review_band": calibration["review_band"]["band"],
        "data": {
            "fingerprint_sha256": data_fingerprint,
            "imported": len(data.raw),
            "dropped": dict(data.dropped),
            "min_words": args.min_words,
            "cap_per_source": args.cap,
            "weighting": "equal per source within label" if weighted else "none",
            "split": {"test_share": args.test_share, "seed": args.seed, "by": "group"},
            "counts": {
                "train": _counts(data.train),
                "test": _counts(data.test),
            },
            "user_files": [p.name for p in args.data],
        },
        "hyperparameters": {"blocks": list(args.blocks), **params},
        "metrics": {"held_out": held_out, "calibration": calibration, "leave_one_source_out": loso},
        "segmentation": segmentation,
        "kind": None if kind_report is None else {
            "labels": ["sarcastic", "opinion"],
            "applies_to": "texts labelled comment",
            "metrics": kind_report,
        },
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "joblib": joblib.__version__,
        },
        "licence": LICENCE_NOTE,
        "forced": bool(forced),
        "training_seconds": round(time.monotonic() - started, 1),
    }


def bundle(pipeline, kind_pipeline):
    """The artifact to save: the pipeline alone, or with its kind model."""
    return pipeline if kind_pipeline is None else {"classifier": pipeline, "kind": kind_pipeline}


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate, gate, and write the artifact and card."""
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    try:
        data = prepare(args)
    except DataError as error:
        _say(f"error: {error}")
        return 2
    build, params, weighted = pipeline_builder(args)

    _say(f"fitting on {len(data.train)} texts, holding out {len(data.test)} ...")
    pipeline = fit(build, data.train, source_weights(data.train) if weighted else None)
    held_out, calibration = score_held_out(args, pipeline, data.test)
    loso = run_loso(args, build, data.train, weighted)

    current = current_model_score(args.out, data.test)
    if current is not None:
        score, version = current
        _say(f"current model {version}: macro-F1 {score} on this held-out split; candidate {held_out['macro_f1']}")
        if held_out["macro_f1"] < score - GATE_TOLERANCE and not args.force:
            _say(f"refused: the candidate is worse than the current model by more than {GATE_TOLERANCE}; "
                 "nothing was written (use --force, or FORCE=1 with make, to replace it anyway)")
            return 3

    kind_pipeline, kind_report = fit_kind_model(args)
    segmentation = evaluate_pages(args, pipeline)
    card = build_card(args, data, params=params, weighted=weighted, held_out=held_out, calibration=calibration,
                      loso=loso, segmentation=segmentation, kind_report=kind_report, started=started,
                      forced=args.force)
    card = save(bundle(pipeline, kind_pipeline), card, args.out)
    if args.report:
        args.report.write_text(json.dumps(card["metrics"], indent=2))
    _say(f"wrote {args.out / card['artifact']['file']} ({card['artifact']['bytes'] / 1e6:.1f} MB) "
         f"and card.json, version {card['version']}")
    return 0


def _counts(records) -> dict:
    by_label = Counter(r.label for r in records)
    by_source = Counter(r.source for r in records)
    return {"by_label": dict(sorted(by_label.items())), "by_source": dict(sorted(by_source.items()))}
