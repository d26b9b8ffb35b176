"""Assemble the training corpus: import, normalise, filter, deduplicate, cap, weight, split."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from model.text import normalize
from training.records import LABELS, Record


class DataError(Exception):
    """The data cannot be read; the message names the file, line and setting to fix."""


def corpus_sources() -> dict:
    """Every importer of the public corpora, by source name."""
    from training.sources.comments import COMMENT_SOURCES
    from training.sources.editorial import EDITORIAL_SOURCES

    return {**EDITORIAL_SOURCES, **COMMENT_SOURCES}


def load_corpora(data_dir: Path, only: Iterable[str] | None = None, progress=None) -> Iterator[Record]:
    """Records from every importer (or those named in ``only``) over ``data_dir``."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(
            f"data folder {data_dir} not found: set DATA_DIR (make train DATA_DIR=...) or "
            "COMMENT_CLASSIFIER_DATA to the folder holding the public corpora"
        )
    sources = corpus_sources()
    names = list(only) if only else list(sources)
    unknown = sorted(set(names) - set(sources))
    if unknown:
        raise DataError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(sources))}")
    for name in names:
        if progress:
            progress(name)
        yield from sources[name](data_dir)


def load_titles(data_dir: Path, only: Iterable[str] | None = None, max_words: int = 20) -> dict[str, str]:
    """The headline of each editorial group whose raw files carry one (``{record group: title}``,
    normalised as texts are), for the sources named in ``only`` or all. No record changes: the
    importers drop headlines, and training never sees these (the page evaluation lays pages out
    under them). Titles of more than ``max_words`` words are left out: most are a standfirst or
    a teaser run into the title."""
    from training.sources.editorial import EDITORIAL_TITLES

    titles: dict[str, str] = {}
    loaders = {EDITORIAL_TITLES[name] for name in (only or EDITORIAL_TITLES) if name in EDITORIAL_TITLES}
    for loader in sorted(loaders, key=lambda f: f.__name__):
        for group, title in loader(Path(data_dir)):
            text = normalize(title)
            if text and len(text.split()) <= max_words:
                titles.setdefault(group, text)
    return titles


def text_and_label(row, where: str) -> tuple[str, str]:
    """A labelled row's ``text`` and ``label``, or DataError naming ``where`` and what is wrong."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected an object with 'text' and 'label', got {type(row).__name__}")
    text, label = row.get("text"), row.get("label")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: 'text' must be a non-empty string (got {text!r:.60})")
    if label not in LABELS:
        raise DataError(f"{where}: 'label' must be one of {', '.join(LABELS)} (got {label!r:.60})")
    return text, label


def _user_row(row: dict, where: str, default_source: str, number: int) -> Record:
    text, label = text_and_label(row, where)
    source = str(row.get("source") or default_source)
    group = str(row.get("group") or f"row{number}")
    return Record(text=text, label=label, source=source, group=f"{source}:{group}")


def load_user_file(path: Path) -> list[Record]:
    """A newsroom's own labelled CSV or JSONL (columns ``text``, ``label``; optional ``source``, ``group``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"DATA file {path} not found")
    default_source = f"user:{path.stem}"
    records = []
    with open(path, encoding="utf-8", newline="") as handle:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path.name} line {number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{where}: not valid JSON ({error.msg})") from None
                records.append(_user_row(row, where, default_source, number))
        elif path.suffix.lower() in (".csv", ".tsv"):
            reader = csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            missing = {"text", "label"} - set(reader.fieldnames or ())
            if missing:
                raise DataError(f"{path.name} line 1: header lacks column(s) {', '.join(sorted(missing))}")
            for row in reader:
                where = f"{path.name} line {reader.line_num}"
                if None in row:
                    raise DataError(f"{where}: more fields than the header has columns")
                records.append(_user_row(row, where, default_source, reader.line_num))
        else:
            raise DataError(f"{path.name}: use a .csv, .tsv or .jsonl file")
    if not records:
        raise DataError(f"{path.name} holds no rows")
    return records


_LETTERS = re.compile(r"[^a-z]+")


def duplicate_key(text: str) -> str:
    """Letters only, lowercased, first 200: equal for copies that differ in typography, case,
    digits, spacing or a tail cut off by a scraper."""
    return _LETTERS.sub("", text.lower())[:200]


def normalised_or_dropped(record: Record, min_words: int, dropped: Counter) -> tuple[str, Record] | None:
    """``(duplicate key, record with normalised text)``, or None after counting why in ``dropped``:
    fewer than ``min_words`` words, or under 8 letters."""
    text = normalize(record.text)
    if len(text.split()) < min_words:
        dropped["short"] += 1
        return None
    key = duplicate_key(text)
    if len(key) < 8:
        dropped["no letters"] += 1
        return None
    return key, replace(record, text=text)


def clean(records: Iterable[Record], min_words: int = 3) -> tuple[list[Record], Counter]:
    """Normalise texts, drop short ones and every near duplicate (all copies when labels conflict)."""
    dropped = Counter()
    by_key: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        normalised = normalised_or_dropped(record, min_words, dropped)
        if normalised is not None:
            by_key[normalised[0]].append(normalised[1])
    kept = []
    for copies in by_key.values():
        if len({r.label for r in copies}) > 1:
            dropped["conflicting labels"] += len(copies)
            continue
        dropped["duplicate"] += len(copies) - 1
        kept.append(copies[0])
    return kept, dropped


def cap_sources(records: list[Record], cap: int, seed: int = 0) -> list[Record]:
    """At most ``cap`` records from each source, sampled at random (seeded)."""
    by_source: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_source[record.source].append(record)
    rng = random.Random(seed)
    kept = []
    for name in sorted(by_source):
        items = by_source[name]
        kept.extend(rng.sample(items, cap) if cap and len(items) > cap else items)
    return kept


def source_weights(records: list[Record]) -> list[float]:
    """Sample weights under which every source weighs the same within its label and both
    labels weigh the same in all; they average 1."""
    per_source = Counter(r.source for r in records)
    sources_per_label = {label: {r.source for r in records if r.label == label} for label in LABELS}
    n = len(records)
    return [
        n / len(LABELS) / len(sources_per_label[r.label]) / per_source[r.source]
        for r in records
    ]


def _group_rank(group: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()


def split_by_group(records: list[Record], test_share: float = 0.2, seed: int = 0) -> tuple[list[Record], list[Record]]:
    """Hold out whole groups, about ``test_share`` of each source's records.

    Groups are ordered by a hash of their id, so a group's side depends only on its id and
    the seed, never on which other records are present.
    """
    by_source: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        by_source[record.source][record.group].append(record)
    train, test = [], []
    for name in sorted(by_source):
        groups = by_source[name]
        total = sum(len(v) for v in groups.values())
        held = 0
        for group in sorted(groups, key=lambda g: _group_rank(g, seed)):
            if held < test_share * total and len(groups) > 1:
                test.extend(groups[group])
                held += len(groups[group])
            else:
                train.extend(groups[group])
    return train, test


def fingerprint(records: Iterable[Record]) -> str:
    """sha256 over the sorted normalised records: equal data, equal fingerprint."""
    digest = hashlib.sha256()
    for line in sorted(f"{r.label}\t{r.source}\t{r.group}\t{r.text}" for r in records):
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()
