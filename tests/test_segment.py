"""Page segmentation: blocks, the chrome detector, Viterbi decoding on hand-written probabilities, reasons, the seed page."""

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from model.segment import (
    SEGMENT_LABELS,
    TRANSITION_COSTS,
    SegmentParams,
    _transitions,
    argmax_labels,
    block_features,
    chrome_kind,
    chrome_probabilities,
    comments_start,
    decode_codes,
    emissions,
    expected_counts,
    is_chrome,
    band_thresholds,
    label_posteriors,
    log_partition,
    page_decision,
    split_centre,
    segment,
    segment_blocks,
    segment_text,
    split_blocks,
    states_emitting,
)

REPO = Path(__file__).resolve().parent.parent
SEED_PAGE = REPO.parent / "shared" / "examples" / "scraped-page-article-and-comment.txt"

PARAGRAPH = "The minister said on Tuesday that the new rules would take effect next spring, officials confirmed."
COMMENT = "lol as if anyone believes this, the government never keeps a single promise it makes to us"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n  \r\n",
        "one line",
        "  padded line \t",
        "first\nsecond\n\nthird",
        "windows\r\nline endings\r\n\r\n  indented\r\n",
        "old mac\rbreaks",
        "\n\n  A heading\n\nA paragraph of text.  \n\t\nReply1 Comment(s)\n",
    ],
)
def test_split_blocks_offsets_point_at_the_stripped_blocks(text):
    blocks = split_blocks(text)
    for start, end, block in blocks:
        assert text[start:end] == block
        assert block == block.strip() and block
    assert [b for _, _, b in blocks] == [line.strip() for line in text.splitlines() if line.strip()]
    starts = [start for start, _, _ in blocks]
    assert starts == sorted(starts)


# Rows of chrome_probabilities written by hand: P(text), P(header), P(item), P(page).
TEXT_ROW, HEADER_ROW, ITEM_ROW, PAGE_ROW = [0.98, 0.0, 0.01, 0.01], [0.02, 0.9, 0.05, 0.03], \
    [0.02, 0.05, 0.9, 0.03], [0.02, 0.03, 0.05, 0.9]
ROWS = {"12 Comments": HEADER_ROW, "Join the conversation": HEADER_ROW, "Reply": ITEM_ROW, "Like · Reply": ITEM_ROW,
        "Advertisement": PAGE_ROW}
PARAMS = SegmentParams(enter_comments=0.5, leave_comments=6.0, full_evidence_words=16, max_evidence=3.0,
                       comment_chrome_in_article=2.0, header_after_comments=4.0, chrome_weight=1.0, protect=0.99)


def rows(blocks):
    return np.array([ROWS.get(b, TEXT_ROW) for b in blocks])


def seg(blocks, probabilities, params=PARAMS):
    return segment(blocks, probabilities, params, rows(blocks))


# Lines the shipped detector must know for chrome; none of them is a string of the data file
# as it stands there (placeholders filled, buttons run together as scraped text shows them).
CHROME_LINES = [
    "Reply", "Reply1 Comment(s)", "12 Comments", "Show 3 more replies", "Load more comments",
    "Sign in to comment", "Reply · Report", "3 hours ago", "2 days ago", "just now", "Sort by Newest",
    "Join the conversation", "Comments are closed.", "Leave a Reply Cancel reply", "Share on Facebook",
]
NOT_CHROME = [
    "A rare ally of North Korea", "Yesterday's news is today's history, he said.",
    "Like I said, nobody reads the comments anyway.", PARAGRAPH, COMMENT,
    "Reply to the minister's letter was sent on Jan 5, 2024 by the council's clerk.",
]


@pytest.mark.parametrize("line", CHROME_LINES)
def test_the_shipped_detector_knows_chrome(line):
    assert is_chrome(line)
    assert chrome_kind(line) in ("header", "item", "page")


@pytest.mark.parametrize("line", NOT_CHROME)
def test_headings_comments_and_prose_are_not_chrome(line):
    assert not is_chrome(line)
    assert chrome_kind(line) is None


def test_blocks_carry_the_detectors_chrome_probability():
    result = segment_blocks([PARAGRAPH, "Reply"], [0.95, 0.5])
    assert result[0]["chrome"] < 0.1 < 0.5 < result[1]["chrome"] <= 1.0


