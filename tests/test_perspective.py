"""The Perspective-compatible API (service/integrations/perspective.py) through the test client."""

from __future__ import annotations

import json

import pytest

from service import create_app
from service.integrations.perspective import ERROR_TYPE, sentences, supported, utf16_offsets

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES, TINY_PARAMS

ANALYZE = "/v1alpha1/comments:analyze"
SUGGEST = "/v1alpha1/comments:suggestscore"
TEXT = "Nice one 👍 Truly a masterpiece of journalism. Can't wait for part two!"


def analyze(client, body, query=""):
    return client.post(ANALYZE + query, json=body)


def request_for(text=TEXT, **extra):
    return {"comment": {"text": text}, "requestedAttributes": {"COMMENT": {}}, **extra}


def error_of(response, status, error_type=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == status
    assert set(error) <= {"code", "message", "status", "details"}
    if error_type:
        assert error["details"] == [{**error["details"][0], "@type": ERROR_TYPE, "errorType": error_type}]
    return error


@pytest.fixture(scope="module")
def kind_classifier(tiny_classifier):
    """The tiny model plus a tiny kind model (sarcastic vs opinion)."""
    from model import Classifier
    from model.features import build_pipeline

    sarcastic = [COMMENT_EXAMPLES[i] for i in (4, 6, 11)] + ["Oh great, another tax. Just what we needed, thanks."]
    opinion = [COMMENT_EXAMPLES[i] for i in (1, 3, 10)] + ["I think the council should fund more buses."]
    kind = build_pipeline(TINY_PARAMS).fit(sarcastic + opinion, ["sarcastic"] * 4 + ["opinion"] * 4)
    return Classifier({"classifier": tiny_classifier.pipeline, "kind": kind}, tiny_classifier.card)


# --- pure helpers -----------------------------------------------------------------------------

def test_utf16_offsets_count_astral_characters_twice():
    import random

    rnd = random.Random(0)
    alphabet = ["a", " ", ".", "\u00e9", "\u4e2d", "\U0001F600", "\U00010348", "\n"]
    for _ in range(300):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        offsets = [rnd.randint(0, len(text)) for _ in range(rnd.randint(0, 8))]
        expected = [len(text[:offset].encode("utf-16-le")) // 2 for offset in offsets]
        assert utf16_offsets(text, offsets) == expected, (text, offsets)


def test_sentences_and_utf16_offsets_match_the_specs_worked_example():
    spans = sentences(TEXT)
    assert [TEXT[a:b] for a, b in spans] == ["Nice one 👍 Truly a masterpiece of journalism.", "Can't wait for part two!"]
    assert spans == [(0, 45), (46, 70)]
    assert utf16_offsets(TEXT, [0, 45, 46, 70]) == [0, 46, 47, 71]
    assert sentences("one\ntwo three?  \"Four.\" five") == [(0, 3), (4, 14), (16, 23), (24, 28)]
    assert sentences("   ") == []


def test_language_codes():
    assert supported("en") and supported("EN-gb") and supported("en_US")
    assert not supported("fr") and not supported("eng-x")


# --- analyze --------------------------------------------------------------------------------

def test_analyze_scores_comment_and_editorial(client, tiny_classifier):
    text = COMMENT_EXAMPLES[0]
    body = {"comment": {"text": text, "type": "PLAIN_TEXT"},
            "requestedAttributes": {"COMMENT": {}, "EDITORIAL": {"scoreType": "PROBABILITY"}},
            "languages": ["en"], "doNotStore": True, "clientToken": "comment:7c1e9a",
            "sessionId": "5349874321", "communityId": "Coral:https://example.org/",
            "context": {"entries": [{"text": "the article"}]}}
    response = analyze(client, body, "?key=anything&alt=json&prettyPrint=false&$.xgafv=2&fields=attributeScores")
    assert response.status_code == 200
    p = tiny_classifier.editorial_probability(text)
    assert response.get_json() == {
        "attributeScores": {
            "COMMENT": {"summaryScore": {"value": pytest.approx(1 - p), "type": "PROBABILITY"}},
            "EDITORIAL": {"summaryScore": {"value": pytest.approx(p), "type": "PROBABILITY"}},
        },
        "languages": ["en"],
        "clientToken": "comment:7c1e9a",
    }


def test_span_annotations_are_per_sentence_in_utf16_code_units(client, tiny_classifier):
    text = "🎉🎉 Wow. " + TEXT + "\nOfficials said the bridge will open in spring 𝐧𝐨𝐰."
    response = analyze(client, request_for(text, spanAnnotations=True))
    assert response.status_code == 200
    entry = response.get_json()["attributeScores"]["COMMENT"]
    spans = entry["spanScores"]
    units = text.encode("utf-16-le")
    pieces = [units[2 * s["begin"]:2 * s["end"]].decode("utf-16-le") for s in spans]
    assert pieces == ["🎉🎉 Wow.", "Nice one 👍 Truly a masterpiece of journalism.", "Can't wait for part two!",
                      "Officials said the bridge will open in spring 𝐧𝐨𝐰."]
    assert spans[1]["begin"] == 10 and spans[-1]["end"] == len(units) // 2
    for span, piece in zip(spans, pieces):
        expected = 1 - tiny_classifier.editorial_probability(piece)
        assert span["score"] == {"value": pytest.approx(expected), "type": "PROBABILITY"}
    assert list(entry) == ["spanScores", "summaryScore"]
    assert "spanScores" not in analyze(client, request_for(text)).get_json()["attributeScores"]["COMMENT"]


@pytest.mark.parametrize("text", [
    "🎉🎉 Wow. " + TEXT + "\nOfficials said the bridge will open in spring 𝐧𝐨𝐰.",
    "Ab. " * 500,
    "One sentence without an end",
    "\n".join(EDITORIAL_EXAMPLES + COMMENT_EXAMPLES),  # many distinct sentences: scored in a batch
])
def test_span_scores_written_by_hand_are_the_bytes_jsonify_writes(app, client, text):
    from flask import jsonify

    from service.integrations.perspective import _json_response, _SpanScores

    body = request_for(text, spanAnnotations=True, clientToken="spanScores- \x00 and \\u0000",
                       requestedAttributes={"COMMENT": {}, "EDITORIAL": {"scoreThreshold": 0.0}})
    response = analyze(client, body)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["clientToken"] == body["clientToken"]
    for entry in answer["attributeScores"].values():
        assert len(entry["spanScores"]) == len(sentences(text))
    with app.app_context():
        as_dicts = json.loads(response.get_data())
        expected = jsonify(as_dicts).get_data()
        assert response.get_data() == expected
        # And the pieces on their own: values that repeat, and ones that do not.
        spans = _SpanScores([0, 3, 4, 9, 10, 12], [0.1, 1 / 3, 0.1])
        direct = _json_response({"attributeScores": {"A": {"spanScores": spans, "summaryScore": {"value": 0.5}}},
                                 "languages": ["en"]}).get_data()
        spans = _SpanScores([0, 3, 4, 9, 10, 12], [0.1, 1 / 3, 0.1])
        assert direct == jsonify({"attributeScores": {"A": {"spanScores": spans.as_dicts(), "summaryScore": {"value": 0.5}}},
                                  "languages": ["en"]}).get_data()


def test_a_client_text_holding_a_placeholder_leaves_the_answer_whole(client, monkeypatch):
    """Placeholders are random; were one guessed, and put in an attribute name that is echoed
    before its spans, the answer is encoded the ordinary way rather than spliced."""
    import service.integrations.perspective as perspective

    monkeypatch.setattr(perspective.secrets, "token_hex", lambda n: "0" * (2 * n))
    name = 'COMMENT@"spanScores-' + "0" * 32  # encoded, it ends in the placeholder's quoted form
    body = {"comment": {"text": "Nice. Really nice."}, "spanAnnotations": True, "requestedAttributes": {name: {}}}
    response = analyze(client, body)
    assert response.status_code == 200
    entry = json.loads(response.get_data())["attributeScores"][name]
    assert [(span["begin"], span["end"]) for span in entry["spanScores"]] == [(0, 5), (6, 18)]


def test_snake_case_unquoted_keys_and_no_content_type_are_accepted(client, tiny_classifier):
    body = '{comment: {text: "lol no way"}, requested_attributes: {EDITORIAL: {score_threshold: 0}}, client_token: "t"}'
    response = client.post(ANALYZE, data=body)
    assert response.status_code == 200
    p = tiny_classifier.editorial_probability("lol no way")
    assert response.get_json()["attributeScores"]["EDITORIAL"]["summaryScore"]["value"] == pytest.approx(p)
    assert response.get_json()["clientToken"] == "t"


def test_thresholds_leave_out_attributes_under_them(client, tiny_classifier):
    text = EDITORIAL_EXAMPLES[0]
    p = tiny_classifier.editorial_probability(text)
    body = request_for(text, requestedAttributes={"EDITORIAL": {"scoreThreshold": p - 0.01},
                                                  "COMMENT": {"scoreThreshold": (1 - p) + 0.01}})
    assert list(analyze(client, body).get_json()["attributeScores"]) == ["EDITORIAL"]
    body = request_for(text, requestedAttributes={"EDITORIAL": {"scoreThreshold": 1.0},
                                                  "COMMENT": {"scoreThreshold": 1.0}}, languages=["en-GB"])
    assert analyze(client, body).get_json() == {"languages": ["en-GB"]}


def test_versioned_attribute_names_are_echoed(client):
    assert list(analyze(client, request_for(requestedAttributes={"COMMENT@1": {}})).get_json()["attributeScores"]) \
        == ["COMMENT@1"]


def test_drop_unsupported_attributes(client):
    body = request_for(requestedAttributes={"TOXICITY": {}, "COMMENT": {}, "SARCASM": {}},
                       dropUnsupportedAttributes=True)
    assert list(analyze(client, body).get_json()["attributeScores"]) == ["COMMENT"]
    body = request_for(languages=["fr"], dropUnsupportedAttributes=True)
    assert analyze(client, body).get_json() == {"languages": ["fr"]}


def test_sarcasm_needs_a_kind_model_and_is_given_for_every_text(kind_classifier):
    client = create_app({"TESTING": True, "CLASSIFIER": kind_classifier}).test_client()
    for text in (COMMENT_EXAMPLES[4], EDITORIAL_EXAMPLES[0]):
        body = request_for(text, requestedAttributes={"SARCASM": {}, "COMMENT": {}})
        scores = analyze(client, body).get_json()["attributeScores"]
        expected = kind_classifier.kind(text)["scores"]["sarcastic"]
        assert scores["SARCASM"]["summaryScore"]["value"] == pytest.approx(expected)


def test_an_unknown_attribute_is_answered_with_the_ones_this_model_scores(kind_classifier):
    client = create_app({"TESTING": True, "CLASSIFIER": kind_classifier}).test_client()
    error = error_of(analyze(client, request_for(requestedAttributes={"TOXICITY": {}})), 400, "INVALID_REQUEST")
    assert error["message"] == "Unknown requested attribute: TOXICITY. Supported attributes: COMMENT, EDITORIAL, SARCASM"
    # a long made-up name is cut in the message, not echoed whole
    error = error_of(analyze(client, request_for(requestedAttributes={"X" * 5000: {}})), 400, "INVALID_REQUEST")
    assert len(error["message"]) < 200 and error["message"].endswith("COMMENT, EDITORIAL, SARCASM")


# --- errors -------------------------------------------------------------------------------

ERROR_CASES = [
    ({"requestedAttributes": {"COMMENT": {}}}, "COMMENT_EMPTY", "Comment must be non-empty."),
    (request_for(""), "COMMENT_EMPTY", "Comment must be non-empty."),
    (request_for("  \n "), "COMMENT_EMPTY", "Comment must be non-empty."),
    (request_for("x" * 20_481), "COMMENT_TOO_LONG", "Comment text too long."),
    (request_for("é" * 10_241), "COMMENT_TOO_LONG", "Comment text too long."),
    ({"comment": {"text": "hi"}}, "NO_REQUESTED_ATTRIBUTES", "Missing requested_attributes"),
    (request_for(requestedAttributes={}), "NO_REQUESTED_ATTRIBUTES", "Missing requested_attributes"),
    (request_for(languages=["en", "fr", "de"]), "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
     "Attribute COMMENT does not support request languages: fr, de"),
    (request_for("👍 🎉 123"), "LANGUAGE_DETECTION_FAILED", "Unable to detect language"),
    (request_for(requestedAttributes={"TOXICITY": {}}), "INVALID_REQUEST", "Unknown requested attribute: TOXICITY. Supported attributes: COMMENT, EDITORIAL"),
    (request_for(requestedAttributes={"SARCASM": {}}), "INVALID_REQUEST", "Unknown requested attribute: SARCASM. Supported attributes: COMMENT, EDITORIAL"),
    (request_for(requestedAttributes={"COMMENT": {"scoreType": "PERCENTILE"}}), "INVALID_REQUEST",
     "Requested score type PERCENTILE is not supported by attribute COMMENT"),
    (request_for(requestedAttributes={"COMMENT": {"scoreType": "NOPE"}}), "INVALID_REQUEST", None),
    (request_for(requestedAttributes={"COMMENT": {"scoreThreshold": "high"}}), "INVALID_REQUEST", None),
    ({"comment": {"text": "<b>hi</b>", "type": "HTML"}, "requestedAttributes": {"COMMENT": {}}}, "INVALID_REQUEST",
     "Currently, only 'PLAIN_TEXT' comments are supported"),
    ({"comment": {"text": "hi", "type": "PDF"}, "requestedAttributes": {"COMMENT": {}}}, "INVALID_REQUEST",
     "Unknown text type: PDF"),
    (request_for(context={"entries": [{"text": "a"}], "articleAndParentComment": {"article": {"text": "b"}}}),
     "INVALID_REQUEST",
     "Context can have either entries or article_and_parent_comment, but both fields were populated."),
    (request_for(context={"entries": "a"}), "INVALID_REQUEST", None),
    ({"comment": "hi", "requestedAttributes": {"COMMENT": {}}}, "INVALID_REQUEST", None),
    ({"comment": {"text": 5}, "requestedAttributes": {"COMMENT": {}}}, "INVALID_REQUEST", None),
    (request_for(languages="en"), "INVALID_REQUEST", None),
    (request_for(spanAnnotations="yes"), "INVALID_REQUEST", None),
    (request_for(doNotStore=1), "INVALID_REQUEST", None),
    (request_for(clientToken=7), "INVALID_REQUEST", None),
]


@pytest.mark.parametrize(("body", "error_type", "message"), ERROR_CASES)
def test_analyze_errors_use_googles_body(client, body, error_type, message):
    error = error_of(analyze(client, body), 400, error_type)
    assert error["status"] == "INVALID_ARGUMENT"
    if message:
        assert error["message"] == message


def test_language_error_names_the_attribute(client):
    detail = analyze(client, request_for(languages=["fr"])).get_json()["error"]["details"][0]
    assert detail["languageNotSupportedByAttributeError"]["attribute"] == "COMMENT"


@pytest.mark.parametrize("body", [b"{broken", b"[1, 2]", b"\xff\xfe", b""])
def test_bodies_that_are_not_json_objects(client, body):
    error = error_of(client.post(ANALYZE, data=body, content_type="application/json"), 400)
    assert error["message"].startswith("Invalid JSON payload received.")


def test_http_errors_on_these_paths_use_googles_body(client):
    assert error_of(client.get(ANALYZE), 405)["status"] == "UNIMPLEMENTED"
    assert client.get(SUGGEST).headers["Allow"] == "POST"
    assert error_of(client.post("/v1alpha1/comments:classify", json={}), 404)["status"] == "NOT_FOUND"
    big = json.dumps(request_for("x" * 2_000_000)).encode()
    assert error_of(client.post(ANALYZE, data=big, content_type="application/json"), 413)["status"] \
        == "INVALID_ARGUMENT"


def test_model_not_loaded_is_503(app):
    client = create_app({"TESTING": True, "LOAD_MODEL": False}).test_client()
    assert error_of(analyze(client, request_for()), 503)["status"] == "UNAVAILABLE"


def test_unexpected_failures_are_500_without_traceback(app, monkeypatch):
    def broken(*args):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app.extensions["classifier"], "editorial_probability", broken)
    error = error_of(analyze(app.test_client(), request_for()), 500)
    assert error == {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}


# --- keys -----------------------------------------------------------------------------------

@pytest.fixture()
def keyed(tiny_classifier):
    return create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS": ["k1", "k2"]}).test_client()


@pytest.mark.parametrize("path", [ANALYZE, SUGGEST])
def test_keys_are_checked_when_configured(keyed, path):
    body = {**request_for(), "attributeScores": {"COMMENT": {"summaryScore": {"value": 1}}}}
    missing = error_of(keyed.post(path, json=body), 403)
    assert (missing["status"], missing["message"]) == ("PERMISSION_DENIED", "The request is missing a valid API key.")
    wrong = error_of(keyed.post(path + "?key=nope", json=body), 400)
    assert wrong["message"] == "API key not valid. Please pass a valid API key."
    assert wrong["details"][0]["reason"] == "API_KEY_INVALID"
    assert keyed.post(path + "?key=k2&alt=json", json=body).status_code == 200
    assert keyed.post(path, json=body, headers={"X-Goog-Api-Key": "k1"}).status_code == 200
    assert error_of(keyed.get("/$discovery/rest?version=v1alpha1"), 403)
    assert keyed.get("/$discovery/rest?version=v1alpha1&key=k1").status_code == 200


def test_without_keys_any_or_no_key_is_accepted(client):
    assert analyze(client, request_for()).status_code == 200
    assert analyze(client, request_for(), "?key=whatever").status_code == 200


# --- suggestscore ---------------------------------------------------------------------------

def test_suggestscore_echoes_and_stores_nothing(client):
    body = {"comment": {"text": TEXT}, "context": {"entries": [{"text": "{\"url\": \"x\"}"}]},
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}},
                                "COMMENT": {"spanScores": [{"begin": 47, "end": 71, "score": {"value": 0.2}}]}},
            "languages": ["en"], "communityId": "Coral:x", "clientToken": "comment:0d5e", "sessionId": "s"}
    response = client.post(SUGGEST + "?alt=json", json=body)
    assert response.status_code == 200
    assert response.get_json() == {"clientToken": "comment:0d5e", "requestedLanguages": ["en"]}
    assert client.post(SUGGEST, json={**body, "clientToken": None, "languages": None}).get_json() == {}


