"""The one training command: fit on the corpora (and moderators' feedback), evaluate, gate, promote.

    python -m training --data-dir ../shared/data                       # make train
    python -m training --data-dir ../shared/data --data mine.csv        # plus a newsroom's own file
    python -m training --data mine.csv --no-corpora                     # a newsroom's file alone
    python -m training --data-dir ../shared/data --feedback var/feedback.sqlite3   # make retrain

Every run writes a new version into the model store (``--store``, default var/models: what
``make run`` serves) and makes it current only if the gate (``training.gate``) passes against
the store's current version on the same texts; ``--force`` promotes anyway and the card records
it. Refused: the table of what got worse, exit 3, the store unchanged. With ``--feedback`` the
moderators' corrections (``training.corrections``) join the training data and the held-out set.
``model/`` holds only the shipped seed version; ``python -m model.store export`` (``make ship``)
publishes the store's current version there.

Exit codes: 0 promoted, 2 bad data or settings, 3 refused by the gate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import scipy
import sklearn

from model.artifact import CARD_FILE, ModelBundle, ModelError
from model.atomic import write_atomically
from model.features import ANALYZERS, DEFAULT_BLOCKS, DEFAULT_PARAMS, build_pipeline
from model.labels import LABELS, THRESHOLD
from model.progress import Progress, say
from model.store import DEFAULT_STORE, ModelStore, current_version, is_store
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
from training.calibration import calibration_report, fold_platt, out_of_source_report
from training.corrections import (
    DEFAULT_FEEDBACK_DB,
    FEEDBACK_WEIGHT,
    MAX_FEEDBACK_SHARE,
    clean_feedback,
    feedback_records,
    read_feedback,
    split_feedback,
    training_weights,
    without_overridden,
)
from training.evaluate import evaluate, format_table, leave_one_source_out
from training.loso import TermCounts
from training.gate import SOURCE_MIN_N, format_gate, gate, score_current

DATA_SETTING = "COMMENT_CLASSIFIER_DATA"
# The precision the review band promises for decisions outside it, on sources the model never
# saw. 0.99 would send most texts to review out of source (see the card's
# out_of_source.operating_points and docs/model.md); 0.97 is the compromise docs/model.md explains.
REVIEW_PRECISION = 0.97
LICENCE_NOTE = (
    "Trained on public research corpora, several under non-commercial licences: SOCC/C3 and the "
    "SFU constructiveness corpus (CC BY-NC-SA 4.0), Twitter US Airline Sentiment (CC BY-NC-SA 4.0), "
    "the Brown corpus and the Penn Treebank sample (non-commercial), and news texts (BBC, Reuters, "
    "ABC, Globe and Mail, Project Syndicate, AllSides-crawled articles) licensed for research use "
    "only, Us vs. Them (CC BY-NC 4.0) and the Kaggle insults and Disqus comments (research use). "
    "Use this model for research and evaluation; for commercial use, retrain on data you hold "
    "the rights to (make train DATA=your-file.csv CORPORA=0)."
)
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
    """The data, split and fitting options of ``python -m training``."""
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(DATA_SETTING),
                        help=f"folder of public corpora (setting DATA_DIR in make, {DATA_SETTING} here)")
    parser.add_argument("--data", type=Path, action="append", default=[],
                        help="a labelled CSV/TSV/JSONL file of your own (text,label[,source,group]); repeatable")
    parser.add_argument("--no-corpora", action="store_true", help="train on --data files only")
    parser.add_argument("--sources", nargs="*", help="only these corpus sources")
    parser.add_argument("--min-words", type=int, default=3, help="drop texts shorter than this")
    parser.add_argument("--cap", type=int, default=0, help="at most this many texts per source (default 0: no cap; "
                        "sources weigh the same whatever their size)")
    parser.add_argument("--test-share", type=float, default=0.2, help="share of each source's groups held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--review-precision", type=float, default=REVIEW_PRECISION,
                        help="precision each non-review decision must reach on out-of-source scores "
                             "(on the held-out split with --no-loso)")
    parser.add_argument("--no-weights", action="store_true", help="do not weigh sources equally within a label")
    parser.add_argument("--blocks", nargs="+", choices=sorted(ANALYZERS), default=list(DEFAULT_BLOCKS),
                        help=f"feature blocks (default: {' '.join(DEFAULT_BLOCKS)})")
    parser.add_argument("--param", action="append", default=[], help="pipeline parameter KEY=VALUE, e.g. clf__C=2")
    parser.add_argument("--loso", action=argparse.BooleanOptionalAction, default=True,
                        help="run leave-one-source-out evaluation (default: on)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="parallel work: feature blocks counted, leave-one-source-out folds, kind-model fits")
    parser.add_argument("--kind", action=argparse.BooleanOptionalAction, default=True,
                        help="also train the sarcastic/opinion model on the corpora's sarcasm labels (default: on)")
    parser.add_argument("--pages", type=int, default=500,
                        help="synthetic held-out pages to evaluate page segmentation on (0: skip)")
    return parser


def build_parser(prog: str = "python -m training") -> argparse.ArgumentParser:
    """The command line of ``python -m training`` (``make train`` and ``make retrain``)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    add_training_arguments(parser)
    parser.add_argument("--store", "--out", dest="store", type=Path, default=DEFAULT_STORE,
                        help=f"model store the new version is added to and promoted in (default: {DEFAULT_STORE}; "
                             "--out is its old name)")
    parser.add_argument("--feedback", type=str,
                        help="moderators' feedback to learn from: the feedback store (SQLite file or postgresql:// "
                             f"URL) or its JSON-lines export (make retrain passes FEEDBACK_DB, default {DEFAULT_FEEDBACK_DB}, "
                             "or the database URL)")
    parser.add_argument("--feedback-weight", type=float, default=FEEDBACK_WEIGHT,
                        help=f"weight of a feedback row relative to a corpus row of its label (default: {FEEDBACK_WEIGHT})")
    parser.add_argument("--max-feedback-share", type=float, default=MAX_FEEDBACK_SHARE,
                        help=f"most of all training weight the feedback may hold (default: {MAX_FEEDBACK_SHARE})")
    parser.add_argument("--source-min-n", type=int, default=SOURCE_MIN_N,
                        help=f"held-out texts a source needs before its accuracy can block (default: {SOURCE_MIN_N})")
    parser.add_argument("--force", action="store_true", help="promote the new version even if the gate refuses it")
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
            say(f"no corpora folder set ({DATA_SETTING}); training on your file(s) alone")
        else:
            with Progress("importing", unit="sources") as progress:
                for record in load_corpora(args.data_dir, args.sources,
                                           progress=lambda name: progress.update(1, note=name)):
                    records.append(record)
    for path in args.data:
        records.extend(load_user_file(path))
    return records


