"""Moderators' corrections (the feedback store) as training data: read, clean, split and weigh.

Feedback rows become records of their own source, ``feedback``, grouped by comment, and a fixed
share of them (by a hash of the group, so a row never changes side as feedback grows) is held
out for the gate. A moderator's verdict on a text overrides any corpus label for it (near
duplicates of a feedback text leave the corpora), and among several verdicts on one text the
latest wins. ``python -m training --feedback FILE`` (``make retrain``) uses this module.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

from model.progress import say
from training.data import DataError, duplicate_key, normalised_or_dropped, source_weights, text_and_label
from training.records import Record

FEEDBACK_SOURCE = "feedback"
DEFAULT_FEEDBACK_DB = Path("var/feedback.sqlite3")
# How much one moderator's correction weighs against one corpus text of the same label (after
# the corpora's own per-source weighting), chosen with the experiment
# ``python -m training.experiments.feedback_weight`` (a simulated newsroom: Globe and Mail texts
# as feedback to a model trained on the other sources): W=3 gave the largest in-domain gain that
# passed the gate in every draw; W=5 broke the per-source gate in most draws.
FEEDBACK_WEIGHT = 3.0
# What broke the gate in that experiment was the feedback's share of all training weight. Past
# this share, the feedback's weight is scaled down so that it stays at the share (its effective W
# falls as feedback grows).
MAX_FEEDBACK_SHARE = 0.2


def group_fraction(group: str, seed: int = 0) -> float:
    """Where ``group`` falls in [0, 1): the hash ``training.data.split_by_group`` orders groups by."""
    return int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:15], 16) / 16**15


def read_feedback(path: Path) -> list[dict]:
    """The rows of a feedback store (SQLite) or of its JSON-lines export; none if there is no file."""
    path = Path(path)
    if not path.exists():
        say(f"no feedback at {path}: retraining on the corpora alone")
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
        (held if group_fraction(record.group, seed) < test_share else train).append(record)
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
