"""Segment a scraped page into article prose, reader comments and page chrome.

A page is a list of blocks (its non-blank lines). Each block brings the classifier's
P(editorial) and a chrome score; a Viterbi decoder then labels the blocks using the page's
structure: the article comes first and its comment section after it, a comment section
rarely turns back into article prose, and short lines (headings, bylines) carry little
evidence of their own, so they take the label of the text around them.

The hidden states and the label each emits:

    article:          EDITORIAL        OTHER (chrome within the article)
    comment section:  OPENED (other: its header, before any comment)
                      COMMENT          OTHER (chrome after the first comment)

Entering the comment section costs ``enter_comments`` once; going back costs
``leave_comments``. Chrome has a kind: a comment's own buttons ("Reply", "jdoe · 2 days ago")
and a section header ("12 Comments", "Join the conversation") cost
``comment_chrome_in_article`` inside the article, and a header costs
``header_after_comments`` once comments have begun, so a header marks where the section
starts and keeps a comment-like last paragraph in the article.

The defaults of ``SegmentParams`` were fitted by ``python -m training.pages`` (a grid search on
500 synthetic pages from the training split, scored out of fold) for model
20261127T145606Z-176a304b-b4f1. On 500 pages from held-out groups they label 99.7% of blocks
right and find the first comment exactly on 97.6% of pages (per-block argmax: 89.5%, 25.2%).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from model.labels import COMMENT, EDITORIAL

OTHER = "other"
SEGMENT_LABELS = (EDITORIAL, COMMENT, OTHER)
# Kinds of chrome: anywhere on a page, a comment section's header, a comment's own buttons.
PAGE, HEADER, ITEM = "page", "header", "item"


@dataclass(frozen=True)
class SegmentParams:
    """Costs (in nats) of the page structure, and how much evidence a block carries.

    The fit preferred small switch costs and weak per-block evidence: with at most 2 nats a
    block and full weight only from 48 words, chrome and order decide most short lines.
    """

    # The one switch from the article to its comment section.
    enter_comments: float = 0.25
    # Turning from the comment section back into article prose.
    leave_comments: float = 6.0
    # A page that opens with its comment section. Not fitted (every synthetic page opens
    # with its article) but set by reasoning: at 0, a page of comments alone, or a single
    # block, is labelled by the classifier, and an article opening with comment-like lines
    # still stays an article, since the section could not turn back into it.
    start_in_comments: float = 0.0
    # A block of this many words or more carries the classifier's full log-odds; shorter
    # ones carry words/full_evidence_words of it (a 3-word heading says little).
    full_evidence_words: float = 48.0
    # No block's log-odds count for more than this: the classifier's extreme probabilities
    # on texts unlike its training data are not to be trusted against the page's structure.
    max_evidence: float = 2.0
    # Comment-section chrome (a header or a comment's buttons) inside the article.
    comment_chrome_in_article: float = 2.0
    # A comment-section header after the first comment.
    header_after_comments: float = 6.0


# --- Page chrome --------------------------------------------------------------------------
# Each pattern must match a whole block (lowercased, whitespace collapsed).

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?(?:\s*\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?(?:\s*\d{{4}})?"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})"
)
_CLOCK = r"\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?(?:\s*(?:et|est|edt|ct|pt|pst|pdt|gmt|utc|bst|cet|aest))?"
_AGO = (
    r"(?:\d+|an?|one)\s*(?:s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?"
    r"|mo|mos|months?|y|yrs?|years?)\s+ago"
)
_WHEN = (
    rf"(?:{_AGO}|just now|yesterday(?:\s+at\s+{_CLOCK})?|today(?:\s+at\s+{_CLOCK})?"
    rf"|{_DATE}(?:\s*(?:at|,|·|-)?\s*{_CLOCK})?|{_CLOCK}(?:\s*(?:,|·|-|on)?\s*{_DATE})?)"
)
_TIMESTAMP = rf"(?:(?:published|updated|posted|last updated|edited|first published)\s*(?:on|at)?\s*:?\s*)?{_WHEN}"
_SEPARATOR = r"\s*[·•|,:\-]?\s*"

CHROME_PATTERNS: tuple[tuple[str, str, re.Pattern], ...] = tuple(
    (name, kind, re.compile(pattern))
    for name, kind, pattern in (
        # "3 hours ago", "Jan 5, 2024 10:32 AM", "Updated 10:32 a.m. ET", "yesterday at 9:15"
        ("timestamp", PAGE, _TIMESTAMP),
        # "jdoe42 · 3 hours ago", "Mark T. 2 days ago": a handle or name of up to three words
        # and a time; "By ..." is left out because a byline with a date is the article's.
        ("user and time", ITEM, rf"(?!by\s)[\w.@'’\-]+(?:\s+[\w.'’\-]+){{0,2}}{_SEPARATOR}{_TIMESTAMP}"),
        ("posted by", ITEM, r"(?:posted|submitted|comment(?:ed)?)\s+by\s+\S+(?:\s+\S+){0,4}"),
        ("advertisement", PAGE,
         r"(?:advertisement|advert|ad|sponsored(?: content)?|story continues below(?: this)? (?:advertisement|ad)"
         r"|continue reading (?:the|this) (?:main )?(?:story|article)(?: below)?)"),
        ("reading time", PAGE, r"\d+\s*min(?:ute)?s?\.? read"),
        ("read more", PAGE, r"(?:read|see) (?:more|also|next)\b(?:[:.\s].{0,120})?"),
        ("share this", PAGE, r"share (?:this|the) (?:article|story|page|post)(?: on \w+)?"),
        ("follow us", PAGE, r"follow us(?: on [\w ,&]+)?"),
        ("newsletter", PAGE,
         r"(?:sign up|subscribe)(?: (?:now|today))?(?: (?:to|for) (?:our|the) [\w ]{0,30}newsletters?)?"),
        ("related", PAGE, r"(?:related (?:articles?|stories|topics|content|coverage)|most (?:read|popular|viewed))"),
        ("comments closed", HEADER, r"comments? (?:are|is) (?:now )?closed(?: for this (?:article|story))?\.?"),
        ("join the conversation", HEADER,
         r"(?:join|start) the (?:conversation|discussion)|what do you think\?|have your say"),
    )
)

# Words that make up buttons and counters: "Like · Reply", "Reply1 Comment(s)", "Show 3 more
# replies", "Sign in to comment", "12 Comments", "Load more comments". A block is chrome when
# it has at most MAX_BUTTON_WORDS words, all from BUTTON_WORDS or numbers, and at least one
# anchor (so "Show all" or "Top 10" alone are not chrome). Its kind follows its anchors:
# a comment's own buttons ("item"), a comment section's header ("header"), or the page's.
ITEM_ANCHORS = frozenset(
    "reply replies replied like likes liked unlike report flag permalink upvote upvotes downvote "
    "downvotes vote votes points recommend recommended load collapse expand edit delete translate".split()
)
HEADER_ANCHORS = frozenset("comment comments newest oldest".split())
PAGE_ANCHORS = frozenset("share shares shared subscribe follow login log sign register print email".split())
# "View all 12 comments", "Older comments": a header word that continues a thread is an item.
CONTINUATION_WORDS = frozenset("more all older newer next previous".split())
BUTTON_ANCHORS = ITEM_ANCHORS | HEADER_ANCHORS | PAGE_ANCHORS
BUTTON_WORDS = BUTTON_ANCHORS | CONTINUATION_WORDS | frozenset(
    "show hide view less in to up out on by sort top best the this with and or of read copy link "
    "save saved thread page us see".split()
)
MAX_BUTTON_WORDS = 8
_BUTTON_TOKEN = re.compile(r"[a-z]+|\d+")
_BUTTON_SEPARATORS = re.compile(r"[·•|/,:;()\[\]+\-–—!?.\s▲▼]")


def _button_kind(words: list[str]) -> str:
    if any(w in ITEM_ANCHORS for w in words):
        return ITEM
    if any(w in HEADER_ANCHORS for w in words):
        return ITEM if any(w in CONTINUATION_WORDS for w in words) else HEADER
    return PAGE


CHROME_SCORE_MATCH = 0.99  # a block a pattern above recognises
CHROME_SCORE_NO_LETTERS = 0.9  # "|", "12", "▲ 5 ▼"
CHROME_SCORE_SHORT = 0.02  # any other block of at most three words: a heading, "So true!"
CHROME_SCORE_PROSE = 0.002  # longer blocks


def chrome_match(block: str) -> tuple[str, str] | None:
    """``(pattern name, kind)`` of the chrome pattern that recognises ``block``, else ``None``."""
    key = " ".join(block.lower().split())
    if not key or len(key) > 160:
        return None
    for name, kind, pattern in CHROME_PATTERNS:
        if pattern.fullmatch(key):
            return name, kind
    key = key.replace("(s)", "")
    # Only words, numbers and separators: "Reply1 Comment(s)", "Like · Reply", "▲ 5 ▼".
    if _BUTTON_SEPARATORS.sub("", _BUTTON_TOKEN.sub("", key)):
        return None
    tokens = _BUTTON_TOKEN.findall(key)
    words = [t for t in tokens if not t.isdigit()]
    if (
        words
        and len(tokens) <= MAX_BUTTON_WORDS
        and all(w in BUTTON_WORDS for w in words)
        and any(w in BUTTON_ANCHORS for w in words)
    ):
        return "buttons", _button_kind(words)
    return None


def _chrome_score(block: str, match: tuple[str, str] | None) -> float:
    if match:
        return CHROME_SCORE_MATCH
    if not any(c.isalpha() for c in block):
        return CHROME_SCORE_NO_LETTERS
    return CHROME_SCORE_SHORT if len(block.split()) <= 3 else CHROME_SCORE_PROSE


def chrome_score(block: str) -> float:
    """How likely ``block`` is page chrome (neither article nor comment), from 0 to 1."""
    return _chrome_score(block, chrome_match(block))


def is_chrome(block: str) -> bool:
    """True when ``block`` is page chrome."""
    return chrome_score(block) >= 0.5


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

# Hidden states: article editorial, article other, section opened, comment, comment other.
_E, _OA, _OPENED, _C, _OC = range(5)
_STATE_CODES = np.array(
    [SEGMENT_LABELS.index(label) for label in (EDITORIAL, OTHER, OTHER, COMMENT, OTHER)], dtype=np.int8
)
_OWN_CODES = np.array([SEGMENT_LABELS.index(label) for label in (EDITORIAL, COMMENT, OTHER)], dtype=np.int8)
_P_EPSILON = 1e-9
# Block features (see ``block_features``), one row per block.
_LOGIT, _WORDS, _LOG_CHROME, _LOG_NOT_CHROME, _IS_HEADER, _IS_ITEM = range(6)


def block_features(blocks: Sequence[str], p_editorial: Sequence[float]) -> np.ndarray:
    """What decoding needs of each block: log-odds, words, chrome score and kind (an ``(n, 6)`` array)."""
    rows = np.zeros((len(blocks), 6))
    for row, block, p in zip(rows, blocks, p_editorial):
        p = min(max(float(p), _P_EPSILON), 1.0 - _P_EPSILON)
        match = chrome_match(block)
        chrome = _chrome_score(block, match)
        kind = match[1] if match else None
        row[:] = (math.log(p / (1.0 - p)), len(block.split()), math.log(chrome), math.log1p(-chrome),
                  kind == HEADER, kind == ITEM)
    return rows


def emissions(features: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Log-scores of each block (rows of ``block_features``, any leading shape) under each state."""
    weight = np.minimum(1.0, features[..., _WORDS] / params.full_evidence_words)
    z = np.clip(weight * features[..., _LOGIT], -params.max_evidence, params.max_evidence)
    not_chrome, chrome = features[..., _LOG_NOT_CHROME], features[..., _LOG_CHROME]
    header, item = features[..., _IS_HEADER], features[..., _IS_ITEM]
    scores = np.empty(features.shape[:-1] + (5,))
    scores[..., _E] = not_chrome - np.logaddexp(0.0, -z)
    scores[..., _C] = not_chrome - np.logaddexp(0.0, z)
    scores[..., _OA] = chrome - params.comment_chrome_in_article * np.maximum(header, item)
    scores[..., _OPENED] = chrome
    scores[..., _OC] = chrome - params.header_after_comments * header
    return scores