def _suggest(**extra):
    return {"comment": {"text": "hi"}, "attributeScores": {"COMMENT": {"summaryScore": {"value": 1}}}, **extra}


SUGGEST_ERRORS = [
    ({"attributeScores": {"COMMENT": {"summaryScore": {"value": 1}}}}, "COMMENT_EMPTY"),
    (_suggest(comment={"text": "x" * 20_481}), "COMMENT_TOO_LONG"),
    (_suggest(comment={"text": "hi", "type": "HTML"}), "INVALID_REQUEST"),
    (_suggest(attributeScores=None), "INVALID_REQUEST"),
    (_suggest(attributeScores={}), "INVALID_REQUEST"),
    (_suggest(attributeScores={"COMMENT": {}}), "INVALID_REQUEST"),
    (_suggest(attributeScores={"COMMENT": {"summaryScore": {}}}), "INVALID_REQUEST"),
    (_suggest(attributeScores={"COMMENT": {"summaryScore": {"value": "1"}}}), "INVALID_REQUEST"),
    (_suggest(attributeScores={"COMMENT": {"summaryScore": {"value": 1, "type": "NOPE"}}}), "INVALID_REQUEST"),
    (_suggest(attributeScores={"COMMENT": {"spanScores": [{"score": {"value": 1}}]}}), "INVALID_REQUEST"),
    (_suggest(attributeScores={"COMMENT": {"spanScores": [{"begin": 0, "end": 3, "score": {"value": 1}}]}}),
     "INVALID_REQUEST"),
    (_suggest(languages=[1]), "INVALID_REQUEST"),
    (_suggest(clientToken=["a"]), "INVALID_REQUEST"),
]


