"""Pages built from real comment-system strings: layout, folds, metrics and the cost fit, on hand-made records."""

import random
from dataclasses import fields, replace

import numpy as np
import pytest

from model.chrome import ChromeDetector, load_strings, make_names, render, shape_marks, systems
from model.segment import SegmentParams, comments_start
from training.pages import (
    Page,
    PageBatch,
    ScoredPages,
    _cache_get,
    _cache_put,
    assemble_page,
    build_pages,
    choose_page_band,
    evaluate,
    fit,
    fit_likelihood,
    log_loss_gradient,
    halves,
    headline_slices,
    keep_batch,
    make_folds,
    mean_metrics,
    objective,
    overturns,
    page_band_figures,
    page_log_loss,
    page_sides,
    seed_like,
    seed_like_figures,
    seed_page_figures,
)
from training.records import Record

ARTICLE = [
    "The council voted on Tuesday to approve the new housing plan for the east side.",
    "Housing costs",
    "Officials said construction would begin in the spring and take about two years.",
    "The plan includes 400 affordable units, according to the meeting minutes.",
    "Opponents said they would appeal the decision to the provincial board.",
]
THREAD = [
    "lol like that's ever going to get built",
    "Finally some good news for renters in this city!",
    "Who is paying for all this? Us, as usual.",
]
STRINGS = load_strings()


def _records(label, source, group, texts):
    return [Record(text, label, source, f"{source}:{group}") for text in texts]


def test_the_data_file_names_a_system_kind_and_string_on_every_row():
    assert len(STRINGS) >= 400
    assert len(systems(STRINGS)) >= 10
    assert {s.kind for s in STRINGS} == {"header", "form", "item", "time", "notice", "page"}
    assert all(s.template.strip() for s in STRINGS)


@pytest.mark.parametrize("seed", range(20))
def test_a_page_keeps_the_article_then_the_thread_with_one_systems_chrome_between(seed):
    rng = random.Random(seed)
    system = rng.choice(systems(STRINGS))
    chrome = [s for s in STRINGS if s.system == system]
    page = assemble_page(ARTICLE, THREAD, rng, chrome, "b", "news", "forum")
    assert len(page.blocks) == len(page.labels) and page.system == system
    editorial = [b for b, label in zip(page.blocks, page.labels) if label == "editorial"]
    comments = [b for b, label in zip(page.blocks, page.labels) if label == "comment"]
    paragraphs = [a for a in ARTICLE if a != "Housing costs"]
    assert [b for b in editorial if b in paragraphs] == paragraphs
    assert comments == THREAD
    assert all(b.strip() == b and b for b in page.blocks)
    assert not any("{" in b for b, label in zip(page.blocks, page.labels) if label == "other")
    start = comments_start(page.labels)
    assert start is not None and "editorial" not in page.labels[start:]


def test_placeholders_are_filled_and_the_two_pools_share_no_name():
    rng = random.Random(0)
    assert render("{count} Comments", rng).split()[0].isdigit()
    words = "Ottawa Trudeau Harper Canada Brown Jones Smith Quebec Alberta Toronto Montreal".split()
    a, b = set(make_names(words, "a", count=50)), set(make_names(words, "b", count=50))
    assert a and b
    first_words = lambda names: {n.split()[0].split("_")[0].rstrip("0123456789.").lower()[:4] for n in names}
    assert not first_words(a) & first_words(b)


def test_folds_split_systems_and_sources_in_halves_and_swap():
    records = (_records("editorial", "news", "a", ARTICLE) + _records("editorial", "wire", "b", ARTICLE)
               + _records("comment", "forum", "t", THREAD) + _records("comment", "tweets", "u", THREAD))
    one, two = make_folds(records, STRINGS)
    assert set(one.train_systems).isdisjoint(one.test_systems)
    assert set(one.train_systems) | set(one.test_systems) == set(systems(STRINGS))
    assert set(one.train_sources).isdisjoint(one.test_sources)
    assert (two.train_sources, two.test_systems) == (one.test_sources, one.train_systems)
    assert halves(["d", "b", "a", "c"]) == (["a", "c"], ["b", "d"])


