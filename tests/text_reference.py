"""The text handling as it was before it was made linear, kept as the reference it must equal.

``normalize`` here is ``model.text.normalize`` as the shipped model was trained with it (html
unescaping repeated over the whole text, the dash and tag patterns rescanning whitespace runs and
unclosed tags), ``aligned`` the explanation's offset-tracking replay of it (with its splicing,
folding and insertions one edit at a time, as they were before they were done in numpy),
``term_spans`` the explanation's spans of each term as they were found one occurrence at a time,
and ``sentences`` the Perspective splitter. They are quadratic on some inputs: give them texts of
a few hundred characters, not thousands.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import defaultdict

from model.text import _CHAR_FOLD

_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_TAGS = re.compile(r"<br\s*/?>|</?(?:p|b|i|em|strong|a|span|div|u)\b[^>]*>", re.IGNORECASE)
_EMOTICON_TOKEN = re.compile(r"\bemoticonX\w*")
_TEX_QUOTES = re.compile(r"``|''")
_DOUBLE_DASH = re.compile(r"\s*--+\s*|\s+-\s+")
_GLUED_SENTENCE = re.compile(r"(?<=[a-z\)])([.?!]+)(?=[A-Z])")
_GLUED_COMMA = re.compile(r"(?<=[a-z]),(?=[a-z])")
_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"\S.*?(?:[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|\Z)|(?=\n)|\Z)", re.S)


def normalize(text: str) -> str:
    while "&" in text:
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_CHAR_FOLD)
    if "<" in text:
        text = _TAGS.sub(" ", text)
    if "emoticonX" in text:
        text = _EMOTICON_TOKEN.sub(" ", text)
    if "``" in text or "''" in text:
        text = _TEX_QUOTES.sub('"', text)
    if "-" in text:
        text = _DOUBLE_DASH.sub(" - ", text)
    text = _GLUED_SENTENCE.sub(r"\1 ", text)
    if "," in text:
        text = _GLUED_COMMA.sub(", ", text)
    return _SPACE.sub(" ", text).strip()


def _replace(aligned, pattern, repl, keep_tail=False):
    text, starts, ends = aligned
    pieces, new_starts, new_ends = [], [], []
    last = 0
    for match in pattern.finditer(text):
        a, b = match.span()
        source = match.group()
        out = repl if isinstance(repl, str) else repl(match)
        if out == source:
            continue
        pieces.append(text[last:a])
        new_starts += starts[last:a]
        new_ends += ends[last:a]
        shared = 0
        if keep_tail:
            while shared < min(len(out), len(source)) and out[-1 - shared] == source[-1 - shared]:
                shared += 1
        head_end = b - shared
        head = text[a:head_end]
        low = a + len(head) - len(head.lstrip())
        high = head_end - (len(head) - len(head.rstrip()))
        if low >= high:
            low, high = a, head_end
        if low < high:
            origin = (starts[low], ends[high - 1])
        else:
            origin = (ends[a - 1], ends[a - 1]) if a else (0, 0)
        head_out = len(out) - shared
        pieces.append(out)
        new_starts += [origin[0]] * head_out
        new_ends += [origin[1]] * head_out
        new_starts += starts[head_end:b]
        new_ends += ends[head_end:b]
        last = b
    if not pieces:
        return aligned
    pieces.append(text[last:])
    new_starts += starts[last:]
    new_ends += ends[last:]
    return "".join(pieces), new_starts, new_ends


def _splice(aligned, edits):
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


def _space_after(aligned, pattern):
    ends = aligned[2]
    return _splice(aligned, ((b, b, " ", (ends[b - 1], ends[b - 1]) if b else (0, 0))
                             for b in (match.end() for match in pattern.finditer(aligned[0]))))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_CHAR_FOLD)


_NON_ASCII_RUN = re.compile(r"[\x00-\x7f]?[^\x00-\x7f]+")


def _fold_run(match):
    run = match.group()
    base = match.start()
    bounds = [i for i, ch in enumerate(run) if i == 0 or not unicodedata.combining(ch)]
    bounds.append(len(run))
    clusters = [(base + a, base + b, _fold(run[a:b])) for a, b in zip(bounds, bounds[1:])]
    if "".join(out for _, _, out in clusters) != _fold(run):
        return [(base, base + len(run), _fold(run))]
    return clusters


def _fold_unicode(aligned):
    text, starts, ends = aligned

    def edits():
        gone = None
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
                    continue
                yield low, high, out, (starts[low], ends[high - 1])
        if gone is not None:
            yield gone[0], gone[1], "", (0, 0)

    return _splice(aligned, edits())


def aligned(text: str):
    """The explanation's ``_normalize_aligned`` as it was: the text before the final whitespace
    collapse, with each character's start and end in ``text``."""
    result = (text, list(range(len(text))), list(range(1, len(text) + 1)))
    while "&" in result[0]:
        before = result[0]
        result = _replace(result, _CHARREF, lambda m: html.unescape(m.group()), keep_tail=True)
        if result[0] == before:
            break
    if not result[0].isascii():
        result = _fold_unicode(result)
    if "<" in result[0]:
        result = _replace(result, _TAGS, " ")
    if "emoticonX" in result[0]:
        result = _replace(result, _EMOTICON_TOKEN, " ")
    if "``" in result[0] or "''" in result[0]:
        result = _replace(result, _TEX_QUOTES, '"')
    if "-" in result[0]:
        result = _replace(result, _DOUBLE_DASH, " - ")
    result = _space_after(result, _GLUED_SENTENCE)
    if "," in result[0]:
        result = _space_after(result, _GLUED_COMMA)
    return result


def sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().rstrip()
        if sentence:
            spans.append((match.start(), match.start() + len(sentence)))
    return spans


def _occurrences(name, terms_of, tokens, wanted):
    found = defaultdict(list)
    if name == "chars":
        for i, token in enumerate(tokens):
            for term in wanted.intersection(terms_of([token])):
                found[term].append((i, i))
        return found
    terms = terms_of(tokens)
    sizes = [term.count(" ") for term in terms]
    for index, term in enumerate(terms):
        if term in wanted:
            size = sizes[index]
            position = sizes[:index].count(size)
            if position + size < len(tokens):
                found[term].append((position, position + size))
    return found


def term_spans(blocks, located, shown, max_spans):
    """The spans of each shown ``(block, term)``, given the scorer's blocks and the located tokens
    (``tokens_with_offsets``): its first ``max_spans`` distinct located occurrences, sorted."""
    tokens = [token for token, _, _ in located]
    wanted = defaultdict(set)
    for block, term in shown:
        wanted[block].add(term)
    ranges = {block.name: _occurrences(block.name, block.terms_of, tokens, wanted[block.name])
              for block in blocks if wanted[block.name]}
    result = []
    for block, term in shown:
        found = set()
        for first, last in ranges[block].get(term, ()):
            start, end = located[first][1], located[last][2]
            if located[first][1] < located[first][2] and located[last][1] < located[last][2]:
                found.add((start, end))
                if len(found) == max_spans:
                    break
        result.append([list(span) for span in sorted(found)])
    return result


_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,:/]\d+)*|[^\w\s]|_+")


def tokenize(text: str, max_tokens: int = 1_000) -> list[str]:
    """``model.text.tokenize`` as it was before its ASCII pattern and its cache of plain tokens."""
    tokens = []
    previous = "."
    for raw in _TOKEN.findall(text)[:max_tokens]:
        first = raw[0]
        if first.isdigit():
            token = "0"
        elif first.isupper():
            if len(raw) >= 2 and raw.isupper():
                token = "CAPS" if len(raw) >= 6 else "ACR"
            elif previous in '.!?:;"(-' or raw == "I" or raw.startswith("I'"):
                token = raw.lower()
            else:
                token = "N"
        else:
            token = raw.lower()
        tokens.append(token)
        previous = raw
    return tokens
