"""Explain a score: each term's exact share of the logit and where it occurs in the raw text.

The scorer sees ``tokenize(normalize(text))``, but a web page highlights the text the user
sent. ``tokens_with_offsets`` therefore repeats ``model.text.normalize`` step by step while
carrying, for every character, the span of original characters it came from, then runs the
tokeniser's own regex and maps each token back. It reuses ``model.text``'s patterns so the two
cannot drift apart silently: the aligned result is checked against ``normalize`` itself and,
should they ever differ, tokens come back without offsets rather than with wrong ones.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from collections import defaultdict

from model.scoring import FastScorer
from model.text import (
    DOUBLE_DASH,
    EMOTICON_TOKEN,
    GLUED_COMMA,
    GLUED_SENTENCE,
    MAX_TOKENS,
    SPACE,
    TAGS,
    TEX_QUOTES,
    TOKEN,
    fold_characters,
    normalize,
    tag_end,
    tokenize,
    unescape_all,
)

# A non-ASCII stretch with the character before it, which a combining mark may attach to.
_NON_ASCII_RUN = re.compile(r"[\x00-\x7f]?[^\x00-\x7f]+")

# The most spans listed for one term (its first occurrences).
MAX_SPANS = 100

# A character's origin: its start and end offsets in the original text, as two parallel lists.
_Aligned = tuple[str, list[int], list[int]]


def _splice(aligned: _Aligned, edits) -> _Aligned:
    """``aligned`` with each edit ``(a, b, out, (start, end))`` made: ``out`` stands for characters
    ``a:b`` (an insertion where ``a == b``), each of its characters from ``start`` to ``end`` of
    the original text. Edits come in order and do not overlap; with none, ``aligned`` itself."""
    text, starts, ends = aligned
    pieces, new_starts, new_ends = [], [], []
    last = 0
    for a, b, out, (origin_start, origin_end) in edits:
        pieces.append(text[last:a])
        new_starts += starts[last:a]
        new_ends += ends[last:a]
        pieces.append(out)
        new_starts += [origin_start] * len(out)
        new_ends += [origin_end] * len(out)
        last = b
    if not pieces:
        return aligned
    pieces.append(text[last:])
    new_starts += starts[last:]
    new_ends += ends[last:]
    return "".join(pieces), new_starts, new_ends


def _replace(aligned: _Aligned, pattern: re.Pattern, repl, end: int | None = None) -> _Aligned:
    """``pattern.sub(repl, text[:end]) + text[end:]`` keeping each output character's origin.

    A replacement maps to the matched characters minus surrounding whitespace (so the "-" that
    stands for " -- " points at both dashes). Character references are unescaped by
    ``model.text.unescape_all``, which carries the origins the same way.
    """
    text, starts, ends = aligned

    def edits():
        for match in pattern.finditer(text, 0, len(text) if end is None else end):
            a, b = match.span()
            out = repl if isinstance(repl, str) else repl(match)
            if out == match.group():
                continue
            head = text[a:b]
            low = a + len(head) - len(head.lstrip())
            high = b - (len(head) - len(head.rstrip()))
            if low >= high:
                low, high = a, b
            if low < high:
                origin = (starts[low], ends[high - 1])
            else:  # an empty head: anchor at the position it stood
                origin = (ends[a - 1], ends[a - 1]) if a else (0, 0)
            yield a, b, out, origin

    return _splice(aligned, edits())


def _space_after(aligned: _Aligned, pattern: re.Pattern) -> _Aligned:
    """Insert a space after each match (``sub(r"\\g<0> ")``); the space comes from nowhere."""
    ends = aligned[2]
    return _splice(aligned, ((b, b, " ", (ends[b - 1], ends[b - 1]) if b else (0, 0))
                             for b in (match.end() for match in pattern.finditer(aligned[0]))))


@functools.lru_cache(maxsize=4096)
def _fold_character(character: str) -> str:
    """``fold_characters`` of one character, remembered: a long run repeats few characters."""
    return fold_characters(character)


def _fold_run(match: re.Match) -> list[tuple[int, int, str]]:
    """NFKC and character folding of one non-ASCII run, as (start, end, output) per cluster.

    A cluster is a character with the combining marks after it, the unit NFKC composes. When
    composition reaches across clusters (Hangul jamo, some Indic vowel signs) the run is
    folded as one piece, which only makes its offsets coarser.
    """
    run = match.group()
    base = match.start()
    bounds = [i for i, ch in enumerate(run) if i == 0 or not unicodedata.combining(ch)]
    bounds.append(len(run))
    clusters = [(base + a, base + b, _fold_character(run[a]) if b - a == 1 else fold_characters(run[a:b]))
                for a, b in zip(bounds, bounds[1:])]
    if "".join(out for _, _, out in clusters) != fold_characters(run):
        return [(base, base + len(run), fold_characters(run))]
    return clusters


def _fold_unicode(aligned: _Aligned) -> _Aligned:
    """``model.text.fold_characters(text)`` keeping origins.

    Only clusters that change are edits, and a stretch of clusters folded to nothing (invisible
    characters) is one edit: 20,000 zero-width spaces are one deletion, not 20,000.
    """
    text, starts, ends = aligned

    def edits():
        gone = None  # [start, end) of the clusters folded to nothing so far
        for match in _NON_ASCII_RUN.finditer(text):
            for low, high, out in _fold_run(match):
                if not out:
                    if gone is not None and gone[1] == low:
                        gone[1] = high
                        continue
                    if gone is not None:
                        yield gone[0], gone[1], "", (0, 0)
                    gone = [low, high]
                    continue
                if gone is not None:
                    yield gone[0], gone[1], "", (0, 0)
                    gone = None
                if high - low == 1 and out == text[low]:
                    continue  # a character that stays itself keeps its own origin
                yield low, high, out, (starts[low], ends[high - 1])
        if gone is not None:
            yield gone[0], gone[1], "", (0, 0)

    return _splice(aligned, edits())


def _normalize_aligned(text: str) -> _Aligned:
    """``model.text.normalize`` before its final whitespace collapse, with origins."""
    aligned = (text, list(range(len(text))), list(range(1, len(text) + 1)))
    # The same steps, in the same order, under the same conditions as normalize().
    if "&" in aligned[0]:
        aligned = unescape_all(*aligned)
    if not aligned[0].isascii():
        aligned = _fold_unicode(aligned)
    if "<" in aligned[0]:
        aligned = _replace(aligned, TAGS, " ", end=tag_end(aligned[0]))
    if "emoticonX" in aligned[0]:
        aligned = _replace(aligned, EMOTICON_TOKEN, " ")
    if "``" in aligned[0] or "''" in aligned[0]:
        aligned = _replace(aligned, TEX_QUOTES, '"')
    if "-" in aligned[0]:
        aligned = _replace(aligned, DOUBLE_DASH, " - ")
    aligned = _space_after(aligned, GLUED_SENTENCE)
    if "," in aligned[0]:
        aligned = _space_after(aligned, GLUED_COMMA)
    return aligned


# A long text is aligned from a prefix of this many characters first (then four times as many):
# the model reads MAX_TOKENS tokens, and aligning all 20,000 characters of a text, character by
# character, costs a hundred milliseconds and more.
_PREFIX_CHARS = 8 * MAX_TOKENS
# A prefix serves when its normalisation agrees with the whole text's this far past the last
# token read: a pattern cut short by the prefix's end changes only what comes after its start
# (and the few characters it makes sit at the prefix's end, past the tokens).
_PREFIX_MARGIN = 200


def tokens_with_offsets(text: str, normalized: str | None = None) -> list[tuple[str, int, int]]:
    """``tokenize(normalize(text))`` with each token's ``(start, end)`` in the original text.

    ``text[start:end]`` is what the token came from: "Zürich" for ``N``, "&amp;" for "&",
    "ﬁne" for "fine", "--" for "-". Should the aligned normalisation ever disagree with
    ``normalize`` (it is checked on every call), every token comes back as ``(token, 0, 0)``:
    an empty span means "unknown", never a wrong place. ``normalized`` is ``normalize(text)``,
    when the caller has it already.
    """
    expected = normalize(text) if normalized is None else normalized
    tokens = tokenize(expected)
    if len(text) > _PREFIX_CHARS and len(tokens) == MAX_TOKENS:
        last = next(itertools.islice(TOKEN.finditer(expected), MAX_TOKENS - 1, None)).end()
        for size in (_PREFIX_CHARS, 4 * _PREFIX_CHARS):
            if size >= len(text):
                break
            # Not inside a run of non-ASCII characters: one whose folding reaches across its
            # characters is folded whole, and each of its characters is then mapped to all of it.
            cut = size
            while cut > size // 2 and not (text[cut - 1].isascii() and text[cut].isascii()):
                cut -= 1
            if cut == size // 2:
                continue
            folded, starts, ends = _normalize_aligned(text[:cut])
            reach = last + _PREFIX_MARGIN
            collapsed = SPACE.sub(" ", folded).lstrip()
            if len(collapsed) > reach and collapsed[:reach] == expected[:reach]:
                return _located(tokens, folded, starts, ends)
    folded, starts, ends = _normalize_aligned(text)
    if SPACE.sub(" ", folded).strip() != expected:
        return [(token, 0, 0) for token in tokens]
    return _located(tokens, folded, starts, ends)


def _located(tokens: list[str], folded: str, starts: list, ends: list) -> list[tuple[str, int, int]]:
    # The tokeniser never matches whitespace, so collapsing it changes no token: the tokens of
    # the normalised text are those of the uncollapsed one, whose matches give the offsets.
    return [(token, starts[m.start()], ends[m.end() - 1]) for token, m in zip(tokens, TOKEN.finditer(folded))]


def _occurrences(name, terms_of, tokens: list[str], wanted: set[str]) -> dict[str, list]:
    """Token ranges ``(first, last)`` where each wanted term of one block occurs.

    Character n-grams lie inside one token each. Every other block lists its n-grams by size
    and, within a size, by position, so the i-th term with k words starts at token i; terms
    that are no n-gram ("<len 16>", "<open end>") fall outside the tokens and get no range.
    """
    found = defaultdict(list)
    if name == "chars":
        in_token: dict[str, set] = {}  # a text repeats its tokens: each one's n-grams are made once
        for i, token in enumerate(tokens):
            terms = in_token.get(token)
            if terms is None:
                terms = in_token[token] = wanted.intersection(terms_of([token]))
            for term in terms:
                found[term].append((i, i))
        return found
    terms = terms_of(tokens)
    sizes = [term.count(" ") for term in terms]  # words minus one
    # A term's position is how many terms of its size precede it; counted incrementally from
    # the previous hit of the same size, so that listing every term stays linear.
    previous: dict[int, tuple[int, int]] = {}
    for index in [i for i, term in enumerate(terms) if term in wanted]:
        size = sizes[index]
        since, before = previous.get(size, (0, 0))
        position = before + sizes[since:index].count(size)
        previous[size] = (index, position)
        if position + size < len(tokens):
            found[terms[index]].append((position, position + size))
    return found


def explain(scorer: FastScorer, text: str, top: int | None = 10) -> dict:
    """The logit split into terms, largest first, each with its spans in the original text.

    Returns ``{"intercept", "logit", "terms", "other_terms_weight", "other_terms_count"}``;
    each term is ``{"term", "block", "weight", "spans"}``, where ``weight`` is the term's exact
    contribution to the logit (TF-IDF value times coefficient; positive means editorial) and
    ``spans`` is a list of ``[start, end]`` offsets into ``text`` (``text[start:end]``). Terms
    are sorted by ``abs(weight)``; the first ``top`` are listed (all when ``top`` is None) and
    the rest summed, so that ``intercept + sum(weights) + other_terms_weight == logit``.

    Terms are shown as the model sees them: lowercased, with masks standing for what the
    model was not allowed to read: ``N`` a capitalised word that does not open a sentence (a
    name: "N said"), ``0`` a number, ``ACR`` an all-capitals word of 2 to 5 letters ("told
    ACR"), ``CAPS`` one of 6 or more (shouting). In the ``style`` block, ``w`` is any content
    word, and the two whole-text cues ``<len N>`` (word count up to N) and ``<open end>`` (no
    final full stop, question or exclamation mark) have no spans. A ``chars`` n-gram spans the
    tokens that contain it. A term whose source could not be located has ``spans == []``. A term
    lists its first ``MAX_SPANS`` occurrences at most: 20,000 "?" would otherwise make two
    million spans for the top 100 terms, seconds of work and tens of megabytes to send.
    """
    if top is not None and top < 0:
        raise ValueError(f"'top' must be None or a non-negative integer (got {top!r})")
    normalized = normalize(text)
    located = tokens_with_offsets(text, normalized)
    tokens = [token for token, _, _ in located]
    items = [
        (block, term, weight)
        for block, weights in scorer.contributions(text, tokens).items()
        for term, weight in weights.items()
    ]
    items.sort(key=lambda item: (-abs(item[2]), item[0], item[1]))
    shown = items if top is None else items[:top]
    hidden = items[len(shown) :]

    wanted = defaultdict(set)
    for block, term, _ in shown:
        wanted[block].add(term)
    ranges = {
        block.name: _occurrences(block.name, block.terms_of, tokens, wanted[block.name])
        for block in scorer.blocks
        if wanted[block.name]
    }

    token_starts = [start for _, start, _ in located]
    token_ends = [end for _, _, end in located]
    terms = []
    for block, term, weight in shown:
        found = set()
        for first, last in ranges[block].get(term, ()):  # in the order the term occurs
            if token_starts[first] < token_ends[first] and token_starts[last] < token_ends[last]:
                found.add((token_starts[first], token_ends[last]))
                if len(found) == MAX_SPANS:
                    break
        spans = sorted(found)
        terms.append(
            {"term": term, "block": block, "weight": weight, "spans": [list(s) for s in spans]}
        )
    return {
        "intercept": scorer.intercept,
        "logit": math.fsum([scorer.intercept] + [weight for _, _, weight in items]),
        "terms": terms,
        "other_terms_weight": math.fsum(weight for _, _, weight in hidden),
        "other_terms_count": len(hidden),
    }
