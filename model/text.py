"""Text normalisation and tokenisation shared by training and serving.

Normalisation removes what tells *sources* apart rather than *kinds of writing*: typesetters'
quotes and dashes, HTML entities, missing spaces after punctuation, scraper tokens and
whitespace. Tokenisation then masks digits and mid-sentence capitalised names so that topics
and people stop standing in for register.
"""

from __future__ import annotations

import functools
import html
import itertools
import re
import unicodedata

import numpy as np

_CHAR_FOLD = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-",
        "\u2013": " - ", "\u2014": " - ", "\u2015": " - ",
        "\u2026": "...",
        "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u00ad": "",
    }
)


# Any character ``_CHAR_FOLD`` changes: ``str.translate`` looks every character up in the table,
# a scan this pattern does many times faster, so a text with none of them is not translated.
_FOLDED = re.compile("[" + re.escape("".join(map(chr, _CHAR_FOLD))) + "]")


def fold_characters(text: str) -> str:
    """NFKC, then typographic quotes, dashes, ellipses and invisible characters folded to ASCII
    (``normalize``'s step for non-ASCII text)."""
    text = unicodedata.normalize("NFKC", text)
    # ``text.translate(_CHAR_FOLD)``, one distinct character at a time: translate looks every
    # character of a non-ASCII text up in the table (2.7 ms for 10,000 curly apostrophes), while
    # str.replace finds the few that fold in C. The same text: no replacement holds a character
    # of the table, so the order does not matter. Linear: at most one replace per entry of the
    # table, and each search goes on from the last character found (nothing before it changes).
    match = _FOLDED.search(text)
    while match is not None:
        character = match.group()
        text = text.replace(character, _CHAR_FOLD[ord(character)])
        match = _FOLDED.search(text, match.start())
    return text


# The patterns of ``normalize``'s steps, in order, and of ``tokenize``: public because
# ``model.explain`` replays the same steps keeping each character's origin.
TAGS = re.compile(r"<br\s*/?>|</?(?:p|b|i|em|strong|a|span|div|u)\b[^>]*>", re.IGNORECASE)
EMOTICON_TOKEN = re.compile(r"\bemoticonX\w*")
TEX_QUOTES = re.compile(r"``|''")
# Never tried from inside a whitespace run (a space after a space): a run that does not end in
# a dash would otherwise be rescanned from each of its characters, quadratic in its length. No
# match can start there: the run's first space was tried first, with the same outcome, and a
# match ends after all of its trailing whitespace, so the next search starts past the run.
DOUBLE_DASH = re.compile(r"(?!(?<=\s)\s)(?:\s*--+\s*|\s+-\s+)")
# "error?Not" and "said.The": a sentence end glued to the next sentence by a scraper.
GLUED_SENTENCE = re.compile(r"(?<=[a-z\)])([.?!]+)(?=[A-Z])")
# "yes,but": a comma with no space between two lowercase words (digits like 1,000 are left alone).
GLUED_COMMA = re.compile(r"(?<=[a-z]),(?=[a-z])")
SPACE = re.compile(r"\s+")
# What a match of each of the three patterns above holds, found without a look-around: a dash
# with whitespace on both sides (a match without "--" is ``\s+-\s+``), a full stop, question or
# exclamation mark before a capital letter, and a comma before a lowercase letter.
DOUBLE_DASH_HINT = re.compile(r"\s-\s")
GLUED_SENTENCE_HINT = re.compile(r"[.?!][A-Z]")
GLUED_COMMA_HINT = re.compile(r",[a-z]")
# Above this many stops a text goes straight to ``GLUED_SENTENCE`` (as it did before the hint).
_HINTED_STOPS = 64
# The pattern html.unescape applies (a reference never contains a second "&").
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_NUMERIC_REF = re.compile(r"&#([xX]?)0*([0-9a-fA-F]*)(;?)")
# Longer than any reference but a numeric one (which grows the window as it needs).
_REF_WINDOW = 40
# Runs of what makes "&" once more behind an "&" ("&amp;amp;amp;...", "&#38;#38;", "&ampampamp"):
# each piece is a whole reference whatever its neighbours do (it ends with ";", or the character
# after it is here and ends it: no entity's name goes on from "amp"), so such a run gives "&"
# again pass after pass, one level a piece (see ``unescape_all``). Each piece has exactly one
# "a", "A" or "#": that counts them.
_AMP_LEVELS = re.compile(
    r"(?:(?:amp|AMP|#0*38|#[xX]0*26);|(?:amp|AMP)(?=[^;])|#0*38(?=[^0-9;])|#[xX]0*26(?=[^0-9a-fA-F;]))*"
)


