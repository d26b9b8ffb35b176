"""The JSON request bodies the service accepts, declared once as pydantic models.

This module owns what a body may hold: each field's type (strictly: ``"1"`` is no number and
``true`` no integer), which fields are required or exclusive, their lengths and limits, and the
wording of the error a body that does not fit gets (``invalid_request`` below turns pydantic's
errors into the service's ``InvalidRequest`` with the codes and messages of docs/api.md). The
same models give the bodies' JSON Schemas, which ``service.openapi`` puts in the OpenAPI
document. The bytes are read and parsed before a model sees them (``service.validation``: strict
UTF-8, duplicate keys refused). Limits an operator can change (``MAX_TEXT_CHARS``,
``MAX_TEXTS``, ``MAX_PAGE_CHARS``) are checked against the app's configuration, passed as the
validation context; the schemas show their defaults.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple, Union

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from feedback import VERDICTS
from model.labels import KINDS, check_band
from service import DEFAULTS
from service.errors import InvalidRequest
from service.validation import is_blank, type_name


class Limits(NamedTuple):
    """The limits an operator can configure, as one request is checked against them."""

    max_text_chars: int = DEFAULTS["MAX_TEXT_CHARS"]
    max_texts: int = DEFAULTS["MAX_TEXTS"]
    max_page_chars: int = DEFAULTS["MAX_PAGE_CHARS"]

    @classmethod
    def of(cls, config) -> Limits:
        """The limits in an app's configuration (asked for on every request, so made once)."""
        return _cached_limits(config["MAX_TEXT_CHARS"], config["MAX_TEXTS"], config["MAX_PAGE_CHARS"])


@lru_cache(maxsize=16)
def _cached_limits(max_text_chars: int, max_texts: int, max_page_chars: int) -> Limits:
    return Limits(max_text_chars, max_texts, max_page_chars)


DEFAULT_LIMITS = Limits()


def _limits(info: ValidationInfo) -> Limits:
    return (info.context or {}).get("limits", DEFAULT_LIMITS)


def _error(code: str, message: str, **context) -> PydanticCustomError:
    """An error in the service's own words: ``code`` is the API's error code; ``{where}`` in
    ``message`` is filled in by ``invalid_request`` with the field's name as the API writes it."""
    return PydanticCustomError(code, message, context)


# --- Texts ----------------------------------------------------------------------------------

def _text_error(value: str, limit: int, where: str = "{where}") -> PydanticCustomError | None:
    """What is wrong with ``value`` as a text to classify, or None."""
    if is_blank(value):
        return _error("empty_text", where + " is empty or only whitespace or invisible characters")
    if len(value) > limit:
        return _error("text_too_long", where + " has {length} characters; the limit is {limit}",
                      length=len(value), limit=limit)
    return None


def _text(value: str, info: ValidationInfo) -> str:
    error = _text_error(value, _limits(info).max_text_chars)
    if error is not None:
        raise error
    return value


_TEXT_SCHEMA = {
    "minLength": 1, "maxLength": DEFAULTS["MAX_TEXT_CHARS"],
    "description": f"A text to classify: at most `MAX_TEXT_CHARS` ({DEFAULTS['MAX_TEXT_CHARS']:,}) characters, "
                   "not only white space (else `empty_text`).",
}
Text = Annotated[str, AfterValidator(_text), Field(json_schema_extra=_TEXT_SCHEMA)]