@pytest.mark.parametrize(("line", "kind"), [("12 Comments", "header"), ("Reply · Report", "item")])
def test_chrome_kinds(line, kind):
    assert chrome_kind(line) == kind


def test_chrome_probabilities_are_rows_of_four_that_sum_to_one():
    probabilities = chrome_probabilities(["Reply", PARAGRAPH, ""])
    assert probabilities.shape == (3, 4)
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_a_short_unlikely_heading_between_paragraphs_stays_editorial_and_says_why():
    blocks = [PARAGRAPH, PARAGRAPH, "A noteworthy visit", PARAGRAPH, PARAGRAPH]
    result = segment_blocks(blocks, [0.95, 0.9, 0.05, 0.9, 0.95], PARAMS, rows(blocks))
    assert [b["label"] for b in result] == ["editorial"] * 5
    assert result[2]["own"] == "comment"
    assert result[2]["context"] == "inside the article, before its comment section"
    assert all("context" not in b for i, b in enumerate(result) if i != 2)


def test_one_editorial_looking_comment_is_moved_and_carries_the_reason():
    blocks = [PARAGRAPH, PARAGRAPH, "12 Comments", COMMENT, COMMENT, "Well said, and thanks for it", "Reply", COMMENT]
    result = segment_blocks(blocks, [0.95, 0.95, 0.3, 0.1, 0.1, 0.9, 0.4, 0.2], PARAMS, rows(blocks))
    assert [b["label"] for b in result] == ["editorial", "editorial", "other", "comment", "comment", "comment",
                                            "other", "comment"]
    assert result[5]["own"] == "editorial" and result[5]["context"] == "inside the comment section"


def test_context_never_overturns_a_confident_block():
    long_paragraph = " ".join([PARAGRAPH] * 2)
    blocks = [PARAGRAPH, "12 Comments", COMMENT, long_paragraph, COMMENT]
    probabilities = [0.95, 0.3, 0.1, 0.995, 0.1]
    protected = segment_blocks(blocks, probabilities, PARAMS, rows(blocks))
    assert protected[3]["label"] == "editorial" and "context" not in protected[3]
    unprotected = segment_blocks(blocks, probabilities, replace(PARAMS, protect=2.0), rows(blocks))
    assert unprotected[3]["label"] == "comment" and unprotected[3]["context"] == "inside the comment section"


def test_a_comment_like_last_paragraph_before_the_header_stays_in_the_article():
    blocks = [PARAGRAPH, PARAGRAPH, "So it goes", "Join the conversation", COMMENT, COMMENT]
    labels = seg(blocks, [0.95, 0.9, 0.35, 0.2, 0.1, 0.1])
    assert labels == ["editorial"] * 3 + ["other", "comment", "comment"]
    assert comments_start(labels) == 4


def test_all_comments():
    blocks = [COMMENT, "Reply", COMMENT, "Like · Reply", COMMENT]
    assert seg(blocks, [0.2, 0.5, 0.6, 0.5, 0.1]) == ["comment", "other", "comment", "other", "comment"]


def test_all_editorial():
    blocks = ["Talks stall as deadline nears", "By Jane Doe", PARAGRAPH, "Advertisement", PARAGRAPH, PARAGRAPH]
    labels = seg(blocks, [0.3, 0.4, 0.9, 0.5, 0.6, 0.97])
    assert labels == ["editorial", "editorial", "editorial", "other", "editorial", "editorial"]
    assert comments_start(labels) is None


def test_empty_page_and_mismatched_lengths():
    assert segment([], []) == []
    assert argmax_labels([], []) == []
    with pytest.raises(ValueError, match="2 blocks but 1 probabilities"):
        segment([PARAGRAPH, COMMENT], [0.5])


@pytest.mark.parametrize("p", [0.02, 0.3, 0.49, 0.51, 0.7, 0.98])
def test_a_single_block_is_labelled_by_the_classifier(p):
    expected = ["editorial" if p > 0.5 else "comment"]
    assert seg([PARAGRAPH], [p]) == argmax_labels([PARAGRAPH], [p], PARAMS, rows([PARAGRAPH])) == expected


