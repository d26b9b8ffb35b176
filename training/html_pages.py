"""HTML pages from the evaluation's held-out pages: our HTML path against the text path and trafilatura.

    python -m training.html_pages --data-dir ../shared/data [--pages 200] [--out figures.json]

Each page of ``training.pages``'s folds (texts and comment systems the fold's classifier and
chrome detector never saw) is marked up the way a real site would show it: one of four
templates, after the markup of WordPress's default theme and comment list, Isso's thread,
Discourse's topic posts, and a news site's article page with an embedded comment stream. The
same pages are then labelled three ways:

- text: the blocks as plain text through the segmenter (``/v1/segment`` with ``text``);
- html: the HTML through ``model.html_page`` (blocks, offsets, the markup's votes) and the
  segmenter (``/v1/segment`` with ``html``); ``markup_weight`` fitted on the other fold;
- trafilatura: its main text and its comments (``extract(..., include_comments=True)``); a
  block in the main text is editorial, in the comments a comment, in neither other.
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from model.html_page import markup_evidence, parse_blocks
from model.segment import N_FEATURES, SEGMENT_LABELS, SegmentParams, block_features
from model.classifier import Classifier
from training.data import load_titles
from training.pages import (
    DATA_SETTING,
    FOLD_CAP,
    Page,
    PageBatch,
    write_json,
    evaluate,
    fold_models,
    fold_pages,
    format_band,
    format_metrics,
    load_records,
    make_folds,
    page_band_figures,
)

TEMPLATES = ("wordpress", "isso", "discourse", "news")


def _e(text: str) -> str:
    return html_lib.escape(text, quote=False)


def _comment_groups(blocks: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The comment section's blocks grouped per comment: its meta line, text, controls, notices."""
    groups: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for text, role in blocks:
        if role == "meta" or (role == "comment" and any(r == "comment" for _t, r in current)):
            if current:
                groups.append(current)
            current = []
        current.append((text, role))
    if current:
        groups.append(current)
    return groups


def render_html(page: Page, template: str) -> str:
    """``page`` marked up with ``template`` (one of ``TEMPLATES``), one element per block."""
    pairs = list(zip(page.blocks, page.roles))
    first_section = next((i for i, (_t, r) in enumerate(pairs) if r in ("header", "meta", "comment")), len(pairs))
    article, section = pairs[:first_section], pairs[first_section:]
    head_chrome = []
    while article and article[0][1] == "page":
        head_chrome.append(article.pop(0))
    tail_chrome = []
    while article and article[-1][1] == "page":
        tail_chrome.insert(0, article.pop())
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>Page</title>",
           "<script>window.analytics = {track: function () {}};</script><style>p{margin:0}</style></head><body>",
           "<header class='site-header'><nav class='menu'><a href='/'>Home</a></nav></header>"]
    article_class = {"wordpress": "post type-post", "isso": "post", "discourse": "topic-body",
                     "news": "story"}[template]
    # The article's own body (with Discourse as the comment system of a site, as its WordPress
    # plugin embeds it, the article is the site's, not a "cooked" post).
    body_class = {"wordpress": "entry-content", "isso": "post-content", "discourse": "entry-content",
                  "news": "article-body"}[template]
    out.append(f"<main><article class='{article_class}'>")
    for text, role in head_chrome:
        out.append(f"<div class='entry-meta share-tools'><span>{_e(text)}</span></div>")
    body_open = False
    for text, role in article:
        if role == "headline":
            out.append(f"<h1 class='entry-title headline'>{_e(text)}</h1>")
            continue
        if not body_open:
            out.append(f"<div class='{body_class}'>")
            body_open = True
        if role == "page":
            out.append(f"<aside class='related-links'><a>{_e(text)}</a></aside>")
        elif len(text.split()) <= 8 and not text.rstrip().endswith((".", "!", "?")):
            out.append(f"<h2>{_e(text)}</h2>")
        else:
            out.append(f"<p>{_e(text)}</p>")
    if body_open:
        out.append("</div>")
    for text, _role in tail_chrome:
        out.append(f"<footer class='entry-footer'><span class='tags-links'>{_e(text)}</span></footer>")
    out.append("</article></main>")
    if section:
        out.append(_render_section(section, template))
    out.append("<footer class='site-footer'><p>&copy; The Publisher</p></footer></body></html>")
    return "".join(out)


class _Markup(NamedTuple):
    """How one comment system marks up its section; ``{}`` stands for the escaped text."""

    open: str
    header: str
    list_open: str
    group_open: str
    meta: str
    comment: str
    control: str
    group_close: str
    list_close: str
    trailer: str
    close: str