def _texts(noun: str, too_many: str, description: str):
    """A list of 1 to ``MAX_TEXTS`` texts, named ``noun`` in messages; over the limit is ``too_many``.

    The count is checked before the items, so that a batch that is too big is refused as such
    without its items being looked at. The items' types are checked by pydantic, their contents
    in one loop (a validator called per item would cost several times as much in a big batch).
    """
    def count(value, info: ValidationInfo):
        if isinstance(value, list):
            limit = _limits(info).max_texts
            if not value:
                raise _error("invalid_request", "{where} is empty: send 1 to {limit} " + noun, limit=limit)
            if len(value) > limit:
                raise _error(too_many, "{where} has {count} items; the limit is {limit}", count=len(value), limit=limit)
        return value

    def each(values: list[str], info: ValidationInfo) -> list[str]:
        limit = _limits(info).max_text_chars
        for index, value in enumerate(values):
            if len(value) > limit or is_blank(value):
                raise _text_error(value, limit, "{where}" + f"[{index}]")
        return values

    item = Annotated[str, Field(json_schema_extra=_TEXT_SCHEMA)]
    return Annotated[list[item], BeforeValidator(count), AfterValidator(each), Field(json_schema_extra={
        "minItems": 1, "maxItems": DEFAULTS["MAX_TEXTS"], "description": description})]


def _page(value: str, info: ValidationInfo) -> str:
    limit = _limits(info).max_page_chars
    if len(value) > limit:
        raise _error("text_too_long", "{where} has {length} characters; the limit for a page is {limit}",
                     length=len(value), limit=limit)
    return value


def _page_string(description: str):
    return Annotated[str, AfterValidator(_page), Field(json_schema_extra={
        "maxLength": DEFAULTS["MAX_PAGE_CHARS"], "description": description})]


def _band(value: list) -> tuple[float, float]:
    if value[0] > value[1]:
        raise _error("invalid_review_band", "low > high")  # worded by check_band in invalid_request
    return value[0], value[1]


Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
ReviewBand = Annotated[list[Probability], Field(min_length=2, max_length=2), AfterValidator(_band), Field(
    description="`[low, high]`, `0 <= low <= high <= 1`: a P(editorial) inside `[low, high)` gets the decision "
                "`review`. Overrides the service's band for this request; `[0.5, 0.5]` turns review off. On "
                "`/v1/segment` the band holds each block's `page_scores` instead (an editorial block is decided at "
                "`page_scores.editorial >= high`, a comment at `page_scores.comment > 1 - low`) and overrides the "
                "model's page band; `[0, 1]` there sends every text block to review, `[0.5, 0.5]` decides every "
                "block whose page gives its label at least half.",
    examples=[[0.1, 0.86]],
)]


# --- Models ---------------------------------------------------------------------------------

class _Body(BaseModel):
    """A request body: strict types; fields the endpoint does not know are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Options(_Body):
    """The options every scoring request takes."""

    review_band: ReviewBand = None
    explain: bool = Field(False, description="Add each result's `explanation`.")
    explain_top: int = Field(10, ge=1, le=100, description="How many terms an explanation shows.")


def _exclusive(*others: str) -> dict:
    """The schema's way of saying that none of ``others`` may come with this alternative."""
    if len(others) == 1:
        return {"not": {"required": list(others)}}
    return {"not": {"anyOf": [{"required": [name]} for name in others]}}


class ClassifySingle(_Options):
    model_config = ConfigDict(title="one text", json_schema_extra=_exclusive("texts"))

    text: Text


class ClassifyBatch(_Options):
    model_config = ConfigDict(title="a batch", json_schema_extra=_exclusive("text"))

    texts: _texts("texts", "too_many_texts", f"1 to `MAX_TEXTS` ({DEFAULTS['MAX_TEXTS']:,}) texts.")


def _one_of(payload: dict, single: str, single_is: str, many: str) -> None:
    """400 unless exactly one of ``single`` and ``many`` was sent."""
    has_single, has_many = single in payload, many in payload
    if has_single == has_many:
        got = " (got both)" if has_single else f" (got keys: {', '.join(sorted(payload)) or 'none'})"
        raise _error("invalid_request", f"send exactly one of '{single}' ({single_is}) or '{many}' (a list of strings)"
                     + got)