def tag_end(text: str) -> int:
    """Where ``TAGS`` can match at most: every tag ends with ">", so nothing past the last one
    is a tag, and an unclosed "<p" is not rescanned to the end of the text from every "<"."""
    return text.rfind(">") + 1


def unescape_reference(reference: str) -> str:
    """``html.unescape`` of one character reference (a whole ``_CHARREF`` match).

    A numeric reference with thousands of digits makes ``html.unescape`` raise (Python's limit on
    integer conversion); its value is the same without the leading zeros and, with more than 7
    significant digits, beyond U+10FFFF, which ``html.unescape`` turns into U+FFFD.
    """
    if reference[1:2] == "#" and len(reference) > 12:
        hexadecimal, digits, semicolon = _NUMERIC_REF.fullmatch(reference).groups()
        if len(digits) > 7:
            return "\ufffd"
        reference = f"&#{hexadecimal}{digits or '0'}{semicolon}"
    return html.unescape(reference)


class _Nodes:
    """The text as a linked list of views ``base[start:end]``, each with optional origins.

    Every "&" opens a node of its own, so a character reference (which never contains a second
    "&") starts at a node's first character and is replaced by rewriting a few nodes' ends.
    """

    def __init__(self, text: str, starts: list | None, ends: list | None):
        self.base, self.lo, self.hi, self.starts, self.ends = [], [], [], [], []
        self.next, self.prev = [], []
        cuts = [i for i, ch in enumerate(text) if ch == "&"]
        if not cuts or cuts[0] != 0:
            cuts.insert(0, 0)
        cuts.append(len(text))
        for a, b in zip(cuts, cuts[1:]):
            self.add(text, a, b, starts, ends)
        self.next[-1] = -1

    def add(self, base, lo, hi, starts, ends) -> int:
        node = len(self.base)
        self.base.append(base)
        self.lo.append(lo)
        self.hi.append(hi)
        self.starts.append(starts)
        self.ends.append(ends)
        self.prev.append(node - 1)
        self.next.append(node + 1)
        return node

    def window(self, node: int, size: int):
        """Up to ``size`` characters from ``node`` on, to the next "&" (a reference cannot reach past
        it), with their origins when tracked; and whether that is all there is."""
        parts, starts, ends, have = [], [], [], 0
        first, cut = node, False
        while node != -1 and have < size and (node == first or self.base[node][self.lo[node]] != "&"):
            following = self.next[node]
            while following != -1 and self.lo[following] >= self.hi[following]:  # emptied: unlink
                following = self.next[following]
            self.next[node] = following
            if following != -1:
                self.prev[following] = node
            lo, hi = self.lo[node], min(self.hi[node], self.lo[node] + size - have)
            cut = hi < self.hi[node]
            parts.append(self.base[node][lo:hi])
            if self.starts[node] is not None:
                starts += self.starts[node][lo:hi]
                ends += self.ends[node][lo:hi]
            have += hi - lo
            node = self.next[node]
        return "".join(parts), starts, ends, have < size or (node == -1 and not cut)

    def replace_head(self, node: int, length: int, out: str, out_starts, out_ends) -> None:
        """Replace the first ``length`` characters from ``node`` on with ``out`` (in ``node``)."""
        rest = node
        while length:
            take = min(length, self.hi[rest] - self.lo[rest])
            self.lo[rest] += take
            length -= take
            if length:
                rest = self.next[rest]
        if self.lo[rest] < self.hi[rest] and rest == node:  # the node keeps a tail: its own node
            tail = self.add(self.base[node], self.lo[node], self.hi[node], self.starts[node], self.ends[node])
            self.next[tail], self.prev[tail] = self.next[node], node
            if self.next[node] != -1:
                self.prev[self.next[node]] = tail
            self.next[node] = tail
        # Nodes emptied by the match go.
        after = self.next[node]
        while after != -1 and self.lo[after] >= self.hi[after]:
            after = self.next[after]
        self.next[node] = after
        if after != -1:
            self.prev[after] = node
        self.base[node], self.lo[node], self.hi[node] = out, 0, len(out)
        self.starts[node], self.ends[node] = out_starts, out_ends

    def joined(self):
        parts, starts, ends, node = [], [], [], 0
        tracked = self.starts[0] is not None
        while node != -1:
            lo, hi = self.lo[node], self.hi[node]
            parts.append(self.base[node][lo:hi])
            if tracked:
                starts += self.starts[node][lo:hi]
                ends += self.ends[node][lo:hi]
            node = self.next[node]
        return "".join(parts), starts, ends