@pytest.mark.parametrize(("body", "error_type"), SUGGEST_ERRORS)
def test_suggestscore_errors(client, body, error_type):
    error_of(client.post(SUGGEST, json=body), 400, error_type)


# --- discovery ------------------------------------------------------------------------------

def test_discovery_document_points_at_this_service(client):
    response = client.get("/$discovery/rest?version=v1alpha1&key=x", base_url="https://classifier.example:8443")
    assert response.status_code == 200
    document = response.get_json()
    assert document["rootUrl"] == document["baseUrl"] == "https://classifier.example:8443/"
    assert "mtlsRootUrl" not in document
    assert document["resources"]["comments"]["methods"]["analyze"]["path"] == "v1alpha1/comments:analyze"
    assert client.get("/discovery/v1/apis/commentanalyzer/v1alpha1/rest").get_json()["id"] == "commentanalyzer:v1alpha1"
    assert error_of(client.get("/$discovery/rest?version=v2"), 404)["status"] == "NOT_FOUND"


def test_a_body_built_to_slow_the_bare_key_rewrite_is_refused_at_once(client):
    import time as _time

    body = b'{"comment": {"text": "' + b'\\"' * 20_000
    started = _time.perf_counter()
    response = client.post("/v1alpha1/comments:analyze", data=body, content_type="application/json")
    elapsed = _time.perf_counter() - started
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == "INVALID_ARGUMENT"
    print(f"refused in {elapsed * 1000:.1f} ms")