class ClassifyRequest(RootModel):
    """``POST /v1/classify``: one text or a batch."""

    model_config = ConfigDict(json_schema_extra={
        "description": "Exactly one of `text` (one text) or `texts` (a batch, answered in order). Other fields "
                       "are ignored.",
        "example": {"text": "Honestly, who still believes a word these people say??", "explain": True,
                    "explain_top": 3},
    })

    root: Annotated[Union[Annotated[ClassifySingle, Tag("single")], Annotated[ClassifyBatch, Tag("batch")]],
                    Discriminator(lambda body: "single" if "text" in body else "batch")]

    @model_validator(mode="before")
    @classmethod
    def _text_or_texts(cls, payload):
        _one_of(payload, "text", "a string", "texts")
        return payload


class SegmentText(_Options):
    model_config = ConfigDict(title="a page", json_schema_extra=_exclusive("blocks", "html"))

    text: _page_string(
        f"The page as plain text, with at least one non-blank line, at most `MAX_PAGE_CHARS` "
        f"({DEFAULTS['MAX_PAGE_CHARS']:,}) characters; each non-blank line is a block (at most `MAX_TEXT_CHARS` "
        "characters, at most `MAX_TEXTS` blocks).")


class SegmentBlocks(_Options):
    model_config = ConfigDict(title="blocks", json_schema_extra=_exclusive("text", "html"))

    blocks: _texts("blocks", "too_many_blocks", f"1 to `MAX_TEXTS` ({DEFAULTS['MAX_TEXTS']:,}) blocks, in page order.")


class SegmentHTML(_Options):
    model_config = ConfigDict(title="an HTML page", json_schema_extra=_exclusive("text", "blocks"))

    html: _page_string(
        f"The page as HTML, at most `MAX_PAGE_CHARS` ({DEFAULTS['MAX_PAGE_CHARS']:,}) characters, elements nested "
        "at most 1,000 deep (else `html_too_deep`). Parsed by an HTML5 parser that accepts any markup (unclosed "
        "tags, stray end tags); scripts, styles and other invisible elements are dropped; a declared charset is "
        "ignored (the JSON string is already text). Each block-level element's text is a block (at most "
        "`MAX_TEXT_CHARS` characters, at most `MAX_TEXTS` blocks, at least one, else `empty_text`); the markup "
        "(comment containers, `article`, `nav`/`aside`/`footer`, class and id names) is evidence for the labels.")


def _page_kind(body) -> str:
    return "html" if "html" in body else "text" if "text" in body else "blocks"


class SegmentRequest(RootModel):
    """``POST /v1/segment``: a page as text, as blocks or as HTML."""

    model_config = ConfigDict(json_schema_extra={
        "description": "Exactly one of `text` (the page, blocks separated by line breaks), `blocks` or `html`. "
                       "Other fields are ignored.",
        "example": {"text": "The council voted 7-2 to approve the plan, officials said.\n"
                            "lol as if that will ever happen\nReply"},
    })

    root: Annotated[Union[Annotated[SegmentText, Tag("text")], Annotated[SegmentBlocks, Tag("blocks")],
                          Annotated[SegmentHTML, Tag("html")]], Discriminator(_page_kind)]

    @model_validator(mode="before")
    @classmethod
    def _one_page(cls, payload):
        if "html" in payload:
            extra = sorted(set(payload) & {"text", "blocks"})
            if extra:
                raise _error("invalid_request", "send exactly one of 'text', 'blocks' or 'html' (got 'html' and "
                             + ", ".join(repr(key) for key in extra) + ")")
        elif "text" not in payload and "blocks" not in payload:
            keys = ", ".join(sorted(payload)) or "none"
            raise _error("invalid_request", "send exactly one of 'text' (the page as a string), 'blocks' (a list of "
                         "strings) or 'html' (the page's HTML) (got keys: " + keys + ")")
        else:
            _one_of(payload, "text", "the page as a string", "blocks")
        return payload


# --- Feedback -------------------------------------------------------------------------------