def _reference_split(source: str, out: str) -> tuple[int, int, int]:
    """``(low, high, shared)``: ``out``, what ``source`` (a reference) became, ends with ``shared``
    characters of ``source``'s own tail, and the rest of it comes from ``source[low:high]`` (the
    reference's head without outer whitespace, or all of the head if that leaves nothing)."""
    length = len(source)
    shared = 0
    while shared < min(len(out), length) and out[-1 - shared] == source[-1 - shared]:
        shared += 1
    head = source[: length - shared]
    low = len(head) - len(head.lstrip())
    high = len(head) - (len(head) - len(head.rstrip()))
    if low >= high:
        low, high = 0, len(head)
    return low, high, shared


def splice_origins(size: int, starts, ends, a, b, out_lengths, origin_starts, origin_ends):
    """Each character's origin once edits are made to a text of ``size`` characters whose
    characters come from ``starts[i]`` to ``ends[i]``: edit ``i`` puts ``out_lengths[i]`` characters,
    each from ``origin_starts[i]`` to ``origin_ends[i]``, in place of characters ``a[i]:b[i]`` (an
    insertion where they are equal). Edits come in order and do not overlap. Arrays (``starts`` and
    ``ends`` may be lists): a fixed number of numpy calls, whatever the number of edits, each
    character's origin gathered from the old ones (a kept stretch) or its edit's."""
    count = len(a)
    kept_from = np.concatenate(([0], b))  # each kept stretch: kept_from[i]:a[i], the last to the end
    # Stretches in output order: kept 0, out 0, kept 1, out 1, ..., kept last. The origins of
    # edit i's characters sit at size + i of the gathered arrays.
    lengths = np.empty(2 * count + 1, dtype=np.intp)
    lengths[0::2] = np.append(a, size) - kept_from
    lengths[1::2] = out_lengths
    sources = np.empty(2 * count + 1, dtype=np.intp)
    sources[0::2] = kept_from
    sources[1::2] = np.arange(size, size + count)
    steps = np.zeros(2 * count + 1, dtype=np.intp)
    steps[0::2] = 1
    firsts = np.cumsum(lengths) - lengths
    total = int(firsts[-1] + lengths[-1])
    index = np.repeat(sources, lengths) + (np.arange(total) - np.repeat(firsts, lengths)) * np.repeat(steps, lengths)
    new_starts = np.concatenate((np.asarray(starts, dtype=np.intp), np.asarray(origin_starts, dtype=np.intp)))[index]
    new_ends = np.concatenate((np.asarray(ends, dtype=np.intp), np.asarray(origin_ends, dtype=np.intp)))[index]
    return new_starts, new_ends