def _two_articles() -> list:
    return (_records("editorial", "news", "a1", ARTICLE)
            + _records("editorial", "news", "a2", ["Rain is expected across the region this week, forecasters said.",
                                                     "Temperatures will stay below the seasonal average."]))


def test_pages_are_built_from_the_records_given_in_importer_order_and_are_seeded():
    records = (
        _two_articles()
        + _records("comment", "forum", "t1", THREAD)
        + _records("comment", "tweets", "t2", ["so true!!! this is exactly right"])
    )
    order = {record: index for index, record in enumerate(records)}
    pages = build_pages(records[::-1], 20, STRINGS, seed=3, order=order, no_comment_share=0.2)
    assert pages == build_pages(records, 20, STRINGS, seed=3, order=order, no_comment_share=0.2)
    texts = {r.text for r in records}
    for page in pages:
        real = [b for b, label in zip(page.blocks, page.labels) if label != "other" and b in texts - {"Housing costs"}]
        assert real == sorted(real, key=lambda t: min(order[r] for r in records if r.text == t))
        assert page.comment_source in ("", "forum", "tweets")
    assert any(not page.comment_source for page in pages)
    assert len({page.system for page in pages}) > 1


@pytest.fixture(scope="module")
def tiny_detector():
    chrome = ["Reply", "Report", "Share", "12 Comments", "Sign in", "3 hours ago", "Load more", "Newest"]
    text = ARTICLE + THREAD + ["Headline here", "So true", "Why it matters today"]
    kinds = ["item", "item", "page", "header", "header", "item", "item", "header"]
    return ChromeDetector.fit(chrome * 3 + text * 3, kinds * 3 + ["text"] * len(text) * 3)


def test_a_line_s_shape_is_marked_with_tokens_no_prose_contains():
    assert shape_marks("Share on Twitter") == "\u00a7w3"
    assert shape_marks("Load More") == "\u00a7w2 \u00a7tc"
    assert shape_marks("2:19 best part") == "\u00a7w3 \u00a7lc"
    assert shape_marks("Your comment is awaiting moderation.") == "\u00a7w5 \u00a7pe"
    assert shape_marks("one two three four five six seven").split()[0] == "\u00a7w6"


def test_a_detector_written_with_other_features_is_refused(tiny_detector):
    data = tiny_detector.to_dict()
    assert ChromeDetector.from_dict(data).probabilities(["Reply"]).shape == (1, 4)
    with pytest.raises(ValueError, match="features"):
        ChromeDetector.from_dict({**data, "features": None})


def test_metrics_on_a_hand_made_batch(tiny_detector):
    pages = [
        Page(("Headline here", ARTICLE[0], "12 Comments", THREAD[0]), ("editorial", "editorial", "other", "comment")),
        Page((ARTICLE[0], ARTICLE[2]), ("editorial", "editorial")),
    ]
    scores = {"Headline here": 0.4, ARTICLE[0]: 0.9, ARTICLE[2]: 0.8, "12 Comments": 0.3, THREAD[0]: 0.1}
    batch = PageBatch.of(pages, scores, tiny_detector)
    params = SegmentParams(full_evidence_words=16)
    result = evaluate(batch, batch.segment(params))
    assert (result["pages"], result["blocks"], result["block_accuracy"], result["boundary_exact"]) == (2, 6, 1.0, 1.0)
    assert result["per_label"]["comment"] == {"precision": 1.0, "recall": 1.0, "blocks": 1}
    # The headline alone is a comment to the classifier: one block wrong, one boundary moved.
    own = evaluate(batch, batch.argmax(params))
    assert own["block_accuracy"] == round(5 / 6, 4) and own["boundary_exact"] == 0.5
    assert own["per_label"]["comment"]["precision"] == 0.5
    assert set(overturns(batch, params)) == {"0.8", "0.9", "0.95", "0.99"}


