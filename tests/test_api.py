"""The HTTP contract, every status included, on the tiny model."""

import json

import pytest

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES


def post(client, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/v1/classify", data=data, content_type=content_type)


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]["message"]


def test_single_text(client, tiny_classifier):
    response = post(client, {"text": EDITORIAL_EXAMPLES[0]})
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["label", "scores", "decision", "model"]
    assert body["label"] == "editorial"
    assert body["scores"]["editorial"] == pytest.approx(1 - body["scores"]["comment"])
    assert body["model"] == {"version": tiny_classifier.version}


def test_batch_keeps_input_order(client, tiny_classifier):
    texts = [COMMENT_EXAMPLES[0], EDITORIAL_EXAMPLES[1], COMMENT_EXAMPLES[2]]
    response = post(client, {"texts": texts})
    assert response.status_code == 200
    body = response.get_json()
    assert [r["label"] for r in body["results"]] == ["comment", "editorial", "comment"]
    assert body["model"]["version"] == tiny_classifier.version


def test_served_scores_equal_the_pipeline(client, tiny_classifier):
    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES
    served = [r["scores"]["editorial"] for r in post(client, {"texts": texts}).get_json()["results"]]
    pipeline = tiny_classifier.pipeline
    expected = pipeline.predict_proba(texts)[:, list(pipeline.classes_).index("editorial")]
    assert served == pytest.approx(expected.tolist(), abs=1e-12)


def test_batch_of_the_maximum_size(client):
    response = post(client, {"texts": ["fine text here"] * 1000})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 1000


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ({}, "invalid_request", "exactly one of"),
        ({"text": "a", "texts": ["b"]}, "invalid_request", "got both"),
        ({"txt": "typo"}, "invalid_request", "got keys: txt"),
        ({"text": 5}, "invalid_request", "'text' must be a string (got int)"),
        ({"text": None}, "invalid_request", "(got null)"),
        ({"texts": 7}, "invalid_request", "'texts' must be a list of strings (got int)"),
        ({"texts": "just a string"}, "invalid_request", "(got string)"),
        ({"texts": ["ok", 3]}, "invalid_request", "'texts'[1] must be a string (got int)"),
        ({"texts": []}, "invalid_request", "'texts' is empty"),
        ({"text": ""}, "empty_text", "empty"),
        ({"text": " \n\t "}, "empty_text", "whitespace"),
        ({"texts": ["fine", "  "]}, "empty_text", "'texts'[1]"),
        ({"texts": ["x"] * 1001}, "too_many_texts", "1001 items; the limit is 1000"),
        ({"text": "a" * 20_001}, "text_too_long", "20001 characters; the limit is 20000"),
        ({"texts": ["ok", "b" * 20_001]}, "text_too_long", "'texts'[1]"),
        ([1, 2], "invalid_request", "must be a JSON object (got array)"),
        ("\"a string\"", "invalid_request", "(got string)"),
    ],
)
def test_bad_bodies_get_400(client, body, code, says):
    message = assert_error(post(client, body), 400, code)
    assert says in message


@pytest.mark.parametrize("raw", [b"{not json", b'{"text": "unterminated', b"", b"\xff\xfe{}", b"[" * 100_000])
def test_invalid_json_gets_400(client, raw):
    assert_error(post(client, raw), 400, "invalid_json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_not_json_gets_415(client, content_type):
    message = assert_error(post(client, '{"text": "hi"}', content_type=content_type), 415, "unsupported_media_type")
    assert "application/json" in message


def test_json_with_charset_is_accepted(client):
    response = post(client, {"text": "hello there friend"}, content_type="application/json; charset=utf-8")
    assert response.status_code == 200


def test_body_over_the_limit_gets_413(client):
    body = json.dumps({"text": "x" * 1_100_000})
    assert_error(post(client, body), 413, "body_too_large")


def test_limits_are_configuration(tiny_classifier):
    from service import create_app

    client = create_app({"CLASSIFIER": tiny_classifier, "MAX_TEXTS": 2, "MAX_TEXT_CHARS": 10}).test_client()
    assert_error(post(client, {"texts": ["a", "b", "c"]}), 400, "too_many_texts")
    assert_error(post(client, {"text": "eleven chars"}), 400, "text_too_long")


def test_unknown_path_gets_json_404(client):
    assert_error(client.get("/v1/nothing"), 404, "not_found")


@pytest.mark.parametrize("method, path", [("POST", "/v1//classify"), ("POST", "/v1//feedback"),
                                          ("GET", "/healthz//"), ("GET", "/v1/model//")])
def test_doubled_slashes_get_json_404_not_an_html_redirect(client, method, path):
    response = client.open(path, method=method, json={"text": "a b c"})
    assert_error(response, 404, "not_found")
    assert "Location" not in response.headers


def test_wrong_method_gets_json_405(client):
    response = client.get("/v1/classify")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_unexpected_failure_is_a_json_500_without_traceback(client, app, monkeypatch):
    def explode(texts):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.extensions["classifier"], "classify", explode)
    response = post(client, {"text": "hello"})
    message = assert_error(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True) and "logged" in message


