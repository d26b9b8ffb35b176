"""Score texts with a fitted pipeline, fast, giving the pipeline's own probabilities.

scikit-learn's per-call work (input checks, sparse matrix assembly, the TF-IDF transform,
FeatureUnion stacking) costs far more than the arithmetic for a handful of texts. The
``FastScorer`` folds each vectorizer's idf and the classifier's coefficient into two plain
lists per feature block, indexed through the vectorizer's own vocabulary, so scoring a text is:
normalise and tokenise once, generate the terms, look them up, and sum. The result is the same
logit the pipeline computes (up to the order of floating-point additions), which a test checks
against ``predict_proba``. Reusing the vocabulary dict rather than building a table of our own
keeps the start-up cost to two ``tolist`` calls per block.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

from sklearn.pipeline import Pipeline

from model.features import TERM_FUNCTIONS
from model.text import normalize, tokenize


class BlockTable(NamedTuple):
    """One feature block's lookup: term -> index, then idf squared and idf x coefficient."""

    vocabulary: dict
    idf_squared: list
    weights: list


class ScoringBlock(NamedTuple):
    """One feature block of the pipeline as the scorer reads it."""

    name: str
    terms_of: Callable[[list[str]], list[str]]  # tokens -> the block's terms (``features.TERM_FUNCTIONS``)
    table: BlockTable
    sublinear_tf: bool


class FastScorer:
    """Logits and probabilities of a fitted TF-IDF + logistic regression pipeline."""

    def __init__(self, pipeline: Pipeline):
        union = pipeline.named_steps["features"]
        clf = pipeline.named_steps["clf"]
        if union.transformer_weights:
            raise ValueError("FastScorer does not support FeatureUnion transformer_weights")
        coef = clf.coef_[0]
        self.intercept = float(clf.intercept_[0])
        self.positive_label = str(clf.classes_[1])
        self.negative_label = str(clf.classes_[0])
        self.blocks: list[ScoringBlock] = []
        offset = 0
        for name, vectorizer in union.transformer_list:
            if vectorizer.norm != "l2" or not vectorizer.use_idf:
                raise ValueError(f"FastScorer needs l2-normalised TF-IDF (block {name!r})")
            idf = vectorizer.idf_
            table = BlockTable(
                vectorizer.vocabulary_,
                (idf * idf).tolist(),
                (idf * coef[offset : offset + len(idf)]).tolist(),
            )
            self.blocks.append(ScoringBlock(name, TERM_FUNCTIONS[name], table, vectorizer.sublinear_tf))
            offset += len(idf)

    def contributions(self, text: str, tokens: list[str] | None = None) -> dict[str, dict[str, float]]:
        """Per block, each known term's exact contribution to the logit (``tokens``: the text's, if made already)."""
        if tokens is None:
            tokens = tokenize(normalize(text))
        result = {}
        for name, terms_of, table, sublinear in self.blocks:
            found = {}
            squares = 0.0
            for term, count in Counter(terms_of(tokens)).items():
                index = table.vocabulary.get(term)
                if index is None:
                    continue
                tf = 1.0 + math.log(count) if sublinear else float(count)
                squares += tf * tf * table.idf_squared[index]
                found[term] = tf * table.weights[index]
            norm = math.sqrt(squares)
            result[name] = {term: c / norm for term, c in found.items()} if norm else {}
        return result

    def logit(self, text: str) -> float:
        """The decision function of the pipeline's classifier for one text."""
        return self.logit_of_tokens(tokenize(normalize(text)))

    def logit_of_tokens(self, tokens: list[str], counted: dict | None = None) -> float:
        """The decision function for a text already normalised and tokenised (``text.tokenize``).

        ``counted`` (a dict, empty at first) keeps each block's term counts for the next scorer
        of the same text: the comment-kind model reads the same blocks as the classifier, and
        making the terms costs as much as looking them up.
        """
        total = self.intercept
        log = math.log
        for name, terms_of, (vocabulary, idf_squared, weights), sublinear in self.blocks:
            weighted = 0.0
            squares = 0.0
            get = vocabulary.get
            if counted is None:
                counts = Counter(terms_of(tokens))
            else:
                counts = counted.get(name)
                if counts is None:
                    counts = counted[name] = Counter(terms_of(tokens))
            for term, count in counts.items():
                index = get(term)
                if index is None:
                    continue
                if count == 1:  # most terms: tf is 1 with or without sublinear tf
                    squares += idf_squared[index]
                    weighted += weights[index]
                else:
                    tf = 1.0 + log(count) if sublinear else float(count)
                    squares += tf * tf * idf_squared[index]
                    weighted += tf * weights[index]
            if squares:
                total += weighted / math.sqrt(squares)
        return total

    def probability(self, text: str) -> float:
        """Probability of the classifier's positive class (``classes_[1]``)."""
        return self.probability_of_tokens(tokenize(normalize(text)))

    def probability_of_tokens(self, tokens: list[str], counted: dict | None = None) -> float:
        """``probability`` for a text already normalised and tokenised (``counted``: see ``logit_of_tokens``)."""
        z = self.logit_of_tokens(tokens, counted)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)