def test_bare_keys_in_a_small_body_still_work(client):
    body = b'{comment: {text: "lol no way this is real"}, requestedAttributes: {COMMENT: {}}}'
    response = client.post("/v1alpha1/comments:analyze", data=body, content_type="application/json")
    assert response.status_code == 200


def test_a_lone_surrogate_is_a_400_not_a_500(client):
    response = client.post("/v1alpha1/comments:analyze", data=b'{"comment": {"text": "\\ud800 hi"}, "requestedAttributes": {"COMMENT": {}}}',
                           content_type="application/json")
    assert response.status_code == 400
    assert "lone surrogate" in response.get_json()["error"]["message"]


# --- span scores in batches -----------------------------------------------------------------------

def _span_values(client, text, attribute):
    body = {"comment": {"text": text}, "spanAnnotations": True, "requestedAttributes": {attribute: {}}}
    response = analyze(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [span["score"]["value"] for span in response.get_json()["attributeScores"][attribute]["spanScores"]]


@pytest.mark.parametrize("attribute", ["COMMENT", "EDITORIAL", "SARCASM"])
def test_many_sentences_are_scored_in_a_batch_as_one_by_one(kind_classifier, attribute):
    # Four distinct sentences or more are scored at once (both models): the same probabilities as
    # each sentence alone, up to the order of the floating-point additions.
    client = create_app({"TESTING": True, "CLASSIFIER": kind_classifier}).test_client()
    text = "\n".join((EDITORIAL_EXAMPLES + COMMENT_EXAMPLES) * 3)  # repeated: the same value each time
    pieces = [text[start:end] for start, end in sentences(text)]
    values = _span_values(client, text, attribute)
    assert len(values) == len(pieces)
    one_by_one = {
        "COMMENT": lambda piece: 1.0 - kind_classifier.editorial_probability(piece),
        "EDITORIAL": kind_classifier.editorial_probability,
        "SARCASM": lambda piece: kind_classifier.kind(piece)["scores"]["sarcastic"],
    }[attribute]
    for piece, value in zip(pieces, values):
        assert value == pytest.approx(one_by_one(piece), rel=1e-12, abs=1e-15)
    assert values[: len(pieces) // 3] * 3 == values


@pytest.mark.parametrize("text", ["Nice. Really nice. Nice.", "One sentence only.\n", "  Blanks around it. \t\n",
                                  "Three. Distinct. Sentences."])
def test_few_sentences_are_scored_one_by_one_exactly(client, tiny_classifier, text):
    # Fewer than four distinct sentences are scored alone, as the summary is: the very same values
    # (a comment of one sentence gives that sentence the summary's score).
    values = _span_values(client, text, "EDITORIAL")
    assert values == [tiny_classifier.editorial_probability(text[a:b]) for a, b in sentences(text)]
    if len(values) == 1:
        assert values[0] == tiny_classifier.editorial_probability(text)
