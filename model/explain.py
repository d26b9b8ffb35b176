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
import operator
import re
import unicodedata
from collections import defaultdict
from itertools import repeat

import numpy as np

from model.scoring import FastScorer
from model.text import (
    DOUBLE_DASH,
    EMOTICON_TOKEN,
    GLUED_COMMA,
    GLUED_SENTENCE,
    MAX_TOKENS,
    TAGS,
    TEX_QUOTES,
    TOKEN,
    collapse_spaces,
    fold_characters,
    normalize,
    splice_origins,
    tag_end,
    tokenize,
    unescape_all,
)

# A non-ASCII stretch with the character before it, which a combining mark may attach to.
_NON_ASCII_RUN = re.compile(r"[\x00-\x7f]?[^\x00-\x7f]+")
_ASCII_PAIR = re.compile(r"[\x00-\x7f]{2}")

# The most spans listed for one term (its first occurrences).
MAX_SPANS = 100

# A character's origin: its start and end offsets in the original text, as two parallel lists
# (numpy arrays within a step).
_Aligned = tuple[str, list[int], list[int]]


def _splice_arrays(aligned: _Aligned, a, b, outs, origin_starts, origin_ends, new_text: str | None = None) -> _Aligned:
    """``aligned`` with each edit made: ``outs[i]`` (or ``outs`` itself, when one string for all)
    stands for characters ``a[i]:b[i]`` (an insertion where they are equal), each of its characters
    from ``origin_starts[i]`` to ``origin_ends[i]`` of the original text. Edits come in order and
    do not overlap. The origins come back as arrays (``model.text.splice_origins``: a fixed number
    of numpy calls, whatever the number of edits; ``starts`` and ``ends`` may be lists or arrays).
    ``new_text``: the edited text, when the caller has it already."""
    text, starts, ends = aligned
    count = len(a)
    if not count:
        return aligned
    size = len(text)
    a = np.asarray(a, dtype=np.intp)
    b = np.asarray(b, dtype=np.intp)
    if isinstance(outs, str):
        out_lengths = np.full(count, len(outs), dtype=np.intp)
    else:
        out_lengths = np.fromiter(map(len, outs), np.intp, count)
    new_starts, new_ends = splice_origins(size, starts, ends, a, b, out_lengths, origin_starts, origin_ends)
    if new_text is not None:
        return new_text, new_starts, new_ends
    kept = [text[low:high] for low, high in zip(np.append(0, b).tolist(), a.tolist() + [size])]
    if isinstance(outs, str):
        new_text = outs.join(kept)
    else:
        pieces = [None] * (2 * count + 1)
        pieces[0::2] = kept
        pieces[1::2] = outs
        new_text = "".join(pieces)
    return new_text, new_starts, new_ends


def _matches(pattern: re.Pattern, text: str):
    """The starts and ends (arrays) and the texts of ``pattern``'s matches in ``text``, and the
    texts between them (None when not made).

    Made from ``findall`` and ``split`` (the texts of the matches and of what lies between them,
    both in C) rather than one match object at a time: 10,000 doubled apostrophes took 40 ms.
    For a pattern without groups that never matches empty; otherwise match by match.
    """
    if not pattern.groups:
        groups = pattern.findall(text)
        if "" not in groups:
            between = pattern.split(text)
            match_lengths = np.fromiter(map(len, groups), np.intp, len(groups))
            gap_lengths = np.fromiter(map(len, between), np.intp, len(between))
            a = np.cumsum(gap_lengths[:-1]) + np.cumsum(match_lengths) - match_lengths
            return a, a + match_lengths, groups, between
    found = [(match.start(), match.end(), match.group()) for match in pattern.finditer(text)]
    if not found:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), [], None
    a, b, groups = zip(*found)
    return np.array(a, dtype=np.intp), np.array(b, dtype=np.intp), list(groups), None


