"""Segment a scraped page into article prose, reader comments and page chrome.

A page is a list of blocks (its non-blank lines). Each block brings the classifier's
P(editorial) and the chrome detector's P(text), P(header), P(item), P(page) (``model.chrome``,
learnt from real comment systems' interface strings); a Viterbi decoder then labels the blocks
using the page's structure: the article comes first and its comment section after it, a
comment section rarely turns back into article prose, and short lines (headings, bylines) carry
little evidence of their own, so they take the label of the text around them.

The hidden states and the label each emits:

    article:          EDITORIAL        OTHER (chrome within the article)
    comment section:  OPENED (other: its header or first meta line, before any comment)
                      COMMENT          OTHER (chrome after the first comment)
    a page that begins with its comments (no article above them):
                      COMMENT0         OTHER0

Entering the comment section costs ``enter_comments`` once, and ``enter_without_header`` more
when it opens straight on a comment rather than on a header or meta line (the opening state
weighs the detector's chrome odds ``opening_weight`` times, so a line of prose does not pass
for a header). Going back costs ``leave_comments`` (``leave_opening_comments`` from a page
that began with comments). A comment section's chrome (its header, a comment's own controls)
costs ``comment_chrome_in_article`` inside the article, in proportion to how sure the detector
is of its kind; a header costs ``header_after_comments`` once comments have begun, and
``header_in_opening_comments`` on a page that began with comments (a header there says the
blocks above it were the article). A page cannot begin on the OPENED state: chrome at the top
is the page's own or that of a comment section already under way.

Each block's log-odds of editorial may be taken relative to its page (``relative`` times the
median log-odds of the page's long text blocks is subtracted, and ``split_relative`` times the
midpoint between the mean log-odds of the first run of those blocks and of the rest, split where
the two differ most: ``split_centre``), so that an article whose every paragraph the classifier
finds a little comment-like is still compared with the comments below it. A comment section's
text blocks are framed by its chrome (a meta line, controls); a comment followed straight by
another text block of the section costs ``comment_after_comment``, where an article's paragraphs
follow one another for free. Above the article's first paragraph (the page's first long text
block) stand its navigation, tags and notices as well as its headline: there the article's
chrome state gains ``top_chrome`` times how short the block is, so a short line the detector
cannot place leans to chrome, and a headline the detector takes for text keeps its label.

Context may overturn a block's own label (a short rude line inside the article stays
editorial), but never a confident one: a block of at least ``full_evidence_words`` words whose
own P(label) is ``protect`` or more, and which the detector takes for text, keeps its label.
Every block whose label differs from its own carries the reason (``context_reason``).

How sure the page is of each block's label comes from the same states and costs
(``label_posteriors``, forward-backward); a block is decided when the page's probability of its
label reaches the page band (``page_decision``), else it goes to review.

``SegmentParams.fitted()`` reads the costs and the page band from ``model/segment_data/params.json``, written by
``python -m training.pages --evaluate --write`` (fitted by the likelihood of pages built from text
sources and comment systems that the classifier and the chrome detector did not learn from).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from model.chrome import CLASSES as CHROME_CLASSES
from model.chrome import DATA_DIR, ChromeDetector, shipped_detector
from model.labels import COMMENT, EDITORIAL, REVIEW

OTHER = "other"
SEGMENT_LABELS = (EDITORIAL, COMMENT, OTHER)
# Kinds of chrome: anywhere on a page, a comment section's header, a comment's own controls.
PAGE, HEADER, ITEM = "page", "header", "item"
PARAMS_FILE = DATA_DIR / "params.json"


@dataclass(frozen=True)
class SegmentParams:
    """Costs (in nats) of the page structure, and how much evidence a block carries.

    The values here are a neutral start; the fitted ones are in ``params.json`` (``fitted``).
    """

    # The one switch from the article to its comment section.
    enter_comments: float = 0.5
    # Added when the section opens straight on a comment, with no header or meta line before it.
    enter_without_header: float = 0.0
    # Turning from the comment section back into article prose.
    leave_comments: float = 6.0
    # ... when the page began with its comments (then its first blocks were likely the article).
    leave_opening_comments: float = 6.0
    # A page that opens with its comment section: at 0, a page of comments alone, or a single
    # block, is labelled by the classifier.
    start_in_comments: float = 0.0
    # A block of this many words or more carries the classifier's full log-odds; shorter
    # ones carry words/full_evidence_words of it (a 3-word heading says little).
    full_evidence_words: float = 24.0
    # No block's log-odds count for more than this against the page's structure.
    max_evidence: float = 3.0
    # Comment-section chrome (a header or a comment's controls) inside the article.
    comment_chrome_in_article: float = 2.0
    # A comment-section header after the first comment.
    header_after_comments: float = 4.0
    # A comment-section header on a page that opened with comments: the page must have had an
    # article before that header, so its first blocks were not comments after all.
    header_in_opening_comments: float = 0.0
    # The detector's log-odds of chrome are multiplied by this.
    chrome_weight: float = 1.0
    # ... and by this too where the comment section opens (its header, the first meta line):
    # above 1, a line of prose is not easily taken for the section's opening.
    opening_weight: float = 1.0
    # Added to a text state's score: in the article a text block is editorial, in the comment
    # section a comment, so a block the classifier cannot place is not thereby taken for chrome.
    text_bonus: float = 0.0
    # How much of the page's own centre (the median log-odds of its long text blocks) is taken
    # off each block's log-odds: blocks are compared with the rest of their page.
    relative: float = 0.0
    # ... and how much of the midpoint between the page's article and comments (``split_centre``).
    split_relative: float = 0.0
    # A block of full evidence whose own P(label) is at least this keeps its label (above 1: off).
    protect: float = 0.99
    # A comment followed straight by another text block of the comment section, with no chrome
    # (meta line, controls) between them: comment systems frame each comment with its own lines,
    # where an article's paragraphs follow one another.
    comment_after_comment: float = 0.0
    # Above the article's first paragraph (the page's first long text block) a page has its
    # navigation, tags and notices as well as the headline: the article's chrome state gains this
    # there, times how short the block is (1 - words/full_evidence_words), so a short line the
    # detector cannot place leans to chrome and one of strong evidence of its own keeps its label.
    top_chrome: float = 0.0
    # A page that ends on its comment section's opening (a header with no comment after it):
    # pages whose comments were not scraped have one, but a line that opens a section seldom
    # closes a page, and a comment's controls below its text can look like a section's header.
    end_in_opening: float = 0.0
    # HTML only: a vote of the markup (a comment container, the article's body, page furniture)
    # adds this to the states of its label.
    markup_weight: float = 2.0
    # Not costs: how sure the page must be of a block's label to decide it (``page_decision``):
    # the least P(editorial) for an editorial block, P(comment) for a comment, chosen on held-out
    # pages by ``python -m training.pages``. At 0 every text block is decided by its label.
    page_editorial: float = 0.0
    page_comment: float = 0.0

    @property
    def page_band(self) -> tuple[float, float]:
        """The page's least P(editorial) and P(comment) for a decision (``page_decision``)."""
        return self.page_editorial, self.page_comment

    @classmethod
    def fitted(cls, path: Path = PARAMS_FILE) -> "SegmentParams":
        """The parameters fitted by ``python -m training.pages --evaluate --write``."""
        return _read_params(path)

    @classmethod
    def from_dict(cls, values: dict) -> "SegmentParams":
        """Parameters from a mapping; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown segmentation parameters: {', '.join(sorted(unknown))}")
        return cls(**{k: float(v) for k, v in values.items()})


@lru_cache(maxsize=4)
def _read_params(path: Path) -> SegmentParams:
    if not path.is_file():
        return SegmentParams()
    return SegmentParams.from_dict(json.loads(path.read_text(encoding="utf-8"))["params"])


# --- Page chrome --------------------------------------------------------------------------
# Recognised by model.chrome's detector, learnt from real comment systems' strings.

CHROME_FLOOR = 1e-4  # no block is surely text, or surely chrome, to the decoder


def chrome_probabilities(blocks: Sequence[str], detector: ChromeDetector | None = None) -> np.ndarray:
    """``(len(blocks), 4)`` P(text), P(header), P(item), P(page) from the chrome detector."""
    return (detector or shipped_detector()).probabilities(list(blocks))


def chrome_kind(block: str, detector: ChromeDetector | None = None) -> str | None:
    """``header``, ``item`` or ``page`` when ``block`` is page chrome, else ``None``."""
    row = chrome_probabilities([block], detector)[0]
    if row[0] >= 0.5:
        return None
    return CHROME_CLASSES[1 + int(np.argmax(row[1:]))]


def chrome_score(block: str, detector: ChromeDetector | None = None) -> float:
    """How likely ``block`` is page chrome (neither article nor comment), from 0 to 1."""
    return float(1.0 - chrome_probabilities([block], detector)[0, 0])


def is_chrome(block: str, detector: ChromeDetector | None = None) -> bool:
    """True when ``block`` is page chrome."""
    return chrome_score(block, detector) >= 0.5


# --- Blocks -------------------------------------------------------------------------------

_LINE = re.compile(r"[^\r\n]+")


def split_blocks(text: str) -> list[tuple[int, int, str]]:
    """Non-blank lines of ``text`` as ``(start, end, block)``, stripped, with ``text[start:end] == block``."""
    blocks = []
    for match in _LINE.finditer(text):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + len(line) - len(line.lstrip())
            blocks.append((start, start + len(stripped), stripped))
    return blocks


# --- Decoding -----------------------------------------------------------------------------

# Hidden states: article editorial, article other, section opened, comment, comment other,
# and comment and comment other on a page that began with its comments (no article before).
_E, _OA, _OPENED, _C, _OC, _C0, _OC0 = range(7)
N_STATES = 7
_STATE_CODES = np.array(
    [SEGMENT_LABELS.index(label) for label in (EDITORIAL, OTHER, OTHER, COMMENT, OTHER, COMMENT, OTHER)],
    dtype=np.int8,
)
_OWN_CODES = np.array([SEGMENT_LABELS.index(label) for label in (EDITORIAL, COMMENT, OTHER)], dtype=np.int8)
_P_EPSILON = 1e-9
# Block features (see ``block_features``), one row per block.
_LOGIT, _WORDS, _LOG_CHROME, _LOG_NOT_CHROME, _HEADER_SHARE, _ITEM_SHARE = range(6)
_MARKUP = slice(6, 9)  # the markup's votes for editorial, comment, other (HTML only)
_CENTRE = 9  # the page's median log-odds of editorial over its long text blocks
_SPLIT = 10  # the midpoint between the article's and the comments' mean log-odds (see ``split_centre``)
_ABOVE = 11  # 1 above the page's first long text block (the article's first paragraph), else 0
_LAST = 12  # 1 on the page's last block, else 0
N_FEATURES = 13
# Blocks of at least this many words, taken for text, set the page's centre.
CENTRE_WORDS = 8


def block_features(blocks: Sequence[str], p_editorial: Sequence[float], chrome: np.ndarray | None = None,
                   markup: np.ndarray | None = None) -> np.ndarray:
    """What decoding needs of each block (an ``(n, N_FEATURES)`` array): log-odds of editorial,
    words, log P(chrome), log P(text), the shares of header and item among the chrome kinds, the
    markup's votes for editorial, comment and other, the page's centre (the median log-odds of
    its blocks of ``CENTRE_WORDS`` words or more that the detector takes for text; 0 if none),
    its split centre, whether the block stands above the first of those long text blocks, and
    whether it is the page's last.

    ``chrome`` is ``chrome_probabilities(blocks)``, computed here when not given; ``markup``
    comes from ``model.html_page.markup_evidence`` (none for plain text).
    """
    if chrome is None:
        chrome = chrome_probabilities(blocks)
    p = np.clip(np.asarray(p_editorial, dtype=float), _P_EPSILON, 1.0 - _P_EPSILON)
    chrome = np.clip(np.asarray(chrome, dtype=float).reshape(len(blocks), len(CHROME_CLASSES)), 0.0, 1.0)
    p_text = np.clip(chrome[:, 0], CHROME_FLOOR, 1.0 - CHROME_FLOOR)
    kinds = chrome[:, 1:].sum(axis=1)
    kinds = np.where(kinds > 0, kinds, 1.0)
    rows = np.zeros((len(blocks), N_FEATURES))
    rows[:, _LOGIT] = np.log(p / (1.0 - p))
    rows[:, _WORDS] = [len(block.split()) for block in blocks]
    rows[:, _LOG_CHROME] = np.log1p(-p_text)
    rows[:, _LOG_NOT_CHROME] = np.log(p_text)
    rows[:, _HEADER_SHARE] = chrome[:, 1] / kinds
    rows[:, _ITEM_SHARE] = chrome[:, 2] / kinds
    if markup is not None:
        rows[:, _MARKUP] = np.asarray(markup, dtype=float).reshape(len(blocks), 3)
    long_text = (rows[:, _WORDS] >= CENTRE_WORDS) & (p_text >= 0.5)
    if long_text.any():
        rows[:, _CENTRE] = float(np.median(rows[long_text, _LOGIT]))
        rows[:, _SPLIT] = split_centre(rows[long_text, _LOGIT])
        rows[: int(long_text.argmax()), _ABOVE] = 1.0
    if len(blocks):
        rows[-1, _LAST] = 1.0
    return rows


def split_centre(logits: np.ndarray) -> float:
    """The page's centre between its article and its comments: the sequence of its long text
    blocks' log-odds of editorial is split into a first run (the article) whose mean is above
    the rest's (the comments) where the variance between the two is largest, and the midpoint
    of the two means is returned; the median when no split has the first run above. Linear in
    the blocks (prefix sums)."""
    x = np.asarray(logits, dtype=float)
    m = len(x)
    if m < 2:
        return float(np.median(x)) if m else 0.0
    k = np.arange(1, m)
    head = np.cumsum(x)[:-1]
    before, after = head / k, (x.sum() - head) / (m - k)
    gap = before - after
    between = np.where(gap > 0, k * (m - k) * gap**2 / m, -1.0)
    best = int(between.argmax())
    if between[best] <= 0:
        return float(np.median(x))
    return float((before[best] + after[best]) / 2.0)


def _protected(features: np.ndarray, params: SegmentParams) -> tuple[np.ndarray, np.ndarray]:
    """Masks of blocks whose own label context may not overturn: (editorial, comment)."""
    if params.protect > 1.0:
        none = np.zeros(features.shape[:-1], dtype=bool)
        return none, none
    bound = math.log(params.protect / max(1.0 - params.protect, _P_EPSILON))
    full = (features[..., _WORDS] >= params.full_evidence_words) & (features[..., _LOG_NOT_CHROME] >= math.log(0.5))
    logit = features[..., _LOGIT]
    return full & (logit >= bound), full & (logit <= -bound)


def emissions(features: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Log-scores of each block (rows of ``block_features``, any leading shape) under each state."""
    weight = np.minimum(1.0, features[..., _WORDS] / params.full_evidence_words)
    centre = params.relative * features[..., _CENTRE] + params.split_relative * features[..., _SPLIT]
    logit = features[..., _LOGIT] - centre
    z = np.clip(weight * logit, -params.max_evidence, params.max_evidence)
    # The detector's log-odds of chrome, scaled, turned back into log P(chrome) and log P(text).
    odds = params.chrome_weight * (features[..., _LOG_CHROME] - features[..., _LOG_NOT_CHROME])
    chrome, not_chrome = -np.logaddexp(0.0, -odds), -np.logaddexp(0.0, odds)
    opening = -np.logaddexp(0.0, -params.opening_weight * odds)
    header, item = features[..., _HEADER_SHARE], features[..., _ITEM_SHARE]
    scores = np.empty(features.shape[:-1] + (N_STATES,))
    scores[..., _E] = not_chrome - np.logaddexp(0.0, -z) + params.text_bonus
    scores[..., _C] = not_chrome - np.logaddexp(0.0, z) + params.text_bonus
    scores[..., _OA] = chrome - params.comment_chrome_in_article * (header + item)
    # The page's top: short lines above the article's first paragraph lean to its chrome.
    scores[..., _OA] += params.top_chrome * features[..., _ABOVE] * (1.0 - weight)
    # A section that opens on the page's last block holds no comment.
    scores[..., _OPENED] = opening - params.end_in_opening * features[..., _LAST]
    scores[..., _OC] = chrome - params.header_after_comments * header
    scores[..., _C0] = scores[..., _C]
    scores[..., _OC0] = chrome - params.header_in_opening_comments * header
    votes = params.markup_weight * features[..., _MARKUP]
    scores[..., _E] += votes[..., 0]
    scores[..., (_C, _C0)] += votes[..., 1:2]
    scores[..., (_OA, _OPENED, _OC, _OC0)] += votes[..., 2:3]
    editorial, comment = _protected(features, params)
    keep_e = np.array([0.0, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf])
    keep_c = np.array([-np.inf, -np.inf, -np.inf, 0.0, -np.inf, 0.0, -np.inf])
    scores = np.where(editorial[..., None], scores + keep_e, scores)
    return np.where(comment[..., None], scores + keep_c, scores)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def score_gradient(features: np.ndarray, params: SegmentParams, upstream: np.ndarray) -> dict[str, float]:
    """The gradient of ``(upstream * emissions(features, params)).sum()`` with respect to each cost
    that acts on the blocks' scores (every one outside ``TRANSITION_COSTS``), worked out from
    ``emissions``'s formulas; ``upstream`` has the scores' shape. With ``protect`` off: a protected
    block's forbidden states have no gradient. Where a cost meets a kink (a block of exactly
    ``full_evidence_words`` words, evidence exactly at ``max_evidence``) the side below is taken."""
    g = np.nan_to_num(np.asarray(upstream, dtype=float))
    g_e, g_c, g_oa, g_opened = g[..., _E], g[..., _C] + g[..., _C0], g[..., _OA], g[..., _OPENED]
    g_oc, g_oc0 = g[..., _OC], g[..., _OC0]
    words, header, item = features[..., _WORDS], features[..., _HEADER_SHARE], features[..., _ITEM_SHARE]
    above, last, markup = features[..., _ABOVE], features[..., _LAST], features[..., _MARKUP]
    weight = np.minimum(1.0, words / params.full_evidence_words)
    d_weight = np.where(words < params.full_evidence_words, -words / params.full_evidence_words**2, 0.0)
    logit = features[..., _LOGIT] - params.relative * features[..., _CENTRE] - params.split_relative * features[
        ..., _SPLIT]
    evidence = weight * logit
    inside = np.abs(evidence) < params.max_evidence
    z = np.clip(evidence, -params.max_evidence, params.max_evidence)
    # d(E and C scores)/dz, and where z follows the evidence.
    g_z = g_e * _sigmoid(-z) - g_c * _sigmoid(z)
    g_evidence = np.where(inside, g_z, 0.0)
    difference = features[..., _LOG_CHROME] - features[..., _LOG_NOT_CHROME]
    odds = params.chrome_weight * difference
    opening = _sigmoid(-params.opening_weight * odds)  # d(opening score)/d(opening_weight * odds)
    g_odds = (g_oa + g_oc + g_oc0) * _sigmoid(-odds) - (g_e + g_c) * _sigmoid(odds)
    return {
        "full_evidence_words": float(((g_evidence * logit - g_oa * params.top_chrome * above) * d_weight).sum()),
        "max_evidence": float(np.where(inside, 0.0, g_z * np.sign(evidence)).sum()),
        "relative": float(-(g_evidence * weight * features[..., _CENTRE]).sum()),
        "split_relative": float(-(g_evidence * weight * features[..., _SPLIT]).sum()),
        "chrome_weight": float(((g_odds + g_opened * opening * params.opening_weight) * difference).sum()),
        "opening_weight": float((g_opened * opening * odds).sum()),
        "text_bonus": float((g_e + g_c).sum()),
        "comment_chrome_in_article": float(-(g_oa * (header + item)).sum()),
        "top_chrome": float((g_oa * above * (1.0 - weight)).sum()),
        "end_in_opening": float(-(g_opened * last).sum()),
        "header_after_comments": float(-(g_oc * header).sum()),
        "header_in_opening_comments": float(-(g_oc0 * header).sum()),
        "markup_weight": float((g_e * markup[..., 0] + g_c * markup[..., 1]
                                + (g_oa + g_opened + g_oc + g_oc0) * markup[..., 2]).sum()),
    }


