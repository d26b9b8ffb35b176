"""Page chrome recognised by what it is: a detector learnt from real comment-system strings.

``model/segment_data/strings.tsv`` holds interface strings of open-source comment systems and
CMSs as their locale and template files publish them (origins and licences in
``systems.tsv`` and the README beside them), each with a kind:

    header  a comment section's header: counters, sorting, sign-in prompts, empty states
    form    the comment form: placeholders, field labels, submit buttons
    item    a comment's own controls and badges: Reply, Report, "3 replies", "Staff"
    time    a comment's timestamp: "3 hours ago", "Yesterday"
    notice  a status line in place of or under a comment: "This comment was deleted"
    page    the page's own chrome: share links, "Published ...", tags, newsletter prompts

Placeholders (``{count}``, ``{username}``, ``{date}`` ...) are filled in as a page renders them
(``render``), and a comment's meta and control lines are composed the way comment systems lay
them out (``meta_line``, ``controls_line``). ``ChromeDetector`` is TF-IDF over character n-grams
(of the lowercased line and a few marks of its shape: length, capitals, a final stop) and a
logistic regression telling text (article or comment prose) from the three kinds the
segmenter uses: ``header`` (header and form), ``item`` (item, time, notice) and ``page``. It is
stored as plain JSON (vocabulary, idf, coefficients), so loading it runs no code.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).with_name("segment_data")
STRINGS_FILE = DATA_DIR / "strings.tsv"
DETECTOR_FILE = DATA_DIR / "chrome.json.gz"

TEXT, HEADER, ITEM, PAGE = "text", "header", "item", "page"
CLASSES = (TEXT, HEADER, ITEM, PAGE)
# The data file's kinds, and the segmenter's kind each one is.
KIND_CLASS = {"header": HEADER, "form": HEADER, "item": ITEM, "time": ITEM, "notice": ITEM, "page": PAGE}


@dataclass(frozen=True)
class ChromeString:
    """One interface string as a system publishes it (placeholders unfilled)."""

    system: str
    kind: str
    template: str


def load_strings(path: Path = STRINGS_FILE) -> list[ChromeString]:
    """The strings of ``strings.tsv``."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [ChromeString(row["system"], row["kind"], row["string"]) for row in rows]


def systems(strings: Iterable[ChromeString]) -> list[str]:
    """The systems that ``strings`` come from, sorted."""
    return sorted({s.system for s in strings})


# --- Rendering ----------------------------------------------------------------------------
# Values for the placeholders. Two disjoint pools ("a" and "b"), so pages built for an
# evaluation fill in no name, title or date that the detector saw filled in training.

_POOLS = {
    "a": {
        "username": ("jdoe42", "Mark T.", "concerned_citizen", "Priya", "oldtimer_99", "Anna Kowalski", "bluebird",
                     "Sceptic101", "Luis G", "mike.r", "NotAnExpert", "Claire"),
        "title": ("Council backs housing plan", "Markets slide on rate fears", "Why the budget matters"),
        "topic": ("Politics", "World", "Business, Economy"),
        "site": ("The Daily Ledger", "Northside News"),
        "provider": ("Google", "Facebook"),
        "month": ("January", "March", "May", "July", "September", "November"),
    },
    "b": {
        "username": ("rwilliams", "Kwame O.", "TorontoReader", "Fatima", "realist_1970", "Ines Rossi", "ZedX",
                     "GreatWhiteNorth", "Dave", "karen_b", "anon1234", "Tom Chen"),
        "title": ("Rescue efforts continue", "Talks stall as deadline nears", "What we know so far"),
        "topic": ("Science", "Opinion", "Health, Local"),
        "site": ("Valley Courier", "The Morning Post"),
        "provider": ("GitHub", "Twitter"),
        "month": ("February", "April", "June", "August", "October", "December"),
    },
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _number(rng: random.Random) -> int:
    return rng.choice((rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 999)))


def _date(rng: random.Random, pool: dict) -> str:
    month, day, year = rng.choice(pool["month"]), rng.randint(1, 28), rng.randint(2012, 2026)
    return rng.choice((f"{month} {day}, {year}", f"{month[:3]} {day}, {year}", f"{day} {month} {year}",
                       f"{year}-{rng.randint(1, 12):02d}-{day:02d}", f"{day:02d}/{rng.randint(1, 12):02d}/{year}"))


