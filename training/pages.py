"""Synthetic scraped pages: fit the segmenter's costs on training groups, evaluate on held-out ones.

    python -m training.pages --data-dir ../shared/data --pages 500 [--out params.json]

A page is an editorial group's paragraphs in the importer's order (an article or story), with
an optional headline, byline and subheadings, then a comment group's comments (a thread), with
page chrome written here (counters, "Reply" buttons, timestamps, advertisements) placed the
way news sites show it; one page in ten has no comments. The corpus split is the one training
uses (same ``min_words``, ``cap``, ``seed`` and ``test_share``), so test pages hold only texts
the shipped model never saw. Pages from the training split fit ``SegmentParams`` by a grid
search, scored out of fold (see ``out_of_fold``); pages from the test split, scored by the
shipped model, evaluate the fitted costs and the per-block argmax for comparison.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from model.artifact import DEFAULT_DIR
from model.atomic import atomic_open
from model.progress import say
from model.features import DEFAULT_BLOCKS, build_pipeline
from model.labels import COMMENT, EDITORIAL
from model.scoring import FastScorer
from model.segment import (
    OTHER,
    SEGMENT_LABELS,
    SegmentParams,
    argmax_codes,
    block_features,
    decode_codes,
    emissions,
)
from training.data import cap_sources, clean, load_corpora, source_weights, split_by_group
from training.records import Record

# The corpus settings of training (python -m training's defaults).
MIN_WORDS, CAP, SPLIT_SEED, TEST_SHARE = 3, 4000, 0, 0.2
DATA_SETTING = "COMMENT_CLASSIFIER_DATA"


@dataclass(frozen=True)
class Page:
    """A synthetic page: its blocks, their true labels, and where its texts came from."""

    blocks: tuple[str, ...]
    labels: tuple[str, ...]
    article_source: str = ""
    comment_source: str = ""


# --- Chrome and furniture written for the synthetic pages --------------------------------

_FIRST = "Anna Mark Priya Tom Sarah Luis Mei Omar Claire Dave Fatima John Ines Raj Linda Kwame".split()
_LAST = "Smith Chen Patel O'Brien Garcia Nguyen Kowalski Martin Okafor Rossi Dubois Singh".split()
_HANDLES = (
    "jdoe42", "concerned_citizen", "GreatWhiteNorth", "oldtimer_99", "TorontoReader", "mike.r",
    "Sceptic101", "bluebird", "NotAnExpert", "realist_1970", "Karen_B", "ZedX", "anon", "Guest",
)
_MONTHS = "January February March April May June July August September October November December".split()
_HEADLINES = (
    "Talks stall as deadline nears", "Minister defends budget plan", "What we know so far",
    "Markets slide on rate fears", "Council backs housing plan", "Rescue efforts continue",
    "A rare ally of North Korea", "Court rules against the government", "Inside the new strategy",
)
_SUBHEADINGS = (
    "What happens next", "Background", "Why it matters", "A noteworthy visit", "Reaction",
    "The numbers", "Looking ahead", "A long road", "Mixed signals", "Key questions remain",
)


def _user(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(_HANDLES)
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)[0]}." if rng.random() < 0.5 else rng.choice(_FIRST)


def _ago(rng: random.Random) -> str:
    n = rng.randint(1, 23)
    unit = rng.choice(("minute", "hour", "day", "week", "month"))
    return rng.choice((f"{n} {unit}{'s' if n > 1 else ''} ago", f"{n}{unit[0]} ago", "just now", "Yesterday"))


def _date(rng: random.Random) -> str:
    month, day, year = rng.choice(_MONTHS), rng.randint(1, 28), rng.randint(2015, 2025)
    hour, minute = rng.randint(1, 12), rng.randint(0, 59)
    clock = f"{hour}:{minute:02d} {rng.choice(('AM', 'PM', 'a.m.', 'p.m.'))}"
    return rng.choice((
        f"{month[:3]} {day}, {year} {clock}", f"{month} {day}, {year}", f"{day} {month} {year}",
        f"{year}-{rng.randint(1, 12):02d}-{day:02d}", f"{month[:3]}. {day}, {year} at {clock} ET",
        f"{day:02d}/{rng.randint(1, 12):02d}/{year}",
    ))


def _count(rng: random.Random) -> int:
    return rng.choice((rng.randint(1, 9), rng.randint(10, 400)))


def _chrome(kind: str, rng: random.Random) -> str:
    """One line of page chrome of the given kind, with random numbers, names and times."""
    n = _count(rng)
    choices = {
        "head": (f"Published {_date(rng)}", f"Updated {_ago(rng)}", _date(rng), f"{rng.randint(2, 12)} min read",
                 "Share", "Share this article", f"{n} Comments"),
        "middle": ("Advertisement", "ADVERTISEMENT", "Story continues below advertisement",
                   f"Read more: {rng.choice(_HEADLINES)}", "Continue reading the main story"),
        "end": ("Share this article", "Follow us on Twitter", "Sign up for our newsletter", "Related Topics",
                "Share", "Print", "Most read", "Subscribe"),
        "header": (f"{n} Comments", f"Comments ({n})", "Comments", "Join the conversation", "Sign in to comment",
                   "Sort by: Newest", f"{n} comments", "Show comments", "Have your say"),
        "before": (f"{_user(rng)} · {_ago(rng)}", f"{_user(rng)} {_ago(rng)}", f"Posted by {_user(rng)}",
                   f"{_user(rng)} | {_date(rng)}"),
        "after": ("Reply", "Like · Reply", "Reply · Report", f"Reply{rng.randint(1, 9)} Comment(s)", f"{n} likes",
                  f"Like ({n})", "Report", "Share", _ago(rng), f"Reply · {n} Likes", f"▲ {n} ▼", "Flag"),
        "footer": ("Load more comments", f"Show {rng.randint(2, 20)} more replies", f"View all {n} comments",
                   "Load more"),
    }[kind]
    return rng.choice(choices)


def _is_heading(text: str) -> bool:
    return len(text.split()) <= 10 and not text.rstrip().endswith((".", "?", "!", ":", ";", ",", '"'))


# --- Pages ---------------------------------------------------------------------------------


def assemble_page(
    article: Sequence[str],
    comments: Sequence[str],
    rng: random.Random,
    article_source: str = "",
    comment_source: str = "",
) -> Page:
    """Lay out one page: headline, byline and chrome, the article, then the comment thread."""
    blocks: list[tuple[str, str]] = []
    body = list(article)
    # A short unpunctuated paragraph of the article itself makes the best headline; the
    # others stay where the article has them, as subheadings.
    headings = [text for text in body if _is_heading(text)]
    if rng.random() < 0.6:
        if headings:
            body.remove(headings[0])
            title = headings[0]
        else:
            title = rng.choice(_HEADLINES)
        blocks.append((title, EDITORIAL))
    if rng.random() < 0.3:
        names = [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(2)]
        byline = rng.choice((f"By {names[0]}", f"By {names[0]} and {names[1]}", f"By {names[0]}, Staff Reporter"))
        blocks.append((byline, EDITORIAL))
    for _ in range(rng.choice((0, 0, 1, 2))):
        blocks.append((_chrome("head", rng), OTHER))
    # Written subheadings go between paragraphs, never first or last.
    if len(body) >= 3 and rng.random() < 0.3:
        for _ in range(rng.choice((1, 2))):
            body.insert(rng.randint(1, len(body) - 1), rng.choice(_SUBHEADINGS))
    ads = rng.random() < 0.4
    for index, text in enumerate(body):
        if index and ads and rng.random() < 0.15:
            blocks.append((_chrome("middle", rng), OTHER))
        blocks.append((text, EDITORIAL))
    if rng.random() < 0.4:
        blocks.append((_chrome("end", rng), OTHER))
    if comments:
        for _ in range(rng.choice((0, 1, 1, 2))):
            blocks.append((_chrome("header", rng), OTHER))
        before = rng.random() < 0.4
        after = rng.random() < 0.5
        for text in comments:
            if before and rng.random() < 0.9:
                blocks.append((_chrome("before", rng), OTHER))
            blocks.append((text, COMMENT))
            if after and rng.random() < 0.9:
                blocks.append((_chrome("after", rng), OTHER))
        if rng.random() < 0.4:
            blocks.append((_chrome("footer", rng), OTHER))
    elif rng.random() < 0.5:
        blocks.append((rng.choice(("Comments are closed", "Comments are closed for this article")), OTHER))
    texts, labels = zip(*blocks)
    return Page(tuple(texts), tuple(labels), article_source, comment_source)


def threads(records: Iterable[Record], order: dict[Record, int]) -> dict[str, dict[str, list[list[str]]]]:
    """``{label: {source: [texts of one group, in importer order]}}``."""
    groups: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for record in records:
        groups[(record.label, record.source, record.group)].append(record)
    result: dict[str, dict[str, list[list[str]]]] = defaultdict(lambda: defaultdict(list))
    for (label, source, _group), members in sorted(groups.items()):
        members.sort(key=lambda r: order.get(r, 0))
        result[label][source].append([r.text for r in members])
    return result


def _window(items: list[str], size: int, rng: random.Random) -> list[str]:
    # Half the time from the start; otherwise anywhere, so long groups give varied pages.
    if len(items) <= size:
        return list(items)
    start = 0 if rng.random() < 0.5 else rng.randrange(len(items) - size + 1)
    return items[start : start + size]


def build_pages(
    records: Iterable[Record],
    count: int,
    seed: int = 0,
    order: dict[Record, int] | None = None,
    no_comment_share: float = 0.1,
    max_paragraphs: int = 12,
    max_comments: int = 8,
) -> list[Page]:
    """``count`` pages from ``records``: sources drawn evenly, then groups, then windows (seeded)."""
    by_label = threads(records, order or {})
    articles = {s: [g for g in gs if len(g) >= 2] for s, gs in by_label[EDITORIAL].items()}
    articles = {s: gs for s, gs in sorted(articles.items()) if gs}
    comments = dict(sorted(by_label[COMMENT].items()))
    if not articles or not comments:
        raise ValueError("pages need editorial groups of two or more paragraphs and comment groups")
    rng = random.Random(seed)
    pages = []
    for _ in range(count):
        article_source = rng.choice(sorted(articles))
        article = _window(rng.choice(articles[article_source]), rng.randint(2, max_paragraphs), rng)
        comment_source, thread = "", []
        if rng.random() >= no_comment_share:
            comment_source = rng.choice(sorted(comments))
            thread = _window(rng.choice(comments[comment_source]), rng.randint(1, max_comments), rng)
        pages.append(assemble_page(article, thread, rng, article_source, comment_source))
    return pages


def load_split(
    data_dir: Path, progress: Callable[[str], None] | None = None
) -> tuple[list[Record], list[Record], dict[Record, int]]:
    """Training's train and test records, and each record's position in the importers' order."""
    kept, _dropped = clean(load_corpora(data_dir, progress=progress), min_words=MIN_WORDS)
    # clean() keeps the first copy of each text in the importers' order; cap_sources shuffles.
    order = {record: index for index, record in enumerate(kept)}
    train, test = split_by_group(cap_sources(kept, CAP, seed=SPLIT_SEED), test_share=TEST_SHARE, seed=SPLIT_SEED)
    return train, test, order