def _transitions(params: SegmentParams) -> tuple[np.ndarray, np.ndarray]:
    never = -np.inf
    enter, leave = -params.enter_comments, -params.leave_comments
    # Rows: from; columns: to (E, OA, OPENED, C, OC). The header state only opens a section.
    table = np.array([
        [0.0, 0.0, enter, enter, never],
        [0.0, 0.0, enter, enter, never],
        [leave, leave, 0.0, 0.0, never],
        [leave, leave, never, 0.0, 0.0],
        [leave, leave, never, 0.0, 0.0],
    ])
    start = np.array([0.0, 0.0, -params.start_in_comments, -params.start_in_comments, never])
    return table, start


def decode_codes(scores: np.ndarray, lengths: Sequence[int], params: SegmentParams) -> np.ndarray:
    """Viterbi over many pages at once.

    ``scores`` is ``(pages, longest, 5)`` from ``emissions`` (padding past a page's length is
    ignored); the result is ``(pages, longest)`` indices into ``SEGMENT_LABELS``, -1 past a
    page's end.
    """
    table, start = _transitions(params)
    n_pages, longest, n_states = scores.shape
    lengths = np.asarray(lengths, dtype=int)
    codes = np.full((n_pages, longest), -1, dtype=np.int8)
    if not longest:
        return codes
    pages = np.arange(n_pages)
    stay = np.broadcast_to(np.arange(n_states), (n_pages, n_states))
    best = start + scores[:, 0, :]
    back = np.empty((n_pages, longest, n_states), dtype=np.int8)
    back[:, 0, :] = stay
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
    states = np.empty((n_pages, longest), dtype=np.int8)
    states[:, -1] = state
    for step in range(longest - 1, 0, -1):
        state = back[pages, step, state]
        states[:, step - 1] = state
    codes[:] = _STATE_CODES[states]
    codes[np.arange(longest)[None, :] >= lengths[:, None]] = -1
    return codes


