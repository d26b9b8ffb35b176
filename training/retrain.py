"""Retrain on the corpora plus the moderators' feedback, gate the candidate, and promote it.

    python -m training.retrain --data-dir ../shared/data --feedback var/feedback.sqlite3 --store var/models
    python -m training.retrain ... --force                 # promote even if the gate refuses
    python -m training.retrain ... --feedback export.jsonl # feedback exported with python -m feedback export

Feedback rows become records of their own source, ``feedback``, grouped by comment, and a fixed
share of them (by a hash of the group, so a row never changes side as feedback grows) is held
out. The candidate and the store's current model are scored on the same evaluation set: the
corpora's held-out split plus the held-out feedback. The candidate is promoted only if its
pooled macro-F1 is at most ``GATE_TOLERANCE`` lower and no source's accuracy drops by more than
``SOURCE_TOLERANCE``; otherwise nothing is written and the command exits 3.

Exit codes: 0 promoted, 2 bad data or settings, 3 refused by the gate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from model.artifact import ModelError, load
from model.store import DEFAULT_STORE, ModelStore, current_version
from training.data import (
    DataError,
    _group_rank,
    duplicate_key,
    normalised_or_dropped,
    source_weights,
    text_and_label,
)
from training.evaluate import evaluate
from training.records import Record
from training.train import (
    GATE_TOLERANCE,
    Prepared,
    _say,
    add_training_arguments,
    build_card,
    bundle,
    evaluate_pages,
    fit,
    fit_kind_model,
    pipeline_builder,
    prepare,
    run_loso,
    score_held_out,
)

FEEDBACK_SOURCE = "feedback"
DEFAULT_FEEDBACK_DB = Path("var/feedback.sqlite3")
# How much one moderator's correction weighs against one corpus text of the same label (after
# the corpora's own per-source weighting). Measured by ``python -m training.feedback_weight`` (a
# simulated newsroom: Globe and Mail texts as feedback to a model trained on the other sources):
# W=3 gave the largest in-domain gain that passed the gate in every draw (+0.072 macro-F1 with
# 1,600 corrections, base sources -0.0008); W=5 broke the per-source gate in 2 of 3 draws.
FEEDBACK_WEIGHT = 3.0
# What broke the gate in that experiment was the feedback's share of all training weight: every
# run stayed within it up to about 20%, failures began near 30%. Past this share, the feedback's
# weight is scaled down so that it stays at the share (its effective W falls as feedback grows).
MAX_FEEDBACK_SHARE = 0.2
# No source may lose more accuracy than this. Accuracy, not macro-F1: every corpus source has a
# single label, so its macro-F1 is degenerate (half of it is the F1 of a class it has no texts of).
SOURCE_TOLERANCE = 0.02
# A source needs this many held-out texts before its accuracy can block a promotion: below it one
# text is more than the 0.02 tolerance (a newsroom's first weeks of feedback), so the drop is
# shown in the table but only the pooled macro-F1, which counts those texts too, decides.
SOURCE_MIN_N = 50
# Comparisons are on figures rounded to 4 places: do not refuse for a rounding remainder.
_EPSILON = 1e-9


# --- feedback as training data ----------------------------------------------------------------


def read_feedback(path: Path | str) -> list[dict]:
    """The rows of a feedback store (SQLite, or a postgresql:// URL: every replica's feedback) or
    of its JSON-lines export; none if there is no file."""
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        from feedback import FeedbackError, open_store

        try:
            store = open_store(path)
            try:
                return list(store.rows())
            finally:
                store.close()
        except FeedbackError as error:
            raise DataError(str(error)) from None
    path = Path(path)
    if not path.exists():
        _say(f"no feedback at {path}: retraining on the corpora alone")
        return []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as error:
                        raise DataError(f"{path.name} line {number}: not valid JSON ({error.msg})") from None
        return rows
    try:
        from feedback.store import FeedbackError, FeedbackStore
    except ImportError:
        raise DataError(f"reading the feedback database {path} needs the 'feedback' package; "
                        "give a JSON-lines export (python -m feedback export) instead") from None
    try:
        return list(FeedbackStore(path).rows())
    except FeedbackError as error:
        raise DataError(str(error)) from None


def _row_order(item: tuple[int, dict]) -> tuple:
    number, row = item
    return (str(row.get("updated") or row.get("created") or ""), row.get("id") if isinstance(row.get("id"), int) else number)


def feedback_records(rows) -> list[Record]:
    """Feedback-store rows as records of source ``feedback``, oldest verdict first.

    The group is the comment (``comment_id``) when the row names one, else the row itself, so
    every verdict on one comment lands on the same side of the split.
    """
    records = []
    for number, row in sorted(enumerate(rows, start=1), key=_row_order):
        where = f"feedback row {row.get('id', number) if isinstance(row, dict) else number}"
        text, label = text_and_label(row, where)
        comment_id = row.get("comment_id")
        group = f"comment:{comment_id}" if comment_id not in (None, "") else f"row:{row.get('id', number)}"
        records.append(Record(text=text, label=label, source=FEEDBACK_SOURCE, group=f"{FEEDBACK_SOURCE}:{group}"))
    return records


def clean_feedback(records: list[Record], min_words: int = 3) -> tuple[list[Record], Counter]:
    """Normalise as the corpora are; among near duplicates keep the latest verdict (the last)."""
    dropped = Counter()
    latest: dict[str, Record] = {}
    for record in records:
        normalised = normalised_or_dropped(record, min_words, dropped)
        if normalised is None:
            continue
        key, record = normalised
        if key in latest:
            dropped["superseded"] += 1
            del latest[key]  # re-insert so the order stays oldest verdict first
        latest[key] = record
    return list(latest.values()), dropped


def without_overridden(records: list[Record], feedback: list[Record]) -> tuple[list[Record], int]:
    """``records`` less every near duplicate of a feedback text: a moderator's verdict on a text
    is the truth for it, whatever label a corpus gave it."""
    keys = {duplicate_key(r.text) for r in feedback}
    kept = [r for r in records if duplicate_key(r.text) not in keys]
    return kept, len(records) - len(kept)


def split_feedback(records: list[Record], test_share: float, seed: int = 0) -> tuple[list[Record], list[Record]]:
    """Hold out the groups whose hash (the one ``split_by_group`` orders by) falls below ``test_share``.

    A fixed threshold rather than a running share: a verdict's side depends on its group alone,
    so the held-out feedback only grows as feedback grows and never moves into training.
    """
    train, held = [], []
    for record in records:
        fraction = int(_group_rank(record.group, seed)[:15], 16) / 16**15
        (held if fraction < test_share else train).append(record)
    return train, held


def training_weights(corpus: list[Record], feedback: list[Record], weight: float, weighted: bool = True,
                     max_share: float = MAX_FEEDBACK_SHARE) -> list[float]:
    """Sample weights for ``corpus + feedback``: the corpora's own (``source_weights``), and for
    each feedback row ``weight`` times the mean weight of a corpus row of its label, scaled down
    if the feedback would hold more than ``max_share`` of all weight; all scaled to average 1, so
    the regularisation strength means what it does in ``make train``."""
    base = source_weights(corpus) if weighted else [1.0] * len(corpus)
    by_label = defaultdict(list)
    for record, w in zip(corpus, base):
        by_label[record.label].append(w)
    mean = {label: (sum(ws) / len(ws) if ws else 1.0) for label, ws in by_label.items()}
    extra = [weight * mean.get(r.label, 1.0) for r in feedback]
    corpus_total, feedback_total = sum(base), sum(extra)
    if max_share < 1 and corpus_total and feedback_total > max_share / (1 - max_share) * corpus_total:
        cut = max_share / (1 - max_share) * corpus_total / feedback_total
        extra = [w * cut for w in extra]
    weights = base + extra
    scale = len(weights) / sum(weights) if weights else 1.0
    return [w * scale for w in weights]


# --- the gate ---------------------------------------------------------------------------------


def gate(current: dict | None, candidate: dict, current_version: str | None = None,
         pooled_tolerance: float = GATE_TOLERANCE, source_tolerance: float = SOURCE_TOLERANCE,
         min_n: int = SOURCE_MIN_N) -> dict:
    """Compare two ``evaluate()`` results on the same records: pooled macro-F1 and accuracy per source."""
    result = {
        "passed": True,
        "current_version": current_version,
        "tolerance": {"pooled_macro_f1": pooled_tolerance, "source_accuracy": source_tolerance,
                      "source_min_n": min_n},
        "evaluation_set": {"n": candidate["n"], "by_source": {k: v["n"] for k, v in candidate["per_source"].items()}},
    }
    if current is None and current_version is not None:
        # A model that exists but cannot be read (damaged, another scikit-learn) is no reason to
        # promote blind: only --force replaces what cannot be compared.
        result.update(passed=False, reason=f"the current model {current_version} cannot be loaded to compare with",
                      refused_for=["current model unreadable"])
        return result
    if current is None:
        result["reason"] = "no current model to compare with"
        return result
    pooled = {
        "current": current["macro_f1"],
        "candidate": candidate["macro_f1"],
        "change": round(candidate["macro_f1"] - current["macro_f1"], 4),
    }
    sources = {}
    for name, row in candidate["per_source"].items():
        before = current["per_source"][name]["accuracy"]
        sources[name] = {"n": row["n"], "current": before, "candidate": row["accuracy"],
                         "change": round(row["accuracy"] - before, 4)}
    beyond = {name for name, row in sources.items() if row["change"] < -source_tolerance - _EPSILON}
    blocking = sorted(name for name in beyond if sources[name]["n"] >= min_n)
    pooled_fails = pooled["change"] < -pooled_tolerance - _EPSILON
    result.update({
        "passed": not pooled_fails and not blocking,
        "pooled_macro_f1": pooled,
        "source_accuracy": sources,
        "worse": sorted((n for n, r in sources.items() if r["change"] < 0), key=lambda n: sources[n]["change"]),
        "refused_for": (["pooled_macro_f1"] if pooled_fails else []) + blocking,
        "too_few_to_block": sorted(beyond - set(blocking)),
    })
    return result


def format_gate(result: dict) -> str:
    """The gate as a table: pooled macro-F1, then every source that got worse (worst first)."""
    if "pooled_macro_f1" not in result:
        return f"gate: {'passed' if result['passed'] else 'refused'} ({result.get('reason', 'nothing to compare')})"
    refused = set(result["refused_for"])
    too_few = set(result.get("too_few_to_block", ()))
    lines = [f"{'':2}{'source':<24}{'n':>7}{'current':>10}{'candidate':>11}{'change':>9}",
             _gate_row("pooled macro-F1", result["evaluation_set"]["n"], result["pooled_macro_f1"],
                       "pooled_macro_f1" in refused)]
    for name in result["worse"]:
        lines.append(_gate_row(name, result["source_accuracy"][name]["n"], result["source_accuracy"][name],
                               name in refused, name in too_few))
    if not result["worse"]:
        lines.append(f"{'':2}(no source got worse)")
    tol = result["tolerance"]
    lines.append(f"! = beyond tolerance (pooled macro-F1 -{tol['pooled_macro_f1']}, source accuracy "
                 f"-{tol['source_accuracy']}); sources are scored by accuracy since each corpus has one label")
    if too_few:
        lines.append(f"~ = beyond tolerance but under {tol.get('source_min_n')} held-out texts, too few to block")
    return "\n".join(lines)


def _gate_row(name: str, n: int, row: dict, fails: bool, too_few: bool = False) -> str:
    return (f"{'!' if fails else '~' if too_few else ' ':<2}{name:<24}{n:>7}{row['current']:>10.4f}{row['candidate']:>11.4f}"
            f"{row['change']:>+9.4f}")


def score_current(store: ModelStore, records: list[Record]) -> tuple[dict | None, str | None]:
    """``evaluate()`` of the store's current model on ``records``, and its version (None, None if none)."""
    version = current_version(store.root)
    if version is None:
        return None, None
    try:
        artifact, _ = load(store.root)
    except ModelError as error:
        _say(f"the current model {version} cannot be loaded ({error}); the candidate cannot be compared "
             "with it, so it is promoted only with --force (FORCE=1)")
        return None, version
    pipeline = artifact["classifier"] if isinstance(artifact, dict) else artifact
    return evaluate(pipeline, records), version


# --- the command ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m training.retrain``."""
    parser = argparse.ArgumentParser(prog="python -m training.retrain", description=__doc__.split("\n")[0])
    add_training_arguments(parser)
    parser.add_argument("--feedback", type=str, default=str(DEFAULT_FEEDBACK_DB),
                        help="feedback store (SQLite file or postgresql:// URL) or its JSON-lines export "
                             f"(default: {DEFAULT_FEEDBACK_DB})")
    parser.add_argument("--max-feedback-share", type=float, default=MAX_FEEDBACK_SHARE,
                        help=f"most of all training weight the feedback may hold (default: {MAX_FEEDBACK_SHARE})")
    parser.add_argument("--source-min-n", type=int, default=SOURCE_MIN_N,
                        help=f"held-out texts a source needs before its accuracy can block (default: {SOURCE_MIN_N})")
    parser.add_argument("--feedback-weight", type=float, default=FEEDBACK_WEIGHT,
                        help=f"weight of a feedback row relative to a corpus row of its label (default: {FEEDBACK_WEIGHT})")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"model store (default: {DEFAULT_STORE})")
    parser.add_argument("--force", action="store_true", help="promote the candidate even if the gate refuses it")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Retrain with feedback, gate against the current model, and add and promote the candidate."""
    args = build_parser().parse_args(argv)
    if not 0 < args.max_feedback_share <= 1:
        _say(f"error: --max-feedback-share must be above 0 and at most 1 (got {args.max_feedback_share})")
        return 2
    if args.feedback_weight < 0:
        _say(f"error: --feedback-weight must be 0 or more (got {args.feedback_weight})")
        return 2
    started = time.monotonic()
    store = ModelStore(args.store)
    try:
        data = prepare(args)
        rows = read_feedback(args.feedback)
        feedback, feedback_dropped = clean_feedback(feedback_records(rows), min_words=args.min_words)
        current_version(store.root)  # a damaged pointer stops here, before any fitting
    except (DataError, ModelError) as error:
        _say(f"error: {error}")
        return 2

    corpus_train, overridden_train = without_overridden(data.train, feedback)
    corpus_test, overridden_test = without_overridden(data.test, feedback)
    feedback_train, feedback_held = split_feedback(feedback, args.test_share, args.seed)
    if args.feedback_weight == 0:
        feedback_train = []  # weight 0: not in the fit at all (it would still change the vocabulary)
    if not rows:
        _say("no feedback rows: the candidate learns nothing new, and is trained on the corpora alone")
    _say(f"feedback: {len(rows)} rows, {len(feedback)} kept ({dict(feedback_dropped) or 'none dropped'}); "
         f"{len(feedback_train)} for training at weight {args.feedback_weight}, {len(feedback_held)} held out; "
         f"{overridden_train + overridden_test} corpus texts overridden by a moderator's verdict")
    train = corpus_train + feedback_train
    evaluation = corpus_test + feedback_held
    build, params, weighted = pipeline_builder(args)

    _say(f"fitting on {len(train)} texts, evaluating on {len(evaluation)} ...")
    weights = training_weights(corpus_train, feedback_train, args.feedback_weight, weighted,
                               max_share=args.max_feedback_share)
    pipeline = fit(build, train, weights)
    held_out, calibration = score_held_out(args, pipeline, evaluation)

    current, version = score_current(store, evaluation)
    result = gate(current, held_out, version, min_n=args.source_min_n)
    if version is not None and current is not None:
        _say(f"gate: candidate against the current model {version} on the same {len(evaluation)} texts")
    _say(format_gate(result))
    forced = not result["passed"] and args.force
    if not result["passed"] and not args.force:
        _say(f"refused: the candidate is worse than {version} ({', '.join(result['refused_for'])}); "
             "nothing was written (use --force, or FORCE=1 with make, to promote it anyway)")
        return 3
    if forced:
        _say("the gate refused the candidate; promoting it anyway because of --force")
    result["forced"] = forced

    loso = run_loso(args, build, corpus_train, weighted)
    kind_pipeline, kind_report = fit_kind_model(args)
    segmentation = evaluate_pages(args, pipeline)
    dropped = data.dropped + Counter({f"feedback {k}": v for k, v in feedback_dropped.items()})
    if overridden_train + overridden_test:
        dropped["overridden by feedback"] = overridden_train + overridden_test
    card_data = Prepared(raw=data.raw, records=corpus_train + corpus_test + feedback, dropped=dropped,
                         train=train, test=evaluation)
    card = build_card(args, card_data, params=params, weighted=weighted, held_out=held_out, calibration=calibration,
                      loso=loso, segmentation=segmentation, kind_report=kind_report, started=started, forced=forced)
    card["metrics"]["held_out_is"] = "the corpora's held-out split plus the held-out feedback"
    if loso is not None:
        card["metrics"]["leave_one_source_out_is"] = "over the corpora's training split (feedback not included)"
    card["gate"] = result
    card["feedback"] = {
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
        "corpus_texts_overridden": overridden_train + overridden_test,
    }
    card = store.add(bundle(pipeline, kind_pipeline), card)
    try:
        pointer = store.promote(card["version"], if_current=version)
    except ModelError as error:
        _say(f"refused: {error}; run the retrain again to gate against the new current version")
        return 3
    _say(f"promoted {card['version']} in {store.root} (previous: {pointer['previous'][0] if pointer['previous'] else 'none'}); "
         f"{card['artifact']['bytes'] / 1e6:.1f} MB, {round(time.monotonic() - started)} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