def _isso_batch(detector) -> PageBatch:
    """Five pages with Isso's strings, each block scored by its true label (0.9, 0.1, or 0.5 for chrome)."""
    pages = [assemble_page(ARTICLE, THREAD, random.Random(seed), [s for s in STRINGS if s.system == "isso"])
             for seed in range(5)]
    scores = {b: (0.9 if label == "editorial" else 0.1 if label == "comment" else 0.5)
              for page in pages for b, label in zip(page.blocks, page.labels)}
    return PageBatch.of(pages, scores, detector)


def test_fit_returns_the_best_grid_point(tiny_detector):
    batch = _isso_batch(tiny_detector)
    params, metrics = fit(batch, grid={"enter_comments": (0.5, 60.0)}, base=SegmentParams(enter_comments=60.0))
    assert params.enter_comments == 0.5
    assert metrics["boundary_exact"] > evaluate(batch, batch.segment(SegmentParams(enter_comments=60.0)))["boundary_exact"]


def test_fit_restarts_from_grid_points_and_moves_costs_together(tiny_detector):
    batch = _isso_batch(tiny_detector)
    grid = {"enter_comments": (0.5, 60.0), ("leave_comments", "max_evidence"): ((3.0, 1.0), (8.0, 3.0))}
    base = SegmentParams(enter_comments=60.0)
    once, once_metrics = fit(batch, grid=grid, base=base)
    again, metrics = fit(batch, grid=grid, base=base, restarts=3, seed=1)
    assert (again.leave_comments, again.max_evidence) in ((3.0, 1.0), (8.0, 3.0), (6.0, 3.0))
    assert objective(metrics) >= objective(once_metrics)
    assert fit(batch, grid=grid, base=base, restarts=3, seed=1) == (again, metrics)


def test_batches_concatenate(tiny_detector):
    one = PageBatch.of([Page(("Reply", ARTICLE[0]), ("other", "editorial"))], {"Reply": 0.5, ARTICLE[0]: 0.9},
                       tiny_detector)
    two = PageBatch.of([Page((ARTICLE[0],), ("editorial",))], {ARTICLE[0]: 0.9}, tiny_detector)
    both = PageBatch.concat([one, two])
    assert both.features.shape[:2] == (2, 2) and list(both.lengths) == [2, 1]
    assert both.truth[1, 1] == -1 and np.array_equal(both.features[0], one.features[0])


def test_scored_pages_round_trip_through_the_cache(tiny_detector, tmp_path):
    pages = [Page(("Headline here", ARTICLE[0], "12 Comments", THREAD[0]), ("editorial", "editorial", "other", "comment"),
                  "news", "forum", "isso", ("headline", "body", "header", "comment"))]
    scores = {"Headline here": 0.4, ARTICLE[0]: 0.9, "12 Comments": 0.3, THREAD[0]: 0.1}
    scored = ScoredPages.score(pages, scores.__getitem__, tiny_detector)
    assert _cache_get(tmp_path, "key") is None and _cache_get(None, "key") is None
    _cache_put(tmp_path, "key", scored)
    again = _cache_get(tmp_path, "key")
    assert again.pages == scored.pages and again.probability == scores
    direct = PageBatch.of(pages, scores, tiny_detector)
    assert np.array_equal(again.batch().features, direct.features) and np.array_equal(again.batch().truth, direct.truth)


def test_the_kept_pages_are_the_seed_page_and_the_page_from_each_of_its_headings_on(tiny_detector):
    page = Page((ARTICLE[0], "Housing costs", ARTICLE[2], "12 Comments", THREAD[0]),
                ("editorial", "editorial", "editorial", "other", "comment"))
    slices = headline_slices(page)
    assert [s.blocks for s in slices] == [page.blocks, page.blocks[1:]]
    assert slices[1].labels == ("editorial", "editorial", "other", "comment")
    scores = {ARTICLE[0]: 0.9, "Housing costs": 0.5, ARTICLE[2]: 0.8, "12 Comments": 0.3, THREAD[0]: 0.1}
    batch = keep_batch(ScoredPages.score([page], scores.__getitem__, tiny_detector))
    assert list(batch.lengths) == [5, 4]


