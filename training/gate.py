"""The promotion gate: a candidate replaces the current model only if it is not worse on the same texts.

Both models are scored on one evaluation set (the corpora's held-out split, plus the held-out
feedback when there is any). The candidate passes if its pooled macro-F1 is at most
``GATE_TOLERANCE`` lower and no source's accuracy drops by more than ``SOURCE_TOLERANCE``; a
source needs ``SOURCE_MIN_N`` held-out texts before it can block alone. A current model that
exists but cannot be read refuses too: only ``--force`` replaces what cannot be compared.
"""

from __future__ import annotations

from model.artifact import ModelError, load
from model.progress import say
from model.store import ModelStore, current_version
from training.evaluate import evaluate

# A candidate may score this much lower in pooled macro-F1 than the model it replaces: below the
# run-to-run noise of a fit on the same data.
GATE_TOLERANCE = 0.005
# No source may lose more accuracy than this. Accuracy, not macro-F1: every corpus source has a
# single label, so its macro-F1 is degenerate (half of it is the F1 of a class it has no texts of).
SOURCE_TOLERANCE = 0.02
# A source needs this many held-out texts before its accuracy can block a promotion: below it one
# text is more than the 0.02 tolerance (a newsroom's first weeks of feedback), so the drop is
# shown in the table but only the pooled macro-F1, which counts those texts too, decides.
SOURCE_MIN_N = 50
# Comparisons are on figures rounded to 4 places: do not refuse for a rounding remainder.
_EPSILON = 1e-9




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


def score_current(store: ModelStore, records: list) -> tuple[dict | None, str | None]:
    """``evaluate()`` of the store's current model on ``records``, and its version (None, None if none)."""
    version = current_version(store.root)
    if version is None:
        return None, None
    try:
        pipeline = load(store.root).classifier
    except ModelError as error:
        say(f"the current model {version} cannot be loaded ({error}); the candidate cannot be compared "
            "with it, so it is promoted only with --force (FORCE=1)")
        return None, version
    return evaluate(pipeline, records), version
