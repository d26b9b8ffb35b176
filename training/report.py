"""Draw the served model's evaluation as PNG plots with a Markdown summary.

    python -m training.report --data-dir ../shared/data --out reports
    python -m training.report --card-only --out reports     # from the model card alone
    python -m training.report --model model/ ...            # another store or plain model folder

The model is the model store's current version (var/models, what ``make run`` serves), or the
shipped seed in model/ while the store has none; ``--model`` names another. The command says on
stderr which version it drew.

Every figure the model card already holds (confusion matrix, per-source accuracy, calibration,
leave-one-source-out, kind model, segmentation) is drawn from the card. The ROC and
precision-recall curves and what a newsroom tunes (the review-band trade-off, review share and
precision per source, the Coral flag's false flags, the surest mistakes, the operating points)
need predictions: for them the held-out split is rebuilt with the same calls and settings as
``training.train`` and scored by the shipped pipeline, and the run stops unless the recomputed
held-out macro-F1 equals the card's (so the figures belong to that model). The output carries no
date, so drawing the same model on the same data again changes no file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from model.artifact import ModelError, read_card
from model.atomic import replace_dir
from model.progress import say
from model.store import locate, resolve
from model.labels import COMMENT, EDITORIAL

DATA_SETTING = "COMMENT_CLASSIFIER_DATA"
DPI = 100
COLOURS = {EDITORIAL: "#1f77b4", COMMENT: "#ff7f0e"}
OTHER_COLOUR = "#7f7f7f"


class ReportError(Exception):
    """The report cannot be drawn; the message says what to fix."""


def _pyplot():
    """pyplot on the Agg backend: no display is needed, and importing this module sets nothing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    return path


def _rate_axes(ax, xlabel: str, ylabel: str, y_low: float, title: str, legend: str) -> None:
    """The frame of a curve over rates: labels, x from 0 to 1, y from ``y_low`` to just above 1,
    a title and the legend at ``legend``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, 1)
    ax.set_ylim(y_low, 1.01)
    ax.set_title(title)
    ax.legend(loc=legend)


def _label_legend(ax, labels) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=COLOURS.get(label, OTHER_COLOUR), label=label) for label in labels]
    ax.legend(handles=handles, loc="lower right", fontsize=9)


# --- plots drawn from the card -------------------------------------------------------------

def plot_confusion(confusion: dict, path: Path, title: str = "Held-out confusion matrix") -> Path:
    """Confusion matrix as counts and row-normalised (rows: truth), side by side."""
    plt = _pyplot()
    labels = list(confusion["labels"])
    counts = np.asarray(confusion["matrix"], dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, values, name, fmt in ((axes[0], counts, "counts", "{:.0f}"),
                                  (axes[1], normalised, "share of true label", "{:.1%}")):
        ax.imshow(values, cmap="Blues", vmin=0, vmax=values.max() or 1)
        for i in range(len(labels)):
            for j in range(len(labels)):
                dark = values[i, j] > 0.6 * (values.max() or 1)
                ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center",
                        color="white" if dark else "black", fontsize=12)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name)
    fig.suptitle(f"{title} (n = {int(counts.sum())})")
    return _save(fig, path)


def plot_reliability(calibration: dict, path: Path) -> Path:
    """Reliability diagram from the card's curve, with ECE and the review band shaded."""
    plt = _pyplot()
    curve = [row for row in calibration["reliability"] if row["n"]]
    predicted = [row["mean_predicted"] for row in curve]
    observed = [row["observed_editorial"] for row in curve]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    band = (calibration.get("review_band") or {}).get("band")
    for ax in (top, bottom):
        if band:
            ax.axvspan(band[0], band[1], color="#dddddd", zorder=0)
    top.plot([0, 1], [0, 1], linestyle="--", color=OTHER_COLOUR, label="perfect calibration")
    top.plot(predicted, observed, marker="o", color=COLOURS[EDITORIAL], label="model")
    if band:
        share = calibration["review_band"].get("review_share")
        extra = f", {share:.1%} of texts" if share is not None else ""
        top.fill_between([], [], color="#dddddd", label=f"review band [{band[0]:.3f}, {band[1]:.3f}){extra}")
    top.set_ylabel("observed share editorial")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.legend(loc="upper left", fontsize=9)
    top.set_title(f"Reliability on the held-out split (ECE {calibration['expected_calibration_error']:.4f})")
    lefts = [row["bin"][0] for row in calibration["reliability"]]
    widths = [row["bin"][1] - row["bin"][0] for row in calibration["reliability"]]
    bottom.bar(lefts, [row["n"] for row in calibration["reliability"]], width=widths, align="edge",
               color=COLOURS[EDITORIAL], alpha=0.6, edgecolor="white")
    bottom.set_ylabel("texts")
    bottom.set_xlabel("predicted P(editorial)")
    return _save(fig, path)


