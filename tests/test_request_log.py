"""service.logs in one process: request ids on every response, one log line per request, no text."""

from __future__ import annotations

import json
import logging
import re

import pytest

from service import create_app

TEXT = "zebraquokka says lol nobody asked for this"
HEX_ID = re.compile(r"[0-9a-f]{32}")


def request_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "service.requests"]


def everything_logged(caplog) -> str:
    """Every message and every field of every record, as one string to search."""
    return "\n".join(f"{record.getMessage()} {record.__dict__!r}" for record in caplog.records)


@pytest.mark.parametrize("given", ["abc-123", "a" * 128, "trace.id:42_X", "0"])
def test_a_well_formed_client_id_is_echoed(client, given):
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


def test_an_id_is_generated_when_none_is_sent(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second


@pytest.mark.parametrize("given", ["", "a" * 129, "has space", "<script>alert(1)</script>", "a,b", "caf\u00e9",
                                   "x\ty", "id; DROP TABLE"])
def test_a_malformed_id_is_replaced_never_echoed(client, caplog, given):
    caplog.set_level(logging.INFO, logger="service.requests")
    response = client.get("/healthz", headers={"X-Request-ID": given})
    response.close()  # as the WSGI server does once the response is sent: the line is written then
    sent_back = response.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(sent_back) and sent_back != given
    [line] = request_lines(caplog)
    assert line.request_id == sent_back and line.request_id_replaced is True


def _too_large(app):
    return json.dumps({"text": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", "/nowhere", None, 404),
    ("GET", "/v1/classify", None, 405),
    ("POST", "/v1/classify", "{broken", 400),
    ("POST", "/v1/classify", "too large", 413),
    ("POST", "/v1alpha1/comments:analyze", "{}", 400),
    ("GET", "/v1alpha1/nothing", None, 404),
])
def test_errors_carry_the_id_too(app, client, method, path, body, status):
    data = _too_large(app) if body == "too large" else body
    response = client.open(path, method=method, data=data, content_type="application/json",
                           headers={"X-Request-ID": "err-1"})
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "err-1"


def test_a_500_carries_the_id_and_is_logged_as_an_error(tiny_classifier, caplog):
    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier})

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    caplog.set_level(logging.INFO)
    response = app.test_client().get("/boom", headers={"X-Request-ID": "boom-1"})
    response.close()
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "boom-1"
    [line] = request_lines(caplog)
    assert (line.status, line.endpoint, line.levelname) == (500, "boom", "ERROR")


def test_one_line_per_request_with_its_fields(client, caplog, tiny_classifier):
    caplog.set_level(logging.INFO, logger="service.requests")
    body = {"texts": [TEXT, "The council met on Monday."]}
    response = client.post("/v1/classify?debug=1", json=body, headers={"X-Request-ID": "req-7"})
    assert request_lines(caplog) == []  # not before the response is sent
    response.close()
    assert response.status_code == 200
    [line] = request_lines(caplog)
    assert line.request_id == "req-7"
    assert (line.method, line.path, line.endpoint, line.status) == ("POST", "/v1/classify", "api.classify", 200)
    assert line.n_texts == 2 and line.model_version == tiny_classifier.version
    assert line.bytes_in == len(json.dumps(body))
    assert line.duration_ms >= 0 and line.remote_addr == "127.0.0.1"
    assert not hasattr(line, "texts")


def test_no_text_key_or_authorization_is_logged(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    client.post("/v1/classify", json={"text": TEXT}, headers={"Authorization": "Bearer sekrit-token-1"}).close()
    client.post("/v1/segment", json={"text": TEXT + "\n\nThe council met on Monday."}).close()
    client.post("/v1alpha1/comments:analyze?key=sekrit-key-2",
                json={"comment": {"text": TEXT}, "requestedAttributes": {"COMMENT": {}}}).close()
    client.post("/v1/classify", json={"texts": [TEXT, ""]}).close()  # a 400 names the item, not its text
    assert len(request_lines(caplog)) == 4
    logged = everything_logged(caplog)
    for secret in ("zebraquokka", "sekrit-token-1", "sekrit-key-2"):
        assert secret not in logged


def test_log_text_on_adds_the_texts(tiny_classifier, caplog):
    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "LOG_TEXT": True})
    caplog.set_level(logging.INFO, logger="service.requests")
    app.test_client().post("/v1/classify", json={"texts": [TEXT, "The council met."]}).close()
    [line] = request_lines(caplog)
    assert line.texts == [TEXT, "The council met."]


def test_log_text_from_the_environment(monkeypatch, tiny_classifier):
    monkeypatch.setenv("COMMENT_CLASSIFIER_LOG_TEXT", "true")
    assert create_app({"TESTING": True, "CLASSIFIER": tiny_classifier}).config["LOG_TEXT"] is True


@pytest.mark.parametrize("value", ["yes", "1", 1])
def test_log_text_must_be_a_boolean(monkeypatch, tiny_classifier, value):
    with pytest.raises(ValueError, match="LOG_TEXT must be true or false"):
        create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "LOG_TEXT": value})
