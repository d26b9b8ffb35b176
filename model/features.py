"""The feature analyzers and the one scikit-learn Pipeline that the artifact holds.

Each analyzer takes a *token list* (see ``model.text.tokenize``) so that the serving fast path
can tokenise a text once and feed all three; scikit-learn calls them through the thin
``*_analyzer`` wrappers, which normalise and tokenise a raw string first. Both paths produce
the very same terms, so their probabilities agree.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from model.text import ACRONYM, NAME, NUMBER, SHOUT, normalize, tokenize

# Closed-class words: how a text is put together rather than what it is about.
FUNCTION_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either even
    ever every few for from further had has have having he her here hers herself him himself his
    how however i if in into is it its itself just least less let like may me might mine more
    most much must my myself neither never no nor not now of off on once only or other ought our
    ours ourselves out over own perhaps rather same shall she should since so some such than that
    the their theirs them themselves then there these they this those though through thus to too
    under until up upon us very was we were what whatever when where whether which while who whom
    whose why will with within without would yet you your yours yourself yourselves
    i'm i've i'd i'll you're you've you'd you'll he's she's it's we're we've they're they've
    don't doesn't didn't can't couldn't won't wouldn't isn't aren't wasn't weren't haven't hasn't
    shouldn't that's there's what's let's
    said says according told reported
    lol yeah yes ok okay oh wow hey please thanks really actually maybe well
    """.split()
)
_MASKS = frozenset((NAME, NUMBER, ACRONYM, SHOUT))
_LENGTH_BUCKETS = (3, 6, 10, 16, 25, 40, 70, 120)


_join = " ".join


def word_terms(tokens: list[str]) -> list[str]:
    """Word unigrams and bigrams over masked tokens, punctuation included."""
    terms = list(tokens)
    terms.extend(map(_join, zip(tokens, tokens[1:])))  # "a b": in C, no Python frame per pair
    return terms


def char_terms(tokens: list[str], low: int = 2, high: int = 5) -> list[str]:
    """Character n-grams inside each masked token padded with spaces (like ``char_wb``)."""
    terms = []
    for token in tokens:
        padded = f" {token} "
        size = len(padded)
        for n in range(low, min(high, size) + 1):
            terms.extend(padded[i : i + n] for i in range(size - n + 1))
    return terms


def _shape(token: str) -> str:
    if token in FUNCTION_WORDS or token in _MASKS or not token[0].isalpha():
        return token
    return "w"


class _BoundedCache(dict):
    """``function``'s answers by argument, kept until there are ``size`` of them (then emptied):
    a hit is a plain dict look-up in C, which ``functools.lru_cache`` takes twice as long for."""

    def __init__(self, function, size: int):
        super().__init__()
        self.function = function
        self.size = size

    def __missing__(self, key):
        value = self.function(key)
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value


# Both depend on the token alone and a few thousand tokens make most text, so their answers are
# kept (a bounded cache: the tokens are the users'). A shape starts with a letter or digit
# exactly when its token does: it is the token itself, or "w" for one that starts with a letter.
# Only texts whose tokens are all short go through the caches: a cache bounded in entries is not
# bounded in bytes when its keys are users' tokens of thousands of characters.
_shape_of = _BoundedCache(_shape, 65_536).__getitem__
_starts_alnum = _BoundedCache(lambda shape: shape[0].isalnum(), 4_096).__getitem__
_CACHED_TOKEN_CHARS = 40


def style_terms(tokens: list[str]) -> list[str]:
    """Function words, punctuation and masks with content words as ``w``: 1- to 3-grams.

    Plus two cues no n-gram sees: the length bucket and whether the text ends without a
    full stop, question or exclamation mark.
    """
    if tokens and max(map(len, tokens)) > _CACHED_TOKEN_CHARS:  # rare: uncached, see _shape_of
        shapes = [_shape(t) for t in tokens]
        words = sum(1 for t in tokens if t[0].isalnum())
    else:
        shapes = list(map(_shape_of, tokens))
        words = sum(map(_starts_alnum, shapes))
    terms = list(shapes)
    terms.extend(map(_join, zip(shapes, shapes[1:])))
    terms.extend(map(_join, zip(shapes, shapes[1:], shapes[2:])))
    for bucket in _LENGTH_BUCKETS:
        if words <= bucket:
            break
    else:
        bucket = "more"
    terms.append(f"<len {bucket}>")
    if not tokens or tokens[-1] not in (".", "!", "?", '"', ")"):
        terms.append("<open end>")
    return terms


def word_analyzer(text: str) -> list[str]:
    """scikit-learn analyzer: normalise, tokenise, word terms."""
    return word_terms(tokenize(normalize(text)))


def char_analyzer(text: str) -> list[str]:
    """scikit-learn analyzer: normalise, tokenise, character terms."""
    return char_terms(tokenize(normalize(text)))


def style_analyzer(text: str) -> list[str]:
    """scikit-learn analyzer: normalise, tokenise, style terms."""
    return style_terms(tokenize(normalize(text)))


# The fast path pairs each FeatureUnion step with the token-level function behind it.
TERM_FUNCTIONS = {"words": word_terms, "chars": char_terms, "style": style_terms}
ANALYZERS = {"words": word_analyzer, "chars": char_analyzer, "style": style_analyzer}

# The one source of the pipeline's tuned settings (``build_pipeline`` sets them over its steps).
# Chosen by leave-one-source-out macro-F1 over the sources (see training/experiments/
# generalisation.py): rarer words and style n-grams add nothing out of source and double the
# vocabulary (and so the artifact's size and load time).
DEFAULT_PARAMS = {
    "features__words__min_df": 10,
    "features__chars__min_df": 3,
    "features__style__min_df": 5,
    "clf__C": 2.0,
}


# Character n-grams cost most of the scoring time and gain nothing beyond noise in
# leave-one-source-out evaluation (docs/model.md), so the default leaves them out.
DEFAULT_BLOCKS = ("words", "style")


def build_pipeline(params: dict | None = None, blocks: Iterable[str] = DEFAULT_BLOCKS) -> Pipeline:
    """The classifier: TF-IDF feature blocks stacked, then logistic regression.

    ``params`` (``step__parameter`` names, as ``Pipeline.set_params`` takes them) override
    ``DEFAULT_PARAMS``, which hold every block's ``min_df`` and the regularisation ``C``.
    """
    blocks = tuple(blocks)
    union = FeatureUnion(
        [(name, TfidfVectorizer(analyzer=ANALYZERS[name], sublinear_tf=True, dtype=np.float64)) for name in blocks]
    )
    pipeline = Pipeline(
        [
            ("features", union),
            ("clf", LogisticRegression(class_weight="balanced", max_iter=2000, solver="liblinear")),
        ]
    )
    settable = {k: v for k, v in {**DEFAULT_PARAMS, **(params or {})}.items()
                if not k.startswith("features__") or k.split("__")[1] in set(blocks)}
    pipeline.set_params(**settable)
    return pipeline
