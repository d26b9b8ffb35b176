"""The classifier as the service and the CLIs use it: a loaded model version, plain texts in, plain data out.

It owns the scoring policy around the pipelines: labels and review decisions, the kind of a
comment, explanations and page segmentation, over the fast scorers built from a ``ModelBundle``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scipy.special import expit

from model.artifact import DEFAULT_DIR, ModelBundle, load
from model.labels import (
    COMMENT,
    EDITORIAL,
    NO_BAND,
    OPINION,
    SARCASTIC,
    check_band,
    decision_for,
    label_for,
)
from model.scoring import BatchScorer, FastScorer
from model.text import normalize, tokenize
from model.chrome import shipped_detector
from model.segment import SEGMENT_LABELS, band_thresholds, comments_start, page_decision, segment_blocks


# From this many texts on, a batch is scored with numpy at once (``BatchScorer``); fewer are
# scored one by one in plain Python (``FastScorer``), where numpy's cost per call would dominate.
VECTOR_MIN_TEXTS = 4
# A large batch is scored this many texts at a time: the terms of 1,000 texts at once are a
# quarter of a million strings (tens of MB per request in flight), and past a few hundred texts
# numpy's cost per call is already spread thin.
VECTOR_CHUNK_TEXTS = 200
# ... and at most this many tokens at a time (a chunk holds about five terms per token): 200 texts
# of comment length fit, while 200 texts of 20,000 characters would be a million terms at once
# (a 1 MB body of long texts took a request past 100 MB). A longer text is a chunk of its own.
VECTOR_CHUNK_TOKENS = 10_000


def token_chunks(token_lists):
    """``token_lists`` (an iterable) in consecutive lists of at most ``VECTOR_CHUNK_TEXTS`` texts
    and, unless one text alone is longer, ``VECTOR_CHUNK_TOKENS`` tokens."""
    chunk, tokens = [], 0
    for token_list in token_lists:
        if chunk and (len(chunk) >= VECTOR_CHUNK_TEXTS or tokens + len(token_list) > VECTOR_CHUNK_TOKENS):
            yield chunk
            chunk, tokens = [], 0
        chunk.append(token_list)
        tokens += len(token_list)
    if chunk:
        yield chunk


def _checked_scorer(pipeline, negative: str, positive: str) -> FastScorer:
    scorer = FastScorer(pipeline)
    if (scorer.negative_label, scorer.positive_label) != (negative, positive):
        raise ValueError(
            f"expected classes [{negative!r}, {positive!r}], got "
            f"[{scorer.negative_label!r}, {scorer.positive_label!r}]"
        )
    return scorer


class Classifier:
    """A model version (``ModelBundle``) and the fast scorers built from its pipelines.

    ``bundle`` may also be what an artifact file holds, with ``card`` (see ``ModelBundle.of``).
    """

    def __init__(self, bundle: ModelBundle, card: dict | None = None):
        self.bundle = ModelBundle.of(bundle, card)
        self.pipeline = self.bundle.classifier
        self.kind_pipeline = self.bundle.kind
        self.card = self.bundle.card
        # The page segmenter's chrome detector, read now so a broken file stops start-up.
        shipped_detector()
        self.scorer = _checked_scorer(self.pipeline, COMMENT, EDITORIAL)
        self.kind_scorer = (
            _checked_scorer(self.kind_pipeline, OPINION, SARCASTIC) if self.kind_pipeline is not None else None
        )
        # Both models at once for batches: one term table per block, the arithmetic in numpy.
        self.batch_scorer = BatchScorer([self.pipeline] + ([self.kind_pipeline] if self.kind_pipeline is not None else []))
        # P(sarcastic) in [low, high) is too unsure to name a kind (chosen out of source at
        # training); cards without one name the likelier kind, as before.
        band = ((self.card.get("kind") or {}).get("metrics") or {}).get("confident_band")
        self.kind_band = check_band(band["band"]) if band else (0.5, 0.5)

    @classmethod
    def load(cls, directory: Path = DEFAULT_DIR) -> "Classifier":
        """Load and verify the artifact in ``directory``, a model folder or a model store (see ``model.artifact.load``)."""
        return cls(load(directory))

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
        """Probability that ``text`` is editorial prose: the very figure ``classify([text])`` returns
        (the same sums in the same order, so a band edge set at this value sorts the text the same;
        in a batch of four or more texts it may differ in the last bits)."""
        return float(expit(self.batch_scorer.logits_one(tokenize(normalize(text))))[0])

    def kind(self, text: str, tokens: list[str] | None = None, counted: dict | None = None) -> dict | None:
        """``{["label": "sarcastic"|"opinion",] "scores"}`` for a comment, if the artifact has a kind model.

        ``label`` is there only when P(sarcastic) is outside the card's confident band, that is
        when the kind is as precise as the card promises on sources the model never saw.
        ``tokens`` (``tokenize(normalize(text))``) saves tokenising again: both models share it.
        """
        if self.kind_scorer is None:
            return None
        if tokens is None:
            tokens = tokenize(normalize(text))
        return self._kind_of(self.kind_scorer.probability_of_tokens(tokens, counted))

    def _kind_of(self, q: float) -> dict:
        """The ``kind`` of a comment whose P(sarcastic) is ``q``."""
        low, high = self.kind_band
        label = SARCASTIC if q >= high else OPINION if q < low else None
        scores = {"scores": {SARCASTIC: q, OPINION: 1.0 - q}}
        return scores if label is None else {"label": label, **scores}

    def explain(self, text: str, top: int | None = 10, normalized: str | None = None,
                tokens: list[str] | None = None) -> dict:
        """The exact per-term contributions to the editorial logit, with their spans in ``text``
        (``normalized`` and ``tokens``: the text's ``normalize`` and its ``tokenize``, if made already)."""
        from model.explain import explain

        return explain(self.scorer, text, top, normalized, tokens)

    def result(self, text: str, band, explain: bool = False, explain_top: int | None = 10) -> dict:
        """The plain-data result for one text: label, scores, decision, kind, explanation."""
        normalized = normalize(text)
        tokens = tokenize(normalized)
        # Both models at once: the terms are made and looked up once.
        probabilities = expit(self.batch_scorer.logits_one(tokens)).tolist()
        p = probabilities[0]
        label = label_for(p)
        result = {"label": label, "scores": {EDITORIAL: p, COMMENT: 1.0 - p}, "decision": decision_for(p, band)}
        if label == COMMENT and self.kind_scorer is not None:
            result["kind"] = self._kind_of(probabilities[1])
        if explain:
            result["explanation"] = self.explain(text, explain_top, normalized, tokens)
        return result

    def _add_kind_and_explanation(self, result: dict, text: str, tokens: list[str], explain: bool,
                                  explain_top: int | None, counted: dict | None = None) -> dict:
        """Add ``kind`` to a result labelled comment (with a kind model), ``explanation`` if asked."""
        if result["label"] == COMMENT and self.kind_scorer is not None:
            result["kind"] = self.kind(text, tokens, counted)
        if explain:
            result["explanation"] = self.explain(text, explain_top)
        return result

    def classify(
        self,
        texts: Sequence[str],
        review_band: tuple[float, float] | None = None,
        explain: bool = False,
        explain_top: int | None = 10,
    ) -> list[dict]:
        """Label each text, in input order: ``{"label", "scores", "decision"[, "kind"][, "explanation"]}``.

        ``decision`` is the label, or ``review`` when P(editorial) falls inside the review band
        (the card's unless one is given); ``kind`` comes with comments when the artifact has a
        kind model; ``explanation`` when asked for.
        """
        band = self.review_band if review_band is None else review_band
        if len(texts) < VECTOR_MIN_TEXTS:
            return [self.result(text, band, explain, explain_top) for text in texts]
        editorial, sarcastic = self._batch_probabilities(texts)
        results = []
        for index, (text, p) in enumerate(zip(texts, editorial)):
            label = label_for(p)
            result = {"label": label, "scores": {EDITORIAL: p, COMMENT: 1.0 - p}, "decision": decision_for(p, band)}
            if label == COMMENT and sarcastic is not None:
                result["kind"] = self._kind_of(sarcastic[index])
            if explain:
                result["explanation"] = self.explain(text, explain_top)
            results.append(result)
        return results

    def batch_scores(self, texts: Sequence[str]) -> tuple[list[float], list[dict] | None]:
        """P(editorial) of each text and, with a kind model, each text's ``kind`` (as ``kind``
        gives it), scored as a batch: ``classify``'s probabilities for a batch."""
        editorial, sarcastic = self._batch_probabilities(texts)
        return editorial, None if sarcastic is None else [self._kind_of(q) for q in sarcastic]

    def _batch_probabilities(self, texts: Sequence[str]) -> tuple[list[float], list[float] | None]:
        """P(editorial) of each text, and P(sarcastic) when there is a kind model, scored in chunks (``token_chunks``)."""
        editorial: list[float] = []
        sarcastic: list[float] | None = [] if self.kind_scorer is not None else None
        for chunk in token_chunks(tokenize(normalize(text)) for text in texts):
            probabilities = self.batch_scorer.probabilities(chunk).tolist()
            editorial.extend(probabilities[0])
            if sarcastic is not None:
                sarcastic.extend(probabilities[1])
        return editorial, sarcastic

    def segment_page(
        self,
        blocks: Sequence[tuple[int, int, str]],
        review_band: tuple[float, float] | None = None,
        explain: bool = False,
        explain_top: int | None = 10,
        markup=None,
    ) -> dict:
        """Label the blocks of a page (``(start, end, text)`` each) using the page's structure
        (and its HTML markup's votes, ``model.html_page.markup_evidence``, when given).

        Returns ``{"blocks": [{"index", "start", "end", "text", "label", "scores", "page_scores", "chrome",
        "decision"[, "context"][, "kind"][, "explanation"]}], "comments_start"}``. ``label`` is ``editorial``,
        ``comment`` or ``other`` (page chrome); ``scores`` are the block's own probabilities and
        ``chrome`` the chrome detector's P(chrome); ``context`` says why the page gave the block
        another label than its own scores; ``page_scores`` are its probabilities given the whole
        page (``model.segment.label_posteriors``); ``decision`` is the label, or ``review`` when the
        page is not sure enough of it (``model.segment.page_decision``): by default as sure as the
        page band fitted on held-out pages asks, or, with ``review_band``, ``page_scores.editorial``
        at least its high edge for an editorial block and ``page_scores.comment`` above 1 minus its
        low edge for a comment (``model.segment.band_thresholds``). Chrome is never sent to review.
        """
        params = self.bundle.segment_params
        least = params.page_band if review_band is None else band_thresholds(review_band)
        texts = [text for _start, _end, text in blocks]
        tokens = [tokenize(normalize(text)) for text in texts]
        if len(tokens) < VECTOR_MIN_TEXTS:
            probabilities = [self.scorer.probability_of_tokens(t) for t in tokens]
        else:
            probabilities = []
            for chunk in token_chunks(tokens):
                probabilities.extend(self.batch_scorer.probabilities(chunk)[0].tolist())
        segmented = segment_blocks(texts, probabilities, params, markup=markup)
        labels = [item["label"] for item in segmented]
        results = []
        for index, ((start, end, text), item, p) in enumerate(zip(blocks, segmented, probabilities)):
            label = item["label"]
            block = {
                "index": index,
                "start": start,
                "end": end,
                "text": text,
                "label": label,
                "scores": {EDITORIAL: p, COMMENT: 1.0 - p},
                "page_scores": dict(zip(SEGMENT_LABELS, item["page"])),
                "chrome": round(item["chrome"], 4),
                "decision": page_decision(label, item["page"], least),
            }
            if "context" in item:
                block["context"] = item["context"]
            results.append(self._add_kind_and_explanation(block, text, tokens[index], explain, explain_top))
        return {"blocks": results, "comments_start": comments_start(labels)}