def plot_source_accuracy(table: dict, path: Path, title: str) -> Path:
    """Accuracy per source as horizontal bars, worst at the bottom, coloured by the source's label."""
    plt = _pyplot()
    rows = sorted(table.items(), key=lambda kv: kv[1]["accuracy"])
    names = [f"{name} (n={row['n']})" for name, row in rows]
    values = [row["accuracy"] for _, row in rows]
    colours = [COLOURS.get(row["label"], OTHER_COLOUR) for _, row in rows]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.6))
    ax.barh(range(len(rows)), values, color=colours)
    for i, value in enumerate(values):
        ax.text(value + 0.005, i, f"{value:.3f}", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), names, fontsize=9)
    ax.set_xlim(min(0.5, min(values, default=0.5) - 0.05), 1.06)
    ax.set_xlabel("accuracy")
    ax.set_title(title)
    _label_legend(ax, sorted({row["label"] for _, row in rows}))
    return _save(fig, path)


def kind_rows(kind_metrics: dict) -> list[dict]:
    """(what, ours, published) rows comparing the kind model's F1 (sarcastic) with the baselines.

    A baseline scored on an official test set is set against the card's figure on that set;
    one given per subset (``{"GEN": ...}``) against the card's subsets ``source:GEN``.
    """
    held = kind_metrics.get("held_out", {})
    per_source = held.get("per_source", {})
    subsets = held.get("subsets", {})
    rows, covered = [], set()
    for baseline in kind_metrics.get("baselines", []):
        source, metric, score = baseline.get("source"), baseline.get("metric"), baseline.get("score")
        approx = bool(baseline.get("note"))
        if metric is None or score is None:
            continue
        if isinstance(score, dict):
            for subset, value in score.items():
                ours = subsets.get(f"{source}:{subset}", {}).get(metric)
                rows.append({"what": f"{source}:{subset}", "ours": ours, "published": value,
                             "approx": approx})
            covered.add(source)
            continue
        official = kind_metrics.get("official_isarcasm_test")
        if "official" in (baseline.get("split") or "") and official and source == "twitter_isarcasm":
            what, ours = f"{source} (official test)", official.get(metric)
        else:
            what, ours = source, per_source.get(source, {}).get(metric)
            covered.add(source)
        rows.append({"what": what, "ours": ours, "published": score, "approx": approx})
    baselined = {b.get("source") for b in kind_metrics.get("baselines", []) if b.get("score") is not None}
    for source, row in per_source.items():
        if source not in covered:
            rows.append({"what": f"{source} (held out)", "ours": row.get("f1_sarcastic"), "published": None,
                         "approx": False, "elsewhere": source in baselined})
    return rows


