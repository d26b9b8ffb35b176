"""The text handling as it was before it was made linear, kept as the reference it must equal.

``normalize`` here is ``model.text.normalize`` as the shipped model was trained with it (html
unescaping repeated over the whole text, the dash and tag patterns rescanning whitespace runs and
unclosed tags), ``aligned`` the explanation's offset-tracking replay of it, and ``sentences`` the
Perspective splitter. They are quadratic on some inputs: give them texts of a few hundred
characters, not thousands.
"""

from __future__ import annotations

import html
import re
import unicodedata

from model import explain as current_explain
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
        result = current_explain._fold_unicode(result)
    if "<" in result[0]:
        result = _replace(result, _TAGS, " ")
    if "emoticonX" in result[0]:
        result = _replace(result, _EMOTICON_TOKEN, " ")
    if "``" in result[0] or "''" in result[0]:
        result = _replace(result, _TEX_QUOTES, '"')
    if "-" in result[0]:
        result = _replace(result, _DOUBLE_DASH, " - ")
    result = current_explain._space_after(result, _GLUED_SENTENCE)
    if "," in result[0]:
        result = current_explain._space_after(result, _GLUED_COMMA)
    return result


def sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().rstrip()
        if sentence:
            spans.append((match.start(), match.start() + len(sentence)))
    return spans