def _origin_of_reference(window: str, starts: list, ends: list, length: int, out: str):
    """Origins of ``out``, the replacement of ``window[:length]``: the characters of the reference
    (without outer whitespace) for what it became, and a shared tail (the "xyz" of "&ampxyz",
    which unescapes to "&xyz") keeps its own."""
    low, high, shared = _reference_split(window[:length], out)
    origin_start, origin_end = starts[low], ends[high - 1]
    head_out = len(out) - shared
    return ([origin_start] * head_out + starts[length - shared : length],
            [origin_end] * head_out + ends[length - shared : length])


# The body of a reference (``_CHARREF``'s group) and what ``html.unescape`` makes of it, remembered
# for bodies this short (a numeric one can be thousands of digits long: it is not kept).
_unescape_body = functools.lru_cache(maxsize=4096)(lambda body: html.unescape("&" + body))
_CACHED_BODY_CHARS = 40


def _unescape_pass(text: str) -> str:
    """``html.unescape(text)``, in C but for each distinct reference's first occurrence.

    ``html.unescape`` replaces every ``_CHARREF`` match with what it makes of the match's body,
    through a Python call per reference (5,000 for "&amp" repeated); here the text is split at the
    references and their bodies mapped through a cache. A reference alone is the same match as in
    its text (the pattern sees nothing past it), and unescapes the same, errors included.
    """
    if "&" not in text:
        return text
    parts = _CHARREF.split(text)
    if len(parts) == 1:
        return text
    bodies = parts[1::2]
    if max(map(len, bodies)) <= _CACHED_BODY_CHARS:
        parts[1::2] = map(_unescape_body, bodies)
    else:
        parts[1::2] = map(html.unescape, map("&".__add__, bodies))
    return "".join(parts)


@functools.lru_cache(maxsize=4096)
def _reference_edit(source: str):
    """What one pass makes of the reference ``source`` (a whole ``_CHARREF`` match), or None when
    it stays itself: ``(out, low, high, shared)``, where ``out``'s first ``len(out) - shared``
    characters come from ``source[low:high]`` and its last ``shared`` are ``source``'s own last
    (as ``_origin_of_reference`` places them). A text repeats few distinct references."""
    out = unescape_reference(source)
    if out == source:
        return None
    return (out, *_reference_split(source, out))


def _unescape_once(text: str, starts: list, ends: list):
    """One pass of ``html.unescape`` (every reference replaced once, left to right) with origins.

    The text is split at its references (as ``_unescape_pass``), each distinct reference's edit is
    made once (``_reference_edit``) and the origins are gathered by ``splice_origins``: a loop
    that sliced the origin lists reference by reference cost 5 ms for 1,440 references.
    """
    parts = _CHARREF.split(text)
    # Each distinct reference's edit once (a text repeats few), then numpy by reference.
    numbers: dict[str, int] = {}
    number_of = [numbers.setdefault(body, len(numbers)) for body in parts[1::2]]
    edits = [_reference_edit("&" + body) if len(body) < _REF_WINDOW else _reference_edit.__wrapped__("&" + body)
             for body in numbers]
    if not any(edits):
        return text, starts, ends
    outs = ["&" + body if edit is None else edit[0] for body, edit in zip(numbers, edits)]
    # Per distinct reference: whether it changes, its output's length less the shared tail (which
    # is the reference's own last characters: they stay, with their origins), the shared tail,
    # and where the output's origin starts and ends in the reference.
    table = np.array([(0, 0, 0, 0, 0) if edit is None else (1, len(edit[0]) - edit[3], edit[3], edit[1], edit[2] - 1)
                      for edit in edits], dtype=np.intp)
    changes, out_lengths, shared, low, last = table[np.array(number_of, dtype=np.intp)].T
    # Where each part ends in the text (a reference's "&" is no part of its body).
    part_ends = np.cumsum(np.fromiter(map(len, parts), np.intp, len(parts)) + np.arange(len(parts)) % 2)
    changed = np.flatnonzero(changes)
    a, b = part_ends[2 * changed], part_ends[2 * changed + 1]
    starts_array, ends_array = np.asarray(starts, dtype=np.intp), np.asarray(ends, dtype=np.intp)
    new_starts, new_ends = splice_origins(len(text), starts_array, ends_array, a, b - shared[changed],
                                          out_lengths[changed], starts_array[a + low[changed]], ends_array[a + last[changed]])
    parts[1::2] = map(outs.__getitem__, number_of)
    return "".join(parts), new_starts.tolist(), new_ends.tolist()