def _storable(value: str) -> str:
    """``value`` if it can be stored as UTF-8: a lone surrogate (``"\\ud800"``) is valid JSON but no text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _error("invalid_request", "{where} holds an unpaired surrogate (an invalid \\u escape); "
                     "send the text as UTF-8") from None
    return value


def _bounded(limit: int, description: str):
    """An optional string of 1 to ``limit`` characters, not blank; null is as if absent."""
    def check(value: str) -> str:
        if not value.strip() or len(value) > limit:
            raise _error("invalid_request", "{where} must have 1 to {limit} characters (got {length})",
                         limit=limit, length=len(value))
        return _storable(value)

    return Annotated[Union[Annotated[str, AfterValidator(check)], None], Field(
        None, json_schema_extra={"minLength": 1, "maxLength": limit}, description=description)]


# The feedback's optional strings and their longest accepted lengths, in characters.
FEEDBACK_STRING_LIMITS = {"comment_id": 200, "moderator": 200, "model_version": 200, "note": 2000}


class FeedbackScores(BaseModel):
    """The scores the moderator saw, as the service answered them: `editorial` and/or `comment`."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, json_schema_extra={"minProperties": 1})

    editorial: Probability = None
    comment: Probability = None

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, value):
        if value == {}:
            raise _error("invalid_request", "no scores")  # worded in invalid_request, as the other shape errors
        return value


class FeedbackRequest(BaseModel):
    """A moderator's label for a text. Optional fields may be null (as if absent); strings are 1 to their limit
    in characters, not blank. Unknown fields are refused (`invalid_request`)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, json_schema_extra={"example": {
        "text": "lol as if that will ever happen", "label": "comment", "kind": "sarcastic", "comment_id": "c-1234",
        "moderator": "ana", "model_version": "20261202T170610Z-500c1e85-ba2a",
        "scores": {"editorial": 0.02, "comment": 0.98}}})

    # In the order they are checked: the first field that is wrong is the one the error names.
    label: Literal[VERDICTS] = Field(description=(
        "The moderator's label: `editorial`, `comment`, or `other` for page chrome (menus, bylines, share "
        "buttons), which is neither; `other` is kept for the page segmenter and left out when the text "
        "classifier is retrained (anything else: `invalid_label`)."))
    kind: Literal[KINDS] | None = Field(None, description="For a comment, its kind (only with `label: comment`).")
    text: Annotated[Text, AfterValidator(_storable)]
    scores: FeedbackScores | None = None
    comment_id: _bounded(FEEDBACK_STRING_LIMITS["comment_id"], "The comment's id in the moderation tool; with `moderator`, a second label of the "
                              "same comment by the same moderator updates the first.")
    moderator: _bounded(FEEDBACK_STRING_LIMITS["moderator"], "Who labelled it.")
    model_version: _bounded(FEEDBACK_STRING_LIMITS["model_version"], "The model version whose answer the moderator saw.")
    note: _bounded(FEEDBACK_STRING_LIMITS["note"], "A remark for whoever retrains the model.")

    @field_validator("kind")
    @classmethod
    def _kind_of_a_comment(cls, kind, info: ValidationInfo):
        if kind is not None and info.data.get("label", "comment") != "comment":
            raise _error("invalid_label", "'kind' applies to comments only: send it with 'label': 'comment'")
        return kind

    def verdict(self) -> dict:
        """The verdict as the feedback store takes it (every field; scores as sent)."""
        verdict = self.model_dump(exclude={"scores"})
        verdict["scores"] = None if self.scores is None else self.scores.model_dump(exclude_unset=True)
        return verdict


# --- Coral Talk -----------------------------------------------------------------------------

class CoralComment(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    body: str = Field(description="The comment's HTML (or plain text).")


class CoralModerationRequest(BaseModel):
    """Talk's external moderation request (other fields are ignored)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, json_schema_extra={"example": {
        "action": "NEW", "comment": {"id": "c1", "body": "<p>Great article!</p>"}, "story": {"id": "s1"}}})

    action: Literal["NEW", "EDIT"]
    comment: CoralComment
    # Only logged: a story that is not an object is left out of the log line, never refused.
    story: Annotated[Any, WithJsonSchema({"type": "object", "properties": {"id": {"type": "string"}},
                                          "description": "Logged (its id)."})] = None