@pytest.mark.parametrize(("labels", "start"), [([], None), (["editorial", "other"], None),
                                               (["other", "comment"], 1), (["comment", "editorial", "comment"], 0)])
def test_comments_start(labels, start):
    assert comments_start(labels) == start


def test_fitted_params_are_read_from_the_data_file(tmp_path):
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"params": {"enter_comments": 1.5, "protect": 0.9}}), encoding="utf-8")
    params = SegmentParams.fitted(path)
    assert params.enter_comments == 1.5 and params.protect == 0.9
    assert SegmentParams.fitted(tmp_path / "missing.json") == SegmentParams()
    with pytest.raises(ValueError, match="unknown segmentation parameters: nope"):
        SegmentParams.from_dict({"nope": 1})


def test_a_comment_like_article_above_a_header_stays_the_article():
    # Every paragraph leans comment, but the section's header comes after them: a page that
    # began with its comments would have no header there.
    blocks = [PARAGRAPH, PARAGRAPH, PARAGRAPH, "12 Comments", COMMENT, "Reply", COMMENT]
    probabilities = [0.3, 0.25, 0.35, 0.3, 0.05, 0.4, 0.05]
    assert seg(blocks, probabilities)[:3] == ["comment"] * 3
    params = replace(PARAMS, header_in_opening_comments=8.0, relative=0.5)
    result = segment_blocks(blocks, probabilities, params, rows(blocks))
    assert [b["label"] for b in result] == ["editorial"] * 3 + ["other", "comment", "other", "comment"]
    assert all(b["context"] == "inside the article, before its comment section" for b in result[:3])


def test_a_section_that_opens_without_a_header_costs_more():
    blocks = [PARAGRAPH, PARAGRAPH, "So it goes, and it is sad.", COMMENT]
    probabilities = [0.95, 0.9, 0.4, 0.2]
    assert seg(blocks, probabilities)[2] == "comment"
    assert seg(blocks, probabilities, replace(PARAMS, enter_without_header=2.0))[2] == "editorial"


def test_a_page_cannot_open_on_its_comment_sections_header():
    # Chrome at the top of a page is the page's own: the article below it is not comments.
    blocks = ["Advertisement", PARAGRAPH, PARAGRAPH, "12 Comments", COMMENT]
    probabilities = [0.5, 0.45, 0.45, 0.3, 0.1]
    params = replace(PARAMS, enter_without_header=2.0, header_in_opening_comments=8.0)
    assert seg(blocks, probabilities, params) == ["other", "editorial", "editorial", "other", "comment"]


def test_the_page_centre_is_the_median_log_odds_of_its_long_text_blocks():
    blocks = [PARAGRAPH, PARAGRAPH, "Reply", PARAGRAPH, "Short line"]
    features = block_features(blocks, [0.9, 0.5, 0.5, 0.1, 0.99], rows(blocks))
    assert np.allclose(features[:, 9], 0.0)
    features = block_features(blocks, [0.9, 0.8, 0.5, 0.6, 0.01], rows(blocks))
    assert np.allclose(features[:, 9], np.log(0.8 / 0.2))


@pytest.mark.parametrize(("logits", "centre"), [
    ([], 0.0),
    ([1.5], 1.5),
    # An article at +2 above comments at -2: the midpoint of the two runs' means.
    ([2.0, 2.0, 2.0, -2.0, -2.0], 0.0),
    # Every block comment-like, the article less so than its comments: between the two.
    ([-1.0, -1.5, -0.5, -1.0, -4.0, -5.0], (-1.0 + -4.5) / 2),
    # No first run above the rest (rising): the median.
    ([-3.0, -1.0, 0.0, 2.0], -0.5),
])
def test_the_split_centre_is_the_midpoint_of_the_article_and_comment_runs(logits, centre):
    assert split_centre(np.array(logits)) == pytest.approx(centre)


def test_the_split_centre_is_a_feature():
    blocks = [PARAGRAPH, PARAGRAPH, "Reply", COMMENT, "Short line"]
    features = block_features(blocks, [0.9, 0.9, 0.5, 0.1, 0.99], rows(blocks))
    assert np.allclose(features[:, 10], (np.log(9.0) + np.log(1 / 9.0)) / 2)