# The costs that act on the moves between states alone (``_transitions``), not on the blocks'
# scores (``emissions``): a fit need not score the blocks again to see what they do.
TRANSITION_COSTS = frozenset({"enter_comments", "enter_without_header", "leave_comments", "leave_opening_comments",
                              "start_in_comments", "comment_after_comment"})


def _transitions(params: SegmentParams) -> tuple[np.ndarray, np.ndarray]:
    never = -np.inf
    enter, leave, leave0 = -params.enter_comments, -params.leave_comments, -params.leave_opening_comments
    straight = enter - params.enter_without_header
    again = -params.comment_after_comment
    # Rows: from; columns: to (E, OA, OPENED, C, OC, C0, OC0). The header state only opens a
    # section; a page that starts in its comments stays in C0 and OC0 until it leaves them.
    table = np.array([
        [0.0, 0.0, enter, straight, never, never, never],
        [0.0, 0.0, enter, straight, never, never, never],
        [leave, leave, 0.0, 0.0, never, never, never],
        [leave, leave, never, again, 0.0, never, never],
        [leave, leave, never, 0.0, 0.0, never, never],
        [leave0, leave0, never, never, never, again, 0.0],
        [leave0, leave0, never, never, never, 0.0, 0.0],
    ])
    # A page may open with its comment section, chrome or comment, but not with its opening:
    # chrome at the top of a page is the page's, or that of a section that began above it.
    start_comments = -params.start_in_comments
    start = np.array([0.0, 0.0, never, never, never, start_comments, start_comments])
    return table, start


