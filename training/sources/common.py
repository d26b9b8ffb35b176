"""Small readers shared by the source importers (encodings, HTML remnants)."""

from __future__ import annotations

import codecs
import html
import re
from pathlib import Path

_TAG = re.compile(r"<br\s*/?>|</?(?:p|b|i|em|strong|a|span|div)\b[^>]*>", re.IGNORECASE)


def read_text(path: Path) -> str:
    """Read a file as UTF-8, falling back to Latin-1 for the few files that are not."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def strip_html(text: str) -> str:
    """Unescape HTML entities and replace simple inline tags with spaces."""
    return html.unescape(_TAG.sub(" ", text))


def word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


# --- Held-out outlets ---------------------------------------------------------------------

# The outlets of the held-out evaluation (../shared/data/SOURCES.md): a text or an outlet name
# that mentions one is left out of training. Case matters only where the word is also common
# ("Guardian", "Fox"); the rest match in any case, domains included.
HELD_OUT_OUTLET = re.compile(
    r"(?i:new\s*york\s*times|\bnyt(?:imes)?\b|washington\s*post|\bwapo\b|\busa\s*today"
    r"|\bpolitico\b|breitbart|fox\s*news|fox\s*business|foxnews|\bal[\s-]*jazeera"
    r"|huff(?:ington)?\s*post|\bhuffpo\b|western\s*journal)"
    r"|\b(?:Fox|FOX)\b|\b(?:Guardian|GUARDIAN)\b|theguardian"
)


# Every match contains one of these (lowercased); checking them first is ten times faster.
_HELD_OUT_HINTS = (
    "times", "nyt", "post", "wapo", "today", "politico", "breitbart", "fox", "jazeera",
    "huff", "journal", "guardian",
)


def names_held_out_outlet(text: str) -> bool:
    """True if the text names an outlet of the held-out evaluation set."""
    lowered = text.lower()
    if not any(hint in lowered for hint in _HELD_OUT_HINTS):
        return False
    return HELD_OUT_OUTLET.search(text) is not None


# --- Encoding repairs ---------------------------------------------------------------------

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def undo_mojibake(text: str, encoding: str) -> str:
    """Repair UTF-8 read as `encoding` ("weren‚Äôt" -> "weren’t" for mac_roman).

    Each run of non-ASCII characters is re-encoded and decoded as UTF-8 where that
    round-trips; runs that do not (real "é", "½") are left as they are.
    """

    def fix(run: re.Match[str]) -> str:
        try:
            return run.group().encode(encoding).decode("utf-8")
        except UnicodeError:
            return run.group()

    return _NON_ASCII_RUN.sub(fix, text)


def _as_mac_roman(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: decode the bytes UTF-8 rejected as Mac-Roman."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("mac_roman"), error.end


codecs.register_error("mac_roman_fallback", _as_mac_roman)


def read_utf8_mac_roman(path: Path) -> str:
    """Read a UTF-8 file in which a few stray bytes are Mac-Roman (0xD5 for ’, 0xD2 for “)."""
    return Path(path).read_bytes().decode("utf-8", errors="mac_roman_fallback")
