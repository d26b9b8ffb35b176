"""A drop-in for Google's Perspective API (Comment Analyzer ``v1alpha1``) over our classifier.

Wire protocol: ``../shared/integrations/perspective-api.md``. Our attributes:

* ``COMMENT``: probability that the text is a reader comment rather than editorial prose
  (1 - P(editorial)).
* ``EDITORIAL``: probability that the text is editorial prose (P(editorial)).
* ``SARCASM``: the kind model's probability that a comment is sarcastic rather than opinion;
  only when the loaded model has a kind model. It is given for every text, including texts the
  classifier thinks editorial (the kind model was trained on comments only, so read it together
  with ``COMMENT``).

Only English is supported. Span scores (``spanAnnotations``) are per sentence: the text is cut
after ``.``, ``!``, ``?`` or ``…`` followed by white space, and at line breaks; each sentence is
scored on its own. Offsets are UTF-16 code units, as Perspective's are. Every error of these
routes, the service's own included, is answered in Google's error body (``use_shape`` below).
The request bodies' fields and types are declared in ``service.schemas``.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import secrets
from functools import cache
from pathlib import Path

import numpy as np
from flask import Blueprint, current_app, jsonify, request
from pydantic import ValidationError

from model.classifier import VECTOR_MIN_TEXTS
from model.labels import label_for
from service.auth import keyring
from service.errors import GOOGLE_SHAPE, APIError, use_shape
from service.metrics import record_results
from service.model_access import classifier
from service.schemas import (
    GOOGLE_TYPES,
    MAX_COMMENT_BYTES,
    AnalyzeCommentRequest,
    SuggestCommentScoreRequest,
    google_error,
)
from service.validation import is_blank, json_error_detail, read_body, type_name

bp = Blueprint("perspective", __name__)

DISCOVERY_FILE = Path(__file__).with_name("perspective_discovery.json")
ANALYZE = "/v1alpha1/comments:analyze"
SUGGEST = "/v1alpha1/comments:suggestscore"
SUPPORTED_LANGUAGES = ("en",)
ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


# --- Errors ---------------------------------------------------------------------------------

class PerspectiveError(APIError):
    """An error answered in Google's body (``service.errors.GOOGLE_SHAPE``): status, canonical status,
    message and, for Perspective's own errors, a detail naming the ``errorType``."""

    def __init__(self, message: str, error_type: str | None = "INVALID_REQUEST", status: int = 400,
                 extra: dict | None = None, details: list | None = None, headers: dict | None = None):
        if details is None and error_type:
            details = [{"@type": ERROR_TYPE, "errorType": error_type, **(extra or {})}]
        super().__init__(message, status=status, details=details, headers=headers)


use_shape(bp, GOOGLE_SHAPE)


# --- Request parsing ------------------------------------------------------------------------
# The bodies' fields and types are the models in service.schemas (both spellings of each name,
# null as if absent); what they cannot say (an empty or too long comment, HTML, languages,
# attributes this model scores, span offsets) is checked here.

def parse_message(model, payload: dict):
    """``payload`` as a ``model`` (``service.schemas``), or Perspective's error saying what is wrong."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        kind, detail = google_error(error)
    if kind == "invalid":
        raise PerspectiveError(detail)
    if detail == "requested_attributes":
        raise PerspectiveError("Missing requested_attributes", "NO_REQUESTED_ATTRIBUTES")
    if detail == "attribute_scores":
        raise PerspectiveError("Missing attribute_scores")
    raise PerspectiveError("Comment must be non-empty.", "COMMENT_EMPTY")


# Quote bare object keys, as in the docs' curl sample ``{comment: {text: "..."}}``.
_BARE_KEY = re.compile(r'("(?:[^"\\]|\\.)*")|([{,]\s*)([A-Za-z_$][\w$]*)(\s*:)', re.S)
# The rewrite rescans unterminated strings from every quote (quadratic in the body), so it is
# only tried where the docs' sample style can be meant: a small body whose JSON error is a key
# without quotes.
_BARE_KEY_MAX_BYTES = 4_096


def parse_body(body: bytes) -> dict:
    """The body as a JSON object, whatever its Content-Type; bare keys are tolerated."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PerspectiveError("Invalid JSON payload received. The body is not valid UTF-8.", None) from None
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as error:
        bare_key = isinstance(error, json.JSONDecodeError) and error.msg.startswith("Expecting property name")
        if not bare_key or len(body) > _BARE_KEY_MAX_BYTES:
            raise PerspectiveError(f"Invalid JSON payload received. {json_error_detail(error)}.", None) from None
        quoted = _BARE_KEY.sub(lambda m: m.group(1) or f'{m.group(2)}"{m.group(3)}"{m.group(4)}', text)
        try:
            payload = json.loads(quoted)
        except (ValueError, RecursionError) as error:
            detail = json_error_detail(error)
            raise PerspectiveError(f"Invalid JSON payload received. {detail}.", None) from None
    if not isinstance(payload, dict):
        got = type_name(payload, GOOGLE_TYPES)
        raise PerspectiveError(f"Invalid JSON payload received. Expected an object (got {got}).", None)
    return payload