def _clock(rng: random.Random) -> str:
    return rng.choice((f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice(('am', 'pm', 'AM', 'PM'))}",
                       f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"))


def _fill(name: str, rng: random.Random, pool: dict) -> str:
    if name in ("count", "n", "score"):
        return str(_number(rng))
    if name in ("username", "handle"):
        return rng.choice(pool["username"])
    if name == "date":
        return _date(rng, pool)
    if name == "clock":
        return _clock(rng)
    if name == "day":
        return rng.choice(("Yesterday", "Today", _date(rng, pool)))
    if name in pool:
        return rng.choice(pool[name])
    return rng.choice(pool["title"])


def _pool(pool: str, names: Sequence[str] | None) -> dict:
    values = _POOLS[pool]
    return {**values, "username": tuple(names)} if names else values


def make_names(words: Iterable[str], pool: str, count: int = 400, seed: int = 0) -> list[str]:
    """User names as comment systems show them ("Ines R.", "ines_rossi", "InesR42"), built from
    capitalised words of a corpus: only the words whose hash falls on ``pool``'s side."""
    import zlib

    side = 0 if pool == "a" else 1
    chosen = sorted({w for w in words if w.isalpha() and w[:1].isupper() and 3 <= len(w) <= 10
                     and zlib.crc32(w.lower().encode()) % 2 == side})
    if len(chosen) < 2:
        return list(_POOLS[pool]["username"])
    rng = random.Random(seed)
    names = []
    for _ in range(count):
        first, last = rng.sample(chosen, 2)
        names.append(rng.choice((
            f"{first} {last}", f"{first} {last[0]}.", first, f"{first.lower()}_{last.lower()}",
            f"{first}{last[0]}{rng.randint(1, 99)}", f"{first.lower()}{rng.randint(1, 1999)}", f"{first}{last}",
        )))
    return names


def render(template: str, rng: random.Random, pool: str = "a", names: Sequence[str] | None = None) -> str:
    """``template`` as a page shows it: placeholders filled from pool ``pool`` (user names from
    ``names`` when given)."""
    values = _pool(pool, names)
    return _PLACEHOLDER.sub(lambda m: _fill(m.group(1), rng, values), template)


_SEPARATORS = (" · ", " ", " | ", "", " • ", "  ")


def meta_line(strings: Sequence[ChromeString], rng: random.Random, pool: str = "a",
              names: Sequence[str] | None = None) -> str:
    """A comment's meta line: its author, often with a time or a badge (``"jdoe42 · 3 hours ago"``)."""
    user = rng.choice(_pool(pool, names)["username"])
    times = [s for s in strings if s.kind == "time"]
    badges = [s for s in strings if s.kind == "item" and len(s.template.split()) <= 2]
    parts = [user]
    if times and rng.random() < 0.8:
        parts.append(render(rng.choice(times).template, rng, pool, names))
    if badges and rng.random() < 0.2:
        parts.insert(1, render(rng.choice(badges).template, rng, pool, names))
    return rng.choice(_SEPARATORS[:3]).join(parts) if len(parts) > 1 else user


def controls_line(strings: Sequence[ChromeString], rng: random.Random, pool: str = "a",
                  names: Sequence[str] | None = None) -> str:
    """A comment's controls as scraped text: one to three of its buttons run together."""
    items = [s for s in strings if s.kind in ("item", "time") and len(s.template) <= 40]
    chosen = rng.sample(items, min(len(items), rng.choice((1, 1, 2, 3))))
    return rng.choice(_SEPARATORS).join(render(s.template, rng, pool, names) for s in chosen).strip()


def rendered_lines(strings: Sequence[ChromeString], rng: random.Random, copies: int = 4,
                   pool: str = "a", names: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(line, class)`` pairs for training: each string rendered ``copies`` times, plus composed lines."""
    lines = []
    for string in strings:
        for _ in range(copies if _PLACEHOLDER.search(string.template) else 1):
            lines.append((render(string.template, rng, pool, names), KIND_CLASS[string.kind]))
    by_system: dict[str, list[ChromeString]] = {}
    for string in strings:
        by_system.setdefault(string.system, []).append(string)
    for members in by_system.values():
        for _ in range(copies * 10):
            lines.append((meta_line(members, rng, pool, names), ITEM))
            lines.append((controls_line(members, rng, pool, names), ITEM))
    return [(line, kind) for line, kind in lines if line.strip()]


# --- Detector -----------------------------------------------------------------------------

_DIGITS = re.compile(r"\d")
# What the detector reads besides a line's characters: its shape (see ``shape_marks``). A detector
# written with other features is refused on loading.
FEATURES = "char_wb+shape"
_FINAL_STOPS = (".", "!", "?", '"', "'", "\u201d", ")")


def shape_marks(text: str) -> str:
    """Marks for what lowercasing hides: the line's length in words (up to 6), every word
    capitalised, a final stop, no capital letter at all; as tokens no prose contains."""
    words = text.split()
    marks = [f"\u00a7w{min(len(words), 6)}"]
    if words and all(w[:1].isupper() for w in words if w[:1].isalpha()):
        marks.append("\u00a7tc")
    if text.rstrip().endswith(_FINAL_STOPS):
        marks.append("\u00a7pe")
    if not any(c.isupper() for c in text):
        marks.append("\u00a7lc")
    return " ".join(marks)


def _prepare(text: str) -> str:
    # Digits all look alike (a counter is a counter); spacing carries no meaning. Case is
    # lowered, but its pattern stays in the shape marks: interface strings are short, title-
    # or sentence-cased and seldom end on a stop; a reader's short comment often does, or
    # has no capital at all ("2:19 best part").
    return _DIGITS.sub("0", " ".join(text.lower().split())) + " " + shape_marks(text)


class ChromeDetector:
    """P(text), P(header), P(item), P(page) of a block, from its characters and its shape."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 ngram_range: tuple[int, int] = (2, 5)):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(ngram_range), sublinear_tf=True,
                                          preprocessor=_prepare, vocabulary=vocabulary, dtype=np.float64)
        self.vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.ngram_range = tuple(ngram_range)

    @classmethod
    def fit(cls, lines: Sequence[str], classes: Sequence[str], c: float = 4.0, max_features: int = 20000,
            ngram_range: tuple[int, int] = (2, 5)) -> "ChromeDetector":
        """Learn from ``lines`` labelled with ``CLASSES``."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, sublinear_tf=True, min_df=2,
                                     max_features=max_features, preprocessor=_prepare, dtype=np.float64)
        matrix = vectorizer.fit_transform(lines)
        y = np.array([CLASSES.index(k) for k in classes])
        # Text weighs as much as all chrome together, and the chrome kinds as much as each other:
        # short text lines are common on a page, and P(text) must not start at a quarter.
        counts = np.bincount(y, minlength=len(CLASSES)).astype(float)
        chrome_kinds = int((counts[1:] > 0).sum())
        per_class = np.where(counts > 0, 1.0 / np.maximum(counts, 1.0), 0.0)
        per_class[1:] /= max(chrome_kinds, 1)
        weights = per_class[y] * len(y) / 2.0
        model = LogisticRegression(C=c, max_iter=3000)
        model.fit(matrix, y, sample_weight=weights)
        if list(model.classes_) != list(range(len(CLASSES))):
            raise ValueError("the detector needs lines of every class")
        vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
        return cls(vocabulary, vectorizer.idf_, model.coef_, model.intercept_, ngram_range)

    def probabilities(self, blocks: Sequence[str]) -> np.ndarray:
        """``(len(blocks), 4)`` probabilities in ``CLASSES`` order."""
        if not len(blocks):
            return np.zeros((0, len(CLASSES)))
        logits = self.vectorizer.transform(blocks) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict:
        """A JSON-able form (coefficients rounded to 5 decimals)."""
        return {"classes": list(CLASSES), "features": FEATURES, "ngram_range": list(self.ngram_range),
                "vocabulary": self.vectorizer.vocabulary_,
                "idf": np.round(self.vectorizer.idf_, 5).tolist(),
                "coef": np.round(self.coef, 5).tolist(), "intercept": np.round(self.intercept, 5).tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "ChromeDetector":
        """The detector ``to_dict`` describes."""
        if data.get("classes") != list(CLASSES):
            raise ValueError(f"chrome detector classes {data.get('classes')} are not {list(CLASSES)}")
        if data.get("features") != FEATURES:
            raise ValueError(f"chrome detector features {data.get('features')!r} are not {FEATURES!r}: rerun "
                             "python -m training.pages --data-dir ../shared/data --evaluate --write")
        return cls(data["vocabulary"], data["idf"], data["coef"], data["intercept"], tuple(data["ngram_range"]))

    def save(self, path: Path = DETECTOR_FILE) -> None:
        """Write the detector as gzipped JSON, atomically."""
        from model.atomic import atomic_open

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as handle:
            with gzip.GzipFile(filename="", fileobj=handle, mode="wb", mtime=0) as zipped:
                zipped.write(json.dumps(self.to_dict(), sort_keys=True).encode("utf-8"))

    @classmethod
    def load(cls, path: Path = DETECTOR_FILE) -> "ChromeDetector":
        """Read a detector written by ``save``."""
        with gzip.open(path, "rb") as handle:
            return cls.from_dict(json.loads(handle.read().decode("utf-8")))


@lru_cache(maxsize=4)
def shipped_detector(path: Path = DETECTOR_FILE) -> ChromeDetector:
    """The detector shipped in ``model/segment_data`` (read once per process)."""
    return ChromeDetector.load(path)
