"""The fast scorer gives the saved pipeline's own probabilities."""

import numpy as np
import pytest
from scipy.special import expit

from model.features import char_terms, style_terms, word_terms

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES

UNSEEN = [
    "The minister said the plan would be reviewed.",
    "lol no way!!!",
    "Zzzz qqqq",  # no known term in some blocks
    "\u201cCurly\u201d quotes \u2013 and dashes\u2026 5,000 people, said AFP.",
    "I think the mayor is a total clown, honestly",
    "Überraschung! 😀 Ça va?",
    "a",
]


def test_fast_scorer_matches_predict_proba(tiny_classifier):
    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES + UNSEEN
    pipeline = tiny_classifier.pipeline
    expected = pipeline.predict_proba(texts)[:, list(pipeline.classes_).index("editorial")]
    fast = np.array([tiny_classifier.editorial_probability(t) for t in texts])
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-12)


def test_logit_is_intercept_plus_contributions(tiny_classifier):
    scorer = tiny_classifier.scorer
    for text in UNSEEN + COMMENT_EXAMPLES[:3]:
        parts = scorer.contributions(text)
        total = scorer.intercept + sum(sum(block.values()) for block in parts.values())
        assert abs(total - scorer.logit(text)) < 1e-9


def test_classify_returns_labels_and_scores_in_order(tiny_classifier):
    results = tiny_classifier.classify([EDITORIAL_EXAMPLES[0], COMMENT_EXAMPLES[0]])
    assert [r["label"] for r in results] == ["editorial", "comment"]
    for result in results:
        scores = result["scores"]
        assert set(scores) == {"editorial", "comment"}
        assert abs(scores["editorial"] + scores["comment"] - 1) < 1e-12


def test_term_functions():
    tokens = ["i", "think", "N", "!"]
    assert word_terms(tokens) == ["i", "think", "N", "!", "i think", "think N", "N !"]
    assert " i " in char_terms(["i"]) and " N " in char_terms(["N"])
    assert "th" in char_terms(["think"]) and "think" in char_terms(["think"])
    style = style_terms(tokens)
    assert "i w N" in style and "<len 3>" in style and "<open end>" not in style
    assert "<open end>" in style_terms(["no", "stop"])


REPEATS = [
    "No no no no NO. Never, never, never!!! Not again, not ever, not here, not now.",
    "The the the the the the the the the the the the minister minister said said.",
    "",  # no tokens at all: every block is empty
]


def _kind_pipeline():
    """A second tiny pipeline (opinion / sarcastic) whose vocabulary holds terms the first lacks."""
    from model.features import build_pipeline
    from tests.conftest import TINY_PARAMS

    sarcastic = ["Oh great, another genius plan from the geniuses upstairs. Bravo.",
                 "Wow, truly brilliant. Said nobody, ever, zebra.",
                 "Sure, because that always works so well. Marvellous.",
                 "Yeah right, and pigs fly every Tuesday, quokka."]
    opinion = ["I think the council should fund more buses.",
               "In my view the plan is sensible and overdue.",
               "I disagree with the author about the tax rise.",
               "We need better schools, not more car parks, wombat."]
    return build_pipeline(TINY_PARAMS).fit(sarcastic + opinion, ["sarcastic"] * 4 + ["opinion"] * 4)


def test_batch_scorer_matches_predict_proba_for_two_pipelines(tiny_classifier):
    from model.scoring import BatchScorer
    from model.text import normalize, tokenize

    pipeline, kind = tiny_classifier.pipeline, _kind_pipeline()
    sizes = {name: len(v.vocabulary_) for name, v in pipeline.named_steps["features"].transformer_list}
    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES + UNSEEN + REPEATS + ["Oh great, zebra quokka wombat. Bravo."]
    scorer = BatchScorer([pipeline, kind])
    batch = scorer.probabilities([tokenize(normalize(t)) for t in texts])
    for row, model in enumerate((pipeline, kind)):
        expected = model.predict_proba(texts)[:, 1]
        np.testing.assert_allclose(batch[row], expected, rtol=0, atol=1e-12)
    # One text at a time gives the same figures as the batch, through either path.
    for index, text in enumerate(texts):
        tokens = tokenize(normalize(text))
        np.testing.assert_allclose(scorer.probabilities([tokens])[:, 0], batch[:, index], rtol=0, atol=1e-15)
        np.testing.assert_allclose(expit(scorer.logits_one(tokens)), batch[:, index], rtol=0, atol=1e-12)
    # The fitted vectorizers' own vocabularies are left as they were.
    assert {name: len(v.vocabulary_) for name, v in pipeline.named_steps["features"].transformer_list} == sizes