def _replace(aligned: _Aligned, pattern: re.Pattern, repl: str, end: int | None = None) -> _Aligned:
    """``pattern.sub(repl, text[:end]) + text[end:]`` keeping each output character's origin.

    A replacement maps to the matched characters minus surrounding whitespace (so the "-" that
    stands for " -- " points at both dashes). Character references are unescaped by
    ``model.text.unescape_all``, which carries the origins the same way.
    """
    text, starts, ends = aligned
    end = len(text) if end is None else end
    a, b, groups, between = _matches(pattern, text[:end])
    if len(groups) and repl in groups:
        keep = np.fromiter(map(repl.__ne__, groups), bool, len(groups))
        a, b, groups = a[keep], b[keep], list(itertools.compress(groups, keep))
    if not len(groups):
        return aligned
    lengths = b - a
    low = a + lengths - np.fromiter(map(len, map(str.lstrip, groups)), np.intp, len(groups))
    high = b - (lengths - np.fromiter(map(len, map(str.rstrip, groups)), np.intp, len(groups)))
    blank = low >= high
    low, high = np.where(blank, a, low), np.where(blank, b, high)
    starts_array, ends_array = np.asarray(starts, dtype=np.intp), np.asarray(ends, dtype=np.intp)
    # An empty head (an empty match) is anchored at the position it stood.
    empty = low >= high
    anchor = np.where(a > 0, ends_array[np.maximum(a - 1, 0)], 0) if len(ends_array) else np.zeros_like(a)
    origin_starts = np.where(empty, anchor, starts_array[np.where(empty, 0, low)] if len(starts_array) else anchor)
    origin_ends = np.where(empty, anchor, ends_array[np.where(empty, 0, high - 1)] if len(ends_array) else anchor)
    # The text itself from the pieces between the matches (a match equal to the replacement, left
    # out above, is replaced by itself).
    new_text = None if between is None else repl.join(between) + text[end:]
    return _splice_arrays((text, starts_array, ends_array), a, b, repl, origin_starts, origin_ends, new_text)


def _space_after(aligned: _Aligned, pattern: re.Pattern) -> _Aligned:
    """Insert a space after each match (``sub(r"\\g<0> ")``); the space comes from nowhere."""
    text, starts, ends = aligned
    after = np.array([match.end() for match in pattern.finditer(text)], dtype=np.intp)
    if not after.size:
        return aligned
    ends_array = np.asarray(ends, dtype=np.intp)
    origin = np.where(after > 0, ends_array[np.maximum(after - 1, 0)], 0)
    return _splice_arrays((text, starts, ends_array), after, after, " ", origin, origin)


@functools.lru_cache(maxsize=4096)
def _fold_character(character: str) -> str:
    """``fold_characters`` of one character, remembered: a long run repeats few characters."""
    return fold_characters(character)


# A run shorter than this is folded in plain Python: numpy's calls cost more than the run's
# characters (a text of thousands of short runs, as accented prose is, paid them thousands of times).
_NUMPY_RUN = 64


def _fold_short_run(run: str, base: int, folds: dict) -> tuple[list, list, list]:
    """``_fold_run``'s answer for a run of one-character clusters, one character at a time: each
    character that changes is an edit, and a stretch of characters folded to nothing is one."""
    lows, highs, outs = [], [], []
    size = len(run)
    i = 0
    while i < size:
        out = folds[run[i]]
        if out == run[i]:
            i += 1
        elif out:
            lows.append(base + i)
            highs.append(base + i + 1)
            outs.append(out)
            i += 1
        else:
            j = i + 1
            while j < size and not folds[run[j]]:
                j += 1
            lows.append(base + i)
            highs.append(base + j)
            outs.append("")
            i = j
    return lows, highs, outs


# Runs this short are folded once per distinct run (at offset 0, then moved): prose repeats them.
_CACHED_RUN_CHARS = 16


@functools.lru_cache(maxsize=4096)
def _fold_short_run_at_zero(run: str) -> tuple[tuple, tuple, tuple]:
    return tuple(map(tuple, _fold_run_text(run, 0)))


