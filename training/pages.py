"""Scraped pages built from real text and real comment-system strings: evaluate and fit the segmenter.

    python -m training.pages --data-dir ../shared/data --evaluate [--write | --write-params] [--out figures.json]
        [--seeds 0,1,2,3,4,5] [--fit-each-set] [--fit likelihood|ascent] [--keep seed|none] [--cache .cache/pages]
        [--review-precision 0.97]

A page is an editorial group's paragraphs in the importer's order (an article), then a comment
group's comments (a thread), laid out the way one comment system renders them: its section
header and sort menu or sign-in prompt, each comment's meta line ("jdoe42 · 3 hours ago") and
controls ("Reply · Report", "3 replies"), status notices and a "load more" line; the page's own
chrome (share links, "Published ...") around the article. Every chrome line is a string of
``model/segment_data/strings.tsv`` with its placeholders filled in; none is written here. Where
the article's source keeps headlines (``training.data.load_titles``), most pages open with the
article's own headline (``HEADLINE_SHARE``).

``--evaluate`` measures out of vocabulary and out of source. The comment systems and the text
sources (editorial and comment, each) are split in two halves. In each of two folds, a
classifier (``model.features.build_pipeline``) and a chrome detector are trained on one half;
pages are built from the other half's texts and strings, with placeholder values from a pool
the detector never saw; a share of the comment sections open with no header
(``HEADERLESS_SHARE``). The decoder's costs are fitted by the pages' likelihood
(``fit_likelihood``, on the likelihood's gradient; ``--fit ascent``: by coordinate ascent from the
neutral costs and from ``FIT_RESTARTS`` starts drawn from the grid; ``protect`` is held at
``PROTECT`` either way) on one fold's pages and reported on the other's (cross-fitted), against
each block's own label (argmax). Every fit keeps the seed page right (``--keep none``: none), and
the figures include the built pages shaped like it (``seed_like``) and the seed page itself.
``--seeds`` measures several sets of pages (the same classifiers and detectors) and reports
their means, a fold's costs fitted once on every set's pages of the other fold (with
``--fit-each-set``, on each set's alone); ``--cache`` keeps the scored pages between runs. With
``--write`` the costs fitted on both folds' pages go to ``model/segment_data/params.json``, and
a chrome detector trained on every system and source to ``model/segment_data/chrome.json.gz``:
rerun it after the classifier is retrained (``--write-params`` writes the costs alone).

The page band (how sure the page must be of a block's label to decide it, ``choose_page_band``)
is chosen the same way: each fold's on the pages its costs were fitted on, reported on its own
pages beside the decisions of the blocks' own scores in the text band; the shipped one on both
folds' pages, into ``params.json`` with the costs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from model.chrome import (
    TEXT,
    ChromeDetector,
    ChromeString,
    controls_line,
    load_strings,
    make_names,
    meta_line,
    render,
    rendered_lines,
    systems,
)
from model.atomic import atomic_open
from model.features import build_pipeline
from model.progress import say
from model.labels import COMMENT, EDITORIAL
from model.segment import (
    N_FEATURES,
    NEVER_SURE,
    OTHER,
    PARAMS_FILE,
    SEGMENT_LABELS,
    TRANSITION_COSTS,
    SegmentParams,
    _transitions,
    argmax_codes,
    block_features,
    decode_codes,
    emissions,
    expected_counts,
    label_posteriors,
    log_partition,
    score_gradient,
    states_emitting,
)
from training.calibration import _deepest_cut, _edge, expected_calibration_error
from training.data import cap_sources, clean, load_corpora, load_titles, split_by_group
from training.records import Record

# The corpus settings of training (python -m training's defaults), for the card's figure.
MIN_WORDS, CAP, SPLIT_SEED, TEST_SHARE = 3, 4000, 0, 0.2
DATA_SETTING = "COMMENT_CLASSIFIER_DATA"
# Records per source in the evaluation's folds: enough for a classifier, quick on 2 cores.
FOLD_CAP = 1200
# The share of built pages headed by their article's headline, of those whose source keeps one
# (``training.data.load_titles``): real news pages nearly always show one.
HEADLINE_SHARE = 0.85
# The share of built pages whose comment section opens with no header above its first comment
# (a scraper that kept the comments but not the section's title, as on the seed page).
HEADERLESS_SHARE = 0.2
# Whose page chrome a built page shows (``build_pages``): its comment system's own, or a site's.
OWN_SITES, THEME_SITES = "own", "theme"


@dataclass(frozen=True)
class Page:
    """A page: its blocks, their true labels, and where its texts and chrome came from."""

    blocks: tuple[str, ...]
    labels: tuple[str, ...]
    article_source: str = ""
    comment_source: str = ""
    system: str = ""
    # What each block is on the page: headline, body, page (the site's chrome), header, form,
    # meta, comment, controls, notice, more (the section's chrome); used to mark pages up.
    roles: tuple[str, ...] = ()
    site: str = ""  # whose page chrome the page shows (a site theme, CMS or forum)


# --- Layout ------------------------------------------------------------------------------------


def _is_heading(text: str) -> bool:
    return len(text.split()) <= 10 and not text.rstrip().endswith((".", "?", "!", ":", ";", ",", '"'))


def _pick(strings: Sequence[ChromeString], kinds: Iterable[str], rng: random.Random, pool: str,
          names: Sequence[str] | None) -> str | None:
    kinds = set(kinds)
    choices = [s for s in strings if s.kind in kinds]
    return render(rng.choice(choices).template, rng, pool, names) if choices else None


def assemble_page(
    article: Sequence[str],
    comments: Sequence[str],
    rng: random.Random,
    chrome: Sequence[ChromeString],
    pool: str = "a",
    article_source: str = "",
    comment_source: str = "",
    names: Sequence[str] | None = None,
    title: str = "",
    headline_share: float = 0.0,
    system: str = "",
    site: str = "",
    headerless: bool = False,
) -> Page:
    """Lay out one page: the article with page chrome around it, then the comment section of
    the system whose strings ``chrome`` holds (placeholders filled from ``pool``): the ``page``
    strings are the site's chrome, the others the comment system's (``system`` and ``site``
    name them; by default the system of ``chrome``'s first string, for both).

    ``title``: the article's headline, which heads the page (below some of the page's top
    chrome, as navigation stands above a headline) on a share ``headline_share`` of pages;
    otherwise, as on pages whose article has no title, a heading among the paragraphs may.

    ``headerless``: the comment section's header lines are drawn (so the rest of the page is the
    one it would otherwise be) but not laid out: the section opens straight on its first comment's
    meta line or text, as on pages whose scraper kept the comments but not the section's header."""
    blocks: list[tuple[str, str, str]] = []
    system = system or (chrome[0].system if chrome else "")
    site = site or system

    def add_chrome(kinds: Iterable[str], role: str) -> None:
        line = _pick(chrome, kinds, rng, pool, names)
        if line and line.strip():
            blocks.append((line.strip(), OTHER, role))

    body = list(article)
    if title and headline_share > 0 and rng.random() < headline_share:
        top = rng.choice((0, 1, 1, 2))
        above = sum(rng.random() < 0.5 for _ in range(top))
        for _ in range(above):
            add_chrome(("page",), "page")
        blocks.append((title, EDITORIAL, "headline"))
        for _ in range(top - above):
            add_chrome(("page",), "page")
    else:
        headings = [text for text in body if _is_heading(text)]
        if headings and rng.random() < 0.6:
            body.remove(headings[0])
            blocks.append((headings[0], EDITORIAL, "headline"))
        for _ in range(rng.choice((0, 1, 1, 2))):
            add_chrome(("page",), "page")
    for index, text in enumerate(body):
        if index and rng.random() < 0.05:
            add_chrome(("page",), "page")
        blocks.append((text, EDITORIAL, "body"))
    for _ in range(rng.choice((0, 1, 2))):
        add_chrome(("page",), "page")
    if comments:
        opened = len(blocks)
        for _ in range(rng.choice((1, 1, 2, 3))):
            add_chrome(("header", "form"), "header")
        if headerless:
            del blocks[opened:]
        before, after = rng.random() < 0.7, rng.random() < 0.7
        for text in comments:
            if before and rng.random() < 0.9:
                blocks.append((meta_line(chrome, rng, pool, names), OTHER, "meta"))
            blocks.append((text, COMMENT, "comment"))
            if after and rng.random() < 0.9:
                line = controls_line(chrome, rng, pool, names)
                if line:
                    blocks.append((line, OTHER, "controls"))
            if rng.random() < 0.05:
                add_chrome(("notice",), "notice")
        if rng.random() < 0.4:
            add_chrome(("item",), "more")
        if rng.random() < 0.3:
            add_chrome(("form",), "form")
    elif rng.random() < 0.5:
        add_chrome(("header",), "header")
    texts, labels, roles = zip(*blocks)
    return Page(tuple(texts), tuple(labels), article_source, comment_source, system, tuple(roles), site)


