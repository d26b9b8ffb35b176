"""Explanations: exact logit decomposition, and spans that point into the original text."""

import random
import unicodedata
from pathlib import Path

import pytest

from model.explain import explain, tokens_with_offsets
from model.text import normalize, tokenize

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES

REPO = Path(__file__).resolve().parent.parent
SEED_PAGE = REPO.parent / "shared" / "examples" / "scraped-page-article-and-comment.txt"

# Texts that normalisation changes, each for a different reason.
MANGLED = [
    "\u201cHello\u201d \u2014 \u2018world\u2019, she said.",
    "What an error?Not again.The end!",
    "I love the café in Zürich 😀 so much",
    "Tom &amp; Jerry &quot;rocks&quot; &#8212; AT&T&nbsp;too",
    "That is ﬁne, ｆｕｌｌ ｗｉｄｔｈ and ＡＣＲＯ letters",
    "word -- next word--next and a - b",
    "yes,but no,really 1,000 people",
    "Line one<br />Line <b>two</b> and <a href='x'>a link</a>",
    "emoticonXSmile nice one emoticonXFrown",
    "``Quoted'' in TeX style\u2026 really\u2026",
    "zero\u200bwidth soft\u00adhyphen e\u0301te\u0301 na\u00efve",
    "ABSOLUTELY NOT, said the NATO spokesman in 2023.",
    "  \n\t spaced   out\ttext \n ",
]
EMPTY_AFTER_NORMALISATION = ["", "   ", "\u200b\u200b", "<br />", "emoticonXHappy"]

_PIECES = [
    "a", "b", "Zed", "the", "I", "I'm", "don't", "NATO", "SHOUTING", "42", "1,000", "3.5", "_",
    " ", "  ", "\n", "\t", ".", "?", "!", ",", ";", ":", "(", ")", '"', "'", "-", "--", "---",
    " - ", "``", "''", "\u201c", "\u201d", "\u2018", "\u2019", "\u2013", "\u2014", "\u2026",
    "&amp;", "&quot;", "&#39;", "&#x2014;", "&nbsp;", "&ampxyz", "&", "&T", "<br />", "<br>",
    "<p>", "</p>", "<b>", "<i class='x'>", "<", ">", "emoticonXSmile", "😀", "👍🏽", "café",
    "Zürich", "e\u0301", "\u0301", "ﬁ", "ﬂ", "ｆｕｌｌ", "ＡＢ", "½", "²", "\u200b", "\u200d",
    "\u00ad", "\ufeff", "\u00a0", "\u3000", "ǅ", "İstanbul", "ß", "Straße", "Ωmega", "ﾊﾟ",
    "\u1100\u1161", "한국", "\u0b47\u0b3e", "word.Next", "a,b", "error?Not", "said.The",
    "x!?Y", "(a).B", "´", "\u2032", "«", "»",
]


def random_texts(count: int, seed: int = 1234) -> list[str]:
    """Strings glued from pieces that each exercise one normalisation step."""
    rng = random.Random(seed)
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 25))) for _ in range(count)]


def seed_page_lines() -> list[str]:
    return SEED_PAGE.read_text(encoding="utf-8").splitlines() if SEED_PAGE.is_file() else []


def reads_as(piece: str, expected: list[str]) -> bool:
    """Whether ``piece`` tokenises to ``expected`` at a sentence start or mid-sentence.

    One source character may give several tokens ("\u2026" gives three "."), each pointing at
    it, so ``expected`` need only be a run within the piece's tokens. A piece that reads as
    the term verbatim also counts: "emoticonXSmile" is only dropped at a word boundary.
    """
    if unicodedata.normalize("NFKC", piece).lower() == " ".join(expected):
        return True
    n = len(expected)
    for tokens in (tokenize(normalize(piece)), tokenize(normalize("x " + piece))[1:]):
        if any(tokens[i : i + n] == expected for i in range(len(tokens) - n + 1)):
            return True
    return False


@pytest.mark.parametrize("text", MANGLED + EMPTY_AFTER_NORMALISATION + random_texts(400))
def test_tokens_with_offsets_are_the_tokens_with_their_source(text):
    located = tokens_with_offsets(text)
    assert [token for token, _, _ in located] == tokenize(normalize(text))
    previous_start = 0
    for token, start, end in located:
        assert 0 <= start < end <= len(text), "aligned, in range and not empty"
        assert start >= previous_start
        previous_start = start
        assert reads_as(text[start:end], [token]), (token, text[start:end])


def test_offsets_of_mangled_text():
    text = "\u201cHello\u201d \u2014 Tom &amp; Jerry said it was ﬁne in Zürich -- error?Not ＡＢ."
    pieces = [(token, text[start:end]) for token, start, end in tokens_with_offsets(text)]
    assert pieces == [
        ('"', "\u201c"), ("hello", "Hello"), ('"', "\u201d"), ("-", "\u2014"), ("tom", "Tom"),
        ("&", "&amp;"), ("N", "Jerry"), ("said", "said"), ("it", "it"), ("was", "was"),
        ("fine", "ﬁne"), ("in", "in"), ("N", "Zürich"), ("-", "--"), ("error", "error"),
        ("?", "?"), ("not", "Not"), ("ACR", "ＡＢ"), (".", "."),
    ]


def decomposition_texts() -> list[str]:
    return (EDITORIAL_EXAMPLES + COMMENT_EXAMPLES + MANGLED + seed_page_lines()
            + random_texts(30, seed=7))