def decode_states(scores: np.ndarray, lengths: Sequence[int], params: SegmentParams) -> np.ndarray:
    """Viterbi over many pages at once.

    ``scores`` is ``(pages, longest, N_STATES)`` from ``emissions`` (padding past a page's length is
    ignored); the result is ``(pages, longest)`` hidden states, -1 past a page's end.
    """
    table, start = _transitions(params)
    n_pages, longest, n_states = scores.shape
    lengths = np.asarray(lengths, dtype=int)
    states = np.full((n_pages, longest), -1, dtype=np.int8)
    if not longest:
        return states
    pages = np.arange(n_pages)
    stay = np.broadcast_to(np.arange(n_states), (n_pages, n_states))
    best = start + scores[:, 0, :]
    back = np.empty((n_pages, longest, n_states), dtype=np.int8)
    back[:, 0, :] = stay
    with np.errstate(invalid="ignore"):
        for step in range(1, longest):
            # candidates[page, from, to]; ties go to the lowest state (argmax takes the first).
            candidates = best[:, :, None] + table[None, :, :]
            pointers = candidates.argmax(axis=1)
            updated = np.take_along_axis(candidates, pointers[:, None, :], axis=1)[:, 0, :] + scores[:, step, :]
            # Past a page's end its scores stand still and its pointers point to themselves.
            active = (step < lengths)[:, None]
            best = np.where(active, updated, best)
            back[:, step, :] = np.where(active, pointers, stay)
    state = best.argmax(axis=1)
    states[:, -1] = state
    for step in range(longest - 1, 0, -1):
        state = back[pages, step, state]
        states[:, step - 1] = state
    states[np.arange(longest)[None, :] >= lengths[:, None]] = -1
    return states