def evaluate_pages(args, pipeline, data: Prepared):
    """Page segmentation figures on synthetic held-out pages, or None when not asked for."""
    if not args.pages or args.no_corpora or args.data_dir is None:
        return None
    from model.scoring import FastScorer
    from training.pages import MIN_WORDS, evaluate_segmenter

    say(f"evaluating page segmentation on {args.pages} synthetic held-out pages ...")
    # The pages come from every corpus, cleaned as the segmenter's own runs clean them: this run's
    # cleaned records are those when it imported every corpus and nothing else.
    same = not args.sources and not args.data and args.min_words == MIN_WORDS
    result = evaluate_segmenter(args.data_dir, FastScorer(pipeline).probability, pages=args.pages, seed=args.seed,
                                cleaned=data.cleaned if same else None)
    say(f"segmentation: block accuracy {result['segment']['block_accuracy']}, exact boundary "
        f"{result['segment']['boundary_exact']} (blocks alone: {result['argmax']['block_accuracy']}, "
        f"{result['argmax']['boundary_exact']})")
    return result


def fit_kind_model(args):
    """The sarcastic/opinion pipeline and its report, or (None, None) when not asked for."""
    if not args.kind or args.no_corpora or args.data_dir is None:
        return None, None
    from training.kind import format_kind_table, load_kinds, train_kind

    say("fitting the kind-of-comment model on the sarcasm labels ...")
    pipeline, report = train_kind(load_kinds(args.data_dir), seed=args.seed, loso=args.loso, n_jobs=args.jobs)
    say(format_kind_table(report))
    return pipeline, report


@dataclass
class Prepared:
    """The data of one training run: what was imported, what was kept, and its split."""

    raw: list
    records: list
    dropped: Counter
    train: list
    test: list
    cleaned: list | None = None  # the records after cleaning, before capping, in the importers' order


