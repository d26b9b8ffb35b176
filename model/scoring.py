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
from functools import reduce
from itertools import chain, repeat
from operator import add
from typing import NamedTuple

import numpy as np
from scipy.special import expit
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

    def contributions(self, text: str, tokens: list[str] | None = None,
                      terms: dict[str, list[str]] | None = None) -> dict[str, dict[str, float]]:
        """Per block, each known term's exact contribution to the logit (``tokens``: the text's, and
        ``terms``: each block's ``terms_of(tokens)`` by name, if made already)."""
        if tokens is None:
            tokens = tokenize(normalize(text))
        result = {}
        for name, terms_of, table, sublinear in self.blocks:
            found = {}
            squares = 0.0
            for term, count in Counter(terms_of(tokens) if terms is None else terms[name]).items():
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


# ``BatchScorer.logits_one`` reads a term's tf factors from a table up to this count: more than a
# text's words or style terms can repeat (``text.MAX_TOKENS`` tokens).
TF_TABLE_COUNTS = 4096


def _aligned_zeros(shape: tuple[int, int]) -> np.ndarray:
    """A C-ordered array of zeros starting on a 64-byte boundary (a cache line, on common CPUs)."""
    size = shape[0] * shape[1]
    buffer = np.zeros(size + 8)
    start = (-buffer.ctypes.data % 64) // 8
    return buffer[start : start + size].reshape(shape)


def _checked_blocks(pipeline: Pipeline):
    """The pipeline's ``(name, vectorizer)`` blocks, its coefficients and intercept; ValueError
    for what the scorers do not compute (as ``FastScorer``)."""
    union = pipeline.named_steps["features"]
    clf = pipeline.named_steps["clf"]
    if union.transformer_weights:
        raise ValueError("BatchScorer does not support FeatureUnion transformer_weights")
    for name, vectorizer in union.transformer_list:
        if vectorizer.norm != "l2" or not vectorizer.use_idf:
            raise ValueError(f"BatchScorer needs l2-normalised TF-IDF (block {name!r})")
        if name not in TERM_FUNCTIONS:
            raise ValueError(f"BatchScorer has no term function for block {name!r}")
    return union.transformer_list, clf.coef_[0], float(clf.intercept_[0])