def _fold_run(match: re.Match) -> tuple[list, list, list]:
    """NFKC and character folding of one non-ASCII run (``_fold_run_text``), remembered for short runs."""
    run = match.group()
    base = match.start()
    if len(run) > _CACHED_RUN_CHARS:
        return _fold_run_text(run, base)
    lows, highs, outs = _fold_short_run_at_zero(run)
    if not lows:
        return [], [], []
    return [base + low for low in lows], [base + high for high in highs], list(outs)


def _fold_run_text(run: str, base: int) -> tuple[list, list, list]:
    """NFKC and character folding of one non-ASCII run starting at ``base``, as the starts, ends and
    outputs of its clusters that change.

    A cluster is a character with the combining marks after it, the unit NFKC composes. When
    composition reaches across clusters (Hangul jamo, some Indic vowel signs) the run is
    folded as one piece, which only makes its offsets coarser.
    """
    whole = fold_characters(run)
    distinct = _distinct_characters(run)
    if not any(map(unicodedata.combining, distinct)):
        apart = _character_folds(run, whole)
        if apart is None:
            return [base], [base + len(run)], [whole]
        return _fold_characters_apart(run, base, apart[0])
    # Clusters open at the first character and at each one that is no combining mark (found by
    # code point: unicodedata.combining for each of 20,000 marks cost a millisecond).
    opens = np.isin(_code_points(run), [ord(character) for character in distinct if not unicodedata.combining(character)])
    opens[0] = True
    bounds = np.flatnonzero(opens).tolist()
    bounds.append(len(run))
    if len(bounds) == 2:
        outs = [whole]
    else:
        outs = [_fold_character(run[a]) if b - a == 1 else fold_characters(run[a:b]) for a, b in zip(bounds, bounds[1:])]
        if "".join(outs) != whole:
            return [base], [base + len(run)], [whole]
    # A character that stays itself keeps its own origin.
    kept = [b - a == 1 and out == run[a] for a, b, out in zip(bounds, bounds[1:], outs)]
    return ([base + a for a, stays in zip(bounds, kept) if not stays],
            [base + b for b, stays in zip(bounds[1:], kept) if not stays],
            [out for out, stays in zip(outs, kept) if not stays])


# At most this many distinct characters that fold are replaced one by one (each a pass over the text).
_REPLACED_CHARACTERS = 16


def _character_folds(text: str, whole: str | None = None) -> tuple[dict, str] | None:
    """Each distinct character of ``text`` and its fold, and ``fold_characters(text)`` (``whole``,
    if made already), when that is each character folded by itself and ``text`` has no combining
    mark; else None."""
    distinct = _distinct_characters(text)
    if any(map(unicodedata.combining, distinct)):
        return None
    folds = {character: _fold_character(character) for character in distinct}
    if whole is None:
        whole = fold_characters(text)
    changed = {character: out for character, out in folds.items() if out != character}
    if len(changed) <= _REPLACED_CHARACTERS and not any(character in out for out in changed.values() for character in changed):
        # The translation below, by str.replace (in C) of the few characters that change: the
        # same text, as no replacement holds one of them. translate looks every character up
        # (3 ms for 20,000 characters beyond ASCII, even when none changes).
        apart = text
        for character, out in changed.items():
            apart = apart.replace(character, out)
    else:
        apart = text.translate({ord(character): out for character, out in folds.items()})
    return (folds, whole) if apart == whole else None


def _code_points(text: str):
    """``text``'s code points as a numpy array (lone surrogates included)."""
    # A one-element numpy string array holds them (UCS-4) as they are: encoding with
    # "surrogatepass" called its handler for each lone surrogate (18 ms for 20,000 of them).
    if not text:
        return np.zeros(0, dtype=np.uint32)
    return np.array([text]).view(np.uint32)


def _distinct_characters(text: str):
    """The distinct characters of ``text``: ``set(text)``, by numpy for a long text (set() makes a
    string of each character beyond Latin-1: 1-2 ms for 20,000 of them, numpy 0.3)."""
    if len(text) < _NUMPY_RUN:
        return set(text)
    return list(map(chr, np.unique(_code_points(text)).tolist()))


