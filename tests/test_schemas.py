"""service/schemas.py: the request bodies' models, strict types, configured limits, and the API's wording of their errors."""

import pytest

from service.errors import InvalidRequest
from service.schemas import (
    ClassifyRequest,
    CoralModerationRequest,
    FeedbackRequest,
    Limits,
    SegmentBlocks,
    SegmentHTML,
    SegmentRequest,
    SegmentText,
    parse,
)


def refused(model, payload, limits=Limits()):
    with pytest.raises(InvalidRequest) as caught:
        parse(model, payload, limits)
    return caught.value.code, caught.value.message


def test_a_single_text_and_a_batch_with_their_options():
    single = parse(ClassifyRequest, {"text": "hello", "review_band": [0, 1], "unknown": 1}).root
    assert (single.text, single.review_band, single.explain, single.explain_top) == ("hello", (0, 1), False, 10)
    batch = parse(ClassifyRequest, {"texts": ["a", "b"], "explain": True, "explain_top": 3}).root
    assert (batch.texts, batch.review_band, batch.explain, batch.explain_top) == (["a", "b"], None, True, 3)


@pytest.mark.parametrize(("extra", "says"), [
    ({"explain_top": "5"}, "'explain_top' must be a whole number from 1 to 100 (got '5')"),
    ({"explain_top": True}, "(got True)"),
    ({"explain_top": 5.0}, "(got 5.0)"),
    ({"explain": "true"}, "'explain' must be true or false (got string)"),
    ({"explain": 0}, "(got int)"),
])
def test_types_are_strict(extra, says):
    code, message = refused(ClassifyRequest, {"text": "hello", **extra})
    assert code == "invalid_request" and says in message


def test_limits_are_the_configured_ones():
    small = Limits(max_text_chars=5, max_texts=2, max_page_chars=8)
    assert refused(ClassifyRequest, {"texts": ["a", "b", "c"]}, small) == (
        "too_many_texts", "'texts' has 3 items; the limit is 2")
    assert refused(ClassifyRequest, {"text": "sixsix"}, small) == (
        "text_too_long", "'text' has 6 characters; the limit is 5")
    assert refused(SegmentRequest, {"html": "<p>nine</p>"}, small) == (
        "text_too_long", "'html' has 11 characters; the limit for a page is 8")
    assert parse(ClassifyRequest, {"texts": ["a" * 25_000]}, Limits(max_text_chars=30_000)).root.texts


def test_a_batch_too_big_is_refused_as_such_before_its_items_are_looked_at():
    assert refused(ClassifyRequest, {"texts": [5] * 1001})[0] == "too_many_texts"
    assert refused(SegmentRequest, {"blocks": [" "] * 1001})[0] == "too_many_blocks"


def test_the_first_bad_item_is_named_by_its_index():
    assert refused(ClassifyRequest, {"texts": ["ok", "\u200b", "x" * 20_001]}) == (
        "empty_text", "'texts'[1] is empty or only whitespace or invisible characters")
    assert refused(SegmentRequest, {"blocks": ["ok", "x" * 20_001]}) == (
        "text_too_long", "'blocks'[1] has 20001 characters; the limit is 20000")


def test_a_page_is_one_of_three_alternatives():
    assert isinstance(parse(SegmentRequest, {"text": "a\nb"}).root, SegmentText)
    assert isinstance(parse(SegmentRequest, {"blocks": ["a"]}).root, SegmentBlocks)
    assert isinstance(parse(SegmentRequest, {"html": "<p>a</p>"}).root, SegmentHTML)
    assert refused(SegmentRequest, {"html": "<p>a</p>", "blocks": ["a"], "text": "a"}) == (
        "invalid_request", "send exactly one of 'text', 'blocks' or 'html' (got 'html' and 'blocks', 'text')")


def test_feedback_verdict_is_what_the_store_takes():
    verdict = parse(FeedbackRequest, {"text": "lol", "label": "comment", "kind": None, "scores": {"comment": 1},
                                      "note": None}).verdict()
    assert verdict == {"label": "comment", "kind": None, "text": "lol", "scores": {"comment": 1.0},
                       "comment_id": None, "moderator": None, "model_version": None, "note": None}
    assert isinstance(verdict["scores"]["comment"], float)