def test_the_split_centre_keeps_a_comment_like_article_above_its_comments():
    # The classifier finds every paragraph a little comment-like; the comments below are far more so.
    blocks = [PARAGRAPH] * 4 + ["12 Comments", COMMENT, "Reply", COMMENT]
    probabilities = [0.3, 0.35, 0.25, 0.3, 0.3, 0.02, 0.4, 0.03]
    params = replace(PARAMS, full_evidence_words=8)
    assert seg(blocks, probabilities, params)[:4] == ["comment"] * 4
    labels = seg(blocks, probabilities, replace(params, split_relative=1.0))
    assert labels == ["editorial"] * 4 + ["other", "comment", "other", "comment"]


def test_comments_one_after_another_with_no_chrome_between_cost_more():
    # Four paragraphs, the last three comment-like: without the cost they are read as a
    # comment section that opens straight on them; with it, a run of text with none of a comment
    # system's lines between is the article's.
    blocks = [PARAGRAPH] * 4
    probabilities = [0.9, 0.4, 0.4, 0.4]
    params = replace(PARAMS, full_evidence_words=8)
    assert seg(blocks, probabilities, params) == ["editorial"] + ["comment"] * 3
    costly = replace(params, comment_after_comment=2.0)
    assert seg(blocks, probabilities, costly) == ["editorial"] * 4
    # Comments framed by their controls pay nothing more.
    framed = [PARAGRAPH, "12 Comments", COMMENT, "Reply", COMMENT, "Reply", COMMENT]
    framed_p = [0.9, 0.3, 0.4, 0.4, 0.4, 0.4, 0.4]
    assert seg(framed, framed_p, costly) == seg(framed, framed_p, params) == \
        ["editorial", "other", "comment", "other", "comment", "other", "comment"]


# A line of the page's own chrome the detector has never seen: it leans to text, unsure.
UNKNOWN_CHROME_ROW = [0.7, 0.0, 0.0, 0.3]


def test_short_lines_above_the_first_paragraph_lean_to_chrome_under_the_top_prior():
    # Navigation the detector cannot place above the headline; the headline (text to the detector)
    # and everything from the first paragraph on keep their labels.
    blocks = ["Newsletters", "Talks stall as deadline nears", PARAGRAPH, "Newsletters", PARAGRAPH]
    probabilities = [0.55, 0.6, 0.9, 0.55, 0.9]
    chrome = np.array([UNKNOWN_CHROME_ROW, TEXT_ROW, TEXT_ROW, UNKNOWN_CHROME_ROW, TEXT_ROW])
    assert segment(blocks, probabilities, PARAMS, chrome) == ["editorial"] * 5
    result = segment_blocks(blocks, probabilities, replace(PARAMS, top_chrome=1.0), chrome)
    assert [b["label"] for b in result] == ["other", "editorial", "editorial", "editorial", "editorial"]
    assert result[0]["own"] == "editorial"
    assert result[0]["context"] == "a short line above the article's first paragraph, among the page's chrome"
    assert all("context" not in b for b in result[1:])


def test_the_top_prior_yields_to_a_short_lines_own_evidence():
    # The same line, that the detector takes firmly for text, stays the article's at the top.
    blocks = ["Talks stall as deadline nears", PARAGRAPH, PARAGRAPH]
    params = replace(PARAMS, top_chrome=2.0)
    assert segment(blocks, [0.6, 0.9, 0.9], params, rows(blocks)) == ["editorial"] * 3
    # It leans harder on shorter lines: at this cost a one-word line the detector is as sure of
    # as the headline above turns to chrome where the five-word headline does not.
    shy = np.array([[0.9, 0.0, 0.0, 0.1], [0.9, 0.0, 0.0, 0.1], TEXT_ROW])
    assert segment(["Newsletters", "Talks stall as deadline nears", PARAGRAPH], [0.6, 0.6, 0.9], params, shy) == \
        ["other", "editorial", "editorial"]


def test_the_blocks_above_the_first_long_text_block_are_marked():
    blocks = ["Home", "Advertisement", PARAGRAPH, "Reply", PARAGRAPH]
    features = block_features(blocks, [0.5, 0.5, 0.9, 0.5, 0.9], rows(blocks))
    assert features[:, 11].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]
    # A page with no long text block has no article's first paragraph to stand above.
    assert block_features(["Home", "Reply"], [0.5, 0.5], rows(["Home", "Reply"]))[:, 11].tolist() == [0.0, 0.0]