def test_figures_of_several_page_sets_are_averaged():
    runs = [{"pages": 2, "blocks": 10, "block_accuracy": 0.9, "boundary_exact": 0.5,
             "per_label": {"comment": {"precision": 1.0, "recall": 0.5, "blocks": 3}}},
            {"pages": 2, "blocks": 12, "block_accuracy": 0.8, "boundary_exact": 1.0,
             "per_label": {"comment": {"precision": None, "recall": 0.0, "blocks": 1},
                           "other": {"precision": 1.0, "recall": 1.0, "blocks": 2}}}]
    mean = mean_metrics(runs)
    assert (mean["pages"], mean["blocks"], mean["block_accuracy"], mean["boundary_exact"]) == (4, 22, 0.85, 0.75)
    assert mean["per_label"]["comment"] == {"precision": 1.0, "recall": 0.25, "blocks": 4}
    assert mean["per_label"]["other"] == {"precision": 1.0, "recall": 1.0, "blocks": 2}


@pytest.mark.realdata
def test_out_of_vocabulary_evaluation_on_the_corpora(data_dir):
    """A small run of ``--evaluate``: two folds, two sets of pages, costs cross-fitted (by the
    pages' likelihood); at full size the decoder found the first comment exactly on 89.8% of pages
    (six sets, a fifth with no section header) against 27.3% for each block's own label."""
    from training.pages import PROTECT, run_evaluation

    report = run_evaluation(data_dir, pages=40, cap=300, jobs=1, page_seeds=(0, 1))
    assert len(report["folds"]) == 2
    for fold in report["folds"]:
        assert set(fold["fold"]["train_systems"]).isdisjoint(fold["fold"]["test_systems"])
        assert fold["segment"]["pages"] == 80 and fold["segment"]["runs"] == 2
        # One fit for a fold, on both sets' pages of the other fold, serves both its sets.
        first, second = fold["params_fitted_on_other_fold"]
        assert first == second
    summary = report["summary"]
    assert summary["segment"]["boundary_exact"] >= summary["argmax"]["boundary_exact"] + 0.1
    assert summary["segment"]["block_accuracy"] >= 0.8
    # The bound is held at PROTECT (0.99), not fitted; no confident block of full evidence is relabelled.
    assert PROTECT == 0.99 and report["params"]["protect"] == PROTECT
    # The bound holds a block's label by its own log-odds; the own label counted here is taken
    # relative to the page's centre, so when the small fit chooses a high ``relative`` (1.0 in a
    # run of the coordinate ascent) a block can be confident by its score and still have the other own
    # label: then the decoder keeps the score's label, rightly (1 block of 34 in this run).
    confident = report["overturns_on_both_folds"]["0.99"]
    if report["params"]["full_evidence_words"] <= 48 and confident["changed"]:
        assert confident["changed"] <= 0.05 and confident["changes_right"] == 1.0


@pytest.mark.parametrize("template", ["wordpress", "isso", "discourse", "news"])
def test_each_html_template_gives_back_the_page_s_blocks_with_comment_markup(template):
    from model.html_page import parse_blocks
    from training.html_pages import render_html

    page = Page(
        blocks=("Council backs housing plan", "The council voted on Tuesday to approve the new plan for 400 homes.",
                "12 Comments", "jdoe42 3 hours ago", "What a waste of money, again.", "Reply", "Load more"),
        labels=("editorial", "editorial", "other", "other", "comment", "other", "other"),
        roles=("headline", "body", "header", "meta", "comment", "controls", "more"),
    )
    parsed = parse_blocks(render_html(page, template))
    texts = [block.text for block in parsed]
    positions = [texts.index(text) for text in page.blocks]
    assert positions == sorted(positions)
    comment = parsed[texts.index("What a waste of money, again.")]
    assert comment.flags.comments
    assert not parsed[texts.index(page.blocks[1])].flags.comments