# The markup of the comment section in each template: WordPress, Isso, Discourse, and a news
# site's own thread as Coral Talk embeds it.
_SECTION_MARKUP = {
    "wordpress": _Markup(
        "<div id='comments' class='comments-area'>", "<h2 class='comments-title'>{}</h2>",
        "<ol class='comment-list'>", "<li class='comment'><article class='comment-body'>",
        "<footer class='comment-meta'><div class='comment-author vcard'>{}</div></footer>",
        "<div class='comment-content'><p>{}</p></div>", "<div class='reply'><a class='comment-reply-link'>{}</a></div>",
        "</article></li>", "</ol>", "<div id='respond' class='comment-respond'><p>{}</p></div>", "</div>"),
    "isso": _Markup(
        "<section id='isso-thread'>", "<h4>{}</h4>", "", "<div class='isso-comment'><div class='isso-text-wrapper'>",
        "<div class='isso-comment-header'><span class='isso-author'>{}</span></div>",
        "<div class='isso-text'><p>{}</p></div>", "<div class='isso-comment-footer'><a class='isso-reply'>{}</a></div>",
        "</div></div>", "", "<div class='isso-postbox'><span>{}</span></div>", "</section>"),
    "discourse": _Markup(
        "<div class='topic-post-stream'>", "<div class='topic-map'><h3>{}</h3></div>", "",
        "<div class='topic-post'><article>", "<div class='topic-meta-data'><span class='username'>{}</span></div>",
        "<div class='cooked'><p>{}</p></div>", "<nav class='post-controls'><button>{}</button></nav>",
        "</article></div>", "", "<div class='more-topics'><button>{}</button></div>", "</div>"),
    "news": _Markup(
        "<div id='coral_thread' class='comments-container'>", "<div class='comments-header'><span>{}</span></div>", "",
        "<div class='comment'>", "<div class='comment-meta'><span class='author'>{}</span></div>",
        "<div class='comment-body'><p>{}</p></div>", "<div class='comment-actions'><button>{}</button></div>",
        "</div>", "", "<div class='load-more'><button>{}</button></div>", "</div>"),
}


def _render_section(section: list[tuple[str, str]], template: str) -> str:
    header = []
    while section and section[0][1] == "header":
        header.append(section.pop(0)[0])
    trailer = []
    while section and section[-1][1] in ("more", "form"):
        trailer.insert(0, section.pop())
    markup = _SECTION_MARKUP[template]
    roles = {"meta": markup.meta, "comment": markup.comment}
    parts = [markup.open, *(markup.header.format(_e(t)) for t in header), markup.list_open]
    for group in _comment_groups(section):
        parts.append(markup.group_open)
        parts += [roles.get(role, markup.control).format(_e(text)) for text, role in group]
        parts.append(markup.group_close)
    parts += [markup.list_close, *(markup.trailer.format(_e(t)) for t, _r in trailer), markup.close]
    return "".join(parts)


def html_batch(pages: Sequence[Page], htmls: Sequence[str], probability, detector) -> tuple[PageBatch, int]:
    """The HTML path's batch: each page parsed back into blocks, scored, with the markup's votes.

    Parsed blocks that are not one of the page's blocks (the template's own header and footer)
    are labelled ``other``. Returns the batch and how many pages parsed back into more blocks.
    """
    longest = 0
    parsed_pages = []
    for page, markup in zip(pages, htmls):
        parsed = parse_blocks(markup)
        truth = {" ".join(text.split()): label for text, label in zip(page.blocks, page.labels)}
        labels = tuple(truth.get(block.text, "other") for block in parsed)
        parsed_pages.append((parsed, labels))
        longest = max(longest, len(parsed))
    features = np.zeros((len(pages), longest, N_FEATURES))
    truth_codes = np.full((len(pages), longest), -1, dtype=np.int8)
    for index, (parsed, labels) in enumerate(parsed_pages):
        texts = [b.text for b in parsed]
        p = [probability(t) for t in texts]
        features[index, : len(texts)] = block_features(texts, p, detector.probabilities(texts), markup_evidence(parsed))
        truth_codes[index, : len(texts)] = [SEGMENT_LABELS.index(label) for label in labels]
    lengths = np.array([len(parsed) for parsed, _labels in parsed_pages])
    return PageBatch(features, truth_codes, lengths), int(sum(len(pp[0]) != len(pg.blocks) for pp, pg in zip(parsed_pages, pages)))


