"""The bad-input catalogue for /v1/feedback against live gunicorn: a clear 4xx, or the verdict
stored exactly as sent; never a 5xx, a hang, or a traceback."""

from __future__ import annotations

import json

import pytest

from bench import servers
from tests.test_bad_input_live import UNUSUAL, raw

pytestmark = pytest.mark.live
KEY = "catalogue-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server(module_live_server, tiny_model_dir, tmp_path_factory):
    db = tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"
    return module_live_server(tiny_model_dir, {"COMMENT_CLASSIFIER_API_KEYS": KEY,
                                               "COMMENT_CLASSIFIER_FEEDBACK_DB": str(db)})


@pytest.fixture(scope="module")
def port(server):
    return server.port


def send(port, body, content_type="application/json", headers=None, method="POST", path="/v1/feedback"):
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, answer_headers, answer = raw(port, method, path, body, content_type, {**AUTH, **(headers or {})})
    assert status < 500, answer
    assert answer_headers.get("content-type", "").startswith("application/json"), (status, answer[:200])
    return status, json.loads(answer)


def code(port, body, **kwargs):
    status, answer = send(port, body, **kwargs)
    return status, answer.get("error", {}).get("code")


@pytest.mark.parametrize("body, expected", [
    (b'{"text": "caf\xe9", "label": "comment"}', (400, "invalid_json")),
    (b'{"text": "a\x00b", "label": "comment"}', (400, "invalid_json")),
    (b"[" * 10_000 + b"]" * 10_000, (400, "invalid_json")),
    (b'{"text": "hi there", "label": "comment", "scores": {"editorial": 1' + b"0" * 5000 + b"}}", (400, "invalid_json")),
    (b'{"text": "hi there", "label": "comment", "scores": {"editorial": 1e999}}', (400, "invalid_request")),
    (b'{"text": "hi there", "label": "comment", "scores": {"editorial": NaN}}', (400, "invalid_request")),
    (b'{"text": "one", "label": "comment", "text": "two"}', (400, "invalid_json")),
    (b"", (400, "invalid_json")),
    (b"[]", (400, "invalid_request")),
    (b'{"text": "hi there", "label": ["comment"]}', (400, "invalid_label")),
])
def test_bad_bodies(port, body, expected):
    assert code(port, body) == expected


def test_wrong_content_type_and_a_10_mb_body(port):
    assert code(port, b'{"text": "hi", "label": "comment"}', content_type="text/plain") == (415, "unsupported_media_type")
    assert code(port, b"x" * 10_000_000) == (413, "body_too_large")


@pytest.mark.parametrize("authorization, expected", [
    ("Bearer", (401, "missing_api_key")),
    ("Bearer ", (401, "missing_api_key")),
    ("bearer catalogue-key", (201, None)),
    ("Bearer  catalogue-key ", (201, None)),
    ("Bearer catalogue-key-but-longer", (403, "invalid_api_key")),
    ("Bearer " + "k" * 8000, (403, "invalid_api_key")),
    ("Bearer caf\xe9", (403, "invalid_api_key")),
    ("Token catalogue-key", (401, "missing_api_key")),
])
def test_odd_authorization_headers(port, authorization, expected):
    assert code(port, {"text": "You must be joking.", "label": "comment"},
                headers={"Authorization": authorization}) == expected


def test_unusual_texts_are_stored_exactly_as_sent(port):
    ids = {}
    for name, text in UNUSUAL.items():
        status, answer = send(port, {"text": text, "label": "comment", "comment_id": f"unusual-{name}",
                                     "note": text})
        if not text.strip():
            assert (status, answer["error"]["code"]) == (400, "empty_text")
            continue
        assert status in (200, 201), answer
        ids[answer["id"]] = text
    status, headers, body = raw(port, "GET", "/v1/feedback?limit=1000", b"", None, AUTH)
    assert status == 200
    stored = {item["id"]: item for item in json.loads(body)["items"]}
    for row_id, text in ids.items():
        assert stored[row_id]["text"] == stored[row_id]["note"] == text


def test_get_with_odd_queries(port):
    for query in ("after=%00", "limit=%F0%9F%98%82", "after=99999999999999999999", "limit=1&limit=2", "after="):
        status, headers, body = raw(port, "GET", f"/v1/feedback?{query}", b"", None, AUTH)
        assert status == 400, (query, body)
        assert json.loads(body)["error"]["code"] == "invalid_request"


def test_zz_no_traceback_in_the_server_output(server):
    assert "Traceback" not in servers.output(server)