@pytest.mark.parametrize("chunk", [200, 5])  # the default, and chunks that split the batch unevenly
def test_classify_a_batch_as_one_text_at_a_time(tiny_classifier, monkeypatch, chunk):
    from model import classifier as classifier_module
    from model.classifier import VECTOR_MIN_TEXTS, Classifier

    monkeypatch.setattr(classifier_module, "VECTOR_CHUNK_TEXTS", chunk)

    classifier = Classifier({"classifier": tiny_classifier.pipeline, "kind": _kind_pipeline()}, {"version": "t"})
    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES + UNSEEN + REPEATS[:2]
    assert len(texts) >= VECTOR_MIN_TEXTS
    batch = classifier.classify(texts, review_band=(0.3, 0.7))
    singles = [classifier.classify([text], review_band=(0.3, 0.7))[0] for text in texts]
    assert [r.keys() for r in batch] == [r.keys() for r in singles]
    assert any("kind" in r for r in batch)
    for got, one in zip(batch, singles):
        assert (got["label"], got["decision"], got.get("kind", {}).get("label")) == \
               (one["label"], one["decision"], one.get("kind", {}).get("label"))
        assert got["scores"]["editorial"] == pytest.approx(one["scores"]["editorial"], abs=1e-12)
        if "kind" in got:
            assert got["kind"]["scores"]["sarcastic"] == pytest.approx(one["kind"]["scores"]["sarcastic"], abs=1e-12)


@pytest.mark.artifact
def test_shipped_model_batches_match_predict_proba():
    from pathlib import Path

    from bench.texts import all_texts
    from model import Classifier

    shipped = Classifier.load(Path(__file__).resolve().parent.parent / "model")
    texts = all_texts() + UNSEEN + REPEATS[:2]
    results = shipped.classify(texts)
    expected = shipped.pipeline.predict_proba(texts)[:, list(shipped.pipeline.classes_).index("editorial")]
    np.testing.assert_allclose([r["scores"]["editorial"] for r in results], expected, rtol=0, atol=1e-12)
    if shipped.kind_pipeline is not None:
        comments = [i for i, r in enumerate(results) if r["label"] == "comment"]
        sarcastic = shipped.kind_pipeline.predict_proba([texts[i] for i in comments])[:, 1]
        np.testing.assert_allclose([results[i]["kind"]["scores"]["sarcastic"] for i in comments], sarcastic,
                                   rtol=0, atol=1e-12)


