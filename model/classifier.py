"""The classifier as the service and the CLIs use it: plain texts in, plain data out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from model.artifact import DEFAULT_DIR, load
from model.labels import COMMENT, EDITORIAL, NO_BAND, check_band, decision_for, label_for
from model.scoring import FastScorer


class Classifier:
    """A verified pipeline with its card and a fast scorer built from it."""

    def __init__(self, pipeline, card: dict):
        self.pipeline = pipeline
        self.card = card
        self.scorer = FastScorer(pipeline)
        if self.scorer.positive_label != EDITORIAL or self.scorer.negative_label != COMMENT:
            raise ValueError(
                f"expected classes ['{COMMENT}', '{EDITORIAL}'], got "
                f"[{self.scorer.negative_label!r}, {self.scorer.positive_label!r}]"
            )

    @classmethod
    def load(cls, directory: Path = DEFAULT_DIR) -> "Classifier":
        """Load and verify the artifact in ``directory`` (see ``model.artifact.load``)."""
        pipeline, card = load(directory)
        return cls(pipeline, card)

    @property
    def review_band(self) -> tuple[float, float]:
        """The card's review band, chosen on held-out data; none for models without one."""
        band = self.card.get("review_band")
        return check_band(band) if band is not None else NO_BAND

    @property
    def version(self) -> str:
        """The version id from the model card."""
        return self.card["version"]

    def editorial_probability(self, text: str) -> float:
        """Probability that ``text`` is editorial prose."""
        return self.scorer.probability(text)

    def classify(self, texts: Sequence[str], review_band: tuple[float, float] | None = None) -> list[dict]:
        """Label each text, in input order: ``{"label", "scores", "decision"}``.

        ``decision`` is the label, or ``review`` when P(editorial) falls inside the review band
        (the card's unless one is given).
        """
        band = self.review_band if review_band is None else review_band
        results = []
        for text in texts:
            p = self.scorer.probability(text)
            results.append({
                "label": label_for(p),
                "scores": {EDITORIAL: p, COMMENT: 1.0 - p},
                "decision": decision_for(p, band),
            })
        return results
