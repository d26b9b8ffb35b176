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


def test_ascii_token_pattern_matches_token_on_every_ascii_text():
    """``tokenize`` reads ASCII text with ``ASCII_TOKEN``: the same matches as ``TOKEN``, checked on
    every pair of ASCII characters between and beside letters, digits and an apostrophe."""
    from model.text import ASCII_TOKEN, TOKEN

    characters = [chr(code) for code in range(128)]
    for a in characters:
        for b in characters:
            for text in (a + b, f"x{a}y{b}1", f"{a}'{b}2.3{a}", f"_{a}{b}_"):
                assert ASCII_TOKEN.findall(text) == TOKEN.findall(text), repr(text)


def test_normalize_skips_a_pattern_only_when_its_hint_is_absent():
    """Each look-around pattern of ``normalize`` runs only when its plain hint occurs: every
    match holds a hint (characters around a dash, a stop or a comma, ASCII and not), and the
    result equals the reference ``normalize``, which runs them all."""
    from model.text import (DOUBLE_DASH, DOUBLE_DASH_HINT, GLUED_COMMA, GLUED_COMMA_HINT, GLUED_SENTENCE,
                            GLUED_SENTENCE_HINT)
    from tests import text_reference as reference

    around = [chr(code) for code in range(128)] + ["\u00a0", "\u2003", "\u3000", "\u00e9", "\u00c9", "\u2019"]
    checks = (  # (pattern, whether normalize runs it, middles to try)
        (DOUBLE_DASH, lambda text: "--" in text or DOUBLE_DASH_HINT.search(text), ("-", "--", " - ", "\t-\n", "---")),
        (GLUED_SENTENCE, GLUED_SENTENCE_HINT.search, (".", "?", "!", "?!.", "." * 70 + "?")),
        (GLUED_COMMA, GLUED_COMMA_HINT.search, (",", ",,")),
    )
    for pattern, runs, middles in checks:
        for middle in middles:
            for a in around:
                for b in around:
                    text = f"x{a}{middle}{b}y"
                    if pattern.search(text):
                        assert runs(text), repr(text)
                    assert normalize(text) == reference.normalize(text), repr(text)


def test_tokenize_with_its_cache_equals_the_reference(monkeypatch):
    """Plain tokens come from a bounded cache once seen: the same tokens as the reference, whether
    the cache is empty, full of this text's tokens, or emptied midway because it is full."""
    from model import text as text_module
    from tests import text_reference as reference

    texts = [
        "The Minister said: Hello there. I'm sure I'll go, said Maria; AFP and NATO were ABSOLUTELY sure.",
        "(Quoted) 1,000 people at 12:30 - \"Yes\" she said. 3.75 per cent... I think so? Sure! a_b __x",
        "caf\u00e9 \u00c9t\u00e9 Z\u00fcrich na\u00efve \u4e2d\u6587 \u0130stanbul \u1e9e \u00df \u01c5a \u2160 don't I'd",
        "word " * 50 + "Word WORD Word. Word",
    ]
    for limit in (text_module._PLAIN_TOKENS_MAX, 3):
        monkeypatch.setattr(text_module, "_PLAIN_TOKENS_MAX", limit)
        text_module._PLAIN_TOKENS.clear()
        for text in texts + texts:
            assert tokenize(text) == reference.tokenize(text), text
            assert len(text_module._PLAIN_TOKENS) <= limit
