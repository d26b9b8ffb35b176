"""Label names, the decision policy and the input limit, as data and pure functions."""

from __future__ import annotations

EDITORIAL = "editorial"
COMMENT = "comment"
REVIEW = "review"
LABELS = (EDITORIAL, COMMENT)
# The kind of a comment, from the second model.
SARCASTIC = "sarcastic"
OPINION = "opinion"
KINDS = (SARCASTIC, OPINION)
# The longest text the service classifies by default (its MAX_TEXT_CHARS) and the batch CLI accepts.
MAX_TEXT_CHARS = 20_000
THRESHOLD = 0.5
# No band: every text gets a label as its decision. Models trained here carry their own band.
NO_BAND = (THRESHOLD, THRESHOLD)


def label_for(editorial_probability: float, threshold: float = THRESHOLD) -> str:
    """``editorial`` when the probability reaches the threshold, else ``comment``."""
    return EDITORIAL if editorial_probability >= threshold else COMMENT


def decision_for(editorial_probability: float, band: tuple[float, float] = NO_BAND) -> str:
    """``comment`` below ``band[0]``, ``editorial`` from ``band[1]`` up, ``review`` between."""
    low, high = band
    if editorial_probability >= high:
        return EDITORIAL
    if editorial_probability < low:
        return COMMENT
    return REVIEW


def check_band(band) -> tuple[float, float]:
    """A valid band as a tuple, or ValueError saying what is wrong with it."""
    if (not isinstance(band, (list, tuple)) or len(band) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in band)):
        raise ValueError(f"a review band is two numbers [low, high] (got {band!r:.80})")
    try:
        low, high = float(band[0]), float(band[1])
    except OverflowError:
        raise ValueError("a review band needs 0 <= low <= high <= 1 (got a number too large)") from None
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"a review band needs 0 <= low <= high <= 1 (got [{low}, {high}])")
    return low, high