def test_health_ready_and_model_card(client, tiny_classifier):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["model"]["version"] == tiny_classifier.version
    card = client.get("/v1/model").get_json()
    assert card["version"] == tiny_classifier.version
    assert card["artifact"]["sha256"] == tiny_classifier.card["artifact"]["sha256"]


def test_review_band_per_request(client, tiny_classifier):
    text = EDITORIAL_EXAMPLES[0]
    p = tiny_classifier.editorial_probability(text)
    wide = post(client, {"text": text, "review_band": [0.0, 1.0]}).get_json()
    assert wide["decision"] == "review" and wide["label"] == "editorial"
    narrow = post(client, {"text": text, "review_band": [p / 2, p]}).get_json()
    assert narrow["decision"] == "editorial"
    below = post(client, {"texts": [text], "review_band": [p + (1 - p) / 2, 1.0]}).get_json()
    assert below["results"][0]["decision"] == "comment"


def test_review_band_from_configuration(tiny_classifier):
    from service import create_app

    client = create_app({"CLASSIFIER": tiny_classifier, "REVIEW_BAND": [0.0, 1.0]}).test_client()
    assert post(client, {"text": "anything at all"}).get_json()["decision"] == "review"
    with pytest.raises(ValueError, match="low <= high"):
        create_app({"CLASSIFIER": tiny_classifier, "REVIEW_BAND": [0.9, 0.1]})


@pytest.mark.parametrize("band", [[0.2], [0.8, 0.2], [-0.1, 0.5], [0.5, 1.5], ["a", "b"], "0.2,0.8", [True, 0.9], None])
def test_invalid_review_band_gets_400(client, band):
    message = assert_error(post(client, {"text": "some text", "review_band": band}), 400, "invalid_review_band")
    assert message.startswith("'review_band':")


def test_explain_adds_exact_contributions_with_spans(client, tiny_classifier):
    text = "lol this is the dumbest thing i\u2019ve read all week!!"
    body = post(client, {"text": text, "explain": True, "explain_top": 5}).get_json()
    explanation = body["explanation"]
    assert len(explanation["terms"]) == 5
    weights = [abs(t["weight"]) for t in explanation["terms"]]
    assert weights == sorted(weights, reverse=True)
    total = explanation["intercept"] + sum(t["weight"] for t in explanation["terms"]) + explanation["other_terms_weight"]
    assert total == pytest.approx(tiny_classifier.scorer.logit(text), abs=1e-9)
    for term in explanation["terms"]:
        for start, end in term["spans"]:
            assert 0 <= start < end <= len(text)
    assert "explanation" not in post(client, {"text": text}).get_json()


def test_explain_in_a_batch(client):
    body = post(client, {"texts": ["one two three", "four five six"], "explain": True}).get_json()
    assert all("explanation" in result for result in body["results"])


@pytest.mark.parametrize(
    ("extra", "says"),
    [({"explain": "yes"}, "'explain' must be true or false (got string)"),
     ({"explain": 1}, "(got int)"),
     ({"explain": True, "explain_top": 0}, "'explain_top' must be a whole number from 1 to 100"),
     ({"explain": True, "explain_top": 2.5}, "from 1 to 100"),
     ({"explain": True, "explain_top": 101}, "from 1 to 100")],
)
def test_invalid_explain_options_get_400(client, extra, says):
    assert says in assert_error(post(client, {"text": "some text", **extra}), 400, "invalid_request")