def prepare(args) -> Prepared:
    """Import, clean, cap and split the data the arguments ask for; DataError says what is wrong."""
    raw = collect(args)
    cleaned, dropped = clean(raw, min_words=args.min_words)
    records = cap_sources(cleaned, args.cap, seed=args.seed)
    say(f"{len(raw)} texts imported; kept {len(records)} after cleaning and capping; dropped {dict(dropped)}")
    labels = Counter(r.label for r in records)
    if any(labels[label] == 0 for label in LABELS):
        raise DataError(f"both labels are needed, got {dict(labels)}")
    train, test = split_by_group(records, test_share=args.test_share, seed=args.seed)
    if not test or len({r.label for r in test}) < 2:
        raise DataError("the held-out split lacks a label: give more groups per label")
    return Prepared(raw, records, dropped, train, test, cleaned)


def pipeline_builder(args) -> tuple:
    """``(build, params, weighted)``: a factory of unfitted pipelines for these arguments."""
    params = {**DEFAULT_PARAMS, **_parse_params(args.param)}
    weighted = not args.no_weights
    if weighted:
        params["clf__class_weight"] = None
    return functools.partial(build_pipeline, params, tuple(args.blocks)), params, weighted


def count_terms(build, records, n_jobs: int = 1):
    """The term counts of ``records``' texts under ``build()``'s feature blocks
    (``training.loso.TermCounts``), or None for a pipeline without TF-IDF feature blocks."""
    pipeline = build()
    if "features" not in pipeline.named_steps:
        return None
    return TermCounts(pipeline, [r.text for r in records], n_jobs=n_jobs)


def fit(build, records, sample_weight=None, counts=None):
    """A fresh pipeline fitted on ``records`` (with per-record weights, if given): from their
    term counts when given (``count_terms``, which the leave-one-source-out folds reuse rather
    than tokenise every text again), else from the texts."""
    pipeline = build()
    labels = [r.label for r in records]
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if counts is None:
        pipeline.fit([r.text for r in records], labels, **({} if weights is None else {"clf__sample_weight": weights}))
        return pipeline
    return counts.fit(pipeline, np.arange(len(records)), labels, weights)


def score_held_out(args, pipeline, test) -> tuple[dict, dict]:
    """``(held_out, calibration)`` of ``pipeline`` on ``test``, printed as it goes."""
    held_out, p_test = evaluate(pipeline, test, with_probabilities=True)
    calibration = calibration_report(test, p_test, precision=args.review_precision)
    say(f"held-out split: accuracy {held_out['accuracy']}, macro-F1 {held_out['macro_f1']}, "
        f"ROC-AUC {held_out['roc_auc']}, Brier {held_out['brier']}")
    say(format_table(held_out))
    band = calibration["review_band"]
    say(f"calibration: ECE {calibration['expected_calibration_error']}; review band {band['band']} "
        f"sends {band['review_share']:.1%} of held-out texts to review for {args.review_precision:.0%} precise decisions")
    return held_out, calibration


def run_loso(args, build, train, weighted: bool, counts=None) -> tuple[dict | None, object]:
    """``(report, out-of-source P(editorial))`` over ``train`` (whose term counts ``counts`` may
    hold), or ``(None, None)`` when turned off or with too few sources."""
    sources = sorted({r.source for r in train})
    if not args.loso or len(sources) <= 2:
        return None, None
    with Progress("leave-one-source-out", total=len(sources), unit="folds") as progress:
        loso, p = leave_one_source_out(build, train, weighted=weighted, n_jobs=args.jobs,
                                       progress=lambda name: progress.update(1, note=name), with_probabilities=True,
                                       counts=counts)
    say(f"leave-one-source-out: pooled macro-F1 {loso['pooled']['macro_f1']}, "
        f"source-balanced macro-F1 {loso['source_balanced_macro_f1']}, ROC-AUC {loso['pooled']['roc_auc']}, "
        f"worst source {loso['worst_source_accuracy']}")
    say(format_table(loso))
    return loso, p


def calibrate(args, pipeline, records, p_out_of_source) -> dict | None:
    """Fit Platt scaling and the review band on out-of-source scores, fold the scaling into
    ``pipeline`` (in place) and return the report; None without out-of-source scores."""
    if p_out_of_source is None:
        return None
    report = out_of_source_report(records, p_out_of_source, precision=args.review_precision,
                                  weights=source_weights(records))
    fold_platt(pipeline, (report["platt_scaling"]["a"], report["platt_scaling"]["b"]))
    held = report["held_out_sources"]
    band = report["review_band"]
    say(f"out of source: Platt scaling a={report['platt_scaling']['a']:.4f} b={report['platt_scaling']['b']:.4f}; "
        f"ECE on left-out sources {held['expected_calibration_error']} (uncalibrated "
        f"{held['expected_calibration_error_uncalibrated']}); review band {[round(x, 4) for x in band['band']]}")
    say(f"on each source with the scaling and band fitted on the others: {held['review_share']:.1%} sent to review, "
        f"decisions outside review {held['decided_accuracy']:.2%} right (every source weighing the same)")
    say(format_review_table(held["per_source"]))
    return report