def threads(records: Iterable[Record], order: dict[Record, int]) -> dict[str, dict[str, list[list[str]]]]:
    """``{label: {source: [texts of one group, in importer order]}}``."""
    return {label: {source: [texts for _group, texts in groups] for source, groups in by_source.items()}
            for label, by_source in named_threads(records, order).items()}


def named_threads(records: Iterable[Record],
                  order: dict[Record, int]) -> dict[str, dict[str, list[tuple[str, list[str]]]]]:
    """``{label: {source: [(group, texts of the group in importer order)]}}``."""
    groups: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for record in records:
        groups[(record.label, record.source, record.group)].append(record)
    result: dict[str, dict[str, list[tuple[str, list[str]]]]] = defaultdict(lambda: defaultdict(list))
    for (label, source, group), members in sorted(groups.items()):
        members.sort(key=lambda r: order.get(r, 0))
        result[label][source].append((group, [r.text for r in members]))
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
    chrome: Sequence[ChromeString],
    seed: int = 0,
    order: dict[Record, int] | None = None,
    pool: str = "a",
    no_comment_share: float = 0.1,
    max_paragraphs: int = 12,
    max_comments: int = 8,
    names: Sequence[str] | None = None,
    titles: dict[str, str] | None = None,
    headline_share: float = 0.0,
    site_chrome: str = OWN_SITES,
    headerless_share: float = 0.0,
) -> list[Page]:
    """``count`` pages from ``records`` and the systems of ``chrome``: sources and systems drawn
    evenly, then groups, then windows (seeded). ``titles``: headlines by record group (see
    ``training.data.load_titles``), which head ``headline_share`` of the pages whose article has one.
    ``site_chrome``: whose page chrome a page shows, ``own`` (its comment system's) or ``theme``
    (any system's with page strings: site themes and CMSs too). ``headerless_share``: the share of
    pages whose comment section opens with no header (``assemble_page``), drawn from a stream of its
    own so that the pages are otherwise those of a share of 0."""
    by_label = named_threads(records, order or {})
    titles = titles or {}
    articles = {s: [g for g in gs if len(g[1]) >= 2] for s, gs in by_label[EDITORIAL].items()}
    articles = {s: gs for s, gs in sorted(articles.items()) if gs}
    comments = dict(sorted(by_label[COMMENT].items()))
    if not articles or not comments:
        raise ValueError("pages need editorial groups of two or more paragraphs and comment groups")
    by_system: dict[str, list[ChromeString]] = defaultdict(list)
    for string in chrome:
        by_system[string.system].append(string)
    # A page shows a comment system's section (the strings of other kinds than ``page``) and a
    # site's own chrome (the ``page`` strings): those of the comment system itself (``own``: a
    # forum's page, or none for a widget that publishes no page strings), or of any system that
    # publishes page strings (``theme``: a site theme or CMS embedding the comment system).
    # Systems with page strings only (site themes) are never a page's comment system.
    sections = sorted(name for name, members in by_system.items() if any(s.kind != "page" for s in members))
    sites = sorted(name for name, members in by_system.items() if any(s.kind == "page" for s in members))
    if not sections:
        raise ValueError("pages need the strings of at least one comment system")
    rng, header_rng = random.Random(seed), random.Random(f"headerless {seed}")
    pages = []
    for _ in range(count):
        article_source = rng.choice(sorted(articles))
        group, paragraphs = rng.choice(articles[article_source])
        article = _window(paragraphs, rng.randint(2, max_paragraphs), rng)
        comment_source, thread = "", []
        if rng.random() >= no_comment_share:
            comment_source = rng.choice(sorted(comments))
            thread = _window(rng.choice(comments[comment_source])[1], rng.randint(1, max_comments), rng)
        system = rng.choice(sections)
        site = rng.choice(sites) if sites and site_chrome == THEME_SITES else system
        strings = ([s for s in by_system[system] if s.kind != "page"]
                   + [s for s in by_system[site] if s.kind == "page"])
        pages.append(assemble_page(article, thread, rng, strings, pool, article_source, comment_source, names,
                                   titles.get(group, ""), headline_share, system=system, site=site,
                                   headerless=header_rng.random() < headerless_share))
    return pages


# --- Folds -------------------------------------------------------------------------------------