# Texts that this many passes of html.unescape settle are unescaped pass by pass in one scan each
# (``_unescape_once``); deeper ones node by node, each reference's levels at once.
_SHORTCUT_PASSES = 4


def unescape_all(text: str, starts: list | None = None, ends: list | None = None):
    """``html.unescape`` until nothing changes, in time linear in the text; with ``starts`` and
    ``ends`` (each character's origin), returns ``(text, starts, ends)`` with the result's origins.

    Repeating ``html.unescape`` on "&amp;amp;amp;..." rescans the whole text once per level. Here
    each pass looks only at the references whose text changed in the pass before: one whose own
    replacement began with "&" again, or one that a following reference's replacement (which
    lost its "&") now continues. The passes are otherwise the same as ``html.unescape``'s: every
    reference of a pass is read from the text as it was when the pass began.
    """
    tracked = starts is not None
    if not tracked:
        # A few passes of html.unescape itself (in C) settle all but contrived texts.
        for _ in range(3):
            try:
                unescaped = _unescape_pass(text)
            except ValueError:  # a numeric reference with thousands of digits
                break
            if unescaped == text:
                return text
            text = unescaped
    else:
        try:
            # Nothing to unescape (20,000 "&" are 20,000 nodes to build and look at for nothing),
            # or a few passes settle it: those passes, with origins, each in one scan
            # ("amp;&amp;" repeated takes two, and took 60 ms reference by reference).
            settled, passes = text, 0
            while passes <= _SHORTCUT_PASSES:
                once = _unescape_pass(settled)
                if once == settled:
                    break
                settled, passes = once, passes + 1
            if passes <= _SHORTCUT_PASSES:
                result = text, starts, ends
                for _ in range(passes):
                    result = _unescape_once(*result)
                return result
        except ValueError:
            pass
    nodes = _Nodes(text, starts, ends)
    heads = [node for node in range(len(nodes.base)) if nodes.base[node][nodes.lo[node]:nodes.lo[node] + 1] == "&"]
    head_prev = {head: previous for previous, head in zip([-1] + heads, heads)}
    head_next = {head: following for head, following in zip(heads, heads[1:] + [-1])}
    dirty = heads
    # A head that gave "&" and is followed by k more of _AMP_LEVELS would give "&" again in each of
    # the next k passes and change nothing else: those k levels go at once, and the head sleeps
    # until the pass after them (``wake``: pass -> heads), so that "&amp;" nested 5,000 deep costs
    # one step, not 5,000, and everything else still happens in the pass it would have.
    passes, asleep, wake = 0, {}, {}
    while dirty or wake:
        passes += 1
        if not dirty:  # nothing but sleepers: on to the next pass where one wakes
            passes = min(wake)
        dirty = sorted(set(dirty).union(wake.pop(passes, ())))
        changes = []
        for head in dirty:
            if asleep.get(head, 0) > passes or head not in head_prev:
                continue
            size = _REF_WINDOW
            window, w_starts, w_ends, complete = nodes.window(head, size)
            end = _AMP_LEVELS.match(window, 1).end()
            if end > 1:  # "&" and a run of levels: each pass takes one, and leaves "&"
                while not complete and len(window) - end <= 16:  # the run may go on past the window
                    size *= 2
                    window, w_starts, w_ends, complete = nodes.window(head, size)
                    end = _AMP_LEVELS.match(window, 1).end()
                source, out, levels = window[:end], "&", sum(window.count(mark, 1, end) for mark in "aA#")
            else:
                while True:
                    match = _CHARREF.match(window)
                    if match is None or match.end() < len(window) or complete:
                        break
                    size *= 2
                    window, w_starts, w_ends, complete = nodes.window(head, size)
                if match is None:
                    continue
                source, levels = match.group(), 0
                out = unescape_reference(source)
                if out == source:
                    continue
            if tracked:
                out_starts, out_ends = _origin_of_reference(window, w_starts, w_ends, len(source), out)
            else:
                out_starts = out_ends = None
            changes.append((head, len(source), out, out_starts, out_ends, levels))
        dirty = []
        for head, length, out, out_starts, out_ends, levels in changes:
            nodes.replace_head(head, length, out, out_starts, out_ends)
            if levels > 1:  # the levels after this pass's
                asleep[head] = passes + levels
                wake.setdefault(passes + levels, []).append(head)
                continue
            if out.startswith("&"):
                dirty.append(head)
                continue
            # No longer a reference: its text now continues the reference before it.
            previous, following = head_prev.pop(head), head_next.pop(head)
            if following != -1:
                head_prev[following] = previous
            if previous != -1:
                head_next[previous] = following
                dirty.append(previous)
    joined, new_starts, new_ends = nodes.joined()
    return (joined, new_starts, new_ends) if tracked else joined