def format_review_table(rows: dict) -> str:
    """A plain-text table of the per-source review share and decided accuracy, worst first."""
    lines = [f"{'source':<24}{'label':<11}{'n':>7}{'accuracy':>10}{'review':>9}{'decided ok':>12}"]
    for name, row in sorted(rows.items(), key=lambda kv: kv[1]["decided_accuracy"] or 0):
        decided = "-" if row["decided_accuracy"] is None else f"{row['decided_accuracy']:.4f}"
        lines.append(f"{name:<24}{row['label']:<11}{row['n']:>7}{row['accuracy']:>10.4f}"
                     f"{row['review_share']:>9.1%}{decided:>12}")
    return "\n".join(lines)


def build_card(args, data: Prepared, *, params: dict, weighted: bool, held_out: dict, calibration: dict,
               loso: dict | None, segmentation: dict | None, kind_report: dict | None, started: float,
               forced: bool, out_of_source: dict | None = None) -> dict:
    """The model card of a run: version, data, hyperparameters, metrics, versions, licence."""
    data_fingerprint = fingerprint(data.records)
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return {
        "version": f"{created:%Y%m%dT%H%M%SZ}-{data_fingerprint[:8]}-{secrets.token_hex(2)}",
        "created": created.isoformat(),
        "task": "editorial prose vs reader comment",
        "labels": list(LABELS),
        "threshold": THRESHOLD,
        "review_band": (out_of_source or calibration)["review_band"]["band"],
        "review_band_chosen_on": "out-of-source scores" if out_of_source else "the held-out split (in source)",
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
        "metrics": {"held_out": held_out, "calibration": calibration, "leave_one_source_out": loso,
                    "out_of_source": out_of_source},
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


@dataclass
class Mixed:
    """What the fit and the gate see once the feedback (if any) has joined the corpora."""

    data: Prepared  # train: what is fitted; test: what both models are scored on
    corpus_train: list
    weights: list | None
    feedback: dict | None  # the card's "feedback" section, or None when no feedback was asked for


def mix_feedback(args, data: Prepared, weighted: bool) -> Mixed:
    """Add the moderators' corrections (``--feedback``) to the split; DataError says what is wrong."""
    if args.feedback is None:
        weights = source_weights(data.train) if weighted else None
        return Mixed(data, data.train, weights, None)
    rows = read_feedback(args.feedback)
    feedback, feedback_dropped = clean_feedback(feedback_records(rows), min_words=args.min_words)
    corpus_train, overridden_train = without_overridden(data.train, feedback)
    corpus_test, overridden_test = without_overridden(data.test, feedback)
    overridden = overridden_train + overridden_test
    feedback_train, feedback_held = split_feedback(feedback, args.test_share, args.seed)
    if args.feedback_weight == 0:
        feedback_train = []  # weight 0: not in the fit at all (it would still change the vocabulary)
    if not rows:
        say("no feedback rows: the candidate learns nothing new, and is trained on the corpora alone")
    say(f"feedback: {len(rows)} rows, {len(feedback)} kept ({dict(feedback_dropped) or 'none dropped'}); "
        f"{len(feedback_train)} for training at weight {args.feedback_weight}, {len(feedback_held)} held out; "
        f"{overridden} corpus texts overridden by a moderator's verdict")
    dropped = data.dropped + Counter({f"feedback {k}": v for k, v in feedback_dropped.items()})
    if overridden:
        dropped["overridden by feedback"] = overridden
    mixed = Prepared(raw=data.raw, records=corpus_train + corpus_test + feedback, dropped=dropped,
                     train=corpus_train + feedback_train, test=corpus_test + feedback_held, cleaned=data.cleaned)
    weights = training_weights(corpus_train, feedback_train, args.feedback_weight, weighted,
                               max_share=args.max_feedback_share)
    card = {
        "from": Path(args.feedback).name,
        "weight": args.feedback_weight,
        "weight_rule": "each row weighs `weight` times the mean weight of a corpus training row of its label, "
                       f"scaled down if the feedback would hold more than {args.max_feedback_share:.0%} of all weight",
        "max_share": args.max_feedback_share,
        "rows": len(rows),
        "used": len(feedback),
        "train": len(feedback_train),
        "held_out": len(feedback_held),
        "by_label": dict(sorted(Counter(r.label for r in feedback).items())),
        "dropped": dict(feedback_dropped),
        "corpus_texts_overridden": overridden,
    }
    return Mixed(mixed, corpus_train, weights, card)


def _check_settings(args) -> str | None:
    if not 0 < args.max_feedback_share <= 1:
        return f"--max-feedback-share must be above 0 and at most 1 (got {args.max_feedback_share})"
    if args.feedback_weight < 0:
        return f"--feedback-weight must be 0 or more (got {args.feedback_weight})"
    if not is_store(args.store) and (Path(args.store) / CARD_FILE).is_file():
        return (f"{args.store} is a plain model folder (such as the shipped seed in model/), not a model store: "
                "training adds versions to a store (--store, default var/models); to publish the store's "
                "current version as the shipped seed, run 'make ship'")
    return None


def main(argv: list[str] | None = None, prog: str = "python -m training") -> int:
    """Train, evaluate, gate against the store's current version, and add and promote the candidate."""
    args = build_parser(prog).parse_args(argv)
    problem = _check_settings(args)
    if problem:
        say(f"error: {problem}")
        return 2
    started = time.monotonic()
    store = ModelStore(args.store)
    build, params, weighted = pipeline_builder(args)
    try:
        data = prepare(args)
        mixed = mix_feedback(args, data, weighted)
        current_version(store.root)  # a damaged pointer stops here, before any fitting
    except (DataError, ModelError) as error:
        say(f"error: {error}")
        return 2

    train, evaluation = mixed.data.train, mixed.data.test
    say(f"fitting on {len(train)} texts, holding out {len(evaluation)} ...")
    counts = count_terms(build, train, n_jobs=args.jobs)
    # The final fit runs beside the leave-one-source-out folds (liblinear releases the GIL), from
    # the same counts. The corpora's texts come first in train (feedback, if any, after them), so
    # the rows of their counts are their positions in corpus_train.
    with ThreadPoolExecutor(max_workers=1) as beside:
        final = beside.submit(fit, build, train, mixed.weights, counts)
        loso, p_out_of_source = run_loso(args, build, mixed.corpus_train, weighted, counts)
        pipeline = final.result()
    del counts
    out_of_source = calibrate(args, pipeline, mixed.corpus_train, p_out_of_source)
    held_out, calibration = score_held_out(args, pipeline, evaluation)

    current, version = score_current(store, evaluation)
    result = gate(current, held_out, version, min_n=args.source_min_n)
    if version is not None and current is not None:
        say(f"gate: candidate against the current model {version} on the same {len(evaluation)} texts")
    say(format_gate(result))
    forced = not result["passed"] and args.force
    if not result["passed"] and not args.force:
        say(f"refused: the candidate is worse than {version} ({', '.join(result['refused_for'])}); "
            "nothing was written (use --force, or FORCE=1 with make, to promote it anyway)")
        return 3
    if forced:
        say("the gate refused the candidate; promoting it anyway because of --force")
    result["forced"] = forced

    kind_pipeline, kind_report = fit_kind_model(args)
    segmentation = evaluate_pages(args, pipeline, data)
    card = build_card(args, mixed.data, params=params, weighted=weighted, held_out=held_out, calibration=calibration,
                      loso=loso, segmentation=segmentation, kind_report=kind_report, started=started, forced=forced,
                      out_of_source=out_of_source)
    if mixed.feedback is not None:
        card["metrics"]["held_out_is"] = "the corpora's held-out split plus the held-out feedback"
        if loso is not None:
            card["metrics"]["leave_one_source_out_is"] = "over the corpora's training split (feedback not included)"
        card["feedback"] = mixed.feedback
    card["gate"] = result
    card = store.add(ModelBundle(pipeline, kind_pipeline), card)
    try:
        pointer = store.promote(card["version"], if_current=version)
    except ModelError as error:
        say(f"refused: {error}; run the training again to gate against the new current version")
        return 3
    if args.report:
        write_atomically(args.report, json.dumps(card["metrics"], indent=2) + "\n")
    say(f"promoted {card['version']} in {store.root} (previous: "
        f"{pointer['previous'][0] if pointer['previous'] else 'none'}); "
        f"{card['artifact']['bytes'] / 1e6:.1f} MB, {round(time.monotonic() - started)} s")
    return 0


def _counts(records) -> dict:
    by_label = Counter(r.label for r in records)
    by_source = Counter(r.source for r in records)
    return {"by_label": dict(sorted(by_label.items())), "by_source": dict(sorted(by_source.items()))}