def _fold_characters_apart(run: str, base: int, folds: dict) -> tuple[list, list, list]:
    """``_fold_run_text``'s answer for a run of one-character clusters whose ``folds`` are known
    (``_character_folds``): short runs in plain Python, long ones with numpy (``_fold_edits``)."""
    if len(run) < _NUMPY_RUN:
        return _fold_short_run(run, base, folds)
    first, last, _ = _fold_edits(run, folds)
    return (base + first).tolist(), (base + last).tolist(), [folds[run[i]] for i in first.tolist()]


def _fold_edits(text: str, folds: dict):
    """The edits that fold ``text`` character by character (``folds``: ``_character_folds``), by
    code point in numpy: arrays of their first characters, their ends and their outputs' lengths.
    A stretch of characters folded to nothing is one deletion (see ``_fold_unicode``)."""
    codes = _code_points(text)
    changed_codes = np.array(sorted(ord(character) for character, out in folds.items() if out != character), dtype=np.uint32)
    out_lengths = np.array([len(folds[chr(code)]) for code in changed_codes.tolist()], dtype=np.intp)
    changed = np.isin(codes, changed_codes)
    gone = np.isin(codes, changed_codes[out_lengths == 0])  # (so changed)
    opens = changed.copy()
    opens[1:] &= ~(gone[1:] & gone[:-1])
    first = np.flatnonzero(opens)
    stays = np.flatnonzero(~gone)  # the end of a deletion: the next character not gone
    after = np.append(stays, len(text))[np.searchsorted(stays, first)]
    last = np.where(gone[first], after, first + 1)
    return first, last, out_lengths[np.searchsorted(changed_codes, codes[first])]


# From this length on, a text with combining marks has its non-ASCII runs found and folded in
# groups of equal runs (``_fold_runs_grouped``) rather than one at a time.
_GROUPED_RUNS_CHARS = 1024


def _fold_each(characters) -> dict[str, str]:
    """``{character: _fold_character(character)}``; thousands of distinct characters (CJK) folded
    in one call, one a line (no character composes with a line break before it)."""
    if len(characters) < _NUMPY_RUN:
        return {character: _fold_character(character) for character in characters}
    combining = list(map(unicodedata.combining, characters))
    marks = [character for character, mark in zip(characters, combining) if mark]
    others = [character for character, mark in zip(characters, combining) if not mark]
    folded = fold_characters("\n".join(others)).split("\n")
    if len(folded) != len(others) or "\n" in others:
        return {character: _fold_character(character) for character in characters}
    return {**dict(zip(others, folded)), **{character: _fold_character(character) for character in marks}}


def _fold_clusters(text: str) -> tuple[list, list, list, str] | None:
    """The edits of ``_fold_run`` over every non-ASCII run of ``text`` (which has combining marks),
    made over the whole text at once: each cluster (a character and the marks after it) folded by
    itself; and the folded text. None when that is not ``fold_characters(text)`` (composition
    across clusters, as Hangul jamo do), for ``_fold_runs_grouped`` to fold run by run.

    Thousands of distinct runs (CJK characters between spaces, each with a mark) took 125 ms one
    run at a time; a run's edits are the edits of its clusters, so the result is the same.
    """
    codes = _code_points(text)
    distinct = _distinct_characters(text)
    marks = [ord(character) for character in distinct if unicodedata.combining(character)]
    opens = ~np.isin(codes, marks)
    opens[0] = True
    starts = np.flatnonzero(opens)
    ends = np.append(starts[1:], len(text))
    folds = _fold_each(distinct)
    changed = [ord(character) for character, out in folds.items() if out != character]
    # The clusters that change: a character that folds to something else, and every cluster with marks.
    edited = (ends - starts > 1) | np.isin(codes[starts], changed)
    lows, highs = starts[edited], ends[edited]
    # Each distinct cluster folded once: single characters and pairs by code point, longer ones by text.
    sizes = highs - lows
    outs = np.empty(len(lows), dtype=object)
    single, pair = sizes == 1, sizes == 2
    if single.any():
        found, where = np.unique(codes[lows[single]], return_inverse=True)
        outs[single] = np.array([folds[chr(code)] for code in found.tolist()], dtype=object)[where]
    if pair.any():
        keys = codes[lows[pair]].astype(np.int64) << 21 | codes[lows[pair] + 1]
        found, where = np.unique(keys, return_inverse=True)
        pairs = [fold_characters(chr(key >> 21) + chr(key & 0x1FFFFF)) for key in found.tolist()]
        outs[pair] = np.array(pairs, dtype=object)[where]
    cluster_folds: dict[str, str] = {}
    for index in np.flatnonzero(sizes > 2).tolist():
        cluster = text[lows[index]:highs[index]]
        if cluster not in cluster_folds:
            cluster_folds[cluster] = fold_characters(cluster)
        outs[index] = cluster_folds[cluster]
    lows, highs, outs = lows.tolist(), highs.tolist(), outs.tolist()
    pieces = [None] * (2 * len(outs) + 1)
    pieces[0::2] = [text[a:b] for a, b in zip([0, *highs], [*lows, len(text)])]
    pieces[1::2] = outs
    folded = "".join(pieces)
    if folded != fold_characters(text):
        return None
    return lows, highs, outs, folded