def plot_kind(kind_metrics: dict, path: Path) -> Path:
    """The kind model's F1 (sarcastic) per source and subset beside the published baselines."""
    plt = _pyplot()
    rows = kind_rows(kind_metrics)
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(rows) + 1.8))
    ours = [row["ours"] if row["ours"] is not None else 0 for row in rows]
    published = [row["published"] if row["published"] is not None else 0 for row in rows]
    ax.barh(y - 0.2, ours, height=0.4, color=COLOURS[COMMENT], label="this model")
    ax.barh(y + 0.2, published, height=0.4, color=OTHER_COLOUR, label="published baseline")
    for i, row in enumerate(rows):
        if row["ours"] is not None:
            ax.text(row["ours"] + 0.01, i - 0.2, f"{row['ours']:.3f}", va="center", fontsize=8)
        if row["published"] is not None:
            approx = " (approx.)" if row["approx"] else ""
            ax.text(row["published"] + 0.01, i + 0.2, f"{row['published']:.3f}{approx}", va="center", fontsize=8)
        else:
            why = "published baseline is on another split" if row.get("elsewhere") else "no published baseline"
            ax.text(0.01, i + 0.2, why, va="center", fontsize=8, style="italic")
    ax.set_yticks(y, [row["what"] for row in rows], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 (sarcastic)")
    pooled = kind_metrics.get("held_out", {}).get("pooled", {})
    extra = f" (held-out macro-F1 {pooled['macro_f1']:.3f})" if "macro_f1" in pooled else ""
    ax.set_title(f"Sarcastic vs opinion: F1 against published baselines{extra}", fontsize=11)
    ax.legend(loc="lower right", fontsize=9)
    return _save(fig, path)


def plot_segmentation(segmentation: dict, path: Path) -> Path:
    """Page segmentation against labelling each block on its own (the per-block baseline)."""
    plt = _pyplot()
    ours, base = segmentation["segment"], segmentation["argmax"]
    names = ["block accuracy", "exact boundary"] + [f"{label} blocks" for label in ours.get("per_label", {})]
    values_ours = [ours["block_accuracy"], ours["boundary_exact"]] + list(ours.get("per_label", {}).values())
    values_base = [base["block_accuracy"], base["boundary_exact"]] + [
        base.get("per_label", {}).get(label) or 0 for label in ours.get("per_label", {})]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(x - 0.2, values_ours, width=0.4, color=COLOURS[EDITORIAL], label="page segmentation")
    ax.bar(x + 0.2, values_base, width=0.4, color=OTHER_COLOUR, label="each block alone (baseline)")
    for i, (a, b) in enumerate(zip(values_ours, values_base)):
        ax.text(i - 0.2, a + 0.01, f"{a:.3f}", ha="center", fontsize=8)
        ax.text(i + 0.2, b + 0.01, f"{b:.3f}", ha="center", fontsize=8)
    ax.set_xticks(x, names, fontsize=9)
    ax.set_ylim(0, 1.22)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("share correct")
    ax.set_title(f"Page segmentation on {segmentation.get('pages', ours.get('pages'))} synthetic held-out pages "
                 f"({ours.get('blocks')} blocks)", fontsize=11)
    ax.legend(loc="upper center", ncol=2, fontsize=9)
    return _save(fig, path)


# --- plots that need predictions ------------------------------------------------------------

def plot_roc(labels: list[str], p_editorial, path: Path) -> tuple[Path, float]:
    """ROC curve for 'editorial' as the positive class, with its AUC: (path, auc)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    truth = np.array([label == EDITORIAL for label in labels])
    fpr, tpr, _ = roc_curve(truth, p_editorial)
    auc = float(roc_auc_score(truth, p_editorial))
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.plot(fpr, tpr, color=COLOURS[EDITORIAL], label=f"model (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color=OTHER_COLOUR, label="chance")
    _rate_axes(ax, "false positive rate (comments called editorial)", "true positive rate (editorial found)", 0,
               f"ROC on the held-out split (n = {len(labels)})", "lower right")
    return _save(fig, path), auc


def plot_precision_recall(labels: list[str], p_editorial, path: Path) -> tuple[Path, dict]:
    """Precision-recall curves with average precision, each label in turn positive: (path, {label: AP})."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = _pyplot()
    p = np.asarray(p_editorial, dtype=float)
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ap = {}
    for label, score in ((EDITORIAL, p), (COMMENT, 1.0 - p)):
        truth = np.array([x == label for x in labels])
        precision, recall, _ = precision_recall_curve(truth, score)
        ap[label] = float(average_precision_score(truth, score))
        ax.plot(recall, precision, color=COLOURS[label], label=f"{label} (AP {ap[label]:.4f})")
    _rate_axes(ax, "recall", "precision", 0.4, f"Precision-recall on the held-out split (n = {len(labels)})",
               "lower left")
    return _save(fig, path), ap


# --- the whole report -----------------------------------------------------------------------

def draw(card: dict, out: Path, labels: list[str] | None = None, p_editorial=None) -> dict:
    """Every plot the card (and predictions, when given) allows, into ``out``: {name: (file, caption)}."""
    metrics = card.get("metrics") or {}
    held = metrics.get("held_out") or {}
    figures, figures_extra = {}, {}
    if held.get("confusion"):
        plot_confusion(held["confusion"], out / "confusion.png")
        figures["confusion"] = ("confusion.png", "Confusion matrix on the held-out split (from the card)")
    if labels is not None:
        _, auc = plot_roc(labels, p_editorial, out / "roc.png")
        figures["roc"] = ("roc.png", "ROC curve on the held-out split (recomputed)")
        _, ap = plot_precision_recall(labels, p_editorial, out / "precision_recall.png")
        figures["precision_recall"] = ("precision_recall.png", "Precision-recall on the held-out split (recomputed)")
        figures_extra.update(roc_auc=auc, average_precision=ap)
    if metrics.get("calibration"):
        plot_reliability(metrics["calibration"], out / "reliability.png")
        figures["reliability"] = ("reliability.png", "Reliability diagram and review band (from the card)")
    if held.get("per_source"):
        plot_source_accuracy(held["per_source"], out / "per_source.png",
                             f"Held-out accuracy per source (pooled macro-F1 {held['macro_f1']:.4f})")
        figures["per_source"] = ("per_source.png", "Held-out accuracy per source (from the card)")
    loso = metrics.get("leave_one_source_out")
    if loso:
        plot_source_accuracy(loso["per_source"], out / "leave_one_source_out.png",
                             f"Leave-one-source-out accuracy (pooled macro-F1 {loso['pooled']['macro_f1']:.4f})")
        figures["leave_one_source_out"] = ("leave_one_source_out.png",
                                           "Accuracy on each source when it was left out of training (from the card)")
    kind = (card.get("kind") or {}).get("metrics")
    if kind:
        plot_kind(kind, out / "kind.png")
        figures["kind"] = ("kind.png", "Sarcastic vs opinion model against published baselines (from the card)")
    if card.get("segmentation"):
        plot_segmentation(card["segmentation"], out / "segmentation.png")
        figures["segmentation"] = ("segmentation.png", "Page segmentation against the per-block baseline (from the card)")
    return {"figures": figures, **figures_extra}


def _fmt(value, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def key_figures(card: dict, drawn: dict) -> list[tuple[str, str]]:
    """(figure, value) rows for the summary table."""
    metrics = card.get("metrics") or {}
    held = metrics.get("held_out") or {}
    rows = []
    if held:
        rows += [("Held-out texts", str(held.get("n"))),
                 ("Held-out accuracy", _fmt(held.get("accuracy"))),
                 ("Held-out macro-F1", _fmt(held.get("macro_f1"))),
                 ("Held-out ROC-AUC", _fmt(held.get("roc_auc"))),
                 ("Held-out Brier score", _fmt(held.get("brier")))]
    if "roc_auc" in drawn:
        rows.append(("ROC-AUC, recomputed", _fmt(drawn["roc_auc"])))
        for label, value in drawn["average_precision"].items():
            rows.append((f"Average precision ({label}), recomputed", _fmt(value)))
    calibration = metrics.get("calibration")
    if calibration:
        band = calibration["review_band"]
        where = " (in source: what the held-out split alone would choose)" if metrics.get("out_of_source") else ""
        rows += [("Expected calibration error" + where, _fmt(calibration["expected_calibration_error"])),
                 ("Review band" + where, f"[{band['band'][0]:.3f}, {band['band'][1]:.3f})"),
                 ("Share sent to review" + where, f"{band['review_share']:.1%}"),
                 ("Precision outside the band (editorial / comment)" + where,
                  f"{_fmt(band['precision_editorial'])} / {_fmt(band['precision_comment'])}")]
    loso = metrics.get("leave_one_source_out")
    if loso:
        worst = min(loso["per_source"].items(), key=lambda kv: kv[1]["accuracy"])
        rows += [("Leave-one-source-out macro-F1 (pooled)", _fmt(loso["pooled"]["macro_f1"])),
                 ("Leave-one-source-out macro-F1 (source-balanced)", _fmt(loso.get("source_balanced_macro_f1"))),
                 ("Worst unseen source", f"{worst[0]} ({_fmt(worst[1]['accuracy'])})")]
    oos = metrics.get("out_of_source")
    if oos:
        held_sources = oos["held_out_sources"]
        rows += [("Calibration (Platt scaling of the logit, fitted out of source)",
                  f"a = {oos['platt_scaling']['a']:.4f}, b = {oos['platt_scaling']['b']:.4f}"),
                 ("Expected calibration error on left-out sources (uncalibrated)",
                  f"{_fmt(held_sources['expected_calibration_error'])} "
                  f"({_fmt(held_sources['expected_calibration_error_uncalibrated'])})"),
                 ("Review band chosen out of source", f"[{oos['review_band']['band'][0]:.3f}, {oos['review_band']['band'][1]:.3f})"),
                 ("Out of source: share sent to review (every source weighing the same)", f"{held_sources['review_share']:.1%}"),
                 ("Out of source: accuracy of the decisions outside review", _fmt(held_sources["decided_accuracy"]))]
    segmentation = card.get("segmentation")
    if segmentation:
        rows += [("Segmentation block accuracy (per-block baseline)",
                  f"{_fmt(segmentation['segment']['block_accuracy'])} ({_fmt(segmentation['argmax']['block_accuracy'])})"),
                 ("Segmentation exact boundary (per-block baseline)",
                  f"{_fmt(segmentation['segment']['boundary_exact'])} ({_fmt(segmentation['argmax']['boundary_exact'])})")]
    rows += out_of_vocabulary_rows()
    rows += replication_rows()
    rows += html_rows()
    kind = (card.get("kind") or {}).get("metrics")
    if kind:
        pooled = kind.get("held_out", {}).get("pooled", {})
        rows += [("Sarcastic vs opinion macro-F1 (held out)", _fmt(pooled.get("macro_f1"))),
                 ("F1 (sarcastic), held out", _fmt(pooled.get("f1_sarcastic")))]
    return rows


def out_of_vocabulary_rows(path: Path | None = None) -> list[tuple[str, str]]:
    """Segmentation on pages of unseen sources and comment systems, and the page band's decisions
    there (``path``: model/segment_data/params.json)."""
    from model.segment import PARAMS_FILE

    path = PARAMS_FILE if path is None else path
    if not path.is_file():
        return []
    figures = json.loads(path.read_text(encoding="utf-8")).get("figures") or {}
    ours, own = figures.get("segment"), figures.get("argmax")
    if not ours or not own:
        return []
    rows = [("Segmentation, unseen sources and comment systems: block accuracy (own labels)",
             f"{_fmt(ours['block_accuracy'])} ({_fmt(own['block_accuracy'])})"),
            ("Segmentation, unseen sources and comment systems: exact boundary (own labels)",
             f"{_fmt(ours['boundary_exact'])} ({_fmt(own['boundary_exact'])})")]
    band = figures.get("page_band")
    if band and band.get("review_share") is not None and band.get("own_scores"):
        rows.append(("Decisions on those pages, page band (each block's own score in the text band): "
                     "text blocks sent to review, decided right",
                     f"{band['review_share']:.1%}, {_fmt(band['decided_right'])} "
                     f"({band['own_scores']['review_share']:.1%}, {_fmt(band['own_scores']['decided_right'])})"))
    if band and band.get("calibration_error") is not None:
        rows.append(("Page scores on those pages: expected calibration error of each text block's P(label)",
                     _fmt(band["calibration_error"])))
    return rows


# The same evaluation run once more on page sets no earlier run had built (see docs/model.md).
REPLICATION_FILE = Path(__file__).resolve().parents[1] / "reports" / "segment-oov-seeds-6-11.json"


def replication_rows(path: Path = REPLICATION_FILE) -> list[tuple[str, str]]:
    """The out-of-vocabulary evaluation's figures on new page sets (``path``, written by
    ``python -m training.pages --evaluate --seeds ... --out``), if there are any."""
    if not path.is_file():
        return []
    report = json.loads(path.read_text(encoding="utf-8"))
    ours = (report.get("summary") or {}).get("segment")
    if not ours:
        return []
    seeds = ", ".join(str(seed) for seed in report.get("page_seeds") or [])
    return [(f"Segmentation, the same on new page sets ({seeds}): block accuracy / exact boundary",
             f"{_fmt(ours['block_accuracy'])} / {_fmt(ours['boundary_exact'])}")]


HTML_FILE = REPLICATION_FILE.with_name("segment-html.json")


def html_rows(path: Path = HTML_FILE) -> list[tuple[str, str]]:
    """The HTML evaluation's figures by fold (``path``, written by ``python -m training.html_pages
    --out ...``): the HTML path, the text path and trafilatura on the same pages, if there are any."""
    if not path.is_file():
        return []
    rows = []
    for fold in json.loads(path.read_text(encoding="utf-8")).get("folds") or []:
        ways = [fold.get(key) for key in ("html", "text", "trafilatura")]
        if not all(ways):
            continue
        rows.append((f"Segmentation of HTML pages, fold {fold.get('fold')}: block accuracy / exact boundary "
                     "(HTML; text; trafilatura)",
                     "; ".join(f"{_fmt(figures['block_accuracy'])} / {_fmt(figures['boundary_exact'])}"
                               for figures in ways)))
    return rows


def source_table(metrics: dict) -> list[str]:
    """Markdown lines: per source, in-source held-out and leave-one-source-out accuracy, and the
    review share and decided accuracy it gets from a band fitted on the other sources."""
    loso = (metrics.get("leave_one_source_out") or {}).get("per_source")
    if not loso:
        return []
    held = (metrics.get("held_out") or {}).get("per_source") or {}
    review = ((metrics.get("out_of_source") or {}).get("held_out_sources") or {}).get("per_source") or {}
    lines = ["## Per source: in source and out of source", "",
             "Out of source: the source was left out of training, and the calibration and review band "
             "were fitted on the other sources.", "",
             "| source | label | held-out accuracy (in source) | accuracy left out | sent to review | "
             "decisions outside review right |",
             "|---|---|---|---|---|---|"]
    for name, row in sorted(loso.items(), key=lambda kv: kv[1]["accuracy"]):
        r = review.get(name, {})
        share = "n/a" if r.get("review_share") is None else f"{r['review_share']:.1%}"
        lines.append(f"| {name} | {row['label']} | {_fmt(held.get(name, {}).get('accuracy'))} | "
                     f"{_fmt(row['accuracy'])} | {share} | {_fmt(r.get('decided_accuracy'))} |")
    return lines + [""]


def write_markdown(card: dict, drawn: dict, path: Path, generated: str | None, card_only: bool) -> Path:
    """The report's README: version, key figures and every plot linked relatively. No date unless
    ``generated`` is given: the same model and data give the same file, so a tracked report changes
    only when something in it did."""
    lines = [
        "# Model report",
        "",
        f"Model version `{card.get('version', 'unknown')}`, trained {card.get('created', 'unknown')}; "
        f"report {'generated ' + generated + ' ' if generated else ''}drawn by `python -m training.report`"
        + (" from the model card alone (`--card-only`)." if card_only else "."),
        "",
        "Figures come from the model card (`model/card.json`); the ROC and precision-recall curves and "
        "the newsroom's figures (review band, per source, Coral flag, mistakes) are recomputed, by scoring "
        "the rebuilt held-out split with the model.",
        "",
        "## Key figures",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in key_figures(card, drawn)]
    lines.append("")
    lines += source_table(card.get("metrics") or {})
    lines += newsroom_markdown(drawn.get("newsroom"))
    for file, caption in drawn["figures"].values():
        lines += [f"## {caption}", "", f"![{caption}]({file})", ""]
    path.write_text("\n".join(lines))
    return path


# --- what a newsroom tunes: the review band, per source, the Coral flag, the mistakes ---------

# The default of the service's CORAL_FLAG_THRESHOLD (service/integrations/coral.py; a test keeps them equal):
# Coral Talk flags a comment when P(editorial) reaches it.
CORAL_FLAG_THRESHOLD = 0.95
# Precision targets the trade-off curve tries: each gives the narrowest band that keeps it.
TRADEOFF_TARGETS = (0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.975, 0.98, 0.985, 0.99, 0.9925, 0.995, 0.9975, 0.999)
MISTAKES_SHOWN = 20


def band_tradeoff(labels: list[str], p_editorial, targets=TRADEOFF_TARGETS) -> list[dict]:
    """For each precision target, the narrowest review band keeping it and what it costs: rows of
    ``{"target", "band", "review_share", "decided_accuracy", "precision_editorial", "precision_comment"}``."""
    from training.calibration import choose_review_band

    rows = []
    for target in targets:
        chosen = choose_review_band(labels, p_editorial, precision=target)
        rows.append({"target": target, "band": [round(x, 4) for x in chosen["band"]],
                     **{key: chosen[key] for key in ("review_share", "decided_accuracy", "precision_editorial",
                                                      "precision_comment")}})
    return rows


def today_band(labels: list[str], p_editorial, band) -> dict:
    """The served band's review share and precision on these predictions."""
    from training.calibration import band_figures

    editorial = np.array([label == EDITORIAL for label in labels])
    return {"band": [round(float(x), 4) for x in band],
            **band_figures(editorial, np.asarray(p_editorial, dtype=float), band)}


def plot_band_tradeoff(curve: list[dict], today: dict | None, path: Path) -> Path:
    """Share sent to review against the precision of the decisions outside it, today's band marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    xs = [row["review_share"] for row in curve]
    ys = [row["decided_accuracy"] for row in curve]
    ax.plot(xs, ys, marker="o", color=COLOURS[EDITORIAL], label="narrowest band for a precision target")
    for row in curve:
        ax.annotate(f"{row['target']:g}", (row["review_share"], row["decided_accuracy"]), fontsize=7,
                    textcoords="offset points", xytext=(4, -10))
    if today:
        ax.scatter([today["review_share"]], [today["decided_accuracy"]], s=140, marker="*", color=COLOURS[COMMENT],
                   zorder=5, label=f"today's band [{today['band'][0]:.3f}, {today['band'][1]:.3f}): "
                                   f"{today['review_share']:.1%} to review, {today['decided_accuracy']:.2%} right")
    ax.set_xlabel("share of texts sent to review")
    ax.set_ylabel("precision of the decisions outside review")
    ax.set_title("Review band: what a person reviews against what the model gets right", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def _by_source(records, p_editorial) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """``{source: (label, truth is editorial, P(editorial))}`` in source-name order."""
    p = np.asarray(p_editorial, dtype=float)
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        groups.setdefault(record.source, []).append(i)
    out = {}
    for source in sorted(groups):
        index = np.array(groups[source])
        labels = [records[i].label for i in index]
        label = labels[0] if len(set(labels)) == 1 else "mixed"
        out[source] = (label, np.array([x == EDITORIAL for x in labels]), p[index])
    return out


def source_review(records, p_editorial, band) -> list[dict]:
    """Per source: how many texts, the share the band sends to review, and how often the decisions
    outside it are right."""
    from training.calibration import band_figures

    rows = []
    for source, (label, editorial, p) in _by_source(records, p_editorial).items():
        figures = band_figures(editorial, p, band)
        rows.append({"source": source, "label": label, "n": int(len(p)), "review_share": figures["review_share"],
                     "decided_accuracy": figures["decided_accuracy"]})
    return rows


def coral_false_flags(records, p_editorial, threshold: float = CORAL_FLAG_THRESHOLD) -> list[dict]:
    """Per comment source: the share of its comments the Coral flag (P(editorial) >= ``threshold``) would
    wrongly flag as not being a comment."""
    rows = []
    for source, (label, editorial, p) in _by_source(records, p_editorial).items():
        comments = p[~editorial]
        if label == COMMENT and len(comments):
            flagged = int((comments >= threshold).sum())
            rows.append({"source": source, "n": int(len(comments)), "flagged": flagged,
                         "false_flag_rate": round(flagged / len(comments), 4)})
    return rows


def misclassified(records, p_editorial, shown: int = MISTAKES_SHOWN) -> dict[str, list[dict]]:
    """The ``shown`` most confident mistakes each way: ``{"editorial called comment": [...],
    "comment called editorial": [...]}``, each ``{"source", "p_editorial", "text"}``, surest first."""
    p = np.asarray(p_editorial, dtype=float)
    wrong = {"editorial called comment": [], "comment called editorial": []}
    for record, score in zip(records, p):
        if record.label == EDITORIAL and score < 0.5:
            wrong["editorial called comment"].append((score, record))
        elif record.label == COMMENT and score >= 0.5:
            wrong["comment called editorial"].append((-score, record))
    return {name: [{"source": r.source, "p_editorial": round(abs(float(key)), 4), "text": r.text}
                   for key, r in sorted(items, key=lambda item: (item[0], item[1].source, item[1].text))[:shown]]
            for name, items in wrong.items()}


def operating_points(labels: list[str], p_editorial, points: dict[str, float]) -> dict[str, dict]:
    """Where each named threshold (editorial from P(editorial) >= it) sits on the ROC and PR curves."""
    p = np.asarray(p_editorial, dtype=float)
    truth = np.array([label == EDITORIAL for label in labels])
    out = {}
    for name, threshold in points.items():
        called = p >= threshold
        tp, fp = int((called & truth).sum()), int((called & ~truth).sum())
        positives, negatives = int(truth.sum()), int((~truth).sum())
        out[name] = {"threshold": round(float(threshold), 4),
                     "tpr": round(tp / positives, 4) if positives else None,
                     "fpr": round(fp / negatives, 4) if negatives else None,
                     "precision": round(tp / (tp + fp), 4) if tp + fp else None}
    return out


def plot_operating_points(labels: list[str], p_editorial, points: dict[str, dict], path: Path) -> Path:
    """ROC and precision-recall for 'editorial', side by side, with the service's thresholds marked."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _pyplot()
    truth = np.array([label == EDITORIAL for label in labels])
    fpr, tpr, _ = roc_curve(truth, p_editorial)
    precision, recall, _ = precision_recall_curve(truth, p_editorial)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5))
    left.plot(fpr, tpr, color=COLOURS[EDITORIAL])
    right.plot(recall, precision, color=COLOURS[EDITORIAL])
    markers = ["o", "s", "^", "D", "v"]
    for (name, point), marker in zip(points.items(), markers):
        label = f"{name} (P(editorial) >= {point['threshold']:.3f})"
        left.scatter([point["fpr"]], [point["tpr"]], marker=marker, s=60, zorder=5, label=label)
        right.scatter([point["tpr"]], [point["precision"]], marker=marker, s=60, zorder=5, label=label)
    left.set_xlabel("false positive rate (comments called editorial; log scale above 0.01)")
    left.set_ylabel("true positive rate (editorial found)")
    left.set_title("ROC with the service's operating points", fontsize=11)
    left.set_xscale("symlog", linthresh=0.01)
    left.set_xlim(0, 1)
    right.set_xlabel("recall (editorial)")
    right.set_ylabel("precision (editorial)")
    right.set_ylim(0.4, 1.01)
    right.set_title("Precision-recall with the same points", fontsize=11)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def draw_newsroom(card: dict, out: Path, records, p_editorial, coral_threshold: float = CORAL_FLAG_THRESHOLD) -> dict:
    """The figures a newsroom decides from, into ``out``: ``{"figures": {...}, "newsroom": {...}}``."""
    labels = [r.label for r in records]
    band = card.get("review_band") or ((card.get("metrics") or {}).get("calibration") or {}).get(
        "review_band", {}).get("band")
    curve = band_tradeoff(labels, p_editorial)
    today = today_band(labels, p_editorial, band) if band else None
    plot_band_tradeoff(curve, today, out / "review_tradeoff.png")
    points = {"label": 0.5}
    if band:
        points["review band: decided editorial"] = band[1]
    points["Coral flag"] = coral_threshold
    placed = operating_points(labels, p_editorial, points)
    plot_operating_points(labels, p_editorial, placed, out / "operating_points.png")
    figures = {
        "review_tradeoff": ("review_tradeoff.png", "The review-band trade-off, today's band marked (recomputed)"),
        "operating_points": ("operating_points.png", "ROC and precision-recall with the service's operating points "
                                                     "(recomputed)"),
    }
    newsroom = {"tradeoff": curve, "today": today, "operating_points": placed, "coral_threshold": coral_threshold,
                "per_source": source_review(records, p_editorial, band) if band else [],
                "coral": coral_false_flags(records, p_editorial, coral_threshold),
                "mistakes": misclassified(records, p_editorial)}
    return {"figures": figures, "newsroom": newsroom}