# --- Perspective ----------------------------------------------------------------------------
# Google's Comment Analyzer messages (v1alpha1): types only. What needs the loaded model, the
# configuration or the text itself (an empty or too long comment, HTML, languages, attributes this
# model scores, span offsets) is checked by service/integrations/perspective.py, in Google's words.

# Perspective's documented limit is "20 KB"; we read it as 20,480 bytes of UTF-8.
MAX_COMMENT_BYTES = 20_480
SCORE_TYPES = ("SCORE_TYPE_UNSPECIFIED", "PROBABILITY", "STD_DEV_SCORE", "PERCENTILE", "RAW")
TEXT_TYPES = ("TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT", "HTML")


def _both_spellings(name: str) -> AliasChoices:
    return AliasChoices(to_camel(name), name)


class _Message(BaseModel):
    """A proto3 JSON message: each field under its lowerCamelCase or snake_case name (the first
    one present wins), null as if absent, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True,
                              alias_generator=AliasGenerator(validation_alias=_both_spellings))

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, message):
        if isinstance(message, dict):
            return {key: value for key, value in message.items() if value is not None}
        return message


def _nulls_as_empty(entries):
    """A map's null values as empty messages (proto3 JSON's null for a message field)."""
    if isinstance(entries, dict):
        return {key: {} if value is None else value for key, value in entries.items()}
    return entries


class TextEntry(_Message):
    text: str = None
    # Context is checked, not used: its type is not refused.
    type: str = Field(None, json_schema_extra={"enum": list(TEXT_TYPES)})


class Comment(_Message):
    text: str = Field(description=f"Non-empty, at most {MAX_COMMENT_BYTES:,} bytes of UTF-8 (and `MAX_TEXT_CHARS` "
                                  "characters).")
    type: Literal[TEXT_TYPES] = Field(None, description="`HTML` is refused (only plain text).")


class ArticleAndParentComment(_Message):
    article: TextEntry = None
    parent_comment: TextEntry = None


class Context(_Message):
    """Checked, not used. Either `entries` or `articleAndParentComment`."""

    entries: list[TextEntry] = None
    article_and_parent_comment: ArticleAndParentComment = None

    @model_validator(mode="after")
    def _either(self):
        article = self.article_and_parent_comment
        if self.entries and article is not None and article.model_fields_set:
            raise _error("INVALID_REQUEST", "Context can have either entries or article_and_parent_comment, "
                                            "but both fields were populated.")
        return self


class AttributeParameters(_Message):
    """How to score one attribute."""

    score_type: Literal[SCORE_TYPES] = Field(None, description="Only `PROBABILITY` (or unspecified).")
    score_threshold: float = Field(None, allow_inf_nan=False,
                                   description="Leave out the attribute if its summary score is under this.")


# The attributes the adapter scores (service/integrations/perspective.py ATTRIBUTES), named in the schema.
ATTRIBUTE_NAMES = ("COMMENT", "EDITORIAL", "SARCASM")


def _name_the_attributes(schema: dict) -> None:
    schema["description"] = (
        "The attributes to score: `COMMENT` (P(comment)), `EDITORIAL` (P(editorial)), `SARCASM` (the kind model's "
        "P(sarcastic), with a model that has one); `NAME@1` suffixes are accepted; any other name is `Unknown "
        "requested attribute`, or dropped with `dropUnsupportedAttributes`.")
    schema["properties"] = {name: schema["additionalProperties"] for name in ATTRIBUTE_NAMES}


class AnalyzeCommentRequest(_Message):
    """Perspective's AnalyzeComment request. Field names may also be given in snake_case (proto3 JSON); bare
    object keys (`{comment: {...}}`) are tolerated in small bodies."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "comment": {"text": "lol as if that will ever happen"}, "requestedAttributes": {"COMMENT": {}, "EDITORIAL": {}},
        "languages": ["en"], "spanAnnotations": True}})

    # In the order they are checked: the first field that is wrong is the one the error names.
    comment: Comment
    context: Context = None
    languages: list[str] = Field(None, description="English only (`en`, `en-GB`...); none means English.")
    drop_unsupported_attributes: bool = None
    requested_attributes: Annotated[dict[str, AttributeParameters], BeforeValidator(_nulls_as_empty)] = Field(
        min_length=1, json_schema_extra=_name_the_attributes)
    span_annotations: bool = Field(None, description="Add per-sentence `spanScores`.")
    do_not_store: bool = Field(None, description="Accepted; nothing is ever stored.")
    client_token: str = Field(None, description="Echoed in the response.")
    session_id: str = None
    community_id: str = None