class BatchScorer:
    """The logits of one or more pipelines for a batch of tokenised texts, in a few numpy calls.

    The pipelines (the classifier and the comment-kind model) share their term functions, so one
    table per feature block serves all of them: the first pipeline's own vocabulary dict (copied
    only when a later pipeline knows terms it does not), mapping each term to a row whose idf
    squared and idf x coefficient each pipeline keeps in an array (zero where a pipeline does
    not know the term). A batch is scored by making every text's terms, looking them all up in
    one ``map`` per block, counting each (text, term) pair with ``numpy.unique``, and summing
    per text and block with ``numpy.bincount``: the Python work per text is the terms and their
    look-up, and the arithmetic is per batch. The logits equal ``FastScorer``'s (and so the
    pipelines' own) up to the order of floating-point additions.
    """

    def __init__(self, pipelines: list[Pipeline]):
        checked = [_checked_blocks(pipeline) for pipeline in pipelines]
        self.intercepts = np.array([intercept for _blocks, _coef, intercept in checked])
        # Per block: its union vocabulary (term -> local row), and per pipeline the vectorizer.
        vocabularies: dict[str, dict] = {}
        copied: set[str] = set()
        for blocks, _coef, _intercept in checked:
            for name, vectorizer in blocks:
                vocabulary = vocabularies.get(name)
                if vocabulary is None:
                    vocabularies[name] = vectorizer.vocabulary_
                    continue
                missing = [term for term in vectorizer.vocabulary_ if term not in vocabulary]
                if missing:
                    if name not in copied:  # never grow a fitted vectorizer's own dict
                        vocabulary = vocabularies[name] = dict(vocabulary)
                        copied.add(name)
                    for term in missing:
                        vocabulary[term] = len(vocabulary)
        # Rows of all blocks end to end; each block ends with a row of zeros for unknown terms.
        self.blocks = []
        offset = 0
        for name, vocabulary in vocabularies.items():
            size = len(vocabulary)
            self.blocks.append((name, TERM_FUNCTIONS[name], vocabulary.get, size, offset))
            offset += size + 1
        self.rows = offset
        starts = np.array([block_offset for *_rest, block_offset in self.blocks])
        self.block_of_row = (np.searchsorted(starts, np.arange(offset), side="right") - 1).astype(np.intp)
        # A row per term: each pipeline's idf squared, then each pipeline's idf x coefficient, so that
        # one text's terms are read a cache line each (``logits_one``); ``idf_squared`` and
        # ``weights`` (pipeline, row) are views of it.
        models = len(checked)
        self.single_table = _aligned_zeros((offset, 2 * models))
        self.single_intercepts = self.intercepts.tolist()
        # Per count up to TF_TABLE_COUNTS, what each column of ``single_table`` is multiplied by: tf
        # squared for the idf squared, tf for the weights (tf as ``logits`` computes it).
        tf = 1.0 + np.log(np.arange(TF_TABLE_COUNTS + 1, dtype=np.float64).clip(1.0))
        self.tf_factors = np.repeat(np.stack((tf * tf, tf), axis=1), models, axis=1)
        self.idf_squared = self.single_table[:, :models].T
        self.weights = self.single_table[:, models:].T
        sublinear = np.zeros((len(checked), offset), dtype=bool)
        block_offsets = {name: block_offset for name, _terms, _get, _size, block_offset in self.blocks}
        for model, (blocks, coef, _intercept) in enumerate(checked):
            position = 0
            for name, vectorizer in blocks:
                idf = vectorizer.idf_
                vocabulary = vocabularies[name]
                if vocabulary is vectorizer.vocabulary_:
                    rows = np.arange(len(idf))
                else:  # the union row of each of this vectorizer's columns
                    own = vectorizer.vocabulary_
                    rows = np.empty(len(idf), dtype=np.intp)
                    rows[np.fromiter(own.values(), np.intp, len(own))] = np.fromiter(
                        map(vocabulary.__getitem__, own), np.intp, len(own))
                rows = rows + block_offsets[name]
                self.idf_squared[model, rows] = idf * idf
                self.weights[model, rows] = idf * coef[position : position + len(idf)]
                block_rows = slice(block_offsets[name], block_offsets[name] + len(vocabulary) + 1)
                sublinear[model, block_rows] = vectorizer.sublinear_tf
                position += len(idf)
        # tf is 1 + log(count) for sublinear blocks, the count otherwise.
        self.sublinear = None if sublinear.all() else sublinear

    def logits(self, token_lists: list[list[str]]) -> np.ndarray:
        """The decision function of each pipeline (rows) for each tokenised text (columns)."""
        n = len(token_lists)
        n_blocks = len(self.blocks)
        parts, counts = [], []
        for _name, terms_of, get, size, offset in self.blocks:
            terms = [terms_of(tokens) for tokens in token_lists]
            flat = list(chain.from_iterable(terms))
            rows = np.fromiter(map(get, flat, repeat(size)), np.intp, len(flat))
            if offset:
                rows += offset
            parts.append(rows)
            counts.append(np.fromiter(map(len, terms), np.intp, n))
        rows = np.concatenate(parts)
        docs = np.repeat(np.tile(np.arange(n), n_blocks), np.concatenate(counts))
        # Each (text, row) pair once, with how often it occurs in the text.
        pairs, tf = np.unique(docs * self.rows + rows, return_counts=True)
        docs = pairs // self.rows
        rows = pairs - docs * self.rows
        segments = docs * n_blocks + self.block_of_row[rows]
        if self.sublinear is None:
            tf = 1.0 + np.log(tf)
        else:
            tf = tf.astype(float)
        result = np.empty((len(self.intercepts), n))
        for model, intercept in enumerate(self.intercepts):
            model_tf = tf if self.sublinear is None else np.where(self.sublinear[model, rows], 1.0 + np.log(tf), tf)
            squares = np.bincount(segments, model_tf * model_tf * self.idf_squared[model, rows], minlength=n * n_blocks)
            weighted = np.bincount(segments, model_tf * self.weights[model, rows], minlength=n * n_blocks)
            norms = np.sqrt(squares)
            scores = np.divide(weighted, norms, out=np.zeros_like(weighted), where=squares > 0)
            result[model] = intercept + scores.reshape(n, n_blocks).sum(axis=1)
        return result

    def logits_one(self, tokens: list[str]) -> np.ndarray:
        """``logits([tokens])[:, 0]`` with a fraction of the numpy calls and memory reads: one text's
        terms are counted in C (``Counter``) and looked up, all pipelines' figures of every term
        gathered in one read of ``single_table`` (a row per term, one cache line), multiplied by
        their tf factors (``tf_factors``) only when a term repeats, and each block's sums taken at
        once with ``numpy.add.reduceat`` (numpy's pairwise sums, in the order this method always
        took them: the figures are those of the former (pipeline, row) arrays bit for bit, which
        ``logits`` for a batch equals up to the order of additions); the few quotients and the
        logits are plain floats."""
        if self.sublinear is not None:
            return self.logits([tokens])[:, 0]
        maps, values, starts, offsets = [], [], [], []
        length = 0
        most = 1
        for _name, terms_of, get, size, offset in self.blocks:
            terms = terms_of(tokens)
            counts = Counter(terms)
            if counts:  # an empty block adds nothing (and reduceat cannot sum an empty run)
                maps.append(map(get, counts, repeat(size)))
                values.append(counts.values())
                starts.append(length)
                offsets.append(offset)
                length += len(counts)
                # No count is above the number of terms less the number of distinct ones, plus one.
                most = max(most, len(terms) - len(counts) + 1)
        if not length:
            return self.intercepts.copy()
        rows = np.fromiter(chain.from_iterable(maps), np.intp, length)
        for start, end, offset in zip(starts, starts[1:] + [length], offsets):
            if offset:
                rows[start:end] += offset
        gathered = self.single_table.take(rows, axis=0)  # take: a few times quicker than rows as an index
        if most > 1:  # tf is 1 for a term seen once, and x * 1.0 is x
            counts = np.fromiter(chain.from_iterable(values), np.intp, length)
            if most < len(self.tf_factors):
                gathered *= self.tf_factors.take(counts, axis=0)
            else:  # a term seen thousands of times (character n-grams of a long word)
                tf = 1.0 + np.log(counts.astype(float))
                gathered *= np.repeat(np.stack((tf * tf, tf), axis=1), len(self.single_intercepts), axis=1)
        sums = np.add.reduceat(gathered, starts, axis=0).tolist()
        sqrt = math.sqrt
        models = len(self.single_intercepts)
        # The blocks' scores summed in turn (as numpy sums a few), then the intercept added.
        return np.array([
            intercept + reduce(add, [block[models + model] / sqrt(block[model]) if block[model] > 0 else 0.0
                                     for block in sums])
            for model, intercept in enumerate(self.single_intercepts)
        ])

    def probabilities(self, token_lists: list[list[str]]) -> np.ndarray:
        """Each pipeline's probability of its positive class (rows) for each text (columns)."""
        return expit(self.logits(token_lists))