def _cell(text: str, limit: int = 300) -> str:
    """A text as one Markdown table cell: one line, pipes escaped, at most ``limit`` characters."""
    flat = " ".join(text.split())
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return flat.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def _share(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def newsroom_markdown(newsroom: dict | None) -> list[str]:
    """Markdown lines for the newsroom's figures (none when there are no predictions)."""
    if not newsroom:
        return []
    lines = ["## Choosing the review band", "",
             "Each row is the narrowest band that keeps the decisions outside it at least as precise as the "
             "target, on the held-out split; the starred row is the band the service uses today.", "",
             "| precision target | band | sent to review | decisions outside review right |", "|---|---|---|---|"]
    for row in newsroom["tradeoff"]:
        lines.append(f"| {row['target']:g} | [{row['band'][0]:.3f}, {row['band'][1]:.3f}) | "
                     f"{_share(row['review_share'])} | {_share(row['decided_accuracy'])} |")
    today = newsroom.get("today")
    if today:
        lines.append(f"| **today** ★ | [{today['band'][0]:.3f}, {today['band'][1]:.3f}) | "
                     f"{_share(today['review_share'])} | {_share(today['decided_accuracy'])} |")
    lines += ["", "### Review share and precision per source (today's band, held-out split)", "",
              "| source | label | texts | sent to review | decisions outside review right |", "|---|---|---|---|---|"]
    for row in newsroom["per_source"]:
        lines.append(f"| {row['source']} | {row['label']} | {row['n']} | {_share(row['review_share'])} | "
                     f"{_share(row['decided_accuracy'])} |")
    lines += ["", f"### Coral Talk: comments wrongly flagged at P(editorial) >= {newsroom['coral_threshold']:g}", "",
              "The Coral endpoint flags a comment when the model thinks it is not one; every flag on a "
              "comment source below is a false flag.", "",
              "| comment source | comments | flagged | false-flag rate |", "|---|---|---|---|"]
    for row in newsroom["coral"]:
        lines.append(f"| {row['source']} | {row['n']} | {row['flagged']} | {_share(row['false_flag_rate'])} |")
    lines += ["", "### Operating points", "", "| point | threshold | editorial found (TPR) | comments called "
              "editorial (FPR) | precision (editorial) |", "|---|---|---|---|---|"]
    for name, point in newsroom["operating_points"].items():
        lines.append(f"| {name} | {point['threshold']:.3f} | {_share(point['tpr'])} | {_share(point['fpr'])} | "
                     f"{_share(point['precision'])} |")
    for direction, rows in newsroom["mistakes"].items():
        lines += ["", f"### The {len(rows)} surest mistakes: {direction}", "",
                  "| P(editorial) | source | text |", "|---|---|---|"]
        lines += [f"| {row['p_editorial']:.3f} | {row['source']} | {_cell(row['text'])} |" for row in rows]
    return lines + [""]


def held_out_split(data_dir: Path, card: dict) -> list:
    """The held-out records rebuilt exactly as ``training.train`` builds them."""
    from training.data import cap_sources, clean, load_corpora, split_by_group
    from training.train import build_parser

    defaults = build_parser().parse_args([])
    data = card.get("data") or {}
    split = data.get("split") or {}
    # The card records the settings the model was trained with; the training defaults fill gaps.
    min_words = data.get("min_words", defaults.min_words)
    cap = data.get("cap_per_source", defaults.cap)
    test_share = split.get("test_share", defaults.test_share)
    seed = split.get("seed", defaults.seed)
    records = cap_sources(clean(load_corpora(data_dir), min_words=min_words)[0], cap, seed=seed)
    return split_by_group(records, test_share=test_share, seed=seed)[1]


def score_held_out(data_dir: Path, model_dir: Path) -> tuple[dict, list[str], np.ndarray, float]:
    """Load the model, rebuild and score the held-out split: (card, labels, P(editorial), macro-F1).

    Raises ReportError when the recomputed macro-F1 differs from the card's: the curves would not
    belong to the model the card describes.
    """
    card, test, p, recomputed = score_held_out_records(data_dir, model_dir)
    return card, [r.label for r in test], p, recomputed


def score_held_out_records(data_dir: Path, model_dir: Path) -> tuple[dict, list, np.ndarray, float]:
    """``score_held_out`` keeping the records (text, label, source) for the newsroom's figures."""
    from model.classifier import Classifier
    from training.evaluate import editorial_probabilities, metrics

    classifier = Classifier.load(model_dir)
    card = classifier.card
    test = held_out_split(data_dir, card)
    labels = [r.label for r in test]
    p = editorial_probabilities(classifier.pipeline, [r.text for r in test])
    recomputed = metrics(labels, p)["macro_f1"]
    expected = (card.get("metrics") or {}).get("held_out", {}).get("macro_f1")
    if recomputed != expected:
        raise ReportError(
            f"recomputed held-out macro-F1 {recomputed} on {len(test)} texts differs from the card's {expected}: "
            f"the data in {data_dir} or the split settings are not those model {card.get('version')} was trained on"
        )
    return card, test, p, recomputed


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m training.report``."""
    parser = argparse.ArgumentParser(prog="python -m training.report", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(DATA_SETTING),
                        help=f"folder of public corpora (setting DATA_DIR in make, {DATA_SETTING} here)")
    parser.add_argument("--model", "--model-dir", dest="model", type=Path, metavar="PATH",
                        help="a model store (its current version) or a plain model folder (default: "
                             "$COMMENT_CLASSIFIER_MODEL_DIR, else the store var/models, else the shipped model/)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="report folder to write (default: reports/)")
    parser.add_argument("--coral-threshold", type=float, default=CORAL_FLAG_THRESHOLD, metavar="P",
                        help=f"the Coral flag threshold whose false flags to count (default: the service's "
                             f"{CORAL_FLAG_THRESHOLD})")
    parser.add_argument("--card-only", action="store_true",
                        help="draw only what the model card holds; needs neither the corpora nor the artifact")
    return parser


# Written into the report folder by the page evaluations (python -m training.pages --out ...,
# python -m training.html_pages --out ...), not by this report: carried over when it is redrawn.
PAGE_EVALUATIONS = ("segment-oov.json", "segment-oov-seeds-6-11.json", "segment-html.json")


def keep_page_evaluations(out: Path, staging: Path) -> None:
    """Copy the page evaluations' figures from the old report folder into the new one."""
    for name in PAGE_EVALUATIONS:
        if (out / name).is_file() and not (staging / name).exists():
            shutil.copy2(out / name, staging / name)


def main(argv: list[str] | None = None) -> int:
    """Draw the report into a temporary folder beside --out, then rename it into place."""
    args = build_parser().parse_args(argv)
    labels = p = records = None
    try:
        model, origin = locate(args.model)
        if args.card_only:
            card = read_card(resolve(model))
        else:
            if args.data_dir is None or not Path(args.data_dir).is_dir():
                say(f"error: data folder '{args.data_dir}' not found: set DATA_DIR=path/to/corpora "
                    f"(make report DATA_DIR=...) or {DATA_SETTING}, or draw from the card alone with --card-only")
                return 2
            say(f"rebuilding and scoring the held-out split from {args.data_dir} ...")
            card, records, p, macro_f1 = score_held_out_records(Path(args.data_dir), model)
            labels = [r.label for r in records]
            say(f"recomputed held-out macro-F1 {macro_f1} on {len(labels)} texts equals the card's")
        say(f"model {card.get('version')} (from {origin})")
    except (ModelError, ReportError) as error:
        say(f"error: {error}")
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        drawn = draw(card, staging, labels, p)
        if records is not None:
            newsroom = draw_newsroom(card, staging, records, p, args.coral_threshold)
            drawn["figures"].update(newsroom["figures"])
            drawn["newsroom"] = newsroom["newsroom"]
        write_markdown(card, drawn, staging / "README.md", None, args.card_only)
        keep_page_evaluations(out, staging)
        staging.chmod(0o755)  # mkdtemp makes it private; a report folder is for reading
        replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"wrote {len(drawn['figures'])} plots and README.md to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