class SuggestedScore(_Message):
    value: float = Field(allow_inf_nan=False, description="Use 0 or 1 for a binary judgement.")
    type: Literal[SCORE_TYPES] = None


class SuggestedSpanScore(_Message):
    # Offsets are checked against the comment's length by the adapter.
    begin: int = Field(json_schema_extra={"minimum": 0})
    end: int = Field(json_schema_extra={"minimum": 0})
    score: SuggestedScore


class SuggestedAttributeScores(_Message):
    """A `summaryScore`, `spanScores`, or both."""

    summary_score: SuggestedScore = None
    span_scores: list[SuggestedSpanScore] = None

    @model_validator(mode="after")
    def _a_score(self):
        if self.summary_score is None and not self.span_scores:
            raise _error("INVALID_REQUEST", "{where} must have a summary_score or span_scores")
        return self


class SuggestCommentScoreRequest(_Message):
    """Perspective's SuggestCommentScore request: validated and acknowledged; not stored."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "comment": {"text": "The council met on Monday."}, "attributeScores": {"EDITORIAL": {"summaryScore": {"value": 1}}}}})

    comment: Comment
    context: Context = None
    languages: list[str] = None
    client_token: str = None
    session_id: str = None
    community_id: str = None
    attribute_scores: Annotated[dict[str, SuggestedAttributeScores], BeforeValidator(_nulls_as_empty)] = Field(
        min_length=1)


# JSON types as Google's messages name them ("integer" where the service says "int"), and what
# each of pydantic's type errors expected.
GOOGLE_TYPES = {int: "integer"}
_EXPECTED = {"string_type": "a string", "literal_error": "a string", "model_type": "an object", "dict_type": "an object",
             "model_attributes_type": "an object", "list_type": "an array", "bool_type": "a boolean",
             "float_type": "a number", "int_type": "an integer"}
_MAPS = {"requested_attributes", "attribute_scores"}  # the next part of a location is a key of the map


def _google_where(location) -> str:
    where, in_map = "", False
    for part in location:
        if isinstance(part, int) or in_map:
            where += f"[{part}]"
            in_map = False
            continue
        name = re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), part)
        where += ("." if where else "") + name
        in_map = name in _MAPS
    return where


def google_error(error: ValidationError) -> tuple[str, str]:
    """Pydantic's ``error`` as Perspective words it: ``("missing", field)`` when a required field
    (``comment``, ``comment.text``, ``requested_attributes``, ``attribute_scores``) is absent or
    empty, which the adapter answers with Perspective's own error types; else ``("invalid",
    message)``, an INVALID_REQUEST."""
    chosen = error.errors(include_url=False)[0]
    location, kind, value = chosen["loc"], chosen["type"], chosen.get("input")
    where = _google_where(location)
    parent = _google_where(location[:-1])
    if kind == "INVALID_REQUEST":
        return "invalid", chosen["msg"].replace("{where}", where)
    if kind in ("missing", "too_short") and where in ("comment", "comment.text", "requested_attributes",
                                                     "attribute_scores"):
        return "missing", where
    if where.startswith("attribute_scores["):
        if location[-1] == "value" and kind in ("missing", "finite_number"):
            return "invalid", f"{parent} must have a value (use 0 or 1 for a binary judgement)"
        if location[-1] == "score" and kind == "missing":
            return "invalid", f"{where} must have a value (use 0 or 1 for a binary judgement)"
        if location[-1] in ("begin", "end") and kind == "missing":
            return "invalid", f"{parent} must have begin and end"
    if kind == "literal_error" and isinstance(value, str):
        if where == "comment.type":
            return "invalid", f"Unknown text type: {value}"
        return "invalid", f"Invalid value at '{where}': {value}"
    if kind == "finite_number":
        return "invalid", f"Invalid value at '{where}': {value}"
    expected = _EXPECTED.get(kind)
    if expected is None:
        return "invalid", f"Invalid value at '{where}': {chosen['msg']}"
    return "invalid", f"Invalid value at '{where}': expected {expected} (got {type_name(value, GOOGLE_TYPES)})"


# --- Errors ---------------------------------------------------------------------------------

class InvalidReviewBand(InvalidRequest):
    """The request's ``review_band`` is not a band."""

    status = 400
    code = "invalid_review_band"


