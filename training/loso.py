"""Leave-one-source-out scores, exact and fast enough to run on every training run.

Refitting the whole pipeline for each left-out source repeats the expensive part (normalising,
tokenising and counting a quarter of a million texts) once per source. Here each feature block's
term counts are taken once over every text, and each fold rebuilds from them exactly what a
``TfidfVectorizer`` fitted on the fold's training texts would produce: the same vocabulary (terms
in at least ``min_df`` training texts), the same smoothed idf, sublinear tf and l2 norm. Only the
logistic regression is fitted per fold. A test checks the probabilities against refitting the
pipeline fold by fold.

The out-of-source probabilities it returns are what the review band and the calibration are
chosen on: each text scored by a model that never saw its source.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from model.features import TERM_FUNCTIONS
from model.labels import EDITORIAL
from model.text import normalize, tokenize


def _count_block(name: str, texts: list[str], tokens: list[list[str]] | None = None):
    """``(counts, terms)`` of one feature block over ``texts``: a CSR matrix of raw term counts and
    its column names, in the sorted order a fitted vectorizer's vocabulary uses."""
    if tokens is None:
        tokens = [tokenize(normalize(t)) for t in texts]
    vectorizer = CountVectorizer(analyzer=TERM_FUNCTIONS[name], dtype=np.float64)
    counts = vectorizer.fit_transform(tokens).tocsr()
    return counts, vectorizer.get_feature_names_out()


class TermCounts:
    """Per-block term counts of every text, built once, sliced per fold.

    With ``n_jobs`` above 1 the blocks are counted in parallel processes (each tokenises the texts
    itself: the counting, not the tokenising, is most of the cost); with 1 the texts are tokenised
    once and the blocks counted in turn.
    """

    def __init__(self, pipeline, texts: list[str], n_jobs: int = 1):
        union = pipeline.named_steps["features"]
        self.names = [name for name, _ in union.transformer_list]
        if n_jobs > 1 and len(self.names) > 1:
            results = Parallel(n_jobs=min(n_jobs, len(self.names)))(
                delayed(_count_block)(name, texts) for name in self.names)
        else:
            tokens = [tokenize(normalize(t)) for t in texts]
            results = [_count_block(name, texts, tokens) for name in self.names]
        self.counts = {name: counts for name, (counts, _terms) in zip(self.names, results)}
        self.terms = {name: terms for name, (_counts, terms) in zip(self.names, results)}

    def _vocabulary(self, vectorizer, counts: sp.csr_matrix, train_rows: np.ndarray):
        """``(train counts, kept columns, idf)``: what ``vectorizer`` learns from ``train_rows``."""
        n_train = len(train_rows)
        train = counts[train_rows]
        df = np.bincount(train.indices, minlength=train.shape[1])
        min_df = vectorizer.min_df if isinstance(vectorizer.min_df, int) else int(np.ceil(vectorizer.min_df * n_train))
        keep = np.flatnonzero(df >= min_df)
        idf = np.log((1 + n_train) / (1 + df[keep])) + 1.0 if vectorizer.smooth_idf else np.log(n_train / df[keep]) + 1.0
        return train, keep, idf

    def tfidf(self, pipeline, train_rows: np.ndarray, rows_to_transform: list[np.ndarray]) -> list[sp.csr_matrix]:
        """The stacked TF-IDF matrices of ``rows_to_transform``, as ``pipeline``'s vectorizers would
        give them when fitted on ``train_rows`` alone."""
        parts = [[] for _ in rows_to_transform]
        union = pipeline.named_steps["features"]
        for name, vectorizer in union.transformer_list:
            counts = self.counts[name]
            scale = (union.transformer_weights or {}).get(name, 1.0)
            train, keep, idf = self._vocabulary(vectorizer, counts, train_rows)
            for i, rows in enumerate(rows_to_transform):
                block = (train if rows is train_rows else counts[rows])[:, keep].tocsr()
                if vectorizer.sublinear_tf:
                    block.data = np.log(block.data) + 1.0
                block = block @ sp.diags(idf) if vectorizer.use_idf else block
                block = l2_normalize(block, norm=vectorizer.norm, copy=False) if vectorizer.norm else block
                parts[i].append(block * scale if scale != 1.0 else block)
        return [sp.hstack(p, format="csr") for p in parts]

    def fit(self, pipeline, rows: np.ndarray, labels, sample_weight=None):
        """Fit ``pipeline`` (in place) on the texts at ``rows`` from their counts, as
        ``pipeline.fit(texts, labels)`` would: each vectorizer gets the vocabulary and idf it would
        learn, and the classifier is fitted on the same TF-IDF matrix. Returns ``pipeline``."""
        union = pipeline.named_steps["features"]
        for name, vectorizer in union.transformer_list:
            _train, keep, idf = self._vocabulary(vectorizer, self.counts[name], rows)
            vectorizer.vocabulary_ = {str(term): i for i, term in enumerate(self.terms[name][keep])}
            if not vectorizer.use_idf:
                raise ValueError(f"block {name!r}: fitting from counts needs use_idf=True")
            vectorizer.idf_ = idf
        (x,) = self.tfidf(pipeline, rows, [rows])
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        pipeline.named_steps["clf"].fit(x, np.asarray(labels), **kwargs)
        return pipeline


def _editorial_column(clf) -> int:
    return list(clf.classes_).index(EDITORIAL)


def _fold(pipeline, counts: TermCounts, labels: np.ndarray, weights: np.ndarray | None,
          train_rows: np.ndarray, held_rows: np.ndarray) -> np.ndarray:
    x_train, x_held = counts.tfidf(pipeline, train_rows, [train_rows, held_rows])
    clf = clone(pipeline.named_steps["clf"])
    kwargs = {} if weights is None else {"sample_weight": weights}
    clf.fit(x_train, labels[train_rows], **kwargs)
    return clf.predict_proba(x_held)[:, _editorial_column(clf)]


def out_of_source_probabilities(
    build: Callable,
    records: list,
    weights_of: Callable | None = None,
    n_jobs: int = 2,
    progress: Callable | None = None,
    counts: TermCounts | None = None,
) -> np.ndarray:
    """P(editorial) of every record from a model fitted on every *other* source.

    ``build()`` gives an unfitted pipeline; ``weights_of(records)`` the sample weights of a fold's
    training records (or None for unweighted). ``counts`` may be given to reuse term counts already
    taken (of the same feature blocks): their first rows are ``records``' texts, in order; rows
    after those (a training run's feedback) are not used.
    """
    pipeline = build()
    if counts is None:
        counts = TermCounts(pipeline, [r.text for r in records], n_jobs=n_jobs)
    labels = np.array([r.label for r in records])
    sources = np.array([r.source for r in records])
    names = sorted(set(sources.tolist()))
    jobs = []
    for name in names:
        train_rows = np.flatnonzero(sources != name)
        held_rows = np.flatnonzero(sources == name)
        weights = None if weights_of is None else np.asarray(weights_of([records[i] for i in train_rows]))
        jobs.append((name, train_rows, held_rows, weights))
    p = np.empty(len(records))
    # liblinear releases the GIL while it fits, so threads share the counts without copies.
    results = Parallel(n_jobs=n_jobs, backend="threading", return_as="generator")(
        delayed(_fold)(pipeline, counts, labels, w, tr, held) for _, tr, held, w in jobs
    )
    for (name, _, held_rows, _), probabilities in zip(jobs, results):
        p[held_rows] = probabilities
        if progress:
            progress(name)
    return p