def check_decomposition(classifier, texts):
    scorer = classifier.scorer
    logits = classifier.pipeline.decision_function(texts)
    for text, expected in zip(texts, logits):
        full = explain(scorer, text, top=None)
        total = full["intercept"] + sum(term["weight"] for term in full["terms"])
        assert full["other_terms_weight"] == 0 and full["other_terms_count"] == 0
        assert abs(total - full["logit"]) < 1e-9
        assert abs(full["logit"] - scorer.logit(text)) < 1e-9
        assert abs(full["logit"] - expected) < 1e-6
        short = explain(scorer, text, top=3)
        shown = sum(term["weight"] for term in short["terms"])
        assert abs(short["intercept"] + shown + short["other_terms_weight"] - full["logit"]) < 1e-9
        assert short["other_terms_count"] == max(len(full["terms"]) - 3, 0)


def test_decomposition_is_exact(tiny_classifier):
    texts = decomposition_texts()
    assert len(texts) >= 50
    check_decomposition(tiny_classifier, texts)


def check_spans(scorer, text):
    for term in explain(scorer, text, top=None)["terms"]:
        if term["term"].startswith("<") and term["block"] == "style" and len(term["term"]) > 1:
            assert term["spans"] == [], term
            continue
        assert term["spans"], term
        for start, end in term["spans"]:
            assert 0 <= start < end <= len(text)
            if term["block"] == "words":
                assert reads_as(text[start:end], term["term"].split(" ")), (term, text[start:end])


def spans_by_term(scorer, text) -> dict:
    """``{(block, term): spans}`` for every term of ``text``."""
    return {(t["block"], t["term"]): t["spans"] for t in explain(scorer, text, top=None)["terms"]}


@pytest.mark.parametrize("text", MANGLED + COMMENT_EXAMPLES[:4])
def test_spans_point_at_the_terms(tiny_classifier, text):
    check_spans(tiny_classifier.scorer, text)


def test_spans_of_every_occurrence(tiny_classifier):
    text = "The mayor said no. Then the \u201cmayor\u201d said yes!"
    terms = spans_by_term(tiny_classifier.scorer, text)
    assert [text[s:e] for s, e in terms[("words", "said")]] == ["said", "said"]
    assert terms[("words", "said")][1][0] == text.rindex("said")
    if ("words", "the") in terms:
        assert [text[s:e] for s, e in terms[("words", "the")]] == ["The", "the"]


def test_terms_are_ordered_and_cut_at_top(tiny_classifier):
    text = COMMENT_EXAMPLES[3]
    full = explain(tiny_classifier.scorer, text, top=None)["terms"]
    sizes = [abs(term["weight"]) for term in full]
    assert sizes == sorted(sizes, reverse=True) and len(full) > 5
    assert explain(tiny_classifier.scorer, text, top=5)["terms"] == full[:5]
    assert explain(tiny_classifier.scorer, text)["terms"] == full[:10]
    assert explain(tiny_classifier.scorer, text, top=0)["terms"] == []


@pytest.mark.parametrize("text", EMPTY_AFTER_NORMALISATION + ["😀😀"])
def test_empty_after_normalisation(tiny_classifier, text):
    result = explain(tiny_classifier.scorer, text)
    assert abs(result["logit"] - tiny_classifier.scorer.logit(text)) < 1e-12
    for term in result["terms"]:
        assert all(0 <= s < e <= len(text) for s, e in term["spans"])


def test_negative_top_is_refused(tiny_classifier):
    with pytest.raises(ValueError, match="'top'"):
        explain(tiny_classifier.scorer, "hello", top=-1)


@pytest.fixture(scope="module")
def shipped():
    from model import Classifier

    return Classifier.load(REPO / "model")


@pytest.mark.artifact
def test_shipped_model_decomposition_and_spans(shipped):
    texts = decomposition_texts()
    check_decomposition(shipped, texts)
    for text in MANGLED + seed_page_lines():
        check_spans(shipped.scorer, text)


@pytest.mark.artifact
def test_shipped_model_masked_terms_point_at_names(shipped):
    text = "Officials told AFP on Monday that Smith said the \u201cplan\u201d was ﬁne."
    terms = spans_by_term(shipped.scorer, text)
    sources = {"N said": "Smith said", "told ACR": "told AFP"}
    assert any(("words", term) in terms for term in sources)
    for term, source in sources.items():
        if ("words", term) in terms:
            assert [text[s:e] for s, e in terms[("words", term)]] == [source]


def test_character_ngrams_span_their_tokens():
    from model.features import build_pipeline
    from model.scoring import FastScorer

    from tests.conftest import TINY_PARAMS

    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES
    labels = ["editorial"] * len(EDITORIAL_EXAMPLES) + ["comment"] * len(COMMENT_EXAMPLES)
    pipeline = build_pipeline(TINY_PARAMS, blocks=("words", "chars", "style")).fit(texts, labels)
    scorer = FastScorer(pipeline)
    text = "The \u201cminister\u201d said lol, the minister"
    full = explain(scorer, text, top=None)
    assert abs(full["logit"] - pipeline.decision_function([text])[0]) < 1e-9
    chars = [term for term in full["terms"] if term["block"] == "chars"]
    assert chars
    for term in chars:
        for start, end in term["spans"]:
            gram = term["term"].strip()
            assert gram in normalize(text[start:end]).lower(), (term["term"], text[start:end])
    minister = next(term for term in chars if term["term"] == "inist")
    assert [text[s:e] for s, e in minister["spans"]] == ["minister", "minister"]