def _fold_runs_grouped(text: str) -> tuple[list, list, list]:
    """The edits of ``_fold_run`` over every match of ``_NON_ASCII_RUN`` in ``text``, in order.

    The runs are found by code point (a non-ASCII stretch and the character before it, as the
    pattern has them) and each distinct short run is folded once, its edits moved to every place
    it occurs in a few numpy calls: 10,000 runs of a space and a combining mark took 50 ms one
    match at a time.
    """
    high = np.concatenate(([False], _code_points(text) > 0x7F, [False]))
    edges = np.flatnonzero(high[1:] != high[:-1])
    run_ends = edges[1::2]
    # A run takes the character before it (ASCII, as the stretch is maximal) unless it opens the text.
    run_starts = np.maximum(edges[::2] - 1, 0)
    groups: dict[str, list[int]] = defaultdict(list)
    long_runs = []
    for index, (start, end) in enumerate(zip(run_starts.tolist(), run_ends.tolist())):
        run = text[start:end]
        if end - start > _CACHED_RUN_CHARS:
            long_runs.append((run, start))
        else:
            groups[run].append(index)
    low_parts, high_parts, outs = [], [], []
    for run, start in long_runs:
        run_lows, run_highs, run_outs = _fold_run_text(run, start)
        low_parts.append(np.asarray(run_lows, dtype=np.intp))
        high_parts.append(np.asarray(run_highs, dtype=np.intp))
        outs += run_outs
    for run, indexes in groups.items():
        run_lows, run_highs, run_outs = _fold_short_run_at_zero(run)
        if not run_lows:
            continue
        bases = run_starts[indexes][:, None]
        low_parts.append((bases + np.asarray(run_lows, dtype=np.intp)).ravel())
        high_parts.append((bases + np.asarray(run_highs, dtype=np.intp)).ravel())
        outs += list(run_outs) * len(indexes)
    if not low_parts:
        return [], [], []
    lows = np.concatenate(low_parts)
    order = np.argsort(lows, kind="stable")
    return lows[order].tolist(), np.concatenate(high_parts)[order].tolist(), [outs[i] for i in order.tolist()]


