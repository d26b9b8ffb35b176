"""Text normalisation and tokenisation shared by training and serving.

Normalisation removes what tells *sources* apart rather than *kinds of writing*: typesetters'
quotes and dashes, HTML entities, missing spaces after punctuation, scraper tokens and
whitespace. Tokenisation then masks digits and mid-sentence capitalised names so that topics
and people stop standing in for register.
"""

from __future__ import annotations

import html
import re
import unicodedata

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
_TAGS = re.compile(r"<br\s*/?>|</?(?:p|b|i|em|strong|a|span|div|u)\b[^>]*>", re.IGNORECASE)
_EMOTICON_TOKEN = re.compile(r"\bemoticonX\w*")
_TEX_QUOTES = re.compile(r"``|''")
_DOUBLE_DASH = re.compile(r"\s*--+\s*|\s+-\s+")
# "error?Not" and "said.The": a sentence end glued to the next sentence by a scraper.
_GLUED_SENTENCE = re.compile(r"(?<=[a-z\)])([.?!]+)(?=[A-Z])")
# "yes,but": a comma with no space between two lowercase words (digits like 1,000 are left alone).
_GLUED_COMMA = re.compile(r"(?<=[a-z]),(?=[a-z])")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Fold typography, markup and spacing so that only the writing itself remains."""
    # Each step is skipped when its pattern cannot occur, so plain ASCII prose, the common
    # case, costs a few regex scans rather than a dozen.
    # Until nothing changes: "&amp;amp;" from a doubly escaping scraper is "&" too, and
    # normalize(normalize(x)) == normalize(x), as training (which stores normalised text and
    # normalises it again in the analyzers) and serving (once) both rely on.
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


_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,:/]\d+)*|[^\w\s]|_+")
_SENTENCE_OPENERS = frozenset('.!?:;"(-')

NUMBER = "0"
NAME = "N"
ACRONYM = "ACR"
SHOUT = "CAPS"
# An all-capitals word this long is shouting ("ABSOLUTELY"); shorter ones are mostly
# acronyms ("AFP", "NATO", "ICBM"), which newswire prose is full of.
_SHOUT_LENGTH = 6


def tokenize(text: str) -> list[str]:
    """Split normalised text into lowercased tokens with numbers and mid-sentence names masked.

    A capitalised word that does not open a sentence becomes ``N``; an all-capitals word
    becomes ``ACR`` (2 to 5 letters) or ``CAPS`` (6 or more: shouting); every number ``0``.
    Punctuation marks are kept as tokens of their own.
    """
    tokens = []
    previous = "."
    for raw in _TOKEN.findall(text):
        first = raw[0]
        if first.isdigit():
            token = NUMBER
        elif first.isupper():
            if len(raw) >= 2 and raw.isupper():
                token = SHOUT if len(raw) >= _SHOUT_LENGTH else ACRONYM
            elif previous in _SENTENCE_OPENERS or raw == "I" or raw.startswith("I'"):
                token = raw.lower()
            else:
                token = NAME
        else:
            token = raw.lower()
        tokens.append(token)
        previous = raw
    return tokens