def test_a_section_that_opens_on_the_pages_last_block_costs_end_in_opening():
    blocks = [PARAGRAPH, COMMENT, "12 Comments"]
    features = block_features(blocks, [0.9, 0.3, 0.5], rows(blocks))
    assert features[:, 12].tolist() == [0.0, 0.0, 1.0]
    difference = emissions(features, replace(PARAMS, end_in_opening=3.0)) - emissions(features, PARAMS)
    assert difference[2, 2] == pytest.approx(-3.0)  # the opening state, on the last block alone
    difference[2, 2] = 0.0
    assert np.allclose(difference, 0.0)
    # A comment-like last paragraph above a line that reads as a header: at no cost the line
    # opens an empty section below the article; where a section seldom ends on its opening, the
    # paragraph is a comment and the line its controls.
    params = replace(PARAMS, enter_without_header=1.0, header_after_comments=0.5, comment_chrome_in_article=4.0)
    probabilities = [0.9, 0.35, 0.5]
    blocks = [PARAGRAPH, COMMENT, "Reply1 Comment(s)"]
    chrome = np.array([TEXT_ROW, TEXT_ROW, [0.02, 0.58, 0.38, 0.02]])  # read as a header, or a comment's controls
    assert segment(blocks, probabilities, params, chrome) == ["editorial", "editorial", "other"]
    assert segment(blocks, probabilities, replace(params, end_in_opening=4.0), chrome) == \
        ["editorial", "comment", "other"]


STATES_TO_LABELS = ("editorial", "other", "other", "comment", "other", "comment", "other")


def _path_totals(blocks, probabilities, params):
    """Every state path of the page, in ``itertools.product`` order, and its total log-score."""
    scores = emissions(block_features(blocks, probabilities, rows(blocks)), params)
    table, start = _transitions(params)
    paths = list(itertools.product(range(len(start)), repeat=len(blocks)))
    totals = [start[path[0]] + sum(scores[i, s] for i, s in enumerate(path))
              + sum(table[a, b] for a, b in zip(path, path[1:])) for path in paths]
    return paths, np.array(totals)


def _brute_force(blocks, probabilities, params):
    best, best_path = -np.inf, None
    for path, total in zip(*_path_totals(blocks, probabilities, params)):
        if total > best + 1e-12:
            best, best_path = total, path
    return [STATES_TO_LABELS[s] for s in best_path]


def _stacked_scores(pages, params):
    """``emissions`` of several ``(blocks, probabilities)`` pages, padded into one batch, and their lengths."""
    longest = max(len(b) for b, _ in pages)
    scores = np.zeros((len(pages), longest, 7))
    for i, (blocks, probabilities) in enumerate(pages):
        scores[i, : len(blocks)] = emissions(block_features(blocks, probabilities, rows(blocks)), params)
    return scores, [len(b) for b, _ in pages]


def test_viterbi_finds_the_best_path_and_batches_agree():
    rng = np.random.default_rng(0)
    vocabulary = [PARAGRAPH, COMMENT, " ".join([PARAGRAPH] * 2), "Reply", "12 Comments", "Advertisement",
                  "A noteworthy visit", "So true!", "Newsletters"]
    params = replace(PARAMS, enter_comments=1.0, max_evidence=4.0, header_after_comments=2.0, protect=0.9,
                     enter_without_header=1.0, opening_weight=2.0, relative=0.5, header_in_opening_comments=3.0,
                     leave_opening_comments=2.0, split_relative=0.5, comment_after_comment=1.0,
                     top_chrome=1.5)
    pages = []
    for _ in range(40):
        n = int(rng.integers(1, 7))
        pages.append(([vocabulary[i] for i in rng.integers(0, len(vocabulary), n)], rng.random(n).tolist()))
    for blocks, probabilities in pages:
        assert segment(blocks, probabilities, params, rows(blocks)) == _brute_force(blocks, probabilities, params)
    codes = decode_codes(*_stacked_scores(pages, params), params)
    for row, (blocks, probabilities) in zip(codes, pages):
        assert [SEGMENT_LABELS[c] for c in row[: len(blocks)]] == segment(blocks, probabilities, params, rows(blocks))
        assert (row[len(blocks):] == -1).all()