def _forward(scores: np.ndarray, lengths: np.ndarray,
             params: SegmentParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The forward recursion over ``scores`` (``(pages, longest, N_STATES)``, at least one block),
    on probabilities rescaled at every block: each block's scores are taken relative to its best
    state's (``top``) and each step's sum (``scale``) is divided out, so a long page cannot
    underflow. Returns ``forward``, ``scale``, ``emit`` (the rescaled exp-scores) and ``top``; past a
    page's end its forward probabilities stand still and its scale is 1, its top 0. A block no
    path can reach has scale 0 and forward 0."""
    table, start = _transitions(params)
    n_pages, longest, n_states = scores.shape
    moves = np.exp(table)
    with np.errstate(invalid="ignore"):
        top = scores.max(axis=2)
    top = np.where(np.isfinite(top) & (np.arange(longest)[None, :] < lengths[:, None]), top, 0.0)
    emit = np.exp(scores - top[..., None])
    forward = np.empty((n_pages, longest, n_states))
    scale = np.ones((n_pages, longest))
    updated = np.exp(start) * emit[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        for step in range(longest):
            if step:
                updated = (forward[:, step - 1] @ moves) * emit[:, step]
            active = step < lengths
            total = updated.sum(axis=1)
            scale[:, step] = np.where(active, total, 1.0)
            kept = np.where(total[:, None] > 0, updated / total[:, None], 0.0)
            forward[:, step] = np.where(active[:, None], kept, forward[:, step - 1] if step else kept)
    return forward, scale, emit, top


def _state_posteriors(scores: np.ndarray, lengths: np.ndarray, params: SegmentParams):
    """Forward-backward over ``scores`` (at least one block): each block's probability of each
    state given its page (zeros past a page's end), with the recursion's ``forward``, ``backward``,
    ``scale``, ``emit`` and ``top`` (see ``_forward``)."""
    n_pages, longest, n_states = scores.shape
    forward, scale, emit, top = _forward(scores, lengths, params)
    moves = np.exp(_transitions(params)[0])
    backward = np.ones((n_pages, longest, n_states))
    # A page no path can take (scale 0) gets no probabilities (NaN); those it can are unaffected.
    with np.errstate(invalid="ignore", divide="ignore"):
        for step in range(longest - 2, -1, -1):
            updated = ((emit[:, step + 1] * backward[:, step + 1]) @ moves.T) / scale[:, step + 1, None]
            backward[:, step] = np.where((step + 1 < lengths)[:, None], updated, 1.0)
        states = forward * backward
        # Each block's states sum to 1 up to rounding; made exact, so no probability passes 1.
        states = states / states.sum(axis=-1, keepdims=True)
    states[np.arange(longest)[None, :] >= lengths[:, None]] = 0.0
    return states, forward, backward, scale, emit, top


def label_posteriors(scores: np.ndarray, lengths: Sequence[int], params: SegmentParams) -> np.ndarray:
    """Each block's probability of each label given its whole page (forward-backward over the
    decoder's states, the costs read as log-potentials), for many pages at once.

    ``scores`` is ``(pages, longest, N_STATES)`` from ``emissions``; the result is ``(pages, longest,
    3)``, in the order of ``SEGMENT_LABELS``, zeros past a page's end. Linear in the blocks: the
    recursions run on probabilities rescaled at every block (each block's scores taken relative to
    its best state's), which cannot underflow as products of a long page's scores would. The costs
    are fitted to the built pages' likelihood, so these are probabilities (calibrated within about
    0.01 on held-out pages); the page band that decides on them is chosen on held-out pages."""
    n_pages, longest, n_states = scores.shape
    lengths = np.asarray(lengths, dtype=int)
    result = np.zeros((n_pages, longest, len(SEGMENT_LABELS)))
    if not longest:
        return result
    states = _state_posteriors(scores, lengths, params)[0]
    for code in range(len(SEGMENT_LABELS)):
        result[..., code] = states[..., _STATE_CODES == code].sum(axis=-1)
    result[np.arange(longest)[None, :] >= lengths[:, None]] = 0.0
    return np.clip(result, 0.0, 1.0)


@dataclass(frozen=True)
class ExpectedCounts:
    """What the gradient of a page's log-partition (``log_partition``) is made of: with respect to
    each block's score under each state, that state's probability (``states``, ``(pages, longest,
    N_STATES)``); to each transition's log-potential, its expected count (``moves``, ``(N_STATES,
    N_STATES)``, from row to column, summed over pages); to each start's, the first block's states
    (``starts``, ``(N_STATES,)``, summed over pages)."""

    log_partition: np.ndarray  # (pages,)
    states: np.ndarray
    moves: np.ndarray
    starts: np.ndarray


def expected_counts(scores: np.ndarray, lengths: Sequence[int], params: SegmentParams) -> ExpectedCounts:
    """``log_partition`` and its gradient (``ExpectedCounts``) by one forward-backward pass: what
    fits the costs to the pages' likelihood needs, instead of a forward pass per cost and step."""
    n_pages, longest, n_states = scores.shape
    lengths = np.asarray(lengths, dtype=int)
    if not longest:
        zeros = np.zeros((n_states, n_states))
        return ExpectedCounts(np.zeros(n_pages), np.zeros(scores.shape), zeros, np.zeros(n_states))
    states, forward, backward, scale, emit, top = _state_posteriors(scores, lengths, params)
    with np.errstate(divide="ignore"):
        log_z = (np.log(scale) + top).sum(axis=1)
    # A move from block t to t + 1: forward(t, from) * move * emit(t + 1, to) * backward(t + 1, to)
    # / scale(t + 1), on the pages that reach block t + 1.
    reached = (np.arange(1, longest)[None, :] < lengths[:, None])[..., None]
    moves = np.exp(_transitions(params)[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        arriving = np.where(reached, emit[:, 1:] * backward[:, 1:] / scale[:, 1:, None], 0.0)
        counts = np.einsum("pti,ptj->ij", np.nan_to_num(forward[:, :-1]), np.nan_to_num(arriving)) * moves
    return ExpectedCounts(log_z, np.nan_to_num(states), counts, np.nan_to_num(states[:, 0]).sum(axis=0))


def log_partition(scores: np.ndarray, lengths: Sequence[int], params: SegmentParams) -> np.ndarray:
    """Each page's log of the summed exp-scores of its state paths (``scores`` from ``emissions``,
    ``(pages, longest, N_STATES)``; -inf scores forbid a state): the forward recursion's log
    scales and tops summed (``_forward``). Linear in the blocks."""
    if not scores.shape[1]:
        return np.zeros(scores.shape[0])
    _forward_, scale, _emit, top = _forward(scores, np.asarray(lengths, dtype=int), params)
    with np.errstate(divide="ignore"):
        return (np.log(scale) + top).sum(axis=1)


def states_emitting(codes: np.ndarray) -> np.ndarray:
    """``codes.shape + (N_STATES,)``: which states emit each label code (indices into ``SEGMENT_LABELS``)."""
    return _STATE_CODES == np.asarray(codes)[..., None]


def decode_codes(scores: np.ndarray, lengths: Sequence[int], params: SegmentParams) -> np.ndarray:
    """``decode_states`` as indices into ``SEGMENT_LABELS``, -1 past a page's end."""
    states = decode_states(scores, lengths, params)
    return np.where(states >= 0, _STATE_CODES[np.maximum(states, 0)], -1).astype(np.int8)


def _check(blocks: Sequence[str], p_editorial: Sequence[float]) -> None:
    if len(blocks) != len(p_editorial):
        raise ValueError(f"got {len(blocks)} blocks but {len(p_editorial)} probabilities")


def segment(blocks: Sequence[str], p_editorial: Sequence[float], params: SegmentParams | None = None,
            chrome: np.ndarray | None = None, markup: np.ndarray | None = None) -> list[str]:
    """Label each block ``editorial``, ``comment`` or ``other`` using the page's structure."""
    return [block["label"] for block in segment_blocks(blocks, p_editorial, params, chrome, markup)]


# Why context gave a block another label than its own: (own label, hidden state) -> reason.
_REASONS = {
    (EDITORIAL, _C): "inside the comment section",
    (OTHER, _C): "inside the comment section",
    (COMMENT, _E): "inside the article, before its comment section",
    (OTHER, _E): "inside the article's text",
    (EDITORIAL, _OA): "a short line among the article's page chrome",
    (COMMENT, _OA): "a short line among the article's page chrome",
    (EDITORIAL, _OPENED): "where the comment section opens, before its first comment",
    (COMMENT, _OPENED): "where the comment section opens, before its first comment",
    (EDITORIAL, _OC): "a short line among the comments' controls",
    (COMMENT, _OC): "a short line among the comments' controls",
    (EDITORIAL, _C0): "inside the comment section",
    (OTHER, _C0): "inside the comment section",
    (EDITORIAL, _OC0): "a short line among the comments' controls",
    (COMMENT, _OC0): "a short line among the comments' controls",
}


# ... and when the block stands above the article's first paragraph, where ``top_chrome`` leans
# short lines to the page's chrome.
_ABOVE_REASON = "a short line above the article's first paragraph, among the page's chrome"


def context_reason(own: str, state: int, above: bool = False) -> str | None:
    """Why a block whose own label is ``own`` was labelled by hidden state ``state`` (``above``: the
    block stands above the article's first paragraph), or ``None`` when the two labels agree."""
    if SEGMENT_LABELS[_STATE_CODES[state]] == own:
        return None
    if above and int(state) == _OA:
        return _ABOVE_REASON
    return _REASONS[(own, int(state))]


def page_decision(label: str, page: Sequence[float], least: tuple[float, float]) -> str:
    """A block's decision on its page: its ``label`` when the page (``page``: its P(editorial),
    P(comment), P(other) from ``label_posteriors``) is sure enough of it, else ``review``.

    ``least`` is the page's least P(editorial) for an editorial block and least P(comment) for a
    comment (``SegmentParams.page_band``, or ``band_thresholds`` of a review band); page chrome
    (``other``) is never sent to review."""
    if label == EDITORIAL:
        return label if page[0] >= least[0] else REVIEW
    if label == COMMENT:
        return label if page[1] >= least[1] else REVIEW
    return label


NEVER_SURE = float(np.nextafter(1.0, 2.0))  # a least probability no block reaches


def band_thresholds(band: tuple[float, float]) -> tuple[float, float]:
    """A review band ``[low, high)`` on P(editorial) as ``page_decision``'s least P(editorial) and
    P(comment): ``high``, and just above ``1 - low`` (where the page gives chrome no weight, the
    band itself: a comment is decided at P(editorial) below ``low``). ``high`` 1 decides no
    editorial block and ``low`` 0 no comment, so ``[0, 1]`` sends every text block to review."""
    low, high = float(band[0]), float(band[1])
    editorial = NEVER_SURE if high >= 1.0 else high
    comment = NEVER_SURE if low <= 0.0 else float(np.nextafter(1.0 - low, 2.0))
    return editorial, comment


def segment_blocks(blocks: Sequence[str], p_editorial: Sequence[float], params: SegmentParams | None = None,
                   chrome: np.ndarray | None = None, markup: np.ndarray | None = None) -> list[dict]:
    """Each block's ``label``, its ``own`` label (its scores alone), ``chrome`` (P of chrome),
    ``page`` (its P(editorial), P(comment), P(other) given the whole page: ``label_posteriors``)
    and, when the two labels differ, ``context`` (why)."""
    _check(blocks, p_editorial)
    if not blocks:
        return []
    params = params or SegmentParams.fitted()
    features = block_features(blocks, p_editorial, chrome, markup)
    scores = emissions(features, params)
    states = decode_states(scores[None], [len(blocks)], params)[0]
    page = label_posteriors(scores[None], [len(blocks)], params)[0].tolist()
    own = argmax_codes(scores)
    result = []
    for state, own_code, row, page_row in zip(states, own, features, page):
        own_label = SEGMENT_LABELS[own_code]
        block = {"label": SEGMENT_LABELS[_STATE_CODES[state]], "own": own_label,
                 "chrome": float(np.exp(row[_LOG_CHROME])), "page": page_row}
        reason = context_reason(own_label, int(state), bool(row[_ABOVE]) and params.top_chrome > 0)
        if reason:
            block["context"] = reason
        result.append(block)
    return result


def argmax_codes(scores: np.ndarray) -> np.ndarray:
    """Each block's own best label (indices into ``SEGMENT_LABELS``) from ``emissions``, ignoring the page."""
    # The editorial and comment states, and chrome with no kind preferred.
    own = np.stack([scores[..., _E], scores[..., _C], scores[..., _OPENED]], axis=-1).argmax(axis=-1)
    return _OWN_CODES[own]


def argmax_labels(
    blocks: Sequence[str], p_editorial: Sequence[float], params: SegmentParams | None = None,
    chrome: np.ndarray | None = None,
) -> list[str]:
    """Each block's own most likely label, ignoring the page: the baseline ``segment`` improves on."""
    _check(blocks, p_editorial)
    if not blocks:
        return []
    scores = emissions(block_features(blocks, p_editorial, chrome), params or SegmentParams.fitted())
    return [SEGMENT_LABELS[code] for code in argmax_codes(scores)]


def comments_start(labels: Sequence[str]) -> int | None:
    """Index of the first ``comment`` label, or ``None`` when there is none."""
    for index, label in enumerate(labels):
        if label == COMMENT:
            return index
    return None


def segment_text(
    text: str,
    editorial_probability: Callable[[str], float],
    params: SegmentParams | None = None,
) -> list[dict]:
    """Split ``text`` into blocks and label them: ``{"start", "end", "text", "label", "editorial"}``."""
    blocks = split_blocks(text)
    texts = [block for _start, _end, block in blocks]
    probabilities = [editorial_probability(block) for block in texts]
    labels = segment(texts, probabilities, params)
    return [
        {"start": start, "end": end, "text": block, "label": label, "editorial": p}
        for (start, end, block), label, p in zip(blocks, labels, probabilities)
    ]