# --- Scoring --------------------------------------------------------------------------------


def score_blocks(
    pages: Iterable[Page], probability: Callable[[str], float], cache: dict[str, float] | None = None
) -> dict[str, float]:
    """P(editorial) of every distinct block, each scored once."""
    cache = {} if cache is None else cache
    for page in pages:
        for block in page.blocks:
            if block not in cache:
                cache[block] = probability(block)
    return cache


def _fit_fold(params: dict, blocks: Sequence[str], weighted: bool, records: list[Record]) -> FastScorer:
    pipeline = build_pipeline({**params, "clf__random_state": 0}, blocks)
    fit_kwargs = {"clf__sample_weight": source_weights(records)} if weighted else {}
    pipeline.fit([r.text for r in records], [r.label for r in records], **fit_kwargs)
    return FastScorer(pipeline)


def out_of_fold(
    train: list[Record], card: dict, fallback: Callable[[str], float], jobs: int = 2
) -> Callable[[str], float]:
    """P(editorial) for training texts from a model that never saw their group.

    The shipped model has learnt the training texts, so its probabilities on them are far
    surer than on new pages (accuracy near 1 against 0.93 held out), and costs fitted to
    them would trust the classifier too much. The training split is halved by group; a
    pipeline with the shipped model's hyperparameters, fitted on each half, scores the other.
    Texts of neither half (the chrome and headings written here) go to ``fallback``.
    """
    from joblib import Parallel, delayed

    params = dict(card.get("hyperparameters") or {})
    blocks = params.pop("blocks", None) or DEFAULT_BLOCKS
    weighted = str(card.get("data", {}).get("weighting", "")).startswith("equal")
    halves = split_by_group(train, test_share=0.5, seed=SPLIT_SEED + 1)
    scorers = Parallel(n_jobs=jobs)(delayed(_fit_fold)(params, blocks, weighted, half) for half in reversed(halves))
    scorer_of = {record.text: scorer for half, scorer in zip(halves, scorers) for record in half}

    def probability(text: str) -> float:
        scorer = scorer_of.get(text)
        return scorer.probability(text) if scorer else fallback(text)

    return probability