def test_page_probabilities_are_the_sums_over_every_path_and_batches_agree():
    rng = np.random.default_rng(1)
    vocabulary = [PARAGRAPH, COMMENT, "Reply", "12 Comments", "Advertisement", "A noteworthy visit", "So true!"]
    params = replace(PARAMS, enter_without_header=1.0, opening_weight=2.0, relative=0.5, split_relative=0.25,
                     comment_after_comment=1.0, top_chrome=1.0, header_in_opening_comments=3.0)
    pages = []
    for _ in range(12):
        n = int(rng.integers(1, 6))
        pages.append(([vocabulary[i] for i in rng.integers(0, len(vocabulary), n)], rng.random(n).tolist()))
    # A confident block (protected: some states impossible) on a page of its own too.
    pages.append(([" ".join([PARAGRAPH] * 2), COMMENT, "Reply"], [0.999, 0.2, 0.5]))
    batched = label_posteriors(*_stacked_scores(pages, params), params)
    for row, (blocks, probabilities) in zip(batched, pages):
        # Every path's probability: its total log-score, normalised.
        paths, totals = _path_totals(blocks, probabilities, params)
        weights = np.exp(totals - totals.max())
        expected = np.zeros((len(blocks), 3))
        for path, weight in zip(paths, weights / weights.sum()):
            for i, state in enumerate(path):
                expected[i, SEGMENT_LABELS.index(STATES_TO_LABELS[state])] += weight
        single = segment_blocks(blocks, probabilities, params, rows(blocks))
        assert np.allclose([block["page"] for block in single], expected, atol=1e-9)
        assert np.allclose(row[: len(blocks)], expected, atol=1e-9)
        assert np.allclose(row[: len(blocks)].sum(axis=1), 1.0)
        assert (row[len(blocks):] == 0).all()


# Costs under which every state and move matters, and short random pages to enumerate the paths of.
SMALL_PAGE_PARAMS = replace(PARAMS, enter_without_header=1.0, opening_weight=2.0, relative=0.5, split_relative=0.25,
                            comment_after_comment=1.0, top_chrome=1.0, end_in_opening=2.0, protect=2.0)


def _small_pages(rng, count: int) -> list:
    vocabulary = [PARAGRAPH, COMMENT, "Reply", "12 Comments", "Advertisement", "A noteworthy visit", "So true!"]
    pages = []
    for _ in range(count):
        n = int(rng.integers(1, 6))
        pages.append(([vocabulary[i] for i in rng.integers(0, len(vocabulary), n)], rng.random(n).tolist()))
    return pages


def test_the_log_partition_sums_every_path_and_the_true_labels_paths_under_their_mask():
    rng = np.random.default_rng(4)
    params = SMALL_PAGE_PARAMS
    pages = _small_pages(rng, 10)
    scores, lengths = _stacked_scores(pages, params)
    totals_of_pages = log_partition(scores, lengths, params)
    for index, (blocks, probabilities) in enumerate(pages):
        paths, totals = _path_totals(blocks, probabilities, params)
        assert totals_of_pages[index] == pytest.approx(np.logaddexp.reduce(totals), abs=1e-9)
        # The paths that emit one labelling of the page, and no other.
        truth = rng.integers(0, 3, len(blocks))
        emits = [all(SEGMENT_LABELS.index(STATES_TO_LABELS[s]) == t for s, t in zip(path, truth)) for path in paths]
        masked = np.where(states_emitting(truth), scores[index, : len(blocks)], -np.inf)
        expected = np.logaddexp.reduce(totals[np.array(emits)]) if any(emits) else -np.inf
        assert log_partition(masked[None], [len(blocks)], params)[0] == pytest.approx(expected, abs=1e-9)
    assert log_partition(np.zeros((2, 0, 7)), [0, 0], params).tolist() == [0.0, 0.0]