class InvalidLabel(InvalidRequest):
    """A moderator's label or kind is not one the service knows."""

    status = 400
    code = "invalid_label"


def _band_message(value, _error) -> str:
    try:
        check_band(value)
    except ValueError as error:
        return f"'review_band': {error}"
    return f"'review_band': a review band needs 0 <= low <= high <= 1 (got {value!r:.80})"


def _scores_message(value, _error) -> str:
    got = sorted(value) if isinstance(value, dict) else type_name(value)
    return ("'scores' must be an object with 'editorial' and/or 'comment' probabilities, as the service "
            f"answered them (got {got})")


# How the service words pydantic's own errors: {(field, pydantic error type or "*"): (code or
# InvalidRequest class, message)}.
# A message is a format string ({where}: the field as the API names it; {got}: the JSON type that
# arrived; {value}: what arrived) or a function of the field's value and the error. A field is named
# by its path without list indexes ("texts", "scores.editorial"); "*" is any field.
WORDING: dict[tuple[str, str], tuple[str | type[InvalidRequest], Any]] = {
    ("*", "string_type"): ("invalid_request", "{where} must be a string (got {got})"),
    ("texts", "list_type"): ("invalid_request", "{where} must be a list of strings (got {got})"),
    ("blocks", "list_type"): ("invalid_request", "{where} must be a list of strings (got {got})"),
    ("explain", "*"): ("invalid_request", "{where} must be true or false (got {got})"),
    ("explain_top", "*"): ("invalid_request", "{where} must be a whole number from 1 to 100 (got {value!r:.40})"),
    ("review_band", "*"): (InvalidReviewBand, _band_message),
    ("review_band.*", "*"): (InvalidReviewBand, _band_message),
    ("label", "*"): (InvalidLabel, "'label' must be 'editorial' or 'comment', or 'other' for page chrome "
                                      "(got {value!r:.40})"),
    ("kind", "*"): (InvalidLabel, "'kind' must be 'sarcastic' or 'opinion' (got {value!r:.40})"),
    ("text", "missing"): ("invalid_request", "send 'text' (the text the moderator judged) and 'label' "
                                             "('editorial', 'comment' or 'other')"),
    ("scores", "*"): ("invalid_request", _scores_message),
    ("scores.*", "extra_forbidden"): ("invalid_request", _scores_message),
    ("scores.*", "*"): ("invalid_request", "{where} must be a number from 0 to 1 (got {value!r:.40})"),
    ("action", "*"): ("invalid_request", "'action' must be one of NEW, EDIT (got {value!r:.40})"),
    ("comment", "*"): ("invalid_request", "'comment.body' must be a string (the comment's HTML or plain text)"),
    ("comment.body", "*"): ("invalid_request", "'comment.body' must be a string (the comment's HTML or plain text)"),
}
WORDING[("label", "missing")] = WORDING[("text", "missing")]
_TAGS = {"single", "batch", "text", "blocks", "html"}
_UNION_MODELS = (ClassifyRequest, SegmentRequest)


