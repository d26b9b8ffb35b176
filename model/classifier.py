"""The classifier as the service and the CLIs use it: plain texts in, plain data out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from model.artifact import DEFAULT_DIR, load
from model.labels import COMMENT, EDITORIAL, label_for
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
    def version(self) -> str:
        """The version id from the model card."""
        return self.card["version"]

    def editorial_probability(self, text: str) -> float:
        """Probability that ``text`` is editorial prose."""
        return self.scorer.probability(text)

    def classify(self, texts: Sequence[str]) -> list[dict]:
        """Label each text: ``{"label", "scores": {"editorial", "comment"}}`` in input order."""
        results = []
        for text in texts:
            p = self.scorer.probability(text)
            results.append({"label": label_for(p), "scores": {EDITORIAL: p, COMMENT: 1.0 - p}})
        return results