@pytest.mark.parametrize(("payload", "code", "message"), [
    ({"text": "t", "label": "comment", "x": 1, "a": 2}, "invalid_request",
     "unknown field(s) 'a', 'x'; accepted: comment_id, kind, label, model_version, moderator, note, scores, text"),
    ({"label": "spam"}, "invalid_request",
     "send 'text' (the text the moderator judged) and 'label' ('editorial', 'comment' or 'other')"),
    ({"text": "t", "label": "comment", "scores": {"toxic": 1, "editorial": 3}}, "invalid_request",
     "'scores' must be an object with 'editorial' and/or 'comment' probabilities, as the service answered them "
     "(got ['editorial', 'toxic'])"),
    ({"text": "t", "label": "comment", "scores": {"comment": float("nan")}}, "invalid_request",
     "'scores.comment' must be a number from 0 to 1 (got nan)"),
    ({"text": "t", "label": "comment", "moderator": " "}, "invalid_request", "'moderator' must have 1 to 200 characters (got 1)"),
    ({"text": "t", "label": 5}, "invalid_label", "'label' must be 'editorial' or 'comment', or 'other' for page chrome (got 5)"),
])
def test_feedback_errors_in_the_apis_words(payload, code, message):
    assert refused(FeedbackRequest, payload) == (code, message)


def test_coral_takes_what_talk_sends_and_only_logs_the_story():
    request = parse(CoralModerationRequest, {"action": "EDIT", "comment": {"body": "<p>hi</p>", "id": "c"},
                                             "story": "not an object", "tenantID": "t"})
    assert (request.action, request.comment.body, request.story) == ("EDIT", "<p>hi</p>", "not an object")
    assert refused(CoralModerationRequest, {"action": "DELETE", "comment": {"body": "x"}}) == (
        "invalid_request", "'action' must be one of NEW, EDIT (got 'DELETE')")
    assert refused(CoralModerationRequest, {"action": "NEW", "comment": {"body": None}})[1] == (
        "'comment.body' must be a string (the comment's HTML or plain text)")


def test_the_perspective_schema_names_the_attributes_the_adapter_scores():
    from service.integrations import perspective
    from service.schemas import ATTRIBUTE_NAMES

    assert tuple(perspective.ATTRIBUTES) == ATTRIBUTE_NAMES


@pytest.mark.parametrize(("payload", "kind", "detail"), [
    ({"requested_attributes": {"COMMENT": {}}}, "missing", "comment"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {}}, "missing", "requested_attributes"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"COMMENT": {"scoreThreshold": float("inf")}}},
     "invalid", "Invalid value at 'requested_attributes[COMMENT].score_threshold': inf"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"COMMENT": {"score_type": True}}},
     "invalid", "Invalid value at 'requested_attributes[COMMENT].score_type': expected a string (got boolean)"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"COMMENT": {}}, "context": {"entries": [{"text": 1}]}},
     "invalid", "Invalid value at 'context.entries[0].text': expected a string (got integer)"),
])
def test_perspective_errors_in_googles_words(payload, kind, detail):
    from pydantic import ValidationError

    from service.schemas import AnalyzeCommentRequest, google_error

    with pytest.raises(ValidationError) as caught:
        AnalyzeCommentRequest.model_validate(payload)
    assert google_error(caught.value) == (kind, detail)


def test_perspective_fields_take_both_spellings_and_null_is_absent():
    from service.schemas import AnalyzeCommentRequest

    message = AnalyzeCommentRequest.model_validate({"comment": {"text": "hi", "type": None},
                                                    "requested_attributes": {"COMMENT": None},
                                                    "spanAnnotations": True, "clientToken": None, "client_token": "t"})
    assert (message.comment.type, message.requested_attributes["COMMENT"].score_type) == (None, None)
    assert (message.span_annotations, message.client_token) == (True, "t")
