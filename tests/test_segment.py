"""Page segmentation: blocks, chrome, Viterbi decoding on hand-written probabilities, the seed page."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from model.segment import (
    SEGMENT_LABELS,
    SegmentParams,
    _transitions,
    argmax_labels,
    block_features,
    chrome_match,
    chrome_score,
    comments_start,
    decode_codes,
    emissions,
    is_chrome,
    segment,
    segment_text,
    split_blocks,
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


CHROME_LINES = [
    "Reply", "Reply1 Comment(s)", "12 comments", "12 Comments", "Comments (12)", "Show 3 more replies",
    "Load more comments", "View all 40 comments", "Sign in to comment", "Like · Reply", "Reply · Report",
    "Report", "Share", "Flag", "Advertisement", "ADVERTISEMENT", "Story continues below advertisement",
    "Read more", "Read more: Talks stall as deadline nears", "3 hours ago", "2 days ago", "5h ago", "just now",
    "Jan 5, 2024 10:32 AM", "Published March 3, 2023", "Updated 10:32 a.m. ET", "2024-01-05",
    "Posted by jdoe42", "jdoe42 · 3 hours ago", "Mark T. 2 days ago", "GreatWhiteNorth | Jan 5, 2024",
    "Share this article", "Follow us", "Follow us on Twitter", "Sign up for our newsletter", "Related Topics",
    "Join the conversation", "Comments are closed", "Sort by: Newest", "12 likes", "5 min read", "▲ 12 ▼",
]
NOT_CHROME = [
    "A rare ally of North Korea", "A noteworthy visit", "So true!", "Totally agree.", "Why it matters",
    "By Jane Doe", "Top 10", "Show all", "Yesterday's news is today's history, he said.",
    "Like I said, nobody reads the comments anyway.", PARAGRAPH, COMMENT,
    "Reply to the minister's letter was sent on Jan 5, 2024 by the council's clerk.",
]


@pytest.mark.parametrize("line", CHROME_LINES)
def test_chrome_is_recognised(line):
    assert is_chrome(line)
    assert chrome_score(line) > 0.5


@pytest.mark.parametrize("line", NOT_CHROME)
def test_headings_comments_and_prose_are_not_chrome(line):
    assert not is_chrome(line)
    assert chrome_score(line) < 0.1


@pytest.mark.parametrize(
    ("line", "kind"),
    [("12 Comments", "header"), ("Sign in to comment", "header"), ("Reply1 Comment(s)", "item"),
     ("View all 12 comments", "item"), ("jdoe42 · 3 hours ago", "item"), ("Share", "page"),
     ("Advertisement", "page"), ("3 hours ago", "page")],
)
def test_chrome_kinds(line, kind):
    assert chrome_match(line)[1] == kind


def test_a_short_unlikely_heading_between_paragraphs_stays_editorial():
    blocks = [PARAGRAPH, PARAGRAPH, "A noteworthy visit", PARAGRAPH, PARAGRAPH]
    assert segment(blocks, [0.95, 0.9, 0.05, 0.9, 0.95]) == ["editorial"] * 5


def test_one_editorial_looking_comment_does_not_turn_the_section_back():
    blocks = [PARAGRAPH, PARAGRAPH, "12 Comments", COMMENT, COMMENT, PARAGRAPH, "Reply", COMMENT]
    labels = segment(blocks, [0.95, 0.95, 0.3, 0.1, 0.1, 0.999, 0.4, 0.2])
    assert labels == ["editorial", "editorial", "other", "comment", "comment", "comment", "other", "comment"]


def test_a_comment_like_last_paragraph_before_the_header_stays_in_the_article():
    blocks = [PARAGRAPH, PARAGRAPH, PARAGRAPH, "Join the conversation", COMMENT, COMMENT]
    labels = segment(blocks, [0.95, 0.9, 0.35, 0.2, 0.1, 0.1])
    assert labels == ["editorial"] * 3 + ["other", "comment", "comment"]
    assert comments_start(labels) == 4


def test_all_comments():
    blocks = [COMMENT, "Reply", COMMENT, "Like · Reply", COMMENT]
    assert segment(blocks, [0.2, 0.5, 0.6, 0.5, 0.1]) == ["comment", "other", "comment", "other", "comment"]


def test_all_editorial():
    blocks = ["Talks stall as deadline nears", "By Jane Doe", PARAGRAPH, "Advertisement", PARAGRAPH, PARAGRAPH]
    labels = segment(blocks, [0.3, 0.4, 0.9, 0.5, 0.6, 0.97])
    assert labels == ["editorial", "editorial", "editorial", "other", "editorial", "editorial"]
    assert comments_start(labels) is None


def test_empty_page_and_mismatched_lengths():
    assert segment([], []) == []
    assert argmax_labels([], []) == []
    with pytest.raises(ValueError, match="2 blocks but 1 probabilities"):
        segment([PARAGRAPH, COMMENT], [0.5])


@pytest.mark.parametrize("p", [0.02, 0.3, 0.49, 0.51, 0.7, 0.98])
def test_a_single_block_is_labelled_by_the_classifier(p):
    assert segment([PARAGRAPH], [p]) == argmax_labels([PARAGRAPH], [p]) == ["editorial" if p > 0.5 else "comment"]


@pytest.mark.parametrize(("labels", "start"), [([], None), (["editorial", "other"], None),
                                               (["other", "comment"], 1), (["comment", "editorial", "comment"], 0)])
def test_comments_start(labels, start):
    assert comments_start(labels) == start


def _brute_force(blocks, probabilities, params):
    scores = emissions(block_features(blocks, probabilities), params)
    table, start = _transitions(params)
    best, best_path = -np.inf, None
    for path in itertools.product(range(5), repeat=len(blocks)):
        total = start[path[0]] + sum(scores[i, s] for i, s in enumerate(path))
        total += sum(table[a, b] for a, b in zip(path, path[1:]))
        if total > best + 1e-12:
            best, best_path = total, path
    states_to_labels = ("editorial", "other", "other", "comment", "other")
    return [states_to_labels[s] for s in best_path]


def test_viterbi_finds_the_best_path_and_batches_agree():
    rng = np.random.default_rng(0)
    vocabulary = [PARAGRAPH, COMMENT, "Reply", "12 Comments", "Advertisement", "A noteworthy visit", "So true!"]
    params = SegmentParams(enter_comments=1.0, max_evidence=4.0, header_after_comments=2.0)
    pages = []
    for _ in range(40):
        n = int(rng.integers(1, 7))
        pages.append(([vocabulary[i] for i in rng.integers(0, len(vocabulary), n)], rng.random(n).tolist()))
    for blocks, probabilities in pages:
        assert segment(blocks, probabilities, params) == _brute_force(blocks, probabilities, params)
    longest = max(len(b) for b, _ in pages)
    scores = np.zeros((len(pages), longest, 5))
    for i, (blocks, probabilities) in enumerate(pages):
        scores[i, : len(blocks)] = emissions(block_features(blocks, probabilities), params)
    codes = decode_codes(scores, [len(b) for b, _ in pages], params)
    for row, (blocks, probabilities) in zip(codes, pages):
        assert [SEGMENT_LABELS[c] for c in row[: len(blocks)]] == segment(blocks, probabilities, params)
        assert (row[len(blocks):] == -1).all()


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
    blocks = [block for _, _, block in split_blocks(text)]
    assert len(blocks) == 17
    labels = segment(blocks, [classifier.editorial_probability(b) for b in blocks])
    assert labels == ["editorial"] * 15 + ["comment", "other"]
    assert comments_start(labels) == 15