def test_batch_scorer_with_character_ngrams():
    from tests.conftest import TINY_PARAMS
    from model.features import build_pipeline
    from model.scoring import BatchScorer
    from model.text import normalize, tokenize

    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES
    pipeline = build_pipeline(TINY_PARAMS, blocks=("words", "chars", "style")).fit(
        texts, ["editorial"] * len(EDITORIAL_EXAMPLES) + ["comment"] * len(COMMENT_EXAMPLES))
    scorer = BatchScorer([pipeline])
    unseen = UNSEEN + REPEATS
    tokens = [tokenize(normalize(t)) for t in unseen]
    expected = pipeline.predict_proba(unseen)[:, 1]
    np.testing.assert_allclose(scorer.probabilities(tokens)[0], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose([expit(scorer.logits_one(t))[0] for t in tokens], expected, rtol=0, atol=1e-12)


def test_a_batch_of_long_texts_is_scored_in_chunks_of_bounded_size(tiny_classifier):
    """The chunks are bounded by their tokens, not only by their number of texts: 50 texts of
    nearly 20,000 characters (a 1 MB body) must not have all their terms made at once."""
    import tracemalloc

    from model.classifier import VECTOR_CHUNK_TOKENS, VECTOR_MIN_TEXTS
    from model.text import MAX_TOKENS

    words = (EDITORIAL_EXAMPLES[0] + " " + COMMENT_EXAMPLES[0]).split()
    long_text = " ".join(words * (19_500 // (len(" ".join(words)) + 1)))[:19_500]
    texts = [f"{long_text} {index}" for index in range(50)]
    assert len(texts) >= VECTOR_MIN_TEXTS

    def peak_mib(run) -> float:
        tracemalloc.start()
        try:
            run()
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()

    # Each text is read to MAX_TOKENS, so a chunk of VECTOR_CHUNK_TOKENS holds this many of them.
    per_chunk = VECTOR_CHUNK_TOKENS // MAX_TOKENS
    assert VECTOR_MIN_TEXTS <= per_chunk and len(texts) >= 4 * per_chunk
    chunk = peak_mib(lambda: tiny_classifier.classify(texts[:per_chunk]))
    batch_results = []
    batch = peak_mib(lambda: batch_results.extend(tiny_classifier.classify(texts)))
    # Scoring the batch holds one chunk's terms at a time, not 50 texts' worth (about 5 chunks).
    assert batch < 2 * chunk, (batch, chunk)
    single = tiny_classifier.classify(texts[:1])[0]
    assert batch_results[0]["scores"]["editorial"] == pytest.approx(single["scores"]["editorial"], abs=1e-12)


def test_the_shape_caches_keep_no_long_token_of_the_users():
    """The style terms' caches are bounded in entries; long tokens (a 19,000-letter "word", or one
    starting with "½", whose shape is the token itself) must not be kept in them, or a few thousand
    requests hold gigabytes. The terms stay exactly those of the uncached functions."""
    import gc
    import random
    import string
    import tracemalloc

    from model.features import FUNCTION_WORDS, _LENGTH_BUCKETS

    def reference(tokens):  # style_terms as written before any cache
        shapes = [t if t in FUNCTION_WORDS or t in ("N", "0", "ACR", "CAPS") or not t[0].isalpha() else "w"
                  for t in tokens]
        terms = shapes + [f"{a} {b}" for a, b in zip(shapes, shapes[1:])]
        terms += [f"{a} {b} {c}" for a, b, c in zip(shapes, shapes[1:], shapes[2:])]
        words = sum(1 for t in tokens if t[0].isalnum())
        terms.append(f"<len {next((b for b in _LENGTH_BUCKETS if words <= b), 'more')}>")
        if not tokens or tokens[-1] not in (".", "!", "?", '"', ")"):
            terms.append("<open end>")
        return terms

    rng = random.Random(7)
    style_terms(["warm", "up", "."])
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            long_word = "".join(rng.choices(string.ascii_lowercase, k=2_000))
            tokens = ["the", long_word, "½" + long_word, "_" * rng.randint(40, 4_000), "said", "."]
            assert style_terms(tokens) == reference(tokens)
            del long_word, tokens
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 200 texts of ~8,000 characters went through: what stays is cache bookkeeping, not their tokens.
    assert kept < 200_000, kept
    for tokens in (["no", "stop"], ["I", "N", "said", "0", "ACR", "!"], ["½", "_", "__", "w"], []):
        assert style_terms(tokens) == reference(tokens)


def _reference_logits_one(scorer, tokens):
    """``BatchScorer.logits_one`` as it was: numpy calls over the (pipeline, row) arrays."""
    from collections import Counter
    from itertools import chain, repeat

    if scorer.sublinear is not None:  # a pipeline without some block: the batch's sums
        return scorer.logits([tokens])[:, 0]
    maps, values, starts, offsets = [], [], [], []
    length = 0
    for _name, terms_of, get, size, offset in scorer.blocks:
        counts = Counter(terms_of(tokens))
        if counts:
            maps.append(map(get, counts, repeat(size)))
            values.append(counts.values())
            starts.append(length)
            offsets.append(offset)
            length += len(counts)
    if not length:
        return scorer.intercepts.copy()
    rows = np.fromiter(chain.from_iterable(maps), np.intp, length)
    for start, end, offset in zip(starts, starts[1:] + [length], offsets):
        if offset:
            rows[start:end] += offset
    tf = 1.0 + np.log(np.fromiter(chain.from_iterable(values), float, length))
    squares = np.add.reduceat(scorer.idf_squared[:, rows] * (tf * tf), starts, axis=1)
    weighted = np.add.reduceat(scorer.weights[:, rows] * tf, starts, axis=1)
    scores = np.divide(weighted, np.sqrt(squares), out=np.zeros_like(weighted), where=squares > 0)
    return scorer.intercepts + scores.sum(axis=1)


@pytest.mark.parametrize("blocks", [("words", "style"), ("words", "chars", "style")])
def test_logits_one_equals_the_numpy_sums_bit_for_bit(tiny_classifier, blocks):
    """One text's logits read from the row-per-term table, with tf factors from a table (or, past
    it, computed) and the quotients in plain floats, are exactly those of the arrays and numpy."""
    from tests.conftest import TINY_PARAMS
    from model.features import build_pipeline
    from model.scoring import TF_TABLE_COUNTS, BatchScorer
    from model.text import normalize, tokenize

    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES
    labels = ["editorial"] * len(EDITORIAL_EXAMPLES) + ["comment"] * len(COMMENT_EXAMPLES)
    pipeline = build_pipeline(TINY_PARAMS, blocks=blocks).fit(texts, labels)
    long_word = "a" * (TF_TABLE_COUNTS + 50)  # its character n-grams repeat past the tf table
    cases = texts + UNSEEN + REPEATS + ["", "?", "the the the " * 400, long_word, " ".join(texts * 8)]
    for pipelines in ([pipeline], [pipeline, _kind_pipeline()], [tiny_classifier.pipeline, pipeline]):
        scorer = BatchScorer(pipelines)
        for text in cases:
            tokens = tokenize(normalize(text))
            assert scorer.logits_one(tokens).tolist() == _reference_logits_one(scorer, tokens).tolist(), text


def test_style_terms_through_the_bounded_caches_equal_the_uncached_terms():
    """The shape cache answers as ``_shape`` itself, and stays within its size when it fills."""
    from model.features import _BoundedCache, _shape

    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES + UNSEEN + REPEATS
    from model.text import normalize, tokenize

    for text in texts:
        tokens = tokenize(normalize(text))
        shapes = [_shape(t) for t in tokens]
        expected = shapes + [" ".join(p) for p in zip(shapes, shapes[1:])] + [
            " ".join(p) for p in zip(shapes, shapes[1:], shapes[2:])]
        assert style_terms(tokens)[: len(expected)] == expected
    small = _BoundedCache(_shape, 3)
    tokens = [t for text in texts for t in tokenize(normalize(text))]
    assert [small[t] for t in tokens] == [_shape(t) for t in tokens]
    assert len(small) <= 3