@pytest.mark.parametrize("seed", range(10))
def test_a_title_heads_the_page_below_only_the_sites_own_chrome(seed):
    chrome = [s for s in STRINGS if s.system == "isso"] + [s for s in STRINGS if s.kind == "page"][:20]
    page = assemble_page(ARTICLE, THREAD, random.Random(seed), chrome, "b", "news", "forum",
                         title="Council approves east side housing plan", headline_share=1.0)
    at = page.blocks.index("Council approves east side housing plan")
    assert page.roles[at] == "headline" and page.labels[at] == "editorial"
    assert set(page.roles[:at]) <= {"page"} and page.roles.count("headline") == 1
    # The body keeps every paragraph, the in-article heading too (it is not the headline here).
    assert [b for b, r in zip(page.blocks, page.roles) if r == "body"] == ARTICLE
    assert all(r in ("page", "body") for r in page.roles[at + 1:page.roles.index("body")])


def test_without_a_title_or_share_the_page_is_laid_out_as_before():
    chrome = [s for s in STRINGS if s.system == "isso"]
    plain = assemble_page(ARTICLE, THREAD, random.Random(4), chrome, "b", "news", "forum")
    assert assemble_page(ARTICLE, THREAD, random.Random(4), chrome, "b", "news", "forum", title="A title") == plain
    assert assemble_page(ARTICLE, THREAD, random.Random(4), chrome, "b", "news", "forum", headline_share=1.0) == plain


def test_a_share_of_comment_sections_opens_with_no_header_and_the_pages_are_otherwise_the_same():
    records = _two_articles() + _records("comment", "forum", "t1", THREAD)
    order = {record: index for index, record in enumerate(records)}
    plain = build_pages(records, 60, STRINGS, seed=5, order=order)
    assert build_pages(records, 60, STRINGS, seed=5, order=order, headerless_share=0.0) == plain
    some = build_pages(records, 60, STRINGS, seed=5, order=order, headerless_share=0.5)
    dropped = 0
    for before, after in zip(plain, some):
        if "comment" not in before.roles:
            assert after == before  # a page with no comments keeps its (empty) section's header
            continue
        first = before.roles.index("comment")
        headers = [i for i, role in enumerate(before.roles[:first]) if role == "header"]
        assert headers, "a built comment section opens on a header"
        if after == before:
            continue
        dropped += 1
        kept = [i for i in range(len(before.blocks)) if i not in headers]
        assert after.blocks == tuple(before.blocks[i] for i in kept)
        assert after.labels == tuple(before.labels[i] for i in kept)
        assert "header" not in after.roles[: after.roles.index("comment")]
    with_comments = sum("comment" in page.roles for page in plain)
    assert 0.25 * with_comments < dropped < 0.75 * with_comments


def test_built_pages_carry_their_groups_title_on_the_share_asked():
    records = (
        _two_articles()
        + _records("comment", "forum", "t1", THREAD)
    )
    order = {record: index for index, record in enumerate(records)}
    titles = {"news:a1": "Council approves housing plan"}
    assert build_pages(records, 30, STRINGS, seed=1, order=order) == build_pages(
        records, 30, STRINGS, seed=1, order=order, titles=titles, headline_share=0.0)
    pages = build_pages(records, 60, STRINGS, seed=1, order=order, titles=titles, headline_share=1.0)
    for page in pages:
        has_a1 = any(b in ARTICLE for b in page.blocks)
        assert ("Council approves housing plan" in page.blocks) == has_a1
        assert "Council approves housing plan" not in [r.text for r in records]
    assert any("Council approves housing plan" in page.blocks for page in pages)
    some = build_pages(records, 60, STRINGS, seed=1, order=order, titles=titles, headline_share=0.5)
    titled = [p for p in some if any(b in ARTICLE for b in p.blocks)]
    assert 0 < sum("Council approves housing plan" in p.blocks for p in titled) < len(titled)


