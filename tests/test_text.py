"""Normalisation folds typesetting away; tokenisation masks names and numbers."""

import pytest

from model.text import normalize, tokenize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u201cQuoted\u201d and \u2018single\u2019", "\"Quoted\" and 'single'"),
        ("one\u2013two \u2014 three -- four", "one - two - three - four"),
        ("``Brown'' style", '"Brown" style'),
        ("error?Not surprising.The end", "error? Not surprising. The end"),
        ("yes,but no", "yes, but no"),
        ("1,000 people", "1,000 people"),
        ("Great post emoticonXBye emoticonXHappy", "Great post"),
        ("It&#39;s &amp; <br />ok", "It's & ok"),
        ("  lots \n\n of\t space ", "lots of space"),
        ("zero\u200bwidth\u00a0space", "zerowidth space"),
        ("U.S. officials", "U.S. officials"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["AT&amp;amp;T", "&amp;lt;b&amp;gt;bold", "a &amp;amp;amp; b", "&ampx &amp"])
def test_normalize_is_idempotent_on_doubly_escaped_entities(raw):
    once = normalize(raw)
    assert normalize(once) == once


def test_normalize_is_idempotent():
    text = "He said \u201cno\u201d\u2014twice.Then: \u2018maybe\u2019 &amp; 3\u20134 times"
    once = normalize(text)
    assert normalize(once) == once


def test_tokenize_masks_names_numbers_and_shouting():
    tokens = tokenize("Kim met Sergei Shoigu in 2023, AFP said. Then I left ABSOLUTELY furious!")
    assert tokens == ["kim", "met", "N", "N", "in", "0", ",", "ACR", "said", ".", "then", "i", "left",
                      "CAPS", "furious", "!"]


def test_tokenize_keeps_sentence_initial_words_and_contractions():
    assert tokenize('"Don\'t go," she said') == ['"', "don't", "go", ",", '"', "she", "said"]


def test_same_tokens_for_curly_and_straight_typography():
    curly = normalize("\u201cIt\u2019s over\u201d \u2013 they said")
    straight = normalize("\"It's over\" - they said")
    assert tokenize(curly) == tokenize(straight)


@pytest.mark.parametrize("piece", ["a,", "word ", "?", "Ab. "])
def test_tokenize_reads_the_first_max_tokens(piece):
    """A text is read to MAX_TOKENS tokens, whatever its shape: what follows changes nothing."""
    from model.text import MAX_TOKENS

    text = piece * (3 * MAX_TOKENS)
    tokens = tokenize(normalize(text))
    assert len(tokens) == MAX_TOKENS
    assert tokens == tokenize(normalize(text + " Zürich, 1999: SHOUTING!"))
    # Short texts keep every token, on either side of the lazy-matching threshold.
    assert len(tokenize("a " * (MAX_TOKENS - 1))) == MAX_TOKENS - 1