def _fold_unicode(aligned: _Aligned) -> _Aligned:
    """``model.text.fold_characters(text)`` keeping origins.

    Only clusters that change are edits, and a stretch of clusters folded to nothing (invisible
    characters) is one edit: 20,000 zero-width spaces are one deletion, not 20,000.
    """
    text, starts, ends = aligned
    apart = _character_folds(text)
    if apart is not None and len(text) >= _NUMPY_RUN:
        # The whole text at once (in numpy): thousands of short runs (accented prose, curly
        # apostrophes) were thousands of Python steps. The folded text is known (_character_folds
        # checked it): only the origins are spliced.
        folds, whole = apart
        first, last, out_lengths = _fold_edits(text, folds)
        if not len(first):
            return aligned
        starts_array, ends_array = np.asarray(starts, dtype=np.intp), np.asarray(ends, dtype=np.intp)
        gone = out_lengths == 0
        origin_starts = np.where(gone, 0, starts_array[first])
        origin_ends = np.where(gone, 0, ends_array[last - 1])
        return (whole, *splice_origins(len(text), starts_array, ends_array, first, last, out_lengths,
                                         origin_starts, origin_ends))
    folded = None  # the folded text, when known already
    if apart is not None:
        lows, highs, outs = _fold_short_run(text, 0, apart[0])
    elif len(text) >= _GROUPED_RUNS_CHARS:
        clustered = _fold_clusters(text)
        if clustered is not None:
            lows, highs, outs, folded = clustered
        else:
            lows, highs, outs = _fold_runs_grouped(text)
    else:
        lows, highs, outs = [], [], []
        for match in _NON_ASCII_RUN.finditer(text):
            run_lows, run_highs, run_outs = _fold_run(match)
            lows += run_lows
            highs += run_highs
            outs += run_outs
    if not lows:
        return aligned
    low, high = np.array(lows, dtype=np.intp), np.array(highs, dtype=np.intp)
    gone = np.fromiter(map(operator.not_, outs), bool, len(outs))
    # Consecutive deletions as one: an edit opens a stretch unless it and the one before both
    # delete and touch.
    opens = np.ones(len(outs), dtype=bool)
    opens[1:] = ~(gone[1:] & gone[:-1] & (low[1:] == high[:-1]))
    first = np.flatnonzero(opens)
    last = np.append(first[1:], len(outs)) - 1
    low, high, gone = low[first], high[last], gone[first]
    outs = [outs[i] for i in first.tolist()]
    starts_array, ends_array = np.asarray(starts, dtype=np.intp), np.asarray(ends, dtype=np.intp)
    origin_starts = np.where(gone, 0, starts_array[low])
    origin_ends = np.where(gone, 0, ends_array[high - 1])
    return _splice_arrays((text, starts_array, ends_array), low, high, outs, origin_starts, origin_ends, folded)


def _normalize_aligned(text: str) -> _Aligned:
    """``model.text.normalize`` before its final whitespace collapse, with origins."""
    # The same steps, in the same order, under the same conditions as normalize(). Origins are
    # lists for unescaping (which slices them node by node), numpy arrays after, lists again at the end.
    if "&" in text:
        aligned = unescape_all(text, list(range(len(text))), list(range(1, len(text) + 1)))
    else:
        aligned = (text, np.arange(len(text)), np.arange(1, len(text) + 1))
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
    if "." in aligned[0] or "?" in aligned[0] or "!" in aligned[0]:
        aligned = _space_after(aligned, GLUED_SENTENCE)
    if "," in aligned[0]:
        aligned = _space_after(aligned, GLUED_COMMA)
    text, starts, ends = aligned
    return text, _as_list(starts), _as_list(ends)


def _as_list(origins) -> list[int]:
    return origins.tolist() if isinstance(origins, np.ndarray) else origins


# A long text is aligned from a prefix of this many characters first (then four times as many):
# the model reads MAX_TOKENS tokens, and aligning all 20,000 characters of a text, character by
# character, costs a hundred milliseconds and more.
_PREFIX_CHARS = 8 * MAX_TOKENS
# A prefix serves when its normalisation agrees with the whole text's this far past the last
# token read: a pattern cut short by the prefix's end changes only what comes after its start
# (and the few characters it makes sit at the prefix's end, past the tokens).
_PREFIX_MARGIN = 200