@dataclass(frozen=True)
class PageBatch:
    """Pages as arrays for decoding many at once: block features, true label codes, lengths."""

    features: np.ndarray  # (pages, longest, features) from model.segment.block_features
    truth: np.ndarray  # (pages, longest) indices into SEGMENT_LABELS, -1 past a page's end
    lengths: np.ndarray  # (pages,)

    @classmethod
    def of(cls, pages: Sequence[Page], scores: dict[str, float]) -> "PageBatch":
        """Stack ``pages``, with each block's P(editorial) from ``scores``."""
        longest = max((len(page.blocks) for page in pages), default=0)
        features = np.zeros((len(pages), longest, block_features(["x"], [0.5]).shape[1]))
        truth = np.full((len(pages), longest), -1, dtype=np.int8)
        for index, page in enumerate(pages):
            n = len(page.blocks)
            features[index, :n] = block_features(page.blocks, [scores[b] for b in page.blocks])
            truth[index, :n] = [SEGMENT_LABELS.index(label) for label in page.labels]
        return cls(features, truth, np.array([len(page.blocks) for page in pages]))

    def segment(self, params: SegmentParams) -> np.ndarray:
        """The segmenter's label codes for every page."""
        return decode_codes(emissions(self.features, params), self.lengths, params)

    def argmax(self, params: SegmentParams) -> np.ndarray:
        """The per-block argmax label codes (see ``model.segment.argmax_labels``)."""
        codes = argmax_codes(emissions(self.features, params))
        return np.where(self.truth >= 0, codes, -1).astype(np.int8)