def test_a_page_shows_its_comment_systems_section_and_its_sites_page_chrome():
    records = _two_articles() + _records("comment", "forum", "t1", THREAD)
    order = {record: index for index, record in enumerate(records)}
    by_system = {name: [s for s in STRINGS if s.system == name] for name in systems(STRINGS)}
    themes = {name for name, members in by_system.items() if all(s.kind == "page" for s in members)}
    with_page = {name for name, members in by_system.items() if any(s.kind == "page" for s in members)}
    assert themes, "the data holds site themes that publish page strings only"

    def rendered(name: str, kinds: set[str]) -> set[str]:  # the strings with no placeholder
        return {s.template for s in by_system[name] if s.kind in kinds and "{" not in s.template}

    for site_chrome in ("own", "theme"):
        pages = build_pages(records, 80, STRINGS, seed=2, order=order, site_chrome=site_chrome)
        assert not {p.system for p in pages} & themes  # a theme is never a page's comment system
        if site_chrome == "own":
            assert all(p.site == p.system for p in pages)
        else:
            assert all(p.site in with_page for p in pages)
            assert {p.site for p in pages} & themes and any(p.site != p.system for p in pages)
        for page in pages:
            page_lines = {b for b, role in zip(page.blocks, page.roles) if role == "page"}
            section_lines = {b for b, role in zip(page.blocks, page.roles) if role in ("header", "form", "notice")}
            others = set().union(*(rendered(n, {"page"}) for n in by_system if n != page.site)) - rendered(
                page.site, {"page"})
            assert not page_lines & others  # plain page strings come from the page's site
            assert not section_lines & (rendered(page.site, {"page"}) - rendered(page.system, {"header", "form",
                                                                                              "notice"}))


def _noisy_pages(detector, seed: int) -> tuple[PageBatch, SegmentParams]:
    """Pages whose blocks' scores are noisy, so that some labels are wrong and the page is unsure
    of some, and costs to read them with."""
    rng = random.Random(seed)
    pages = [assemble_page(ARTICLE, THREAD, random.Random(page_seed), [s for s in STRINGS if s.system == "isso"])
             for page_seed in range(30)]
    truth = {b: label for page in pages for b, label in zip(page.blocks, page.labels)}
    scores = {b: 0.5 if label == "other" else rng.uniform(0.55, 0.99) if (label == "editorial") != (rng.random() < 0.25)
              else rng.uniform(0.01, 0.45) for b, label in truth.items()}
    params = SegmentParams(full_evidence_words=8, start_in_comments=3.0, enter_without_header=1.0, max_evidence=3.0)
    return PageBatch.of(pages, scores, detector), params


def test_the_page_band_is_the_least_confidence_that_keeps_each_labels_precision(tiny_detector):
    batch, params = _noisy_pages(tiny_detector, 3)
    sides = page_sides(batch, params)
    for precision in (0.6, 0.8):
        least = choose_page_band(batch, params, precision)
        figures = page_band_figures(batch, params, least)
        for code, name, edge in ((0, "editorial", least[0]), (1, "comment", least[1])):
            values = sides["page"][..., code][sides[name]]
            right = sides["truth"][sides[name]] == code
            decided = values >= edge
            if decided.any():
                assert right[decided].mean() >= precision
                assert figures[f"{name}_right"] == round(float(right[decided].mean()), 4)
            # No lower edge among the values keeps the precision with more decisions.
            for lower in np.unique(values[values < edge]):
                assert right[values >= lower].mean() < precision
        assert 0.0 < figures["review_share"] < 1.0
    # Some labels are wrong, so that the band has work to do.
    assert 0.5 < page_band_figures(batch, params, (0.0, 0.0))["decided_right"] < 0.95


def test_the_page_band_figures_say_how_well_the_pages_probabilities_are_calibrated(tiny_detector):
    batch, params = _noisy_pages(tiny_detector, 5)
    sides = page_sides(batch, params)
    text = sides["editorial"] | sides["comment"]
    sure = np.where(sides["editorial"], sides["page"][..., 0], sides["page"][..., 1])[text]
    right = (sides["truth"] == np.where(sides["editorial"], 0, 1))[text]
    # By hand: ten bins of the page's P(label), each bin's gap between it and the share right.
    bins = np.clip(np.digitize(sure, np.linspace(0, 1, 11)[1:-1]), 0, 9)
    gap = sum((bins == b).sum() * abs(sure[bins == b].mean() - right[bins == b].mean()) for b in range(10)
              if (bins == b).any()) / len(sure)
    figures = page_band_figures(batch, params, (0.0, 0.0))
    assert figures["calibration_error"] == pytest.approx(gap, abs=1e-4)
    assert 0.0 < figures["calibration_error"] < 1.0