def _where(path: list) -> str:
    names = ".".join(part for part in path if isinstance(part, str))
    return f"'{names}'" + "".join(f"[{part}]" for part in path if isinstance(part, int))


def _wording(path: list, kind: str):
    names = [part for part in path if isinstance(part, str)]
    field = ".".join(names)
    parent = ".".join(names[:-1]) + ".*" if len(names) > 1 else None
    for key in ((field, kind), (field, "*"), (parent, kind), (parent, "*"), ("*", kind)):
        if key in WORDING:
            return WORDING[key]
    return None


def _first(errors: list[dict]) -> dict:
    """The error to answer with: an unknown field, else a missing one, else the first in the order
    the fields are declared (the order they are checked in), an unknown key inside that field first."""
    for kind in ("extra_forbidden", "missing"):
        for error in errors:
            if error["type"] == kind and len(error["loc"]) == 1:
                return error
    field = errors[0]["loc"][:1]
    return next((error for error in errors if error["type"] == "extra_forbidden" and error["loc"][:1] == field),
                errors[0])


def invalid_request(error: ValidationError, model: type[BaseModel], payload: dict) -> InvalidRequest:
    """Pydantic's ``error`` for ``payload`` as the service's ``InvalidRequest``: the API's code and wording."""
    errors = error.errors(include_url=False)
    chosen = _first(errors)
    path = list(chosen["loc"])
    if model in _UNION_MODELS and path and path[0] in _TAGS:
        path = path[1:]  # the alternative's tag, not a field
    kind = chosen["type"]
    if kind == "extra_forbidden" and len(path) == 1:
        unknown = sorted(str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1)
        accepted = ", ".join(sorted(model.model_fields))
        return InvalidRequest(f"unknown field(s) {', '.join(map(repr, unknown))}; accepted: {accepted}")
    where = _where(path)
    wording = _wording(path, kind)
    if wording is None or (kind in _OWN_CODES and not callable(wording[1])):
        if kind in _OWN_CODES:  # raised by a validator here, already in the service's words
            return InvalidRequest(chosen["msg"].replace("{where}", where), code=kind)
        return InvalidRequest(f"{where} is not valid: {chosen['msg']}")
    code, message = wording
    error_class, code = (code, None) if isinstance(code, type) else (InvalidRequest, code)
    value = chosen.get("input") if kind != "missing" else None
    if callable(message):
        top = payload.get(path[0]) if path and isinstance(payload, dict) else value
        return error_class(message(top, chosen), code=code)
    return error_class(message.format(where=where, got=type_name(value), value=value), code=code)


_OWN_CODES = {"invalid_request", "empty_text", "text_too_long", "too_many_texts", "too_many_blocks",
              "invalid_label", "invalid_review_band"}


def parse(model: type[BaseModel], payload: dict, limits: Limits = DEFAULT_LIMITS):
    """``payload`` as a ``model``, or 400 ``InvalidRequest`` saying what is wrong with it."""
    try:
        return model.model_validate(payload, context={"limits": limits})
    except ValidationError as error:
        raise invalid_request(error, model, payload) from None


# The bodies whose schemas the OpenAPI document takes from here, under these names.
DOCUMENTED = {
    "ClassifyRequest": ClassifyRequest,
    "SegmentRequest": SegmentRequest,
    "FeedbackRequest": FeedbackRequest,
    "CoralModerationRequest": CoralModerationRequest,
    "AnalyzeCommentRequest": AnalyzeCommentRequest,
    "SuggestCommentScoreRequest": SuggestCommentScoreRequest,
}
# Types the bodies share, each a named schema in the document that the bodies refer to.
NAMED_TYPES = {"Text": Text, "ReviewBand": ReviewBand}
NAMED_MODELS = {"FeedbackScores": FeedbackScores, "TextEntry": TextEntry, "Comment": Comment, "Context": Context,
                "AttributeParameters": AttributeParameters, "SuggestedScore": SuggestedScore}