_COMMENT_CODE = SEGMENT_LABELS.index(COMMENT)


def first_comment(codes: np.ndarray) -> np.ndarray:
    """Index of each page's first comment block, -1 when it has none."""
    is_comment = codes == _COMMENT_CODE
    return np.where(is_comment.any(axis=1), is_comment.argmax(axis=1), -1)


def evaluate(batch: PageBatch, codes: np.ndarray) -> dict:
    """Block accuracy, exact comment-boundary rate and per-label accuracy (recall)."""
    real = batch.truth >= 0
    right = (codes == batch.truth) & real
    blocks = int(real.sum())
    per_label = {}
    for code, label in enumerate(SEGMENT_LABELS):
        of_label = batch.truth == code
        if of_label.any():
            per_label[label] = round(float(right[of_label].mean()), 4)
    return {
        "pages": len(batch.lengths),
        "blocks": blocks,
        "block_accuracy": round(float(right.sum() / blocks), 4) if blocks else None,
        "boundary_exact": round(float((first_comment(codes) == first_comment(batch.truth)).mean()), 4)
        if len(batch.lengths) else None,
        "per_label": per_label,
    }


# The grid of the fit. leave_comments stops at 8: synthetic threads never turn back into an
# article, so a larger cost always looks better here, while real pages (an article after a
# "most read" box, a second story) sometimes do.
GRID = {
    "full_evidence_words": (8, 16, 24, 32, 48),
    "max_evidence": (1.5, 2.0, 3.0, 5.0),
    "comment_chrome_in_article": (1.0, 2.0, 3.0, 4.0),
    "header_after_comments": (2.0, 4.0, 6.0, 8.0),
    "enter_comments": (0.25, 0.5, 1.0, 2.0),
    "leave_comments": (4.0, 6.0, 8.0),
}


def objective(metrics: dict) -> float:
    """What the fit maximises: block accuracy plus exact-boundary rate."""
    return metrics["block_accuracy"] + metrics["boundary_exact"]


def fit(batch: PageBatch, grid: dict = GRID, base: SegmentParams = SegmentParams()) -> tuple[SegmentParams, dict]:
    """The grid point with the best ``objective`` on ``batch`` (the first one on ties)."""
    best, best_value, best_metrics = base, -1.0, None
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        candidate = replace(base, **dict(zip(keys, values)))
        metrics = evaluate(batch, batch.segment(candidate))
        value = objective(metrics)
        if value > best_value + 1e-9:
            best, best_value, best_metrics = candidate, value, metrics
    return best, best_metrics


def boundary_by_source(pages: Sequence[Page], batch: PageBatch, codes: np.ndarray) -> dict[str, float]:
    """Exact-boundary rate by comment source (``(none)`` for pages without comments)."""
    exact = first_comment(codes) == first_comment(batch.truth)
    hits, totals = Counter(), Counter()
    for page, hit in zip(pages, exact):
        key = page.comment_source or "(none)"
        totals[key] += 1
        hits[key] += bool(hit)
    return {key: round(hits[key] / totals[key], 3) for key in sorted(totals)}


# --- Command line ---------------------------------------------------------------------------


