"""Label names and the decision policy, as data and pure functions."""

from __future__ import annotations

EDITORIAL = "editorial"
COMMENT = "comment"
LABELS = (EDITORIAL, COMMENT)
THRESHOLD = 0.5


def label_for(editorial_probability: float, threshold: float = THRESHOLD) -> str:
    """``editorial`` when the probability reaches the threshold, else ``comment``."""
    return EDITORIAL if editorial_probability >= threshold else COMMENT