def tokens_with_offsets(text: str, normalized: str | None = None,
                        tokens: list[str] | None = None) -> list[tuple[str, int, int]]:
    """``tokenize(normalize(text))`` with each token's ``(start, end)`` in the original text.

    ``text[start:end]`` is what the token came from: "Zürich" for ``N``, "&amp;" for "&",
    "ﬁne" for "fine", "--" for "-". Should the aligned normalisation ever disagree with
    ``normalize`` (it is checked on every call), every token comes back as ``(token, 0, 0)``:
    an empty span means "unknown", never a wrong place. ``normalized`` is ``normalize(text)``
    and ``tokens`` its ``tokenize``, when the caller has them already.
    """
    expected = normalize(text) if normalized is None else normalized
    if tokens is None:
        tokens = tokenize(expected)
    if len(text) > _PREFIX_CHARS // 4 and len(tokens) == MAX_TOKENS:
        last = next(itertools.islice(TOKEN.finditer(expected), MAX_TOKENS - 1, None)).end()
        reach = last + _PREFIX_MARGIN
        # First a prefix sized from where the last token read ends in the normalised text (as
        # many original characters per normalised one as in the whole text, and a fifth more):
        # most long texts read their tokens well before _PREFIX_CHARS, and the work is per
        # aligned character. Any prefix is checked as the others are, and one too short for the
        # check only costs its own alignment.
        guess = int((last + _PREFIX_MARGIN) * max(1.0, len(text) / max(1, len(expected))) * 1.2)
        sizes = (_PREFIX_CHARS, 4 * _PREFIX_CHARS)
        if guess < _PREFIX_CHARS * 3 // 4:
            sizes = (guess,) + sizes
        for size in sizes:
            if size >= len(text):
                break
            if 5 * size * len(expected) < 4 * reach * len(text):
                # At the whole text's rate of normalised characters per character, even a
                # quarter more, this prefix would not reach: not worth aligning.
                continue
            # Not inside a run of non-ASCII characters: one whose folding reaches across its
            # characters is folded whole, and each of its characters is then mapped to all of it.
            # (The last two ASCII characters in a row at most this far back, found in the reversed text.)
            pair = _ASCII_PAIR.search(text[size // 2 : size + 1][::-1])
            if pair is None or size - pair.start() <= size // 2:
                continue
            cut = size - pair.start()
            folded, starts, ends = _normalize_aligned(text[:cut])
            collapsed = collapse_spaces(folded)
            if len(collapsed) > reach and collapsed[:reach] == expected[:reach]:
                return _located(tokens, folded, starts, ends)
    folded, starts, ends = _normalize_aligned(text)
    if collapse_spaces(folded) != expected:
        return [(token, 0, 0) for token in tokens]
    return _located(tokens, folded, starts, ends)


def _located(tokens: list[str], folded: str, starts: list, ends: list) -> list[tuple[str, int, int]]:
    # The tokeniser never matches whitespace, so collapsing it changes no token: the tokens of
    # the normalised text are those of the uncollapsed one, whose matches give the offsets.
    return [(token, starts[m.start()], ends[m.end() - 1]) for token, m in zip(tokens, TOKEN.finditer(folded))]


def _occurrences(name, terms_of, tokens: list[str], wanted: dict[str, int], terms: list[str]):
    """Token ranges where the wanted terms of one block occur, in the order they occur: three
    arrays, the term's number in ``wanted`` and the range's first and last token (``terms``: the
    block's ``terms_of(tokens)``).

    Character n-grams lie inside one token each. Every other block lists its n-grams by size
    and, within a size, by position, so the i-th term with k words starts at token i; terms
    that are no n-gram ("<len 16>", "<open end>") fall outside the tokens and get no range.
    """
    if name == "chars":
        in_token: dict[str, list] = {}  # a text repeats its tokens: each one's n-grams are made once
        numbers, positions = [], []
        for i, token in enumerate(tokens):
            found = in_token.get(token)
            if found is None:
                found = in_token[token] = [wanted[term] for term in dict.fromkeys(terms_of([token])) if term in wanted]
            numbers += found
            positions += [i] * len(found)
        numbers = np.array(numbers, dtype=np.intp)
        first = np.array(positions, dtype=np.intp)
        return numbers, first, first
    count = len(terms)
    numbers = np.fromiter(map(wanted.get, terms, repeat(-1)), np.intp, count)
    hits = np.flatnonzero(numbers >= 0)
    # Each term's words minus one: its spaces, counted over all terms at once (str.count term by
    # term cost half a millisecond for a thousand tokens' terms).
    lengths = np.fromiter(map(len, terms), np.intp, count)
    spaces_before = np.append(0, np.cumsum(_code_points("".join(terms)) == 32))
    term_ends = np.cumsum(lengths)
    sizes = spaces_before[term_ends] - spaces_before[term_ends - lengths]
    # A term's position is how many terms of its size precede it.
    order = np.argsort(sizes, kind="stable")
    per_size = np.bincount(sizes)
    position = np.empty(count, dtype=np.intp)
    position[order] = np.arange(count) - (np.cumsum(per_size) - per_size)[sizes[order]]
    first, size = position[hits], sizes[hits]
    inside = first + size < len(tokens)
    return numbers[hits][inside], first[inside], first[inside] + size[inside]


def _spans(count: int, numbers, first, last, token_starts, token_ends) -> list[list]:
    """For each of ``count`` terms, the spans ``[start, end]`` of its first ``MAX_SPANS`` distinct
    located occurrences (``_occurrences``), sorted."""
    starts, ends = token_starts[first], token_ends[last]
    located = (token_starts[first] < token_ends[first]) & (token_starts[last] < token_ends[last])
    numbers, starts, ends = numbers[located], starts[located], ends[located]
    # One integer per (term, span), ordered as (term, start, end) are.
    width = int(token_ends.max(initial=0)) + 1
    keys = (numbers * width + starts) * width + ends
    distinct, first_seen = np.unique(keys, return_index=True)
    term_of = distinct // (width * width)
    # Each term's spans in the order first seen; the first MAX_SPANS kept, in sorted order.
    by_seen = np.lexsort((first_seen, term_of))
    grouped = term_of[by_seen]
    rank = np.arange(len(grouped)) - np.searchsorted(grouped, grouped)
    kept = np.sort(by_seen[rank < MAX_SPANS])
    span = distinct[kept] % (width * width)
    pairs = np.stack((span // width, span % width), axis=1).tolist()
    bounds = np.searchsorted(term_of[kept], np.arange(count + 1)).tolist()
    return [pairs[bounds[i] : bounds[i + 1]] for i in range(count)]


def explain(scorer: FastScorer, text: str, top: int | None = 10, normalized: str | None = None,
            tokens: list[str] | None = None) -> dict:
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
    ``normalized`` (``normalize(text)``) and ``tokens`` (its ``tokenize``) save making them again.
    """
    if top is not None and top < 0:
        raise ValueError(f"'top' must be None or a non-negative integer (got {top!r})")
    if normalized is None:
        normalized = normalize(text)
    located = tokens_with_offsets(text, normalized, tokens)
    tokens = [token for token, _, _ in located]
    terms = {block.name: block.terms_of(tokens) for block in scorer.blocks}  # for the weights and the spans
    items = [
        (block, term, weight)
        for block, weights in scorer.contributions(text, tokens, terms).items()
        for term, weight in weights.items()
    ]
    items.sort(key=lambda item: (-abs(item[2]), item[0], item[1]))
    shown = items if top is None else items[:top]
    hidden = items[len(shown) :]

    wanted = defaultdict(dict)  # block -> {term: its number among the block's shown terms}
    for block, term, _ in shown:
        wanted[block].setdefault(term, len(wanted[block]))
    token_starts = np.array([start for _, start, _ in located], dtype=np.intp)
    token_ends = np.array([end for _, _, end in located], dtype=np.intp)
    spans = {
        block.name: _spans(len(wanted[block.name]),
                           *_occurrences(block.name, block.terms_of, tokens, wanted[block.name], terms[block.name]),
                           token_starts, token_ends)
        for block in scorer.blocks
        if wanted[block.name]
    }
    terms = [
        {"term": term, "block": block, "weight": weight, "spans": spans[block][wanted[block][term]]}
        for block, term, weight in shown
    ]
    return {
        "intercept": scorer.intercept,
        "logit": math.fsum([scorer.intercept] + [weight for _, _, weight in items]),
        "terms": terms,
        "other_terms_weight": math.fsum(weight for _, _, weight in hidden),
        "other_terms_count": len(hidden),
    }
