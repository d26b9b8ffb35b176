"""Google's own Python client against the Perspective-compatible API under gunicorn."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import http_json

pytestmark = pytest.mark.live
REPO = Path(__file__).resolve().parent.parent
DISCOVERY = REPO.parent / "shared" / "integrations" / "commentanalyzer-v1alpha1-discovery.json"
TEXT = "Nice one 👍 Truly a masterpiece of journalism. Can't wait for part two!"

discovery = pytest.importorskip("googleapiclient.discovery")
errors = pytest.importorskip("googleapiclient.errors")


@pytest.fixture(params=[None, "test-key"], ids=["no-keys", "keys"])
def live(request, live_server, tiny_model_dir, monkeypatch):
    """A live service, without API keys or with ``test-key`` as its only key; yields (port, key)."""
    if request.param:
        monkeypatch.setenv("COMMENT_CLASSIFIER_API_KEYS", json.dumps([request.param]))
    else:
        monkeypatch.delenv("COMMENT_CLASSIFIER_API_KEYS", raising=False)
    return live_server(tiny_model_dir).port, request.param


def google_client(port: int, key: str | None):
    """Google's client built from the saved discovery document with only ``rootUrl`` changed."""
    if not DISCOVERY.is_file():
        pytest.skip(f"{DISCOVERY} not found")
    document = json.loads(DISCOVERY.read_text(encoding="utf-8"))
    document["rootUrl"] = f"http://127.0.0.1:{port}/"
    # No key means no credentials: a placeholder key stops the client looking for Google's.
    return discovery.build_from_document(document, developerKey=key or "unused")


def test_googles_client_analyzes_and_suggests(live, tiny_classifier):
    port, key = live
    client = google_client(port, key)
    body = {"comment": {"text": TEXT}, "requestedAttributes": {"COMMENT": {}, "EDITORIAL": {}},
            "spanAnnotations": True, "languages": ["en"], "doNotStore": True, "clientToken": "c1",
            "sessionId": "s1", "communityId": "Coral:x"}
    response = client.comments().analyze(body=body).execute()
    p = tiny_classifier.editorial_probability(TEXT)
    assert response["attributeScores"]["EDITORIAL"]["summaryScore"] == {"value": pytest.approx(p),
                                                                        "type": "PROBABILITY"}
    assert response["attributeScores"]["COMMENT"]["summaryScore"]["value"] == pytest.approx(1 - p)
    spans = response["attributeScores"]["COMMENT"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, 46), (47, 71)]
    assert spans[1]["score"]["value"] == pytest.approx(1 - tiny_classifier.editorial_probability(
        "Can't wait for part two!"))
    assert (response["languages"], response["clientToken"]) == (["en"], "c1")

    suggestion = {"comment": {"text": TEXT}, "attributeScores": {"COMMENT": {"summaryScore": {"value": 1}}},
                  "languages": ["en"], "clientToken": "c2"}
    assert client.comments().suggestscore(body=suggestion).execute() == {"clientToken": "c2",
                                                                         "requestedLanguages": ["en"]}

    with pytest.raises(errors.HttpError) as raised:
        client.comments().analyze(body={"comment": {"text": ""}, "requestedAttributes": {"COMMENT": {}}}).execute()
    assert raised.value.status_code == 400
    assert raised.value.reason == "Comment must be non-empty."


def test_googles_client_built_from_the_served_discovery_document(live, tiny_classifier):
    port, key = live
    client = discovery.build("commentanalyzer", "v1alpha1", developerKey=key or "unused",
                             discoveryServiceUrl=f"http://127.0.0.1:{port}/$discovery/rest?version={{apiVersion}}")
    response = client.comments().analyze(body={"comment": {"text": "lol ok"},
                                               "requestedAttributes": {"EDITORIAL": {}}}).execute()
    p = tiny_classifier.editorial_probability("lol ok")
    assert response["attributeScores"]["EDITORIAL"]["summaryScore"]["value"] == pytest.approx(p)


@pytest.mark.parametrize("live", ["test-key"], ids=["keys"], indirect=True)
def test_a_wrong_or_missing_key_is_refused(live):
    port, key = live
    body = {"comment": {"text": "hi"}, "requestedAttributes": {"COMMENT": {}}}
    with pytest.raises(errors.HttpError) as raised:
        google_client(port, "wrong-key").comments().analyze(body=body).execute()
    assert raised.value.status_code == 400
    assert raised.value.reason == "API key not valid. Please pass a valid API key."
    status, answer = http_json(port, "/v1alpha1/comments:analyze", body)
    assert (status, answer["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert os.environ.get("COMMENT_CLASSIFIER_API_KEYS") == '["test-key"]'