def segment(blocks: Sequence[str], p_editorial: Sequence[float], params: SegmentParams | None = None) -> list[str]:
    """Label each block ``editorial``, ``comment`` or ``other`` using the page's structure."""
    if len(blocks) != len(p_editorial):
        raise ValueError(f"got {len(blocks)} blocks but {len(p_editorial)} probabilities")
    if not blocks:
        return []
    params = params or SegmentParams()
    scores = emissions(block_features(blocks, p_editorial), params)
    return [SEGMENT_LABELS[code] for code in decode_codes(scores[None], [len(blocks)], params)[0]]


def argmax_codes(scores: np.ndarray) -> np.ndarray:
    """Each block's own best label (indices into ``SEGMENT_LABELS``) from ``emissions``, ignoring the page."""
    # The editorial and comment states, and chrome with no kind preferred.
    own = np.stack([scores[..., _E], scores[..., _C], scores[..., _OPENED]], axis=-1).argmax(axis=-1)
    return _OWN_CODES[own]


def argmax_labels(
    blocks: Sequence[str], p_editorial: Sequence[float], params: SegmentParams | None = None
) -> list[str]:
    """Each block's own most likely label, ignoring the page: the baseline ``segment`` improves on."""
    if not blocks:
        return []
    scores = emissions(block_features(blocks, p_editorial), params or SegmentParams())
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