def check_key() -> None:
    """When API keys are configured, the request's ``key`` (or ``X-Goog-Api-Key``) must be one."""
    ring = keyring()
    if not ring.keys():
        if current_app.config.get("REQUIRE_API_KEY"):
            raise PerspectiveError("This service requires API keys and none are configured.", None, 403)
        return
    given = request.args.get("key") or request.headers.get("X-Goog-Api-Key")
    if not given:
        raise PerspectiveError("The request is missing a valid API key.", None, 403)
    if not ring.matches(given):
        raise PerspectiveError(
            "API key not valid. Please pass a valid API key.", None, 400,
            details=[{"@type": ERROR_INFO, "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                      "metadata": {"service": "commentanalyzer.googleapis.com"}}],
        )


def comment_text(message) -> str:
    """``comment.text``: plain text, non-empty, at most 20 KB (its types checked by the schema)."""
    text = message.comment.text
    if is_blank(text):
        raise PerspectiveError("Comment must be non-empty.", "COMMENT_EMPTY")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        # JSON can carry a lone surrogate ("\ud800"); it is no character, and no UTF-16 offset fits it.
        raise PerspectiveError("Invalid JSON payload received. comment.text holds a lone surrogate.", None) from None
    if size > MAX_COMMENT_BYTES or len(text) > current_app.config["MAX_TEXT_CHARS"]:
        raise PerspectiveError("Comment text too long.", "COMMENT_TOO_LONG")
    if message.comment.type == "HTML":
        raise PerspectiveError("Currently, only 'PLAIN_TEXT' comments are supported")
    return text


def supported(language: str) -> bool:
    """Whether an ISO 639-1 or BCP-47 code names a language our model knows (``en``, ``en-GB``...)."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] in SUPPORTED_LANGUAGES


# --- Attributes -----------------------------------------------------------------------------

def _comment(loaded, text: str) -> float:
    return 1.0 - loaded.editorial_probability(text)


def _editorial(loaded, text: str) -> float:
    return loaded.editorial_probability(text)


def _sarcasm(loaded, text: str) -> float:
    return loaded.kind(text)["scores"]["sarcastic"]


ATTRIBUTES = {
    "COMMENT": (_comment, lambda loaded: True),
    "EDITORIAL": (_editorial, lambda loaded: True),
    "SARCASM": (_sarcasm, lambda loaded: getattr(loaded, "kind_scorer", None) is not None),
}


def attribute_names(loaded) -> list[str]:
    """The attributes the loaded model can score."""
    return [name for name, (_, available) in ATTRIBUTES.items() if available(loaded)]


def requested_attributes(requested: dict, loaded, languages: list[str], drop: bool) -> dict:
    """``{requested name: (scorer, threshold)}`` for the attributes to score, from the request's
    ``requestedAttributes`` (their types checked by the schema)."""
    unsupported_languages = [language for language in languages if not supported(language)]
    chosen = {}
    for key, parameters in requested.items():
        name = key.split("@", 1)[0]  # historical version suffixes: NAME@1
        scored = attribute_names(loaded)
        if name not in scored:
            if drop:
                continue
            # Google's message first (clients match on it), then what this server does score.
            raise PerspectiveError(f"Unknown requested attribute: {key:.100}. Supported attributes: "
                                   f"{', '.join(scored)}")
        if unsupported_languages:
            if drop:
                continue
            raise PerspectiveError(
                f"Attribute {key} does not support request languages: {', '.join(unsupported_languages)}",
                "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                extra={"languageNotSupportedByAttributeError": {
                    "detectedLanguages": [], "requestedLanguages": languages, "attribute": key}},
            )
        score_type = parameters.score_type or "SCORE_TYPE_UNSPECIFIED"
        if score_type not in ("SCORE_TYPE_UNSPECIFIED", "PROBABILITY"):
            raise PerspectiveError(f"Requested score type {score_type} is not supported by attribute {key}")
        chosen[key] = (ATTRIBUTES[name][0], parameters.score_threshold)
    return chosen


# --- Spans ----------------------------------------------------------------------------------

# A sentence runs from a non-blank character to the first end: a run of end marks (with closing
# quotes or brackets) before a blank or the end of the text, a line break, or the end of the
# text. An end-mark run is tried from its first mark only (possessively, and never from a mark
# that follows a mark the sentence has already passed): tried from every mark of a long run
# that is not followed by a blank, it was quadratic in the run's length.
_END = r"[.!?\u2026]++[\"'\u201d\u2019)\]]*+(?=\s|\Z)"
# (The lazy search for the end steps over a run of characters that cannot end a sentence at once,
# and over the rest of a run of end marks where the run's first mark did not end it: only an end
# mark that no mark precedes, a line break or the end of the text can.)
_SENTENCE = re.compile(
    rf"\S(?:{_END}|(?:[^.!?\u2026\n]++|[.!?\u2026]++|.)*?(?:(?<![.!?\u2026]){_END}|(?=\n)|\Z))", re.S)
# The same, with the blanks before each sentence: ``findall`` then gives every sentence with the
# blanks before it, and their lengths give the offsets, with no Python step per sentence. A
# sentence starts at every non-blank character ``finditer`` tries, so the text is blanks and
# sentences in turn, then trailing blanks (cut off first: each attempt from inside a trailing run
# would consume the rest of it).
_BLANKS_AND_SENTENCE = re.compile(rf"\s*+{_SENTENCE.pattern}", re.S)


def sentences(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` as code-point ``(start, end)``, end exclusive, without outer blanks."""
    offsets, _pieces = _sentences(text)
    return list(zip(offsets[0::2], offsets[1::2]))


def _sentences(text: str) -> tuple[list[int], list[str]]:
    """``sentences(text)`` as one list of offsets (start, end, start, end...), and the sentences' texts."""
    found = _BLANKS_AND_SENTENCE.findall(text, 0, len(text.rstrip()))
    if not found:
        return [], []
    count = len(found)
    pieces = list(map(str.strip, found))
    # Each sentence ends its match (before its trailing blanks are cut), and starts after its
    # leading blanks.
    starts = (np.cumsum(np.fromiter(map(len, found), np.intp, count))
              - np.fromiter(map(len, map(str.lstrip, found)), np.intp, count))
    offsets = np.empty(2 * count, dtype=np.intp)
    offsets[0::2] = starts
    offsets[1::2] = starts + np.fromiter(map(len, pieces), np.intp, count)
    return offsets.tolist(), pieces


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def utf16_offsets(text: str, offsets) -> list[int]:
    """Python code-point offsets into ``text`` as UTF-16 code-unit offsets (astral characters count 2):
    each offset plus the astral characters before it."""
    astral = [match.start() for match in _ASTRAL.finditer(text)]
    if not astral:
        return list(offsets)
    return [offset + bisect.bisect_left(astral, offset) for offset in offsets]


class _Scores:
    """The classifier's scores within one request: each text (the comment, each sentence) is scored
    once, whichever and however many attributes ask for it; a text of many equal sentences costs
    one. ``prefetch`` scores many texts at once."""

    def __init__(self, loaded):
        self.loaded = loaded
        self.editorial, self.kinds = {}, {}

    # A text is remembered without its outer blanks: ``normalize`` drops them (whatever the text,
    # a test checks it), so the comment and its one sentence, the comment minus a final line
    # break, are scored once.
    def editorial_probability(self, text: str) -> float:
        key = text.strip()
        probability = self.editorial.get(key)
        if probability is None:
            probability = self.editorial[key] = self.loaded.editorial_probability(text)
        return probability

    def kind(self, text: str) -> dict | None:
        key = text.strip()
        if key not in self.kinds:
            self.kinds[key] = self.loaded.kind(text)
        return self.kinds[key]

    def prefetch(self, texts) -> None:
        """Score the distinct ``texts`` not scored yet: from ``VECTOR_MIN_TEXTS`` of them on, in
        batches (``Classifier.batch_scores``: both models at once, the probabilities ``classify``
        gives a batch, the same up to the order of the floating-point additions); fewer, one by
        one, later."""
        new = [text for text in dict.fromkeys(texts) if text not in self.editorial]
        batch_scores = getattr(self.loaded, "batch_scores", None)
        if batch_scores is None or len(new) < VECTOR_MIN_TEXTS:
            return
        editorial, kinds = batch_scores(new)
        self.editorial.update(zip(new, editorial))
        if kinds is not None:
            self.kinds.update(zip(new, kinds))


def _score(value: float) -> dict:
    return {"value": value, "type": "PROBABILITY"}


# --- Views ----------------------------------------------------------------------------------

@bp.post(ANALYZE)
def analyze():
    """AnalyzeComment: scores for the requested attributes, with per-sentence spans if asked."""
    check_key()
    loaded = classifier()
    message = parse_message(AnalyzeCommentRequest, parse_body(read_body(request)))
    text = comment_text(message)
    languages = message.languages or None
    if languages is None and not any(ch.isalpha() for ch in text):
        raise PerspectiveError("Unable to detect language", "LANGUAGE_DETECTION_FAILED")
    used_languages = languages or ["en"]  # no detector: without `languages`, we assume English
    drop = bool(message.drop_unsupported_attributes)
    attributes = requested_attributes(message.requested_attributes, loaded, used_languages, drop)
    spans_wanted = message.span_annotations  # doNotStore is accepted: nothing is ever stored

    offsets, pieces = _sentences(text) if spans_wanted else ([], [])
    units = utf16_offsets(text, offsets)
    scores = {}
    p_editorial = None
    scored = _Scores(loaded)
    distinct = None
    shared = {}  # what the attributes' span lists share (_SpanScores)
    for key, (scorer, threshold) in attributes.items():
        summary = scorer(scored, text)
        if scorer in (_editorial, _comment):
            p_editorial = summary if scorer is _editorial else 1.0 - summary
        if threshold is not None and summary < threshold:
            continue
        entry = {}
        if pieces:
            if distinct is None:
                distinct = list(dict.fromkeys(pieces))
                scored.prefetch(distinct)
            if len(distinct) == 1:
                values = [scorer(scored, distinct[0])] * len(pieces)
            else:
                value_of = {piece: scorer(scored, piece) for piece in distinct}
                values = list(map(value_of.__getitem__, pieces))
            entry["spanScores"] = _SpanScores(units, values, shared)
        entry["summaryScore"] = _score(summary)
        scores[key] = entry
    record_results([] if p_editorial is None else [{"label": label_for(p_editorial)}], [text], loaded.version)
    response = {}
    if scores:
        response["attributeScores"] = scores
    response["languages"] = used_languages
    if message.client_token is not None:
        response["clientToken"] = message.client_token
    return _json_response(response)


class _SpanScores:
    """An attribute's ``spanScores`` list, written as JSON text directly: a comment of thousands of
    sentences has as many entries per attribute, and the JSON encoder's two dicts an entry took
    most of such a request. The text is what ``jsonify`` writes for the list of dicts.

    ``shared`` is a dict the lists of one answer share (their spans are the same): the spans'
    offsets are written once, by the first list written, as pieces between which each list puts
    its scores."""

    def __init__(self, units: list[int], values: list[float], shared: dict | None = None):
        self.units, self.values = units, values
        self.shared = {} if shared is None else shared

    def as_dicts(self) -> list[dict]:
        return [{"begin": self.units[2 * i], "end": self.units[2 * i + 1], "score": _score(value)}
                for i, value in enumerate(self.values)]

    def json(self) -> str | None:
        """The list as JSON text, or None when a value is not a finite float (never expected)."""
        distinct = set(self.values)
        if not all(type(value) is float and math.isfinite(value) for value in distinct):
            return None
        count = len(self.values)
        if not count:
            return "[]"
        score = {value: f',"score":{{"value":{value!r},"type":"PROBABILITY"}}}}' for value in distinct}
        pieces = self.shared.get("pieces")
        if pieces is None:
            # '[{"begin":0,"end":5', ',{"begin":6,"end":18', ..., ']': one format for all spans.
            template = '{"begin":%d,"end":%d\x00,' * count
            pieces = self.shared["pieces"] = ("[" + (template % tuple(self.units))[:-1] + "]").split("\x00")
        if len(distinct) == 1:
            return score[self.values[0]].join(pieces)
        parts = [None] * (2 * count + 1)
        parts[0::2] = pieces
        parts[1::2] = map(score.__getitem__, self.values)
        return "".join(parts)


def _json_response(response: dict):
    """``jsonify(response)``, with each ``_SpanScores`` written by itself (the same bytes).

    Each list stands in the encoded document as a placeholder string until it is replaced by its
    text. A placeholder holds 128 random bits drawn for this answer, and it must occur exactly once
    in the encoded document (a client's text, an attribute name or the client token, cannot
    guess it, and is never touched if it did). Should that fail, a score not be a finite float
    (never expected) or the app not write compact JSON (the service always does), the whole
    answer is encoded the ordinary way.
    """
    entries = [entry for entry in response.get("attributeScores", {}).values() if "spanScores" in entry]
    written = [entry["spanScores"].json() for entry in entries] if current_app.json.compact is True else [None]
    if None in written:
        for entry in entries:
            entry["spanScores"] = entry["spanScores"].as_dicts()
        return jsonify(response)
    lists, marks = [], []
    for entry in entries:
        lists.append(entry["spanScores"])
        marks.append(f"spanScores-{secrets.token_hex(16)}")
        entry["spanScores"] = marks[-1]
    answer = jsonify(response)
    if marks:
        body = answer.get_data(as_text=True)
        if not all(body.count(f'"{mark}"') == 1 for mark in marks):
            for entry, span_scores in zip(entries, lists):
                entry["spanScores"] = span_scores.as_dicts()
            return jsonify(response)
        for mark, text in zip(marks, written):
            body = body.replace(f'"{mark}"', text, 1)
        answer.set_data(body)
    return answer


@bp.post(SUGGEST)
def suggest_score():
    """SuggestCommentScore: validated and acknowledged; nothing is stored (no feedback store yet)."""
    check_key()
    message = parse_message(SuggestCommentScoreRequest, parse_body(read_body(request)))
    text = comment_text(message)
    length = len(text.encode("utf-16-le")) // 2
    for name, entry in message.attribute_scores.items():
        for i, span in enumerate(entry.span_scores or []):
            if not 0 <= span.begin <= span.end <= length:
                raise PerspectiveError(f"attribute_scores[{name}].span_scores[{i}]: begin {span.begin} and end "
                                       f"{span.end} must satisfy 0 <= begin <= end <= {length} (UTF-16 code units)")
    response = {}
    if message.client_token is not None:
        response["clientToken"] = message.client_token
    if message.languages:
        response["requestedLanguages"] = message.languages
    return jsonify(response)


_OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE"]


@bp.route(ANALYZE, methods=_OTHER_METHODS)
@bp.route(SUGGEST, methods=_OTHER_METHODS)
def _wrong_method():
    raise PerspectiveError(f"Method {request.method} is not allowed on {request.path}; use POST.", None, 405,
                           headers={"Allow": "POST"})


@bp.route("/v1alpha1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def _unknown_method(rest):
    raise PerspectiveError(f"Method not found: /v1alpha1/{rest}", None, 404)


# --- Discovery ------------------------------------------------------------------------------

@cache
def _discovery_text() -> str:
    return DISCOVERY_FILE.read_text(encoding="utf-8")


def discovery_document(root_url: str) -> dict:
    """Google's discovery document with its URLs pointing at ``root_url`` (ending in ``/``)."""
    document = json.loads(_discovery_text())
    document["rootUrl"] = root_url
    document["baseUrl"] = root_url + document.get("servicePath", "")
    document.pop("mtlsRootUrl", None)
    return document


@bp.get("/$discovery/rest")
def discovery():
    """The discovery document, where Google's clients fetch it (``?version=v1alpha1``)."""
    check_key()
    version = request.args.get("version", "v1alpha1")
    if version != "v1alpha1":
        raise PerspectiveError(f"Discovery document not found for API service: commentanalyzer {version}",
                               None, 404)
    return jsonify(discovery_document(request.host_url))


@bp.get("/discovery/v1/apis/commentanalyzer/v1alpha1/rest")
def discovery_v1():
    """The discovery document under the client library's older URL template."""
    check_key()
    return jsonify(discovery_document(request.host_url))
