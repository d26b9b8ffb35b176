"""The fast leave-one-source-out against refitting the pipeline fold by fold, and its report."""

import functools

import numpy as np
import pytest

from model.features import build_pipeline
from training.data import source_weights
from training.evaluate import editorial_probabilities, leave_one_source_out
from training.loso import TermCounts, out_of_source_probabilities
from training.records import Record

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES


def records():
    """Four sources, two per label, each a third of the examples plus a shared word or two."""
    rows = []
    for i, text in enumerate(EDITORIAL_EXAMPLES):
        source = "wire" if i % 2 else "paper"
        rows.append(Record(text, "editorial", source, f"{source}:{i}"))
    for i, text in enumerate(COMMENT_EXAMPLES):
        source = "forum" if i % 2 else "tweets"
        rows.append(Record(text, "comment", source, f"{source}:{i}"))
    return rows


def build(min_df=2, blocks=("words", "style")):
    params = {"features__words__min_df": min_df, "features__style__min_df": min_df, "clf__C": 3.0,
              "clf__class_weight": None}
    return functools.partial(build_pipeline, params, blocks)


def refitted(builder, rows, weighted):
    """P(editorial) from refitting the whole pipeline without each source: the slow reference."""
    p = np.empty(len(rows))
    for name in sorted({r.source for r in rows}):
        train = [r for r in rows if r.source != name]
        pipeline = builder()
        kwargs = {"clf__sample_weight": source_weights(train)} if weighted else {}
        pipeline.fit([r.text for r in train], [r.label for r in train], **kwargs)
        held = [i for i, r in enumerate(rows) if r.source == name]
        p[held] = editorial_probabilities(pipeline, [rows[i].text for i in held])
    return p


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("min_df", [1, 2])
def test_fast_folds_give_the_refitted_pipelines_probabilities(weighted, min_df):
    rows = records()
    builder = build(min_df)
    fast = out_of_source_probabilities(builder, rows, source_weights if weighted else None, n_jobs=2)
    assert np.allclose(fast, refitted(builder, rows, weighted), atol=1e-6)


def test_a_term_seen_only_in_the_left_out_source_is_not_in_its_folds_vocabulary():
    # "zebra" appears in one forum comment only: a fold that leaves the forum out must not know it,
    # so the forum texts score the same with and without the word's other occurrences.
    rows = records()
    rows.append(Record("zebra zebra zebra said the council", "comment", "forum", "forum:z"))
    builder = build(min_df=1)
    fast = out_of_source_probabilities(builder, rows, None, n_jobs=1)
    assert np.allclose(fast, refitted(builder, rows, False), atol=1e-6)


def test_report_has_one_row_per_source_and_the_probabilities_in_record_order():
    rows = records()
    seen = []
    report, p = leave_one_source_out(build(min_df=1), rows, n_jobs=1, progress=seen.append, with_probabilities=True)
    assert sorted(seen) == ["forum", "paper", "tweets", "wire"]
    assert set(report["per_source"]) == {"forum", "paper", "tweets", "wire"}
    assert report["pooled"]["n"] == len(rows) == len(p)
    assert report["worst_source_accuracy"] == min(row["accuracy"] for row in report["per_source"].values())
    forum = [i for i, r in enumerate(rows) if r.source == "forum"]
    correct = sum((p[i] >= 0.5) == (rows[i].label == "editorial") for i in forum)
    assert report["per_source"]["forum"]["accuracy"] == round(correct / len(forum), 4)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_pipeline_fitted_from_counts_is_the_pipeline_fitted_on_the_texts(n_jobs):
    rows = records()
    texts, labels = [r.text for r in rows], [r.label for r in rows]
    weights = source_weights(rows)
    builder = build(min_df=2)
    reference = builder().fit(texts, labels, clf__sample_weight=weights)
    counts = TermCounts(builder(), texts, n_jobs=n_jobs)
    fitted = counts.fit(builder(), np.arange(len(rows)), labels, sample_weight=weights)
    for (name, ours), (_, theirs) in zip(fitted.named_steps["features"].transformer_list,
                                         reference.named_steps["features"].transformer_list):
        assert ours.vocabulary_ == theirs.vocabulary_, name
        assert np.allclose(ours.idf_, theirs.idf_, atol=1e-12), name
    assert np.allclose(fitted.named_steps["clf"].coef_, reference.named_steps["clf"].coef_, atol=1e-8)
    unseen = ["The minister said on Tuesday the talks would resume.", "lol no way, this is a joke"]
    assert np.allclose(fitted.predict_proba(unseen), reference.predict_proba(unseen), atol=1e-9)
    assert list(fitted.classes_) == list(reference.classes_)



@pytest.mark.parametrize("blocks", [("words", "style"), ("words", "chars")])
def test_editorial_probabilities_are_the_pipelines_own(blocks):
    rows = records()
    pipeline = build(min_df=1, blocks=blocks)().fit([r.text for r in rows], [r.label for r in rows])
    texts = [r.text for r in rows] + ["an unseen text, who knows", "", "!!!"] * 100  # more than one chunk
    expected = pipeline.predict_proba(texts)[:, list(pipeline.classes_).index("editorial")]
    assert np.allclose(editorial_probabilities(pipeline, texts), expected, atol=1e-12)
    assert editorial_probabilities(pipeline, []).shape == (0,)


def test_editorial_probabilities_of_a_pipeline_the_scorers_do_not_know_come_from_predict_proba():
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import Pipeline

    rows = records()
    dummy = Pipeline([("clf", DummyClassifier(strategy="prior"))]).fit([[0]] * len(rows), [r.label for r in rows])
    share = sum(r.label == "editorial" for r in rows) / len(rows)
    assert np.allclose(editorial_probabilities(dummy, [[0], [1]]), [share, share])
