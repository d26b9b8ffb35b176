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


class TermCounts:
    """Per-block term counts of every text, built once, sliced per fold."""

    def __init__(self, pipeline, texts: list[str]):
        union = pipeline.named_steps["features"]
        tokens = [tokenize(normalize(t)) for t in texts]
        self.blocks = []
        self.names = [name for name, _ in union.transformer_list]
        self.counts = {
            name: CountVectorizer(analyzer=TERM_FUNCTIONS[name], dtype=np.float64).fit_transform(tokens).tocsr()
            for name in self.names
        }

    def tfidf(self, pipeline, train_rows: np.ndarray, rows_to_transform: list[np.ndarray]) -> list[sp.csr_matrix]:
        """The stacked TF-IDF matrices of ``rows_to_transform``, as ``pipeline``'s vectorizers would
        give them when fitted on ``train_rows`` alone."""
        parts = [[] for _ in rows_to_transform]
        n_train = len(train_rows)
        for name, vectorizer in pipeline.named_steps["features"].transformer_list:
            counts = self.counts[name]
            train = counts[train_rows]
            df = np.bincount(train.indices, minlength=train.shape[1])
            min_df = vectorizer.min_df if isinstance(vectorizer.min_df, int) else int(np.ceil(vectorizer.min_df * n_train))
            keep = np.flatnonzero(df >= min_df)
            idf = np.log((1 + n_train) / (1 + df[keep])) + 1.0 if vectorizer.smooth_idf else np.log(n_train / df[keep]) + 1.0
            for i, rows in enumerate(rows_to_transform):
                block = (train if rows is train_rows else counts[rows])[:, keep].tocsr()
                if vectorizer.sublinear_tf:
                    block.data = np.log(block.data) + 1.0
                block = block @ sp.diags(idf) if vectorizer.use_idf else block
                parts[i].append(l2_normalize(block, norm=vectorizer.norm, copy=False) if vectorizer.norm else block)
        return [sp.hstack(p, format="csr") for p in parts]


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
    training records (or None for unweighted). ``counts`` may be given to reuse the term counts of
    the same records and feature blocks across several classifier settings.
    """
    pipeline = build()
    if counts is None:
        counts = TermCounts(pipeline, [r.text for r in records])
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
