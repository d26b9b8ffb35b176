"""The unit every importer yields: one labelled text with its source and group."""

from __future__ import annotations

from dataclasses import dataclass

from model.labels import COMMENT, EDITORIAL, LABELS

__all__ = ["COMMENT", "EDITORIAL", "LABELS", "Record"]


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled text: `group` is the article, thread or story it belongs to."""

    text: str
    label: str
    source: str
    group: str
