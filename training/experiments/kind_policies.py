"""Which C3 crowd-vote policy makes the best sarcasm labels for the kind model (an experiment).

    python -m training.experiments.kind_policies --data-dir ../shared/data [--out policies.json]

SOCC C3 comments carry ``sarcastic:N`` crowd votes; ``training.kind.VotePolicy`` turns a count
into a label (sarcastic at >= N votes, opinion at <= M, the rest left out). This fits the kind
model once per policy in ``training.kind.POLICIES`` and scores every fit on the same held-out C3
comments (split once over all comments, whatever their votes): ROC-AUC of P(sarcastic) against
">=2 vs 0" and ">=3 vs 0" reference labels, Spearman correlation with the vote count, and the
other two sources' held-out F1 (fixed, since only the C3 training labels change). The policy it
chose is ``training.kind.DEFAULT_POLICY``. One fit per policy: a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from model.atomic import write_atomically
from model.features import DEFAULT_BLOCKS
from training.data import cap_sources, clean, split_by_group
from training.kind import (
    C3,
    KINDS,
    OPINION,
    POLICIES,
    SARCASTIC,
    VotePolicy,
    add_data_arguments,
    as_records,
    c3_votes,
    data_dir_missing,
    evaluate_kind,
    fit_kind,
    kind_metrics,
    load_isarcasm,
    load_sarcasm_v2,
    sarcasm_probabilities,
)
from training.records import Record


def compare_policies(data_dir: Path, policies: dict[str, VotePolicy] = POLICIES, seed: int = 0,
                     test_share: float = 0.2, cap: int = 0, blocks=DEFAULT_BLOCKS) -> dict:
    """Fit once per C3 vote policy and score every fit on the same held-out data.

    The C3 articles are split once over all comments, whatever their votes, so each policy is
    judged on the same held-out comments: ROC-AUC of P(sarcastic) against ">=2 vs 0" and ">=3 vs
    0" reference labels, Spearman correlation with the vote count, and the other two sources'
    held-out F1 (fixed, since only the C3 training labels change).
    """
    from scipy.stats import spearmanr

    # The vote count rides in the label until the policy turns it into a kind.
    c3_all, _ = clean(Record(text=text, label=str(votes), source=C3, group=group)
                      for text, votes, group in c3_votes(data_dir))
    c3_train, c3_test = split_by_group(c3_all, test_share=test_share, seed=seed)
    test_votes = np.array([int(r.label) for r in c3_test])
    others, _ = clean(as_records([*load_sarcasm_v2(data_dir), *load_isarcasm(data_dir)]))
    others = cap_sources(others, cap, seed=seed)
    other_train, other_test = split_by_group(others, test_share=test_share, seed=seed)
    results = {}
    for name, policy in policies.items():
        train = list(other_train)
        for r in c3_train:
            kind = policy.kind(int(r.label))
            if kind is not None:
                train.append(Record(text=r.text, label=kind, source=C3, group=r.group))
        n_c3 = Counter(r.label for r in train if r.source == C3)
        pipeline = fit_kind(train, blocks=blocks)
        p = sarcasm_probabilities(pipeline, [r.text for r in c3_test])
        row = {"c3_train": {kind: n_c3[kind] for kind in KINDS}}
        for ref_name, low, high in (("auc_vs_2plus_0", 0, 2), ("auc_vs_3plus_0", 0, 3)):
            keep = (test_votes <= low) | (test_votes >= high)
            row[ref_name] = round(float(roc_auc_score(test_votes[keep] >= high, p[keep])), 4)
        row["spearman_votes"] = round(float(spearmanr(test_votes, p).statistic), 4)
        ref = (test_votes == 0) | (test_votes >= 2)
        row["c3_f1_sarcastic_2plus_0"] = kind_metrics(
            list(np.where(test_votes[ref] >= 2, SARCASTIC, OPINION)), p[ref])["f1_sarcastic"]
        other_eval = evaluate_kind(pipeline, other_test)["per_source"]
        for source, metrics in other_eval.items():
            row[f"{source}_f1_sarcastic"] = metrics["f1_sarcastic"]
            row[f"{source}_roc_auc"] = metrics["roc_auc"]
        results[name] = row
    return {"c3_test_comments": len(c3_test),
            "c3_test_votes": dict(sorted(Counter(test_votes.tolist()).items())),
            "policies": results}


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m training.experiments.kind_policies``."""
    parser = argparse.ArgumentParser(prog="python -m training.experiments.kind_policies",
                                     description=__doc__.split("\n")[0])
    return add_data_arguments(parser)


def main(argv: list[str] | None = None) -> int:
    """Compare the vote policies and print one line per policy."""
    args = build_parser().parse_args(argv)
    if data_dir_missing(args):
        return 2
    result = compare_policies(args.data_dir, seed=args.seed, test_share=args.test_share, cap=args.cap)
    for name, row in result["policies"].items():
        print(f"{name:<8} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    if args.out:
        write_atomically(args.out, json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