def halves(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Sorted names dealt alternately into two halves."""
    ordered = sorted(set(names))
    return ordered[0::2], ordered[1::2]


@dataclass(frozen=True)
class Fold:
    """What one side learns from and what the other side's pages are built from."""

    name: str
    train_sources: tuple[str, ...]
    test_sources: tuple[str, ...]
    train_systems: tuple[str, ...]
    test_systems: tuple[str, ...]


def make_folds(records: Sequence[Record], strings: Sequence[ChromeString]) -> list[Fold]:
    """Two folds: editorial sources, comment sources and systems each split in halves, then swapped."""
    ed_a, ed_b = halves(r.source for r in records if r.label == EDITORIAL)
    co_a, co_b = halves(r.source for r in records if r.label == COMMENT)
    sys_a, sys_b = halves(systems(strings))
    a, b = tuple(sorted(ed_a + co_a)), tuple(sorted(ed_b + co_b))
    return [Fold("A->B", a, b, tuple(sys_a), tuple(sys_b)), Fold("B->A", b, a, tuple(sys_b), tuple(sys_a))]


def load_records(data_dir: Path, cap: int = FOLD_CAP, seed: int = SPLIT_SEED,
                 progress: Callable[[str], None] | None = None) -> tuple[list[Record], dict[Record, int]]:
    """Cleaned records, at most ``cap`` per source (whole groups first), and the importers' order."""
    kept, _dropped = clean(load_corpora(data_dir, progress=progress), min_words=1)
    order = {record: index for index, record in enumerate(kept)}
    return cap_groups(kept, cap, seed), order


def cap_groups(records: Sequence[Record], cap: int, seed: int = 0) -> list[Record]:
    """At most about ``cap`` records per source, taking whole groups in a seeded order."""
    by_source: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        by_source[record.source][record.group].append(record)
    rng = random.Random(seed)
    kept = []
    for source in sorted(by_source):
        groups = sorted(by_source[source])
        rng.shuffle(groups)
        taken = 0
        for group in groups:
            if taken >= cap:
                break
            kept.extend(by_source[source][group])
            taken += len(by_source[source][group])
    return kept


def text_lines(records: Sequence[Record], rng: random.Random, count: int = 6000) -> list[str]:
    """Text lines for the detector: every short record (headings, one-line comments), then others."""
    short = [r.text for r in records if len(r.text.split()) <= 12]
    longer = [r.text for r in records if len(r.text.split()) > 12]
    rng.shuffle(short)
    rng.shuffle(longer)
    chosen = short[: count // 2]
    return chosen + longer[: count - len(chosen)]


def corpus_names(records: Sequence[Record], pool: str, seed: int = 0) -> list[str]:
    """User names made from the capitalised words of ``records`` (see ``model.chrome.make_names``)."""
    return make_names((w for r in records for w in r.text.split()), pool, seed=seed)


def train_detector(strings: Sequence[ChromeString], records: Sequence[Record], seed: int = 0,
                   pool: str = "a") -> ChromeDetector:
    """A chrome detector learnt from ``strings`` (rendered from ``pool``) against ``records``' texts."""
    rng = random.Random(seed)
    chrome = rendered_lines(strings, rng, pool=pool, names=corpus_names(records, pool, seed))
    texts = text_lines(records, rng, count=max(2 * len(chrome), 4000))
    lines = [line for line, _ in chrome] + texts
    classes = [kind for _, kind in chrome] + [TEXT] * len(texts)
    return ChromeDetector.fit(lines, classes)


def train_classifier(records: Sequence[Record]):
    """The classifier's pipeline (default hyperparameters) fitted on ``records``."""
    pipeline = build_pipeline({"clf__random_state": 0})
    pipeline.fit([r.text for r in records], [r.label for r in records])
    from model.scoring import FastScorer

    return FastScorer(pipeline)


# --- Scoring and metrics ----------------------------------------------------------------------


@dataclass(frozen=True)
class PageBatch:
    """Pages as arrays for decoding many at once: block features, true label codes, lengths."""

    features: np.ndarray  # (pages, longest, N_FEATURES) from model.segment.block_features
    truth: np.ndarray  # (pages, longest) indices into SEGMENT_LABELS, -1 past a page's end
    lengths: np.ndarray  # (pages,)

    @classmethod
    def of(cls, pages: Sequence[Page], probability: Callable[[str], float] | dict,
           detector: ChromeDetector | None = None) -> "PageBatch":
        """Stack ``pages``, each block scored by ``probability`` (a function or a mapping) and the detector."""
        score = probability.__getitem__ if isinstance(probability, dict) else probability
        longest = max((len(page.blocks) for page in pages), default=0)
        features = np.zeros((len(pages), longest, N_FEATURES))
        truth = np.full((len(pages), longest), -1, dtype=np.int8)
        distinct = sorted({b for page in pages for b in page.blocks})
        p = dict(zip(distinct, (score(b) for b in distinct)))
        chrome = dict(zip(distinct, detector.probabilities(distinct) if detector else [None] * len(distinct)))
        for index, page in enumerate(pages):
            n = len(page.blocks)
            rows = None if detector is None else np.array([chrome[b] for b in page.blocks])
            features[index, :n] = block_features(page.blocks, [p[b] for b in page.blocks], rows)
            truth[index, :n] = [SEGMENT_LABELS.index(label) for label in page.labels]
        return cls(features, truth, np.array([len(page.blocks) for page in pages]))

    @classmethod
    def concat(cls, batches: Sequence["PageBatch"]) -> "PageBatch":
        """One batch of all pages of ``batches``."""
        longest = max(b.features.shape[1] for b in batches)
        pad = [(lambda b: ((0, 0), (0, longest - b.features.shape[1])))(b) for b in batches]
        features = np.concatenate([np.pad(b.features, p + ((0, 0),)) for b, p in zip(batches, pad)])
        truth = np.concatenate([np.pad(b.truth, p, constant_values=-1) for b, p in zip(batches, pad)])
        return cls(features, truth, np.concatenate([b.lengths for b in batches]))

    def segment(self, params: SegmentParams) -> np.ndarray:
        """The segmenter's label codes for every page."""
        return decode_codes(emissions(self.features, params), self.lengths, params)

    def argmax(self, params: SegmentParams) -> np.ndarray:
        """Each block's own label codes (see ``model.segment.argmax_labels``)."""
        codes = argmax_codes(emissions(self.features, replace(params, protect=2.0)))
        return np.where(self.truth >= 0, codes, -1).astype(np.int8)


_COMMENT_CODE = SEGMENT_LABELS.index(COMMENT)


def first_comment(codes: np.ndarray) -> np.ndarray:
    """Index of each page's first comment block, -1 when it has none."""
    is_comment = codes == _COMMENT_CODE
    return np.where(is_comment.any(axis=1), is_comment.argmax(axis=1), -1)


def evaluate(batch: PageBatch, codes: np.ndarray) -> dict:
    """Block accuracy, exact comment-boundary rate, and precision and recall of each label."""
    real = batch.truth >= 0
    right = (codes == batch.truth) & real
    blocks = int(real.sum())
    per_label = {}
    for code, label in enumerate(SEGMENT_LABELS):
        truly, said = (batch.truth == code) & real, (codes == code) & real
        if truly.any() or said.any():
            per_label[label] = {
                "precision": round(float((truly & said).sum() / said.sum()), 4) if said.any() else None,
                "recall": round(float((truly & said).sum() / truly.sum()), 4) if truly.any() else None,
                "blocks": int(truly.sum()),
            }
    return {
        "pages": len(batch.lengths),
        "blocks": blocks,
        "block_accuracy": round(float(right.sum() / blocks), 4) if blocks else None,
        "boundary_exact": round(float((first_comment(codes) == first_comment(batch.truth)).mean()), 4)
        if len(batch.lengths) else None,
        "per_label": per_label,
    }


def overturns(batch: PageBatch, params: SegmentParams, levels: Sequence[float] = (0.8, 0.9, 0.95, 0.99)) -> dict:
    """How often context changed a text block's own label, by the block's own confidence.

    For blocks of full evidence that the detector takes for text and whose own P(label) is at
    least each level: how many there are, the share whose label context changed, and the share
    of those changes that were right.
    """
    segmented = batch.segment(params)
    own = batch.argmax(params)
    real = batch.truth >= 0
    logit = batch.features[..., 0]
    words = batch.features[..., 1]
    text = batch.features[..., 3] >= np.log(0.5)
    p_own = 1.0 / (1.0 + np.exp(-np.abs(logit)))
    result = {}
    for level in levels:
        chosen = real & text & (words >= params.full_evidence_words) & (p_own >= level) & (own != 2)
        changed = chosen & (segmented != own)
        result[str(level)] = {
            "blocks": int(chosen.sum()),
            "changed": round(float(changed.sum() / chosen.sum()), 4) if chosen.any() else None,
            "changes_right": round(float((changed & (segmented == batch.truth)).sum() / changed.sum()), 4)
            if changed.any() else None,
        }
    return result


# --- Decisions on a page ---------------------------------------------------------------------
# A block's decision on a page comes from the page's probabilities of its label
# (``model.segment.page_decision``); the band they are held to is chosen here, on held-out pages.

# What a decision outside the page band must be right in, as the text band's default
# (``python -m training --review-precision``).
PAGE_PRECISION = 0.97
# The precisions whose page bands the evaluation also reports (each fold's chosen on the other's pages).
PAGE_OPERATING_POINTS = (0.95, 0.97, 0.98, 0.99)
_E_CODE, _C_CODE = SEGMENT_LABELS.index(EDITORIAL), SEGMENT_LABELS.index(COMMENT)


def page_sides(batch: PageBatch, params: SegmentParams) -> dict:
    """The text blocks each label was given (``editorial``, ``comment``: masks over the batch),
    the page's probabilities of each label and the true labels."""
    codes = batch.segment(params)
    page = label_posteriors(emissions(batch.features, params), batch.lengths, params)
    real = batch.truth >= 0
    return {"editorial": real & (codes == _E_CODE), "comment": real & (codes == _C_CODE), "page": page,
            "truth": batch.truth}


def choose_page_band(batch: PageBatch, params: SegmentParams, precision: float = PAGE_PRECISION) -> tuple[float, float]:
    """The least page P(editorial) and P(comment) at which each label's decisions on ``batch``
    are at least ``precision`` right, each as low as that allows (as
    ``training.calibration.choose_review_band`` chooses each edge of the text band)."""
    sides = page_sides(batch, params)
    least = []
    for code, name in ((_E_CODE, "editorial"), (_C_CODE, "comment")):
        values = sides["page"][..., code][sides[name]]
        right = sides["truth"][sides[name]] == code
        down = np.argsort(-values, kind="stable")
        cut = _deepest_cut(values[down], right[down], precision, np.ones(len(values)))
        least.append(_edge(values[down], cut, beyond=NEVER_SURE))
    return least[0], least[1]


def with_page_band(params: SegmentParams, batch: PageBatch, precision: float = PAGE_PRECISION) -> SegmentParams:
    """``params`` with the page band ``choose_page_band`` picks on ``batch``."""
    editorial, comment = choose_page_band(batch, params, precision)
    return replace(params, page_editorial=editorial, page_comment=comment)


def page_band_figures(batch: PageBatch, params: SegmentParams, least: tuple[float, float],
                      text_band: tuple[float, float] | None = None) -> dict:
    """What the page band (``least``: ``SegmentParams.page_band``) does to the text blocks of
    ``batch``: the share sent to review and how many of the decisions outside it are right (both
    labels, and each), and how well the page's probability of each block's label says how often
    it is right (``calibration_error``: the expected calibration error over ten bins, on the text
    blocks); with ``text_band``, the same for the decisions made on each block's own
    P(editorial) in that band instead (the rule before the page decided)."""
    sides = page_sides(batch, params)
    text = sides["editorial"] | sides["comment"]
    label = np.where(sides["editorial"], _E_CODE, _C_CODE)
    right = sides["truth"] == label
    decided_e = sides["editorial"] & (sides["page"][..., _E_CODE] >= least[0])
    decided_c = sides["comment"] & (sides["page"][..., _C_CODE] >= least[1])

    def figures(e: np.ndarray, c: np.ndarray) -> dict:
        decided = e | c
        share = lambda part, whole: round(float(part.sum() / whole.sum()), 4) if whole.any() else None  # noqa: E731
        return {"text_blocks": int(text.sum()), "review_share": share(text & ~decided, text),
                "decided_right": share(decided & right, decided),
                "editorial_right": share(e & right, e), "comment_right": share(c & right, c)}

    out = {"least": {EDITORIAL: round(least[0], 4), COMMENT: round(least[1], 4)}, **figures(decided_e, decided_c)}
    if text.any():
        sure = np.where(sides["editorial"], sides["page"][..., _E_CODE], sides["page"][..., _C_CODE])[text]
        out["calibration_error"] = expected_calibration_error(
            [EDITORIAL if r else COMMENT for r in right[text]], sure)
    if text_band is not None:
        p = 1.0 / (1.0 + np.exp(-batch.features[..., 0]))
        outside = (p < text_band[0]) | (p >= text_band[1])
        out["own_scores"] = {"band": list(text_band), **figures(sides["editorial"] & outside, sides["comment"] & outside)}
    return out


def seed_like(page: Page) -> int | None:
    """The index of the page's last comment when the page is shaped like the seed page, else None:
    its comment section opens with no header, and its last comment, with no meta line above it,
    is followed by a single line of controls that ends the page (``Reply1 Comment(s)``)."""
    roles = page.roles
    if "comment" not in roles:
        return None
    last = len(roles) - 1 - roles[::-1].index("comment")
    opening = roles[: roles.index("comment")]
    if "header" in opening or last != len(roles) - 2 or roles[-1] != "controls":
        return None
    if last and roles[last - 1] == "meta":
        return None
    return last


def seed_like_figures(pages: Sequence[Page], batch: PageBatch, params: SegmentParams) -> dict:
    """On ``pages`` (``batch`` holds them) shaped like the seed page (``seed_like``): how many there
    are, and on how many the last comment is labelled a comment, and decided one by the page band."""
    rows = [(index, last) for index, last in enumerate(map(seed_like, pages)) if last is not None]
    if not rows:
        return {"pages": 0, "comment_right": 0, "comment_decided": 0}
    chosen = [index for index, _last in rows]
    part = PageBatch(batch.features[chosen], batch.truth[chosen], batch.lengths[chosen])
    codes = part.segment(params)
    page = label_posteriors(emissions(part.features, params), part.lengths, params)
    lasts = np.array([last for _index, last in rows])
    right = codes[np.arange(len(rows)), lasts] == _C_CODE
    decided = right & (page[np.arange(len(rows)), lasts, _C_CODE] >= params.page_comment)
    return {"pages": len(rows), "comment_right": int(right.sum()), "comment_decided": int(decided.sum())}


def seed_page_figures(keep: PageBatch, params: SegmentParams) -> dict:
    """The seed page (``keep``'s first page) read with ``params``: its blocks labelled right, those
    decided right by the page band, and its comment's page P(comment)."""
    codes = keep.segment(params)[0]
    page = label_posteriors(emissions(keep.features[:1], params), keep.lengths[:1], params)[0]
    n = int(keep.lengths[0])
    truth = keep.truth[0, :n]
    right = codes[:n] == truth
    sure = page[np.arange(n), np.maximum(codes[:n], 0)]
    least = {_E_CODE: params.page_editorial, _C_CODE: params.page_comment}
    decided = right & np.array([code not in least or p >= least[code] for code, p in zip(codes[:n], sure)])
    comments = np.flatnonzero(truth == _C_CODE)
    return {"blocks": n, "right": int(right.sum()), "decided_right": int(decided.sum()),
            "comment_page_p": [round(float(page[i, _C_CODE]), 4) for i in comments],
            "comment_edge": round(params.page_comment, 4)}


def _with_shares(counts: dict) -> dict:
    pages = counts["pages"]
    return {**counts, "comment_right_share": round(counts["comment_right"] / pages, 4) if pages else None,
            "comment_decided_share": round(counts["comment_decided"] / pages, 4) if pages else None}


# The values each cost may take; the fit moves one at a time (coordinate ascent), or the
# costs a tuple names together.
GRID = {
    "enter_comments": (0.1, 0.25, 0.5, 1.0, 2.0, 4.0),
    "leave_comments": (3.0, 4.0, 6.0, 8.0),
    "full_evidence_words": (4, 8, 16, 24, 32, 48),
    "max_evidence": (1.0, 2.0, 3.0, 5.0, 8.0),
    "comment_chrome_in_article": (0.0, 1.0, 2.0, 4.0, 6.0),
    "header_after_comments": (0.0, 2.0, 4.0, 6.0, 8.0),
    "chrome_weight": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    "enter_without_header": (0.0, 1.0, 2.0, 4.0, 8.0),
    "text_bonus": (0.0, 0.35, 0.7, 1.0, 1.5),
    "relative": (0.0, 0.25, 0.5, 0.75, 1.0),
    "opening_weight": (1.0, 2.0, 4.0, 8.0),
    # Moved together: each alone can break the seed page that the other then mends.
    ("enter_without_header", "opening_weight"): tuple(
        (a, b) for a in (0.0, 1.0, 2.0, 4.0) for b in (1.0, 2.0, 4.0, 8.0)),
    ("enter_without_header", "relative"): tuple(
        (a, b) for a in (0.0, 1.0, 2.0, 4.0) for b in (0.0, 0.25, 0.5, 0.75)),
    "header_in_opening_comments": (0.0, 2.0, 4.0, 8.0, 16.0),
    "leave_opening_comments": (3.0, 6.0, 8.0, 16.0, 32.0),
    # Last in the order of the ascent (where they were measured; the order changes which local
    # optimum the ascent ends at: see docs/model.md).
    "split_relative": (0.0, 0.25, 0.5, 0.75, 1.0),
    # The page's two centres share one job: moved together as well as alone.
    ("relative", "split_relative"): tuple(
        (a, b) for a in (0.0, 0.25, 0.5) for b in (0.0, 0.25, 0.5, 0.75, 1.0)),
    "comment_after_comment": (0.0, 0.5, 1.0, 2.0),
    # Last as well: the page top's lean to chrome, added after the costs above were measured.
    "top_chrome": (0.0, 0.5, 1.0, 2.0, 3.0),
}


# Costs added after the others were measured: their starting values are drawn from a stream of
# their own, so the starts of the other costs stay those they were measured with and a variant
# is compared with the same ascents (a new cost drawn from the one stream reshuffled every start).
LATE_COSTS = ("top_chrome",)
# Starts drawn from the grid besides the neutral one, for each fit of the evaluation.
FIT_RESTARTS = 4
# Not fitted: a text block of full evidence whose own P(label) is this or more keeps its label,
# so context never overturns a confident block. (0.95 until the page's split centre and the cost
# of a comment straight after a comment came in; with them 0.99 measured better out of
# vocabulary, and fitting it per fold among 0.9-0.99 also chose 0.99: see docs/model.md.)
PROTECT = 0.99
FIT_BASE = SegmentParams(protect=PROTECT)


def objective(metrics: dict) -> float:
    """What the fit maximises: block accuracy plus exact-boundary rate."""
    return metrics["block_accuracy"] + metrics["boundary_exact"]


def fit(batch: PageBatch, grid: dict = GRID, base: SegmentParams = SegmentParams(),
        rounds: int = 3, keep: PageBatch | None = None, restarts: int = 0, seed: int = 0) -> tuple[SegmentParams, dict]:
    """Coordinate ascent over ``grid`` from ``base``: the best ``objective`` on ``batch`` among
    the costs that label every block of ``keep`` (pages that must stay right) right.

    With ``restarts``, the ascent also starts from that many points drawn from the grid (seeded),
    and the best end point wins: one ascent alone stops at the first point that no single move
    improves. A start that breaks a page of ``keep`` moves to the first candidate that does not."""

    def value(params: SegmentParams) -> tuple[float, dict]:
        metrics = evaluate(batch, batch.segment(params))
        if keep is not None and evaluate(keep, keep.segment(params))["block_accuracy"] < 1.0:
            return -1.0, metrics
        return objective(metrics), metrics

    def ascend(start: SegmentParams) -> tuple[SegmentParams, float, dict]:
        best = start
        best_value, best_metrics = value(best)
        for _ in range(rounds):
            moved = False
            for key, values in grid.items():
                for option in values:
                    # A key may name several costs moved together (a tuple), which a move of one
                    # at a time cannot reach when each alone would break a page of ``keep``.
                    names, chosen = (key, option) if isinstance(key, tuple) else ((key,), (option,))
                    candidate = replace(best, **{name: float(v) for name, v in zip(names, chosen)})
                    candidate_value, metrics = value(candidate)
                    if candidate_value > best_value + 1e-9:
                        best, best_value, best_metrics, moved = candidate, candidate_value, metrics, True
            if not moved:
                break
        return best, best_value, best_metrics

    starts = [base]
    rng, late_rng = random.Random(seed), random.Random(seed + 1)
    single = {k: v for k, v in grid.items() if not isinstance(k, tuple)}
    for _ in range(restarts):
        values = {k: float(rng.choice(v)) for k, v in sorted(single.items()) if k not in LATE_COSTS}
        values.update({k: float(late_rng.choice(v)) for k, v in sorted(single.items()) if k in LATE_COSTS})
        starts.append(replace(base, **values))
    results = [ascend(start) for start in starts]
    best, _value, metrics = max(results, key=lambda r: r[1])
    return best, metrics


# --- Fitting the costs by likelihood ----------------------------------------------------------
# The decoder is a linear-chain model whose costs are log-potentials: the probability of a page's
# true labels given its blocks is the sum over the state paths that emit them, over the sum over
# all paths (both by the forward recursion). Fitting the costs to maximise it on the built pages
# (L-BFGS-B within each cost's range on the grid) uses every block's margin rather than the
# count of right labels, so a small change of the pages moves the fit little, and the page's
# probabilities (``label_posteriors``) come out as probabilities.

# Each cost's range: the grid's, and the cost of a section opening on the page's last block.
LIKELIHOOD_RANGES = {
    **{key: (float(min(values)), float(max(values))) for key, values in GRID.items() if not isinstance(key, tuple)},
    "end_in_opening": (0.0, 8.0),
}
# Weights of the pages that must stay right (the seed page) in the likelihood, tried in turn until
# they decode right: each weighs that many times its blocks.
KEEP_WEIGHTS = (0.0, 10.0, 30.0, 100.0, 300.0, 1000.0)


def page_log_loss(batch: PageBatch, params: SegmentParams) -> np.ndarray:
    """Each page's negative log-probability of its true labels under ``params`` (nats)."""
    scores = emissions(batch.features, params)
    allowed = states_emitting(batch.truth) | (batch.truth < 0)[..., None]
    return log_partition(scores, batch.lengths, params) - log_partition(
        np.where(allowed, scores, -np.inf), batch.lengths, params)


# The step of the finite differences that take each transition cost's effect on the moves between
# states (cheap: a table of 7 x 7); the rest is exact.
_STEP = 1e-6


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, 0.0)


def log_loss_gradient(batch: PageBatch, params: SegmentParams, names: Sequence[str]) -> tuple[float, np.ndarray]:
    """``batch``'s summed log loss (``page_log_loss``) and its gradient with respect to the costs
    ``names``: the expected counts of every state and transition over all the pages' paths, less
    those over the paths of their true labels (``model.segment.expected_counts``), times how each
    cost moves the blocks' scores (``model.segment.score_gradient``) and the transitions. Two
    forward-backward passes, where finite differences of the loss would take two forward passes
    per cost."""
    scores = emissions(batch.features, params)
    allowed = states_emitting(batch.truth) | (batch.truth < 0)[..., None]
    every = expected_counts(scores, batch.lengths, params)
    true = expected_counts(np.where(allowed, scores, -np.inf), batch.lengths, params)
    loss = float((every.log_partition - true.log_partition).sum())
    d_moves, d_starts = every.moves - true.moves, every.starts - true.starts
    on_scores = score_gradient(batch.features, params, every.states - true.states)
    gradient = np.zeros(len(names))
    for index, name in enumerate(names):
        if name not in TRANSITION_COSTS:
            gradient[index] = on_scores[name]
            continue
        (up_table, up_start), (down_table, down_start) = (
            _transitions(replace(params, **{name: getattr(params, name) + sign * _STEP})) for sign in (1, -1))
        with np.errstate(invalid="ignore"):
            gradient[index] = ((d_moves * _finite(up_table - down_table)).sum()
                               + (d_starts * _finite(up_start - down_start)).sum()) / (2 * _STEP)
    return loss, gradient


def fit_likelihood(batch: PageBatch, base: SegmentParams = SegmentParams(), keep: PageBatch | None = None,
                   ranges: dict = LIKELIHOOD_RANGES, keep_weights: Sequence[float] = KEEP_WEIGHTS,
                   ) -> tuple[SegmentParams, dict]:
    """The costs of ``ranges`` (from ``base``) that minimise ``batch``'s mean log loss per block.

    The likelihood is taken with ``protect`` off (a protected block may not take its true label,
    which no cost could mend); ``base``'s comes back. ``keep``'s pages must decode right: their
    loss weighs ``keep_weights`` in turn, each fit starting from the last, until they do (the
    least weight that keeps them is the fit's; ``keep_right`` says whether one did). L-BFGS-B
    within the ranges, on the loss's gradient (``log_loss_gradient``)."""
    from scipy.optimize import minimize

    names = sorted(ranges)
    low, high = np.array([ranges[n][0] for n in names]), np.array([ranges[n][1] for n in names])
    blocks = max(int((batch.truth >= 0).sum()), 1)
    unprotected = replace(base, protect=2.0)

    def at(x: np.ndarray) -> SegmentParams:
        return replace(unprotected, **dict(zip(names, map(float, x))))

    def kept(params: SegmentParams) -> bool:
        return keep is None or evaluate(keep, keep.segment(params))["block_accuracy"] >= 1.0

    x = np.clip([getattr(base, n) for n in names], low, high)
    weight, iterations = 0.0, 0
    for weight in keep_weights if keep is not None else (0.0,):
        def loss(values: np.ndarray, weight: float = weight) -> tuple[float, np.ndarray]:
            params = at(values)
            total, gradient = log_loss_gradient(batch, params, names)
            if weight:
                kept_total, kept_gradient = log_loss_gradient(keep, params, names)
                total, gradient = total + weight * kept_total, gradient + weight * kept_gradient
            return total / blocks, gradient / blocks

        result = minimize(loss, x, jac=True, method="L-BFGS-B", bounds=list(zip(low, high)),
                          options={"maxiter": 300})
        x, iterations = result.x, iterations + int(result.nit)
        if kept(replace(at(x), protect=base.protect)):
            break
    params = replace(at(x), protect=base.protect)
    info = {**evaluate(batch, batch.segment(params)),
            "log_loss": round(float(page_log_loss(batch, at(x)).sum() / blocks), 5),
            "keep_weight": weight, "keep_right": kept(params), "iterations": iterations}
    return params, info


FIT_METHODS = ("likelihood", "ascent")


def fit_costs(batch: PageBatch, method: str, keep: PageBatch | None, grid: dict,
              seed: int) -> tuple[SegmentParams, dict]:
    """The decoder's costs fitted on ``batch`` by ``method`` (``FIT_METHODS``), keeping ``keep`` right."""
    if method == "likelihood":
        return fit_likelihood(batch, base=FIT_BASE, keep=keep)
    if method == "ascent":
        return fit(batch, grid=grid, base=FIT_BASE, keep=keep, restarts=FIT_RESTARTS, seed=seed)
    raise ValueError(f"unknown fit method {method!r}: one of {', '.join(FIT_METHODS)}")


# --- The evaluation ---------------------------------------------------------------------------


def fold_models(fold: Fold, records: Sequence[Record], strings: Sequence[ChromeString], seed: int):
    """The classifier's scorer and the chrome detector trained on the fold's one side."""
    train = [r for r in records if r.source in fold.train_sources]
    scorer = train_classifier(train)
    detector = train_detector([s for s in strings if s.system in fold.train_systems], train, seed=seed, pool="a")
    return scorer, detector


def fold_pages(fold: Fold, records: Sequence[Record], order: dict[Record, int], strings: Sequence[ChromeString],
               pages: int, seed: int, page_seed: int | None = None, titles: dict[str, str] | None = None,
               site_chrome: str = OWN_SITES) -> list[Page]:
    """Pages from the fold's other side: its texts, its systems' strings, the other pool's names.

    ``page_seed`` (``seed`` when not given) draws the pages and their names, so more page sets
    can be measured with the same classifier and detector."""
    page_seed = seed if page_seed is None else page_seed
    test = [r for r in records if r.source in fold.test_sources]
    test_strings = [s for s in strings if s.system in fold.test_systems]
    return build_pages(test, pages, test_strings, seed=page_seed + 1, order=order, pool="b",
                       names=corpus_names(test, "b", page_seed), titles=titles,
                       headline_share=HEADLINE_SHARE if titles else 0.0, site_chrome=site_chrome,
                       headerless_share=HEADERLESS_SHARE)


@dataclass(frozen=True)
class ScoredPages:
    """Pages and what the decoder reads of their blocks: each distinct block's P(editorial) and
    chrome probabilities (what the evaluation caches; the decoder's features are made from them)."""

    pages: tuple[Page, ...]
    probability: dict[str, float]
    chrome: dict[str, np.ndarray]

    @classmethod
    def score(cls, pages: Sequence[Page], probability: Callable[[str], float],
              detector: ChromeDetector) -> "ScoredPages":
        distinct = sorted({b for page in pages for b in page.blocks})
        rows = detector.probabilities(distinct) if distinct else []
        return cls(tuple(pages), dict(zip(distinct, (float(probability(b)) for b in distinct))),
                   dict(zip(distinct, (np.asarray(row, dtype=float) for row in rows))))

    def plain(self) -> dict:
        """Builtins and arrays only (what the cache pickles: no class of this module, which may run as ``__main__``)."""
        return {"pages": [asdict(page) for page in self.pages], "probability": self.probability, "chrome": self.chrome}

    @classmethod
    def from_plain(cls, value: dict) -> "ScoredPages":
        pages = tuple(Page(**{k: tuple(v) if isinstance(v, list) else v for k, v in page.items()})
                      for page in value["pages"])
        return cls(pages, value["probability"], value["chrome"])

    def batch(self) -> PageBatch:
        """The pages as a ``PageBatch`` (block features made now, by today's ``block_features``)."""
        return PageBatch.of(list(self.pages), self.probability, _KnownRows(self.chrome))


class _KnownRows:
    """A detector's rows looked up rather than computed (``PageBatch.of`` asks for them)."""

    def __init__(self, rows: dict[str, np.ndarray]):
        self.rows = rows

    def probabilities(self, lines: Sequence[str]) -> np.ndarray:
        return np.array([self.rows[line] for line in lines])


def fold_scored(fold: Fold, records: Sequence[Record], order: dict[Record, int], strings: Sequence[ChromeString],
                pages: int, seed: int, page_seeds: Sequence[int] = (),
                titles: dict[str, str] | None = None, site_chrome: str = OWN_SITES) -> list[ScoredPages]:
    """Train on the fold's one side; build and score pages from its other side, one set for each
    of ``page_seeds`` (``seed`` alone when empty), headed by ``titles``, with ``site_chrome``'s
    page chrome (see ``fold_pages``)."""
    scorer, detector = fold_models(fold, records, strings, seed)
    return [ScoredPages.score(fold_pages(fold, records, order, strings, pages, seed, s, titles, site_chrome),
                              scorer.probability, detector)
            for s in (page_seeds or (seed,))]


def fold_batch(fold: Fold, records: Sequence[Record], order: dict[Record, int], strings: Sequence[ChromeString],
               pages: int, seed: int) -> tuple[list[Page], PageBatch]:
    """Train on the fold's one side, build and score pages from its other side."""
    scored = fold_scored(fold, records, order, strings, pages, seed)[0]
    return list(scored.pages), scored.batch()


# --- A cache of scored pages -------------------------------------------------------------------
# Training the folds' classifiers and detectors takes most of the evaluation's time; what the
# decoder needs of them is a few numbers a block. ``--cache DIR`` keeps them, under a key made of
# the run's settings, the data folder's files (names, sizes, times) and the code and strings that
# make them: a change to any of these misses the cache.

_CACHE_FILES = ("model/chrome.py", "model/features.py", "model/text.py", "model/scoring.py",
                "model/segment_data/strings.tsv", "training/data.py", "training/records.py",
                "training/sources/editorial.py")


def _cache_key(data_dir: Path, settings: dict) -> str:
    import hashlib
    import inspect

    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    root = Path(__file__).resolve().parent.parent
    for name in _CACHE_FILES:
        path = root / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b""))
    for function in (_is_heading, _pick, assemble_page, threads, named_threads, _window, build_pages, halves, make_folds,
                     load_records, cap_groups, text_lines, corpus_names, train_detector, train_classifier,
                     fold_models, fold_pages, fold_scored, seed_scored, shipped_detector_from):
        digest.update(inspect.getsource(function).encode())
    data_dir = Path(data_dir).resolve()
    digest.update(str(data_dir).encode())
    for folder, dirs, files in sorted(os.walk(data_dir)):
        dirs.sort()
        for name in sorted(files):
            stat = (Path(folder) / name).stat()
            digest.update(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def _cache_get(cache: Path | None, key: str) -> ScoredPages | None:
    import pickle

    path = cache / f"{key}.pkl" if cache else None
    if path is None or not path.is_file():
        return None
    with path.open("rb") as handle:
        return ScoredPages.from_plain(pickle.load(handle))


def _cache_put(cache: Path | None, key: str, value: ScoredPages) -> None:
    import pickle

    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    with atomic_open(cache / f"{key}.pkl", "wb") as handle:
        pickle.dump(value.plain(), handle)


# The seed page beside the data folder, and its true labels: every fit must keep it right (and
# the page from each of its subheadings on: ``headline_slices``).
SEED_PAGE = Path("examples") / "scraped-page-article-and-comment.txt"
SEED_LABELS = (EDITORIAL,) * 15 + (COMMENT, OTHER)


def seed_batch(data_dir: Path, detector: ChromeDetector) -> PageBatch | None:
    """The pages every fit must keep right (``keep_pages``), scored by the shipped classifier and
    ``detector``, or None when the seed page is absent."""
    scored = seed_scored(data_dir, detector)
    return None if scored is None else keep_batch(scored)


def headline_slices(page: Page) -> list[Page]:
    """The page, then the page from each of its article's headings on (a short line with no
    final stop, ``_is_heading``): a heading that opens a page stands above its first paragraph
    where a headline does, and stays editorial. The built pages seldom have a headline (few
    articles' paragraphs include one), so without these the fit could take every short line
    above the first paragraph for chrome at no cost."""
    slices = [page]
    for index, (block, label) in enumerate(zip(page.blocks, page.labels)):
        if index and label == EDITORIAL and _is_heading(block):
            slices.append(Page(page.blocks[index:], page.labels[index:]))
    return slices


def keep_batch(scored: "ScoredPages") -> PageBatch:
    """The seed page and its ``headline_slices`` as one batch."""
    return ScoredPages(tuple(headline_slices(scored.pages[0])), scored.probability, scored.chrome).batch()


def seed_scored(data_dir: Path, detector: ChromeDetector) -> ScoredPages | None:
    """The seed page's blocks scored by the shipped classifier and ``detector`` (see ``seed_batch``).

    Scored with the artifact's own pipeline rather than ``model.classifier.Classifier``, whose
    start-up check reads the shipped chrome detector: the file this command may be replacing
    (after the detector's features change, the old one is refused)."""
    from model.artifact import load
    from model.scoring import FastScorer
    from model.segment import split_blocks

    path = Path(data_dir).resolve().parent / SEED_PAGE
    if not path.is_file():
        return None
    blocks = tuple(b for _s, _e, b in split_blocks(path.read_text(encoding="utf-8")))
    if len(blocks) != len(SEED_LABELS):
        return None
    return ScoredPages.score([Page(blocks, SEED_LABELS)], FastScorer(load().classifier).probability, detector)


def run_evaluation(data_dir: Path, pages: int = 400, seed: int = 0, cap: int = FOLD_CAP, jobs: int = 2,
                   say: Callable[[str], None] = lambda _m: None, keep: PageBatch | None = None,
                   page_seeds: Sequence[int] = (), cache: Path | None = None, grid: dict | None = None,
                   site_chrome: str = OWN_SITES, fit_across_sets: bool = True,
                   precision: float = PAGE_PRECISION, text_band: tuple[float, float] | None = None,
                   fit_method: str = FIT_METHODS[0]) -> dict:
    """The out-of-vocabulary, out-of-source figures, and the costs fitted on both folds' pages
    (every fit keeping the pages of ``keep`` right).

    With several ``page_seeds``, a fold's costs are fitted on every set's pages of the other fold
    together and its figures are the means over its sets (the classifier and detector of a fold
    are the same for all): the cost fit ends at one of several local optima, and one set of pages
    fits it with that noise. ``fit_across_sets=False`` fits them on each set's pages alone instead.
    The shipped costs are then fitted on every set's pages of both folds together. ``cache``: a
    folder where the scored pages are kept between runs (see ``_cache_key``). ``site_chrome``:
    whose page chrome the pages show (see ``build_pages``). Each fold's page band
    (``choose_page_band``, at ``precision``) is chosen on the pages its costs were fitted on, and
    reported on its own pages beside the decisions of each block's own scores in ``text_band``.
    ``fit_method``: how the costs are fitted (``fit_costs``)."""
    from joblib import Parallel, delayed

    page_seeds = tuple(page_seeds) or (seed,)
    grid = GRID if grid is None else grid
    strings = load_strings()
    records, order = load_records(data_dir, cap=cap, seed=seed)
    titles = load_titles(data_dir)
    folds = make_folds(records, strings)
    say(f"{len(records)} records, {len(titles)} headlines, {len(strings)} strings of {len(systems(strings))} systems")
    settings = {"pages": pages, "seed": seed, "cap": cap}
    if HEADERLESS_SHARE:
        settings["headerless_share"] = HEADERLESS_SHARE
    if site_chrome != OWN_SITES:
        settings["site_chrome"] = site_chrome
    keys = [[_cache_key(data_dir, {"fold": f.name, **settings, "page_seed": s}) for s in page_seeds] for f in folds]
    scored = [[_cache_get(cache, key) for key in fold_keys] for fold_keys in keys]
    missing = [i for i, fold_scored_pages in enumerate(scored) if any(x is None for x in fold_scored_pages)]
    if missing:
        say(f"training {len(missing)} fold(s) ...")
        computed = Parallel(n_jobs=min(jobs, len(missing)))(
            delayed(fold_scored)(folds[i], records, order, strings, pages, seed, page_seeds, titles, site_chrome)
            for i in missing)
        for i, sets in zip(missing, computed):
            scored[i] = sets
            for key, value in zip(keys[i], sets):
                _cache_put(cache, key, value)
    else:
        say("scored pages from the cache")
    # batches[set][fold]
    batches = [[scored[f][k].batch() for f in range(len(folds))] for k in range(len(page_seeds))]
    report = {"folds": [], "seed": seed, "page_seeds": list(page_seeds), "pages_per_fold": pages, "cap_per_source": cap,
              "site_chrome": site_chrome, "fit_across_sets": fit_across_sets, "fit_method": fit_method,
              "headerless_share": HEADERLESS_SHARE}
    say("fitting costs on each fold, reporting on the other ...")
    across, fits = {}, {}
    if fit_across_sets:
        for index in range(len(folds)):
            other = PageBatch.concat([set_batches[1 - index] for set_batches in batches])
            costs, fits[index] = fit_costs(other, fit_method, keep, grid, seed)
            across[index] = with_page_band(costs, other, precision)
    by_set = []
    for set_index, (page_seed, set_batches) in enumerate(zip(page_seeds, batches)):
        entries = []
        for index, (fold, batch) in enumerate(zip(folds, set_batches)):
            if fit_across_sets:
                params = across[index]
            else:
                costs, _fitted = fit_costs(set_batches[1 - index], fit_method, keep, grid, seed)
                params = with_page_band(costs, set_batches[1 - index], precision)
            entries.append({
                "fold": asdict(fold),
                "params_fitted_on_other_fold": asdict(params),
                "segment": evaluate(batch, batch.segment(params)),
                "argmax": evaluate(batch, batch.argmax(params)),
                "overturns": overturns(batch, params),
                "page_band": page_band_figures(batch, params, params.page_band, text_band),
                "seed_like": _with_shares(seed_like_figures(scored[index][set_index].pages, batch, params)),
            })
        by_set.append({"page_seed": page_seed, "folds": entries})
    if len(by_set) == 1:
        report["folds"] = by_set[0]["folds"]
    else:
        for set_entry in by_set:
            set_entry["summary"] = summary(set_entry)
        report["by_page_seed"] = by_set
        for index, fold in enumerate(folds):
            entries = [set_entry["folds"][index] for set_entry in by_set]
            report["folds"].append({
                "fold": asdict(fold),
                "params_fitted_on_other_fold": [e["params_fitted_on_other_fold"] for e in entries],
                "segment": mean_metrics([e["segment"] for e in entries]),
                "argmax": mean_metrics([e["argmax"] for e in entries]),
                "seed_like": _with_shares({key: sum(e["seed_like"][key] for e in entries)
                                           for key in ("pages", "comment_right", "comment_decided")}),
            })
            if fit_across_sets:
                report["folds"][-1]["fit_on_other_fold"] = fits[index]
                mine = PageBatch.concat([set_batches[index] for set_batches in batches])
                other = PageBatch.concat([set_batches[1 - index] for set_batches in batches])
                report["folds"][-1]["page_band"] = page_band_figures(mine, across[index], across[index].page_band,
                                                                     text_band)
                shipped = SegmentParams.fitted()
                report["folds"][-1]["page_band_of_params_file"] = page_band_figures(mine, shipped, shipped.page_band,
                                                                                    text_band)
                report["folds"][-1]["page_operating_points"] = {
                    str(level): page_band_figures(mine, across[index],
                                                  choose_page_band(other, across[index], level))
                    for level in PAGE_OPERATING_POINTS}
    pooled = PageBatch.concat([batch for set_batches in batches for batch in set_batches])
    costs, fitted = fit_costs(pooled, fit_method, keep, grid, seed)
    params = with_page_band(costs, pooled, precision)
    report["params"] = asdict(params)
    report["fit_on_both_folds"] = fitted
    report["page_band_on_both_folds"] = page_band_figures(pooled, params, params.page_band, text_band)
    report["overturns_on_both_folds"] = overturns(pooled, params)
    report["summary"] = summary(report)
    return report


def _mean(values) -> float | None:
    """The mean of the values that are not None, to 4 places; None when there are none."""
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None


def mean_metrics(runs: Sequence[dict]) -> dict:
    """``evaluate``'s figures averaged over runs of equal size (pages and blocks summed)."""
    labels = sorted({label for run in runs for label in run["per_label"]}, key=SEGMENT_LABELS.index)
    return {
        "pages": sum(run["pages"] for run in runs),
        "blocks": sum(run["blocks"] for run in runs),
        "block_accuracy": _mean(run["block_accuracy"] for run in runs),
        "boundary_exact": _mean(run["boundary_exact"] for run in runs),
        "per_label": {
            label: {
                "precision": _mean(run["per_label"].get(label, {}).get("precision") for run in runs),
                "recall": _mean(run["per_label"].get(label, {}).get("recall") for run in runs),
                "blocks": sum(run["per_label"].get(label, {}).get("blocks", 0) for run in runs),
            }
            for label in labels
        },
        "runs": len(runs),
    }


def summary(report: dict) -> dict:
    """Fold figures averaged (pages are equal in number in each fold)."""
    out = {}
    for which in ("segment", "argmax"):
        folds = [f[which] for f in report["folds"]]
        out[which] = {
            "block_accuracy": round(float(np.mean([f["block_accuracy"] for f in folds])), 4),
            "boundary_exact": round(float(np.mean([f["boundary_exact"] for f in folds])), 4),
            "per_label": {
                label: {k: round(float(np.mean([f["per_label"][label][k] for f in folds
                                                 if f["per_label"].get(label, {}).get(k) is not None])), 4)
                        for k in ("precision", "recall")}
                for label in SEGMENT_LABELS
            },
        }
    bands = [f["page_band"] for f in report["folds"] if "page_band" in f]
    if bands:
        out["page_band"] = {key: _mean([b.get(key) for b in bands])
                            for key in ("review_share", "decided_right", "calibration_error")}
        if all("own_scores" in b for b in bands):
            out["page_band"]["own_scores"] = {key: _mean([b["own_scores"][key] for b in bands])
                                              for key in ("review_share", "decided_right")}
    return out


def shipped_detector_from(data_dir: Path, seed: int = 0, cap: int = FOLD_CAP) -> ChromeDetector:
    """The chrome detector learnt from every system's strings and every source's texts."""
    records, _order = load_records(data_dir, cap=cap, seed=seed)
    return train_detector(load_strings(), records, seed=seed, pool="a")


def write_params(params: dict, report: dict, seed: int = 0) -> None:
    """The fitted costs and their figures into ``model/segment_data/params.json``."""
    payload = {"params": params, "fitted_by": "python -m training.pages --evaluate --write",
               "figures": report.get("summary"), "seed": seed, "page_seeds": report.get("page_seeds", [seed])}
    write_json(PARAMS_FILE, payload)


def write_json(path: Path, payload: dict) -> None:
    """``payload`` as indented JSON at ``path``, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.write("\n")


# --- The model card's figure -------------------------------------------------------------------


def load_split(
    data_dir: Path, progress: Callable[[str], None] | None = None, cleaned: list[Record] | None = None
) -> tuple[list[Record], list[Record], dict[Record, int]]:
    """Training's train and test records, and each record's position in the importers' order.

    ``cleaned``: the corpora as ``clean(load_corpora(data_dir), MIN_WORDS)`` gives them, when the
    caller has imported them already."""
    if cleaned is None:
        cleaned, _dropped = clean(load_corpora(data_dir, progress=progress), min_words=MIN_WORDS)
    order = {record: index for index, record in enumerate(cleaned)}
    train, test = split_by_group(cap_sources(cleaned, CAP, seed=SPLIT_SEED), test_share=TEST_SHARE, seed=SPLIT_SEED)
    return train, test, order


def evaluate_segmenter(data_dir: Path, probability: Callable[[str], float], pages: int = 500,
                       seed: int = 0, no_comment_share: float = 0.1, cleaned: list[Record] | None = None) -> dict:
    """Block accuracy and boundary rate of the fitted SegmentParams on pages of training's held-out
    groups, with every system's strings (for the model card; the shipped detector knows them).
    ``cleaned``: see ``load_split``."""
    _train, test, order = load_split(data_dir, cleaned=cleaned)
    test_pages = build_pages(test, pages, load_strings(), seed=seed + 1, order=order, pool="b",
                             no_comment_share=no_comment_share)
    from model.chrome import shipped_detector

    batch = PageBatch.of(test_pages, probability, shipped_detector())
    params = SegmentParams.fitted()
    return {
        "pages": len(test_pages),
        "params": asdict(params),
        "segment": evaluate(batch, batch.segment(params)),
        "argmax": evaluate(batch, batch.argmax(params)),
    }


# --- Command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m training.pages``."""
    parser = argparse.ArgumentParser(prog="python -m training.pages", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(DATA_SETTING),
                        help=f"folder of public corpora (default: ${DATA_SETTING})")
    parser.add_argument("--evaluate", action="store_true",
                        help="the out-of-vocabulary, out-of-source evaluation (the default action)")
    parser.add_argument("--pages", type=int, default=400, help="pages per fold")
    parser.add_argument("--cap", type=int, default=FOLD_CAP, help="records per source")
    parser.add_argument("--seed", type=int, default=0, help="seed of the caps, the detector and the pages")
    parser.add_argument("--seeds", type=lambda v: [int(x) for x in v.split(",") if x.strip()],
                        help="seeds of the pages, comma-separated (e.g. 0,1,2,3,4,5): the figures are the sets' "
                             "means; the classifier and detector are those of --seed (default: --seed alone)")
    parser.add_argument("--cache", type=Path,
                        help="keep the scored pages in this folder and reuse them while data, code and "
                             "settings are unchanged (e.g. .cache/pages)")
    parser.add_argument("--jobs", type=int, default=2, help="folds trained in parallel")
    parser.add_argument("--site-chrome", choices=(OWN_SITES, THEME_SITES), default=OWN_SITES,
                        help="whose page chrome a built page shows: its comment system's own (the default), "
                             "or a site theme's or CMS's (any held-out system with page strings)")
    parser.add_argument("--fit-each-set", action="store_true",
                        help="with several --seeds, fit a fold's costs on each set's pages of the other fold "
                             "alone (the default fits them once, on every set's pages together)")
    parser.add_argument("--fit", choices=FIT_METHODS, default=FIT_METHODS[0],
                        help="how the decoder's costs are fitted: by the pages' likelihood (the default) or by "
                             "coordinate ascent on block accuracy and exact first comment")
    parser.add_argument("--keep", choices=("seed", "none"), default="seed",
                        help="the pages every fit must keep right: the seed page and its subheading slices (the "
                             "default), or none (to measure what keeping them does)")
    parser.add_argument("--review-precision", type=float, default=PAGE_PRECISION,
                        help="how often a decision outside the page band must be right on held-out pages "
                             f"(default {PAGE_PRECISION})")
    parser.add_argument("--write", action="store_true",
                        help="write the fitted costs and page band, and the shipped chrome detector, into "
                             "model/segment_data")
    parser.add_argument("--write-params", action="store_true",
                        help="write the fitted costs and page band alone (params.json), keeping the shipped "
                             "chrome detector")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    return parser


def format_metrics(name: str, metrics: dict) -> str:
    """One line of figures."""
    labels = "  ".join(f"{k} P {v['precision']:.3f} R {v['recall']:.3f}" for k, v in metrics["per_label"].items()
                       if v.get("precision") is not None and v.get("recall") is not None)
    return (f"{name:<18} block accuracy {metrics['block_accuracy']:.4f}  boundary exact "
            f"{metrics['boundary_exact']:.4f}  {labels}")


def format_band(figures: dict) -> str:
    """One line of what a page band does (``page_band_figures``), beside the blocks' own scores."""
    def share(value, digits):
        return "-" if value is None else f"{value:.{digits}%}"

    least = figures["least"]
    line = (f"page band (least P editorial {least[EDITORIAL]:.4f}, comment {least[COMMENT]:.4f}): "
            f"{share(figures['review_share'], 1)} of {figures['text_blocks']} text blocks to review, "
            f"{share(figures['decided_right'], 2)} of the rest right")
    if figures.get("calibration_error") is not None:
        line += f" (calibration error {figures['calibration_error']:.4f})"
    own = figures.get("own_scores")
    if own:
        line += (f"; own scores in [{own['band'][0]:.4f}, {own['band'][1]:.4f}): {share(own['review_share'], 1)} to "
                 f"review, {share(own['decided_right'], 2)} right")
    return line


def main(argv: list[str] | None = None) -> int:
    """Evaluate out of vocabulary and out of source; fit the costs; print (and write) the figures."""
    args = build_parser().parse_args(argv)
    if args.data_dir is None:
        raise SystemExit(f"no data folder: give --data-dir or set {DATA_SETTING}")
    started = time.perf_counter()
    page_seeds = tuple(args.seeds or (args.seed,))
    # The seed page, scored by the shipped classifier and a detector of every system: cached too,
    # unless the detector is to be written.
    from model.artifact import CARD_FILE, DEFAULT_DIR

    card = DEFAULT_DIR / CARD_FILE
    keep_key = _cache_key(args.data_dir, {"seed page": str(SEED_PAGE), "seed": args.seed, "cap": args.cap,
                                          "card": card.read_text(encoding="utf-8") if card.is_file() else ""})
    scored = None if args.write else _cache_get(args.cache, keep_key)
    detector = None
    if scored is None:
        say("training the chrome detector on every system and source ...")
        detector = shipped_detector_from(args.data_dir, seed=args.seed, cap=args.cap)
        scored = seed_scored(args.data_dir, detector)
        if scored is not None:
            _cache_put(args.cache, keep_key, scored)
    keep = None if scored is None or args.keep == "none" else keep_batch(scored)
    if scored is None:
        say(f"no seed page at {SEED_PAGE} beside the data folder: the fit keeps no page right")
    elif keep is None:
        say("--keep none: the fit keeps no page right")
    text_band = None
    if card.is_file():
        text_band = tuple(json.loads(card.read_text(encoding="utf-8")).get("review_band") or ()) or None
    report = run_evaluation(args.data_dir, pages=args.pages, seed=args.seed, cap=args.cap, jobs=args.jobs, say=say,
                            keep=keep, page_seeds=page_seeds, cache=args.cache, site_chrome=args.site_chrome,
                            fit_across_sets=not args.fit_each_set, precision=args.review_precision,
                            text_band=text_band, fit_method=args.fit)
    for set_entry in report.get("by_page_seed", []):
        for fold in set_entry["folds"]:
            print(format_metrics(f"  pages {set_entry['page_seed']} {fold['fold']['name']}", fold["segment"]))
    report["keep"] = "seed" if keep is not None else "none"
    if scored is not None:
        report["seed_page"] = seed_page_figures(keep_batch(scored), SegmentParams(**report["params"]))
    for fold in report["folds"]:
        f = fold["fold"]
        print(f"fold {f['name']}: trained on systems {', '.join(f['train_systems'])}; "
              f"pages from systems {', '.join(f['test_systems'])} and sources {', '.join(f['test_sources'])}")
        print(format_metrics("  segment", fold["segment"]))
        print(format_metrics("  own label", fold["argmax"]))
        if "page_band" in fold:
            print("  " + format_band(fold["page_band"]))
        like = fold.get("seed_like")
        if like and like["pages"]:
            print(f"  pages shaped like the seed page: {like['pages']}, the last comment labelled a comment on "
                  f"{like['comment_right_share']:.1%}, decided one on {like['comment_decided_share']:.1%}")
    print(format_metrics("mean segment", report["summary"]["segment"]))
    print(format_metrics("mean own label", report["summary"]["argmax"]))
    print("context on confident text blocks (both folds, fitted costs): "
          + json.dumps(report["overturns_on_both_folds"]))
    print("page band fitted on both folds: " + format_band(report["page_band_on_both_folds"]))
    print("params " + json.dumps(report["params"]))
    if "seed_page" in report:
        print("the seed page with these costs: " + json.dumps(report["seed_page"]))
    if args.write:
        detector.save()  # never None with --write: the cache is not read for it
        write_params(report["params"], report, seed=args.seed)
        print(f"wrote {PARAMS_FILE.name} and the chrome detector")
    elif args.write_params:
        write_params(report["params"], report, seed=args.seed)
        print(f"wrote {PARAMS_FILE.name}")
    if args.out:
        write_json(args.out, report)
        print(f"wrote {args.out}")
    say(f"done in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