def test_a_pages_log_loss_is_minus_the_log_of_the_pages_probability_of_its_labels(tiny_detector):
    batch, params = _noisy_pages(tiny_detector, 7)
    params = replace(params, protect=2.0)
    loss = page_log_loss(batch, params)
    assert loss.shape == (len(batch.lengths),) and (loss > 0).all()
    # A one-block page: the page's probability of its label is the block's.
    single = PageBatch.of([Page((ARTICLE[0],), ("editorial",)), Page((THREAD[0],), ("editorial",))],
                          {ARTICLE[0]: 0.8, THREAD[0]: 0.3}, tiny_detector)
    page = page_sides(single, params)["page"]
    assert np.exp(-page_log_loss(single, params)) == pytest.approx([page[0, 0, 0], page[1, 0, 0]])


def test_the_log_loss_gradient_is_that_of_the_log_loss(tiny_detector):
    batch, params = _noisy_pages(tiny_detector, 11)
    params = replace(params, protect=2.0, enter_without_header=1.5, comment_after_comment=0.7, relative=0.3,
                     split_relative=0.2, top_chrome=0.5, end_in_opening=1.0, chrome_weight=1.2,
                     header_after_comments=1.0, max_evidence=2.5, full_evidence_words=8.5, opening_weight=1.5,
                     text_bonus=0.2, header_in_opening_comments=0.5, leave_opening_comments=3.0)
    # The markup's votes of an HTML page, so that markup_weight acts too.
    features = batch.features.copy()
    features[..., 6:9] = np.random.default_rng(11).integers(0, 2, features.shape[:-1] + (3,))
    batch = PageBatch(features, batch.truth, batch.lengths)
    # Every cost (the page band and ``protect`` are not costs).
    names = [f.name for f in fields(SegmentParams) if f.name not in ("protect", "page_editorial", "page_comment")]
    loss, gradient = log_loss_gradient(batch, params, names)
    assert loss == pytest.approx(page_log_loss(batch, params).sum(), rel=1e-12)
    step = 1e-5
    for name, value in zip(names, gradient):
        up = page_log_loss(batch, replace(params, **{name: getattr(params, name) + step})).sum()
        down = page_log_loss(batch, replace(params, **{name: getattr(params, name) - step})).sum()
        assert value == pytest.approx((up - down) / (2 * step), rel=1e-3, abs=1e-4), name
    assert np.abs(gradient).max() > 0.1


def test_the_likelihood_fit_lowers_the_log_loss_within_the_ranges_and_keeps_the_kept_pages(tiny_detector):
    batch, params = _noisy_pages(tiny_detector, 9)
    base = replace(params, protect=0.99)
    ranges = {"enter_comments": (0.1, 4.0), "enter_without_header": (0.0, 8.0), "comment_after_comment": (0.0, 2.0),
              "relative": (0.0, 1.0), "end_in_opening": (0.0, 8.0)}
    fitted, info = fit_likelihood(batch, base=base, ranges=ranges)
    for name, (low, high) in ranges.items():
        assert low <= getattr(fitted, name) <= high
    assert fitted.protect == 0.99 and fitted.full_evidence_words == base.full_evidence_words
    before = page_log_loss(batch, replace(base, protect=2.0)).sum() / (batch.truth >= 0).sum()
    assert info["log_loss"] < before - 0.01
    assert info["keep_weight"] == 0.0 and info["keep_right"]
    # A kept page the fit alone reads wrong weighs more until it decodes right.
    keep = PageBatch.of([Page((ARTICLE[0], THREAD[0], "Reply"), ("editorial", "comment", "other"))],
                        {ARTICLE[0]: 0.8, THREAD[0]: 0.45, "Reply": 0.5}, tiny_detector)
    assert evaluate(keep, keep.segment(fitted))["block_accuracy"] < 1.0
    kept, kept_info = fit_likelihood(batch, base=base, ranges=ranges, keep=keep)
    assert kept_info["keep_weight"] > 0.0 and kept_info["keep_right"]
    assert evaluate(keep, keep.segment(kept))["block_accuracy"] == 1.0
    assert kept_info["log_loss"] >= info["log_loss"]  # keeping it costs the built pages a little


