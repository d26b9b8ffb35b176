"""Coral Talk's external moderation phase through the test client: signatures, policy, bodies."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from service import create_app
from service.integrations.coral import PATH, moderation_for, signature_ok, text_of_html

SECRET = "empsec_" + "ab" * 32
OTHER_SECRET = "empsec_" + "cd" * 32
EDITORIAL = ("<p>The city council approved the budget on Tuesday, officials said. The finance minister "
             "told reporters that the deficit would narrow next year, according to figures published "
             "by the statistics bureau.</p>")
COMMENT = "<div>lol who cares, nobody asked for this</div>"


def talk_body(html: str, action: str = "NEW") -> bytes:
    """The body as Talk serialises it: JSON.stringify(request, null, 2)."""
    request = {
        "action": action,
        "comment": {"body": html, "parentID": None},
        "author": {"id": "3f0c5b1e-7d2a-4c55-9b61-2e8f4a9d0c17", "role": "COMMENTER"},
        "story": {"id": "b7e2d4a0-1c3f-4e8b-a5d6-9f0e1c2b3a45", "url": "https://news.example.org/a/"},
        "site": {"id": "5a9c7e21-0b4d-4f6a-8c3e-1d2f3a4b5c6d"},
        "tenantID": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
        "tenantDomain": "comments.news.example.org",
    }
    return json.dumps(request, indent=2, ensure_ascii=False).encode()


def sign(body: bytes, *secrets: str) -> str:
    return ",".join("sha256=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)


def make_client(tiny_classifier, **config):
    settings = {"TESTING": True, "CLASSIFIER": tiny_classifier, "CORAL_SIGNING_SECRETS": [SECRET],
                "CORAL_FLAG_THRESHOLD": 0.8, **config}
    return create_app(settings).test_client()


@pytest.fixture()
def coral(tiny_classifier):
    return make_client(tiny_classifier)


def post(client, body: bytes, signature: str | None, content_type: str = "application/json"):
    headers = {"Content-Type": content_type, "User-Agent": "Coral Moderation/9.11.8"}
    if signature is not None:
        headers["X-Coral-Signature"] = signature
    return client.post(PATH, data=body, headers=headers)


# -- signatures -------------------------------------------------------------------------------

def test_the_spec_example_verifies_with_the_spec_secret():
    body = (
        '{\n  "action": "NEW",\n  "comment": {\n    "body": "<div>Bold move by the council. I\'m sure it will '
        'all be fixed by Tuesday.</div>",\n    "parentID": null\n  },\n  "author": {\n    "id": '
        '"3f0c5b1e-7d2a-4c55-9b61-2e8f4a9d0c17",\n    "role": "COMMENTER"\n  },\n  "story": {\n    "id": '
        '"b7e2d4a0-1c3f-4e8b-a5d6-9f0e1c2b3a45",\n    "url": "https://news.example.org/2026/07/city-council-budget/"'
        '\n  },\n  "site": {\n    "id": "5a9c7e21-0b4d-4f6a-8c3e-1d2f3a4b5c6d"\n  },\n  "tenantID": '
        '"c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",\n  "tenantDomain": "comments.news.example.org"\n}'
    ).encode()
    assert len(body) == 551
    secret = "empsec_9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d0f"
    header = "sha256=81156d2d3aa3b33b6bf71a84302dd16c37b4fe1461144950d81a3ce44fa58903"
    assert signature_ok(body, header, [secret])
    assert not signature_ok(body + b" ", header, [secret])


@pytest.mark.parametrize("header", [
    "",
    "sha256",
    "sha256=",
    "nonsense",
    "sha1=" + hmac.new(SECRET.encode(), b"x", hashlib.sha1).hexdigest(),
    "sha256=zz,,=,sha256",
])
def test_malformed_signature_headers_are_rejected(coral, header):
    response = post(coral, talk_body(COMMENT), header)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_signature"


def test_missing_signature_is_401_naming_the_header(coral):
    response = post(coral, talk_body(COMMENT), None)
    assert response.status_code == 401
    assert "X-Coral-Signature" in response.get_json()["error"]["message"]


def test_wrong_secret_is_401(coral):
    body = talk_body(COMMENT)
    assert post(coral, body, sign(body, OTHER_SECRET)).status_code == 401


def test_body_tampered_after_signing_is_401(coral):
    body = talk_body(COMMENT)
    tampered = body.replace(b"lol who cares", b"lol who CARES")
    assert post(coral, tampered, sign(body, SECRET)).status_code == 401


def test_reformatted_json_is_401_because_the_raw_bytes_are_signed(coral):
    body = talk_body(COMMENT)
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert post(coral, compact, sign(body, SECRET)).status_code == 401


@pytest.mark.parametrize("secrets_sent", [
    (OTHER_SECRET, SECRET),  # rotation: the old secret first, then the one we hold
    (SECRET, OTHER_SECRET),
    (SECRET,),
])
def test_any_valid_value_among_several_is_accepted(coral, secrets_sent):
    body = talk_body(COMMENT)
    assert post(coral, body, sign(body, *secrets_sent)).status_code == 204


def test_spaces_around_values_are_tolerated(coral):
    body = talk_body(COMMENT)
    header = sign(body, OTHER_SECRET) + ", " + sign(body, SECRET)
    assert post(coral, body, header).status_code == 204


def test_server_holding_two_secrets_accepts_either(tiny_classifier):
    client = make_client(tiny_classifier, CORAL_SIGNING_SECRETS=[OTHER_SECRET, SECRET])
    body = talk_body(COMMENT)
    assert post(client, body, sign(body, SECRET)).status_code == 204
    assert post(client, body, sign(body, OTHER_SECRET)).status_code == 204
    assert post(client, body, sign(body, "empsec_" + "ef" * 32)).status_code == 401


def test_no_secret_configured_is_503_saying_how_to_configure(tiny_classifier):
    client = make_client(tiny_classifier, CORAL_SIGNING_SECRETS=[])
    body = talk_body(COMMENT)
    response = post(client, body, sign(body, SECRET))
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "coral_not_configured"
    assert "COMMENT_CLASSIFIER_CORAL_SIGNING_SECRETS" in error["message"]


def test_secrets_from_the_environment(monkeypatch, tiny_classifier):
    monkeypatch.setenv("COMMENT_CLASSIFIER_CORAL_SIGNING_SECRETS", json.dumps([OTHER_SECRET, SECRET]))
    monkeypatch.setenv("COMMENT_CLASSIFIER_CORAL_FLAG_THRESHOLD", "0.8")
    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier})
    assert app.config["CORAL_SIGNING_SECRETS"] == [OTHER_SECRET, SECRET]
    assert app.config["CORAL_FLAG_THRESHOLD"] == 0.8


def test_defaults(app):
    assert app.config["CORAL_SIGNING_SECRETS"] == []
    assert app.config["CORAL_FLAG_THRESHOLD"] == 0.95
    assert app.config["CORAL_ACTION"] == "flag"


@pytest.mark.parametrize("setting", [
    {"CORAL_SIGNING_SECRETS": [""]},
    {"CORAL_SIGNING_SECRETS": [3]},
    {"CORAL_FLAG_THRESHOLD": 0},
    {"CORAL_FLAG_THRESHOLD": 1.5},
    {"CORAL_FLAG_THRESHOLD": "high"},
    {"CORAL_ACTION": "reject"},
])
def test_bad_settings_stop_start_up(tiny_classifier, setting):
    with pytest.raises(ValueError, match=next(iter(setting))):
        create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, **setting})


# -- bodies -----------------------------------------------------------------------------------

def test_bad_json_is_a_clear_400_after_the_signature_passes(coral):
    body = b'{"action": "NEW", "comment": '
    assert post(coral, body, "sha256=00").status_code == 401
    response = post(coral, body, sign(body, SECRET))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("payload, fragment", [
    ({"comment": {"body": "hi"}}, "'action'"),
    ({"action": "DELETE", "comment": {"body": "hi"}}, "'action'"),
    ({"action": "NEW"}, "'comment.body'"),
    ({"action": "NEW", "comment": {"body": 3}}, "'comment.body'"),
    ([1, 2], "JSON object"),
])
def test_bodies_that_are_not_talks_shape_are_400(coral, payload, fragment):
    body = json.dumps(payload).encode()
    response = post(coral, body, sign(body, SECRET))
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]["message"]


def test_a_body_that_is_not_json_typed_is_415(coral):
    body = talk_body(COMMENT)
    assert post(coral, body, sign(body, SECRET), "text/plain").status_code == 415


def test_html_is_reduced_to_text():
    html = ('<div>First &amp; <b>bold</b> line<br>second line</div><p>Quote: '
            '<span class="coral-rte-spoiler">it&#39;s &lt;fine&gt;</span></p><ul><li>a</li><li>b</li></ul>')
    assert text_of_html(html) == "First & bold line\nsecond line\nQuote: it's <fine>\na\nb"
    assert text_of_html("plain text, no tags") == "plain text, no tags"
    assert text_of_html("<div> <br> </div>") == ""


class RecordingClassifier:
    """Stands in for the model to show which text the endpoint classifies."""

    version = "recording-1"

    def __init__(self, p: float):
        self.p, self.texts = p, []

    def editorial_probability(self, text: str) -> float:
        self.texts.append(text)
        return self.p


def test_the_comment_is_classified_as_text_not_markup(tiny_classifier):
    recorder = RecordingClassifier(0.1)
    client = make_client(recorder)
    body = talk_body('<div>Fish &amp; chips<br>at <a href="https://x.example">the pier</a></div>')
    assert post(client, body, sign(body, SECRET)).status_code == 204
    assert recorder.texts == ["Fish & chips\nat the pier"]


def test_long_comments_are_classified_on_their_first_max_text_chars(tiny_classifier):
    recorder = RecordingClassifier(0.99)
    client = make_client(recorder, MAX_TEXT_CHARS=50)
    body = talk_body("<p>" + "word " * 100 + "</p>")
    assert post(client, body, sign(body, SECRET)).status_code == 200
    assert len(recorder.texts[0]) == 50


def test_an_empty_comment_gets_no_opinion(coral):
    body = talk_body("<div><br></div>")
    response = post(coral, body, sign(body, SECRET))
    assert (response.status_code, response.data) == (204, b"")


# -- policy -----------------------------------------------------------------------------------

def test_policy_is_silent_below_the_threshold_and_flags_from_it():
    assert moderation_for(0.79, 0.8, "flag") is None
    assert moderation_for(0.8, 0.8, "flag") == {"actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}]}
    assert moderation_for(0.99, 0.8, "withhold") == {
        "status": "SYSTEM_WITHHELD", "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}]}


@pytest.mark.parametrize("action", ["NEW", "EDIT"])
def test_pasted_editorial_prose_is_flagged_as_spam(coral, action):
    body = talk_body(EDITORIAL, action)
    response = post(coral, body, sign(body, SECRET))
    assert response.status_code == 200
    assert response.get_json() == {"actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}]}


def test_an_ordinary_comment_gets_no_opinion(coral):
    body = talk_body(COMMENT)
    response = post(coral, body, sign(body, SECRET))
    assert (response.status_code, response.data) == (204, b"")


def test_the_threshold_decides(tiny_classifier):
    p = tiny_classifier.editorial_probability(text_of_html(EDITORIAL))
    body = talk_body(EDITORIAL)
    above = make_client(tiny_classifier, CORAL_FLAG_THRESHOLD=p)
    below = make_client(tiny_classifier, CORAL_FLAG_THRESHOLD=min(1.0, p + 1e-6))
    assert post(above, body, sign(body, SECRET)).status_code == 200
    assert post(below, body, sign(body, SECRET)).status_code == 204


def test_withhold_action_holds_the_comment(tiny_classifier):
    client = make_client(tiny_classifier, CORAL_ACTION="withhold")
    body = talk_body(EDITORIAL)
    assert post(client, body, sign(body, SECRET)).get_json()["status"] == "SYSTEM_WITHHELD"


def test_the_decision_is_logged_with_label_scores_and_model(coral, caplog, tiny_classifier):
    body = talk_body(EDITORIAL)
    with caplog.at_level("INFO", logger="service.coral"):
        post(coral, body, sign(body, SECRET))
    line = caplog.records[-1].getMessage()
    assert "label=editorial" in line and f"model={tiny_classifier.version}" in line and "verdict=flag" in line