def evaluate_segmenter(data_dir: Path, probability: Callable[[str], float], pages: int = 500,
                       seed: int = 0, no_comment_share: float = 0.1) -> dict:
    """Block accuracy and boundary rate of the default SegmentParams on held-out test pages,
    with block probabilities from ``probability`` (for the model card)."""
    _train, test, order = load_split(data_dir)
    test_pages = build_pages(test, pages, seed=seed + 1, order=order, no_comment_share=no_comment_share)
    batch = PageBatch.of(test_pages, score_blocks(test_pages, probability))
    params = SegmentParams()
    return {
        "pages": len(test_pages),
        "params": asdict(params),
        "segment": evaluate(batch, batch.segment(params)),
        "argmax": evaluate(batch, batch.argmax(params)),
    }


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m training.pages``."""
    parser = argparse.ArgumentParser(prog="python -m training.pages", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(DATA_SETTING),
                        help=f"folder of public corpora (default: ${DATA_SETTING})")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_DIR, help="model folder (default: model/)")
    parser.add_argument("--pages", type=int, default=500, help="test pages to evaluate (and training pages to fit)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the page assembly")
    parser.add_argument("--no-comment-share", type=float, default=0.1, help="share of pages without comments")
    parser.add_argument("--no-fit", action="store_true", help="evaluate the current SegmentParams defaults")
    parser.add_argument("--jobs", type=int, default=2, help="parallel out-of-fold fits")
    parser.add_argument("--out", type=Path, help="write the fitted parameters and figures as JSON here")
    return parser


def _format(name: str, metrics: dict) -> str:
    labels = "  ".join(f"{k} {v:.4f}" for k, v in metrics["per_label"].items())
    return (f"{name:<10} block accuracy {metrics['block_accuracy']:.4f}  boundary exact "
            f"{metrics['boundary_exact']:.4f}  per label: {labels}")


def main(argv: list[str] | None = None) -> int:
    """Fit the segmenter on training pages, evaluate on test pages, print (and write) the figures."""
    from model.classifier import Classifier

    args = build_parser().parse_args(argv)
    if args.data_dir is None:
        raise SystemExit(f"no data folder: give --data-dir or set {DATA_SETTING}")
    started = time.perf_counter()
    classifier = Classifier.load(args.model_dir)
    say("importing the corpora ...")
    train, test, order = load_split(args.data_dir)
    train_pages = build_pages(train, args.pages, seed=args.seed, order=order, no_comment_share=args.no_comment_share)
    test_pages = build_pages(test, args.pages, seed=args.seed + 1, order=order, no_comment_share=args.no_comment_share)
    test_scores = score_blocks(test_pages, classifier.editorial_probability)
    if args.no_fit:
        params, fitted = SegmentParams(), None
    else:
        say(f"fitting two out-of-fold classifiers on the training split ({time.perf_counter() - started:.0f}s) ...")
        probability = out_of_fold(train, classifier.card, classifier.editorial_probability, args.jobs)
        train_scores = score_blocks(train_pages, probability)
        settings = len(list(itertools.product(*GRID.values())))
        say(f"grid search over {settings} settings ({time.perf_counter() - started:.0f}s) ...")
        params, fitted = fit(PageBatch.of(train_pages, train_scores))
    test_batch = PageBatch.of(test_pages, test_scores)
    segmented = test_batch.segment(params)
    result = {
        "params": asdict(params),
        "model_version": classifier.version,
        "fit": {"pages": len(train_pages), "split": "train", "probabilities": "out-of-fold",
                "grid": {k: list(v) for k, v in GRID.items()}, "metrics": fitted} if fitted else None,
        "test": {"segment": evaluate(test_batch, segmented),
                 "argmax": evaluate(test_batch, test_batch.argmax(params)),
                 "boundary_by_comment_source": boundary_by_source(test_pages, test_batch, segmented)},
        "seed": args.seed,
        "no_comment_share": args.no_comment_share,
    }
    print(f"model {classifier.version}; {len(test_pages)} test pages, {result['test']['segment']['blocks']} blocks")
    print("params " + json.dumps(result["params"]))
    if fitted:
        print(_format("fit/train", fitted))
    print(_format("segment", result["test"]["segment"]))
    print(_format("argmax", result["test"]["argmax"]))
    print("boundary exact by comment source: " + json.dumps(result["test"]["boundary_by_comment_source"]))
    if args.out:
        with atomic_open(args.out, "w") as handle:
            json.dump(result, handle, indent=2)
        print(f"wrote {args.out}")
    say(f"done in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