def test_expected_counts_are_the_states_moves_and_starts_of_every_path_weighed_by_its_probability():
    params = SMALL_PAGE_PARAMS
    pages = _small_pages(np.random.default_rng(6), 8)
    scores, lengths = _stacked_scores(pages, params)
    counts = expected_counts(scores, lengths, params)
    assert np.allclose(counts.log_partition, log_partition(scores, lengths, params), atol=1e-12)
    moves, starts = np.zeros((7, 7)), np.zeros(7)
    for index, (blocks, probabilities) in enumerate(pages):
        paths, totals = _path_totals(blocks, probabilities, params)
        weights = np.exp(totals - np.logaddexp.reduce(totals))
        states = np.zeros((len(blocks), 7))
        for path, weight in zip(paths, weights):
            states[np.arange(len(blocks)), path] += weight
            starts[path[0]] += weight
            for a, b in zip(path, path[1:]):
                moves[a, b] += weight
        assert np.allclose(counts.states[index, : len(blocks)], states, atol=1e-9)
        assert (counts.states[index, len(blocks):] == 0).all()
    assert np.allclose(counts.moves, moves, atol=1e-9)
    assert np.allclose(counts.starts, starts, atol=1e-9)
    # A page no path can take (a label no state emits on its first block) adds nothing.
    blocked = np.where(np.arange(7) == 2, scores[:1], -np.inf)
    nothing = expected_counts(blocked, lengths[:1], params)
    assert nothing.log_partition[0] == -np.inf and not nothing.states.any() and not nothing.moves.any()


def test_the_transition_costs_move_no_blocks_score_and_the_others_no_transition():
    blocks = ["Menu", PARAGRAPH, "A noteworthy visit", PARAGRAPH, "12 Comments", COMMENT, "Reply"]
    features = block_features(blocks, [0.5, 0.99, 0.4, 0.8, 0.5, 0.2, 0.5], rows(blocks))
    base = replace(PARAMS, relative=0.3, split_relative=0.2, top_chrome=0.5, end_in_opening=1.0, protect=2.0,
                   max_evidence=2.0)
    for name in ("enter_comments", "enter_without_header", "leave_comments", "leave_opening_comments",
                 "start_in_comments", "comment_after_comment", "full_evidence_words", "max_evidence",
                 "comment_chrome_in_article", "header_after_comments", "header_in_opening_comments", "chrome_weight",
                 "opening_weight", "text_bonus", "relative", "split_relative", "top_chrome", "end_in_opening"):
        moved = replace(base, **{name: getattr(base, name) + 0.37})
        same_scores = np.array_equal(emissions(features, moved), emissions(features, base))
        same_moves = all(np.array_equal(a, b) for a, b in zip(_transitions(moved), _transitions(base)))
        assert same_scores == (name in TRANSITION_COSTS), name
        assert same_moves != (name in TRANSITION_COSTS), name


def test_page_probabilities_stay_finite_on_the_longest_page():
    # 1,000 blocks (MAX_TEXTS) of confident, contradictory evidence: products of their scores
    # would underflow; the rescaled recursions do not.
    rng = np.random.default_rng(2)
    blocks = [[PARAGRAPH, " ".join([COMMENT] * 3), "Reply", "12 Comments"][i] for i in rng.integers(0, 4, 1000)]
    probabilities = rng.choice([1e-6, 0.5, 1 - 1e-6], 1000).tolist()
    page = np.array([b["page"] for b in segment_blocks(blocks, probabilities, PARAMS, rows(blocks))])
    assert np.isfinite(page).all() and np.allclose(page.sum(axis=1), 1.0)


@pytest.mark.parametrize("label, page, least, decision", [
    ("editorial", [0.9, 0.05, 0.05], (0.9, 0.7), "editorial"),
    ("editorial", [0.89, 0.1, 0.01], (0.9, 0.7), "review"),
    ("comment", [0.2, 0.7, 0.1], (0.9, 0.7), "comment"),
    ("comment", [0.25, 0.69, 0.06], (0.9, 0.7), "review"),
    ("comment", [0.0, 0.5, 0.5], (0.5, 0.5), "comment"),
    ("other", [0.5, 0.3, 0.2], (1.0, 1.0), "other"),  # chrome is never sent to review
    ("editorial", [1.0, 0.0, 0.0], (1.0000000000000002, 0.0), "review"),  # a side that decides nothing
])
def test_a_block_is_decided_when_its_page_is_sure_enough_of_its_label(label, page, least, decision):
    assert page_decision(label, page, least) == decision