def collapse_spaces(text: str) -> str:
    """``SPACE.sub(" ", text).strip()``, normalize's last step, a few times faster (10,000 spaces
    that are each one already were 10,000 replacements): ``str.split`` and ``\\s`` take the same
    characters for whitespace (``str.isspace``, every code point checked in the tests)."""
    return " ".join(text.split())


def _space_after_glued_sentences(text: str) -> str:
    """``GLUED_SENTENCE.sub(r"\\1 ", text)``: a template replacement is expanded in Python for
    each match (6,666 glued "Mr." in 20,000 characters took 10 ms); split and join are in C."""
    parts = GLUED_SENTENCE.split(text)
    if len(parts) == 1:
        return text
    parts[1::2] = [punctuation + " " for punctuation in parts[1::2]]
    return "".join(parts)


def normalize(text: str) -> str:
    """Fold typography, markup and spacing so that only the writing itself remains."""
    # Each step is skipped when its pattern cannot occur, so plain ASCII prose, the common
    # case, costs a few regex scans rather than a dozen.
    # Until nothing changes: "&amp;amp;" from a doubly escaping scraper is "&" too, and
    # normalize(normalize(x)) == normalize(x), as training (which stores normalised text and
    # normalises it again in the analyzers) and serving (once) both rely on.
    if "&" in text:
        text = unescape_all(text)
    if not text.isascii():
        text = fold_characters(text)
    if "<" in text:
        end = tag_end(text)
        text = TAGS.sub(" ", text[:end]) + text[end:]
    if "emoticonX" in text:
        text = EMOTICON_TOKEN.sub(" ", text)
    if "``" in text or "''" in text:
        text = TEX_QUOTES.sub('"', text)
    # The next three patterns open with a look-around, which the regex engine tries at every
    # character; a plain pattern that any of their matches must contain (``*_HINT``) is searched
    # for first, many times faster, and most prose has none.
    if "--" in text or ("-" in text and DOUBLE_DASH_HINT.search(text)):
        text = DOUBLE_DASH.sub(" - ", text)
    # The sentence hint tries a match at every stop: with many stops the pattern itself is no dearer.
    stops = text.count(".") + text.count("?") + text.count("!")
    if stops > _HINTED_STOPS or (stops and GLUED_SENTENCE_HINT.search(text)):
        text = _space_after_glued_sentences(text)
    if GLUED_COMMA_HINT.search(text):
        text = GLUED_COMMA.sub(", ", text)
    return collapse_spaces(text)


TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,:/]\d+)*|[^\w\s]|_+")
# ``TOKEN`` spelt out for ASCII text, where the regex engine checks plain ranges rather than
# Unicode categories (a quarter faster): letters, digits, and whitespace as ``\s`` takes it
# (``str.isspace``: also the separators 0x1c to 0x1f). The same matches on any ASCII text, as a
# test checks character by character.
ASCII_TOKEN = re.compile(
    r"[A-Za-z]+(?:'[A-Za-z]+)*|[0-9]+(?:[.,:/][0-9]+)*|[^0-9A-Za-z_\t\n\x0b\x0c\r\x1c-\x1f ]|_+"
)
_SENTENCE_OPENERS = frozenset('.!?:;"(-')

NUMBER = "0"
NAME = "N"
ACRONYM = "ACR"
SHOUT = "CAPS"
# An all-capitals word this long is shouting ("ABSOLUTELY"); shorter ones are mostly
# acronyms ("AFP", "NATO", "ICBM"), which newswire prose is full of.
_SHOUT_LENGTH = 6


# The model reads a text's first MAX_TOKENS tokens (about 800 words of prose): enough for any
# reader comment or paragraph (75 of 244,323 training texts are longer, 71 of them Usenet posts),
# and it bounds what one text can cost to score or explain, whatever its shape (20,000
# characters can make 20,000 tokens: "a,a,a,..."). Training and serving share this function, so
# the served probabilities stay exactly those of the saved pipeline.
MAX_TOKENS = 1_000
# Below this many characters a text cannot hold more than MAX_TOKENS tokens worth cutting short
# by matching lazily: findall (all in C) is quicker.
_LAZY_CHARS = 4 * MAX_TOKENS


# The token of a raw match that does not start with a capital depends on the match alone (a
# number's is ``NUMBER``, a word's its lowercase): those of short matches are kept, a dict look-up
# being cheaper than the tests and ``lower``. Bounded: emptied when full (the matches are users').
# A capitalised match's token depends on the match before it, and is never kept.
_PLAIN_TOKENS: dict[str, str] = {}
_PLAIN_TOKENS_MAX = 65_536
_PLAIN_TOKEN_CHARS = 40


def tokenize(text: str) -> list[str]:
    """Split normalised text into lowercased tokens with numbers and mid-sentence names masked.

    A capitalised word that does not open a sentence becomes ``N``; an all-capitals word
    becomes ``ACR`` (2 to 5 letters) or ``CAPS`` (6 or more: shouting); every number ``0``.
    Punctuation marks are kept as tokens of their own. Only the first ``MAX_TOKENS`` are returned.
    """
    pattern = ASCII_TOKEN if text.isascii() else TOKEN
    if len(text) <= _LAZY_CHARS:
        raws = pattern.findall(text)[:MAX_TOKENS]
    else:
        raws = [m.group() for m in itertools.islice(pattern.finditer(text), MAX_TOKENS)]
    tokens = []
    append = tokens.append
    known = _PLAIN_TOKENS.get
    previous = "."
    for raw in raws:
        token = known(raw)
        if token is None:
            first = raw[0]
            if first.isupper():
                if len(raw) >= 2 and raw.isupper():
                    token = SHOUT if len(raw) >= _SHOUT_LENGTH else ACRONYM
                elif previous in _SENTENCE_OPENERS or raw == "I" or raw.startswith("I'"):
                    token = raw.lower()
                else:
                    token = NAME
            else:
                token = NUMBER if first.isdigit() else raw.lower()
                if len(raw) <= _PLAIN_TOKEN_CHARS:
                    if len(_PLAIN_TOKENS) >= _PLAIN_TOKENS_MAX:
                        _PLAIN_TOKENS.clear()
                    _PLAIN_TOKENS[raw] = token
        append(token)
        previous = raw
    return tokens