def _page(*rows) -> Page:
    blocks, labels, roles = zip(*rows)
    return Page(blocks, labels, roles=roles)


BODY = [(text, "editorial", "body") for text in ARTICLE[2:]]


def test_pages_shaped_like_the_seed_page_end_on_a_comment_with_no_header_and_one_line_of_controls():
    seed_shaped = _page(*BODY, (THREAD[0], "comment", "comment"), ("Reply", "other", "controls"))
    assert seed_like(seed_shaped) == 3
    # Several comments: the last has no meta line above it (the line above is the previous comment's controls).
    thread = _page(*BODY, ("3 hours ago", "other", "meta"), (THREAD[0], "comment", "comment"),
                   ("Reply", "other", "controls"), (THREAD[1], "comment", "comment"), ("Reply", "other", "controls"))
    assert seed_like(thread) == 6
    comment, controls = (THREAD[0], "comment", "comment"), ("Reply", "other", "controls")
    for other in (
        _page(*BODY, ("12 Comments", "other", "header"), comment, controls),
        _page(*BODY, ("3 hours ago", "other", "meta"), comment, controls),
        _page(*BODY, comment, controls, ("Load more", "other", "more")),
        _page(*BODY, (THREAD[0], "comment", "comment")),
        _page(*BODY, ("12 Comments", "other", "header")),
        _page(("3 hours ago", "other", "meta"), comment, controls),
    ):
        assert seed_like(other) is None


def test_seed_like_figures_count_the_last_comments_labelled_and_decided(tiny_detector):
    pages = [_page(*BODY, (THREAD[i], "comment", "comment"), ("Reply", "other", "controls")) for i in range(3)]
    pages.append(_page(*BODY, ("12 Comments", "other", "header"), (THREAD[0], "comment", "comment")))
    # The first two comments read as comments, the third as editorial prose.
    scores = {**{text: 0.95 for text in ARTICLE}, THREAD[0]: 0.02, THREAD[1]: 0.12, THREAD[2]: 0.97,
              "Reply": 0.5, "12 Comments": 0.5}
    batch = PageBatch.of(pages, scores, tiny_detector)
    params = SegmentParams(full_evidence_words=8, enter_without_header=1.0)
    codes = batch.segment(params)
    page = page_sides(batch, params)["page"]
    assert [codes[i, 3] for i in range(3)] == [1, 1, 0]
    assert page[0, 3, 1] > page[1, 3, 1] > 0.5
    edge = (page[0, 3, 1] + page[1, 3, 1]) / 2
    figures = seed_like_figures(pages, batch, replace(params, page_comment=edge))
    assert figures == {"pages": 3, "comment_right": 2, "comment_decided": 1}
    assert seed_like_figures(pages, batch, replace(params, page_comment=0.0))["comment_decided"] == 2
    assert seed_like_figures(pages[3:], batch, params) == {"pages": 0, "comment_right": 0, "comment_decided": 0}


def test_the_seed_page_figures_say_which_blocks_are_right_and_decided(tiny_detector):
    page = Page((ARTICLE[0], ARTICLE[2], THREAD[1], "Reply"), ("editorial", "editorial", "comment", "other"))
    keep = PageBatch.of([page], {ARTICLE[0]: 0.9, ARTICLE[2]: 0.6, THREAD[1]: 0.2, "Reply": 0.5}, tiny_detector)
    params = SegmentParams(full_evidence_words=8, enter_without_header=1.0)
    page = page_sides(keep, params)["page"][0]
    assert keep.segment(params)[0].tolist() == [0, 0, 1, 2]
    figures = seed_page_figures(keep, params)
    assert figures["blocks"] == 4 and figures["right"] == 4 and figures["decided_right"] == 4
    assert figures["comment_page_p"] == [round(float(page[2, 1]), 4)]
    # An edge above the comment's P sends it to review; one above the second paragraph's, that one.
    assert seed_page_figures(keep, replace(params, page_comment=page[2, 1] + 1e-6))["decided_right"] == 3
    assert seed_page_figures(keep, replace(params, page_editorial=1.0))["decided_right"] == 2