def trafilatura_codes(pages: Sequence[Page], htmls: Sequence[str]) -> tuple[PageBatch, np.ndarray]:
    """Trafilatura's labels of each page's own blocks, from its main text and its comments."""
    import trafilatura

    longest = max(len(p.blocks) for p in pages)
    truth = np.full((len(pages), longest), -1, dtype=np.int8)
    codes = np.full((len(pages), longest), -1, dtype=np.int8)
    for index, (page, markup) in enumerate(zip(pages, htmls)):
        result = trafilatura.extract(markup, include_comments=True, output_format="json", favor_recall=False,
                                     with_metadata=False)
        data = json.loads(result) if result else {}
        main, comments = data.get("text") or "", data.get("comments") or ""
        main_lines, comment_lines = set(_lines(main)), set(_lines(comments))
        for j, (block, label) in enumerate(zip(page.blocks, page.labels)):
            key = " ".join(block.split())
            said = "editorial" if key in main_lines else "comment" if key in comment_lines else "other"
            truth[index, j] = SEGMENT_LABELS.index(label)
            codes[index, j] = SEGMENT_LABELS.index(said)
    batch = PageBatch(np.zeros((len(pages), longest, N_FEATURES)), truth, np.array([len(p.blocks) for p in pages]))
    return batch, codes


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def run(data_dir: Path, pages: int = 200, seed: int = 0, cap: int = FOLD_CAP, jobs: int = 2,
        say=lambda _m: None) -> dict:
    """Text, HTML and trafilatura on the same held-out pages of both folds."""
    from joblib import Parallel, delayed

    from model.chrome import load_strings

    strings = load_strings()
    records, order = load_records(data_dir, cap=cap, seed=seed)
    titles = load_titles(data_dir)  # pages under their article's headline, as training.pages builds them
    folds = make_folds(records, strings)
    say("training the folds' classifiers and detectors ...")
    results = Parallel(n_jobs=jobs)(delayed(_fold)(f, records, order, strings, pages, seed, titles) for f in folds)
    params = SegmentParams.fitted()
    text_band = tuple(Classifier.load().review_band)
    report = {"pages_per_fold": pages, "params": asdict(params), "folds": []}
    html_batches = [r["html_batch"] for r in results]
    for index, (fold, result) in enumerate(zip(folds, results)):
        other = html_batches[1 - index]
        weight = max((0.0, 1.0, 2.0, 4.0, 8.0),
                     key=lambda w: evaluate(other, other.segment(replace(params, markup_weight=w)))["block_accuracy"])
        html_params = replace(params, markup_weight=weight)
        text_batch, hb = result["text_batch"], result["html_batch"]
        traf_batch, traf_codes = result["trafilatura"]
        report["folds"].append({
            "fold": fold.name,
            "markup_weight_fitted_on_other_fold": weight,
            "text": evaluate(text_batch, text_batch.segment(params)),
            "html": evaluate(hb, hb.segment(html_params)),
            "trafilatura": evaluate(traf_batch, traf_codes),
            "pages_with_other_blocks_in_html": result["mismatched"],
            # The shipped page band's decisions on both paths, beside the blocks' own scores in the text band.
            "page_band": {"text": page_band_figures(text_batch, params, params.page_band, text_band),
                          "html": page_band_figures(hb, html_params, params.page_band, text_band),
                          # the service's own markup weight (the one in params.json), not the fold's
                          "html_shipped_markup_weight": page_band_figures(hb, params, params.page_band, text_band)},
        })
    return report


def _fold(fold, records, order, strings, pages, seed, titles=None):
    scorer, detector = fold_models(fold, records, strings, seed)
    built = fold_pages(fold, records, order, strings, pages, seed, titles=titles)
    text_batch = PageBatch.of(built, scorer.probability, detector)
    rng = random.Random(seed + 7)
    htmls = [render_html(page, rng.choice(TEMPLATES)) for page in built]
    hb, mismatched = html_batch(built, htmls, scorer.probability, detector)
    return {"text_batch": text_batch, "html_batch": hb, "trafilatura": trafilatura_codes(built, htmls),
            "mismatched": mismatched}


def main(argv: list[str] | None = None) -> int:
    """Print (and write) the text, HTML and trafilatura figures on the same pages."""
    parser = argparse.ArgumentParser(prog="python -m training.html_pages", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(DATA_SETTING))
    parser.add_argument("--pages", type=int, default=200, help="pages per fold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.data_dir is None:
        raise SystemExit(f"no data folder: give --data-dir or set {DATA_SETTING}")
    started = time.perf_counter()
    report = run(args.data_dir, pages=args.pages, seed=args.seed, jobs=args.jobs,
                 say=lambda m: print(m, file=sys.stderr, flush=True))
    for fold in report["folds"]:
        print(f"fold {fold['fold']} (markup weight {fold['markup_weight_fitted_on_other_fold']}):")
        for name in ("text", "html", "trafilatura"):
            print(format_metrics(f"  {name}", fold[name]))
        for name in ("text", "html", "html_shipped_markup_weight"):
            print(f"  {name} " + format_band(fold["page_band"][name]))
    if args.out:
        write_json(args.out, report)
        print(f"wrote {args.out}")
    print(f"done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