def test_a_review_band_holds_the_page_as_it_holds_a_text():
    # [low, high) on P(editorial): editorial from high up, comment below low (the same band where
    # the page gives chrome nothing).
    for p in (0.05, 0.1 - 1e-9, 0.1, 0.5, 0.86 - 1e-9, 0.86, 0.9):
        page = [p, 1.0 - p, 0.0]
        label = "editorial" if p >= 0.5 else "comment"
        expected = "review" if 0.1 <= p < 0.86 else label
        assert page_decision(label, page, band_thresholds((0.1, 0.86))) == expected
    # [0, 1] sends every text block to review, even one the page is certain of.
    for label, page in (("editorial", [1.0, 0.0, 0.0]), ("comment", [0.0, 1.0, 0.0])):
        assert page_decision(label, page, band_thresholds((0.0, 1.0))) == "review"
        assert page_decision(label, page, band_thresholds((0.5, 0.5))) == label


def test_page_probabilities_never_pass_one_on_confident_blocks():
    # Long blocks the classifier is sure of are protected: one state left, probability 1 exactly.
    blocks = [" ".join([PARAGRAPH] * 3)] * 40 + ["12 Comments"] + [" ".join([COMMENT] * 3)] * 40
    probabilities = [1 - 1e-7] * 40 + [0.5] + [1e-7] * 40
    page = np.array([b["page"] for b in segment_blocks(blocks, probabilities, PARAMS, rows(blocks))])
    assert page.min() >= 0.0 and page.max() <= 1.0
    assert (page[:40, 0] == 1.0).all() and (page[41:, 1] == 1.0).all()


def test_segment_text_reports_offsets_labels_and_probabilities():
    text = f"{PARAGRAPH}\r\n\r\n{PARAGRAPH}\n  Reply \n{COMMENT}\n"
    probabilities = {PARAGRAPH: 0.9, "Reply": 0.5, COMMENT: 0.1}
    result = segment_text(text, probabilities.__getitem__)
    assert [r["label"] for r in result] == ["editorial", "editorial", "other", "comment"]
    assert all(text[r["start"]:r["end"]] == r["text"] for r in result)
    assert [r["editorial"] for r in result] == [0.9, 0.9, 0.5, 0.1]


@pytest.mark.artifact
def test_the_seed_page_is_segmented_exactly():
    if not SEED_PAGE.is_file():
        pytest.skip(f"{SEED_PAGE} not found beside the repository")
    from model import Classifier

    classifier = Classifier.load(REPO / "model")
    text = SEED_PAGE.read_text(encoding="utf-8")
    page = classifier.segment_page(split_blocks(text))
    labels = [block["label"] for block in page["blocks"]]
    assert len(labels) == 17
    assert labels == ["editorial"] * 15 + ["comment", "other"]
    assert page["comments_start"] == 15
    # The page decides every article paragraph, the two short subheadings included, though the
    # subheading's own score (0.12) and a paragraph's (0.67) fall inside the text band.
    decisions = [block["decision"] for block in page["blocks"]]
    assert decisions[:15] == ["editorial"] * 15 and decisions[16] == "other"
    # And the comment, whose own score (0.31) is inside the text band too: the page gives it
    # P(comment) 0.90, above the shipped comment edge (0.74).
    assert page["blocks"][15]["page_scores"]["comment"] >= classifier.bundle.segment_params.page_comment
    assert decisions[15] == "comment"
    assert classifier.classify([page["blocks"][15]["text"]])[0]["decision"] == "review"
    # Without the comment's controls below it, the page is not sure of it: it goes to review.
    shorter = classifier.segment_page(split_blocks(text.rstrip().rsplit("\n", 1)[0]))
    assert [block["label"] for block in shorter["blocks"]] == ["editorial"] * 15 + ["comment"]
    assert shorter["blocks"][15]["decision"] == "review"
    own = [block["decision"] for block in classifier.classify([block["text"] for block in page["blocks"][:15]])]
    assert own.count("review") == 2
    for block in page["blocks"]:
        scores = block["page_scores"]
        assert set(scores) == {"editorial", "comment", "other"} and sum(scores.values()) == pytest.approx(1.0)
        assert scores[block["label"]] == max(scores.values())
