"""Small readers shared by the source importers (encodings, HTML remnants)."""

from __future__ import annotations

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
