"""service.lane: POST /v1/classify answered outside Flask, alike in every way a client, the log,
the metrics and the review log can see; everything it does not answer goes to Flask."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from prometheus_client import REGISTRY

from service import create_app
from service.lane import ClassifyLane
from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES

KEY = "lane-key-1"
HEX_ID = re.compile(r"[0-9a-f]{32}")
EVERY_TEXT_IN_REVIEW = [0.0, 1.0]
ENDPOINT = {"endpoint": "api.classify"}


def make(tiny_classifier, tmp_path, name: str, **config):
    """An app on the tiny model with the review log on; ``FAST_CLASSIFY`` as given."""
    return create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "REVIEW_LOG_SIZE": 100,
                       "REVIEW_LOG_DB": str(tmp_path / f"{name}.sqlite3"), "API_KEYS": [KEY], **config})


class FlaskCalls:
    """Counts the requests that reached Flask's request hooks."""

    def __init__(self, app):
        self.count = 0
        app.before_request_funcs.setdefault(None, []).insert(0, self._seen)

    def _seen(self):
        self.count += 1


def metric_values() -> dict:
    """Every sample of the service's metrics in the process's registry, by name and labels."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in REGISTRY.collect() for sample in family.samples
            if sample.name.startswith("comment_classifier_") and not sample.name.endswith("_created")}


def changes(before: dict, after: dict) -> dict:
    """The samples a request moved, and by how much; of the durations (which differ run to run), the count."""
    moved = {}
    for key, value in after.items():
        change = value - before.get(key, 0.0)
        name = key[0]
        if change and not (name.startswith("comment_classifier_request_duration_seconds") and not name.endswith("_count")):
            moved[key] = change
    return moved


def call(app, environ_overrides: dict | None = None, **request):
    """One request through the app's whole WSGI stack: the response, its log line and the metrics it moved."""
    client = app.test_client()
    before = metric_values()
    handler_records = []

    class Keep(logging.Handler):
        def emit(self, record):
            if record.name == "service.requests":
                handler_records.append(record)

    keep = Keep()
    requests_log = logging.getLogger("service.requests")
    requests_log.addHandler(keep)
    old_level = requests_log.level
    requests_log.setLevel(logging.INFO)
    try:
        response = client.post("/v1/classify", environ_overrides=environ_overrides or {}, **request)
        response.close()  # as the server does once the answer is sent: the log line is written then
    finally:
        requests_log.removeHandler(keep)
        requests_log.setLevel(old_level)
    after = metric_values()
    [record] = handler_records
    fields = {key: value for key, value in record.__dict__.items()
              if key in {"request_id", "method", "path", "endpoint", "status", "bytes_in", "remote_addr",
                         "request_id_replaced", "n_texts", "model_version", "texts", "error"}}
    return response, fields, changes(before, after)


def review_rows(app) -> list[dict]:
    opened = app.extensions.get("review_log")
    return [] if opened is None else [{k: v for k, v in item.items() if k not in {"id", "created"}}
                                      for item in opened.page(0, 1000)]


REQUESTS = {
    "one text": {"json": {"text": COMMENT_EXAMPLES[0]}},
    "one editorial text": {"json": {"text": EDITORIAL_EXAMPLES[0]}},
    "a batch": {"json": {"texts": COMMENT_EXAMPLES[:3] + EDITORIAL_EXAMPLES[:2]}},
    "explained": {"json": {"text": COMMENT_EXAMPLES[1], "explain": True, "explain_top": 3}},
    "every text to review": {"json": {"texts": COMMENT_EXAMPLES[:2], "review_band": EVERY_TEXT_IN_REVIEW}},
    "non-ASCII text": {"json": {"text": "Caf\u00e9 \u00ab quotes \u00bb and \u2603 " + COMMENT_EXAMPLES[2]}},
    "a charset parameter": {"data": json.dumps({"text": COMMENT_EXAMPLES[3]}),
                            "content_type": "application/json; charset=utf-8"},
    "the client's request id": {"json": {"text": COMMENT_EXAMPLES[4]}, "headers": {"X-Request-ID": "trace-42"}},
    "a malformed request id": {"json": {"text": COMMENT_EXAMPLES[4]}, "headers": {"X-Request-ID": "has space"}},
    # what the lane starts, cannot finish, and hands to Flask
    "broken JSON": {"data": '{"text": ', "content_type": "application/json"},
    "a duplicate key": {"data": '{"text": "a", "text": "b"}', "content_type": "application/json"},
    "not UTF-8": {"data": b'{"text": "\xed\xa0\x80"}', "content_type": "application/json"},
    "an empty text": {"json": {"text": ""}},
    "zero-width characters only": {"json": {"text": "\u200b\u200b"}},
    "an unknown field": {"json": {"text": COMMENT_EXAMPLES[5], "colour": "red"}},
    "a text that is not a string": {"json": {"text": 5}},
    "a band the wrong way round": {"json": {"text": "a", "review_band": [0.9, 0.1]}},
    # what the lane does not take
    "another content type": {"data": json.dumps({"text": "a"}), "content_type": "text/plain"},
    "no content type": {"data": json.dumps({"text": "a"})},
    "over MAX_CONTENT_LENGTH": {"data": json.dumps({"text": "x" * 2_000_000}), "content_type": "application/json"},
}
ANSWERED_BY_THE_LANE = {"one text", "one editorial text", "a batch", "explained", "every text to review",
                        "non-ASCII text", "a charset parameter", "the client's request id", "a malformed request id",
                        "an unknown field"}


@pytest.mark.parametrize("log_text", [False, True])
@pytest.mark.parametrize("case", list(REQUESTS))
def test_the_lane_answers_logs_and_counts_like_flask(tiny_classifier, tmp_path, case, log_text):
    lane = make(tiny_classifier, tmp_path, "lane", LOG_TEXT=log_text)
    flask = make(tiny_classifier, tmp_path, "flask", LOG_TEXT=log_text, FAST_CLASSIFY=False)
    reached_flask = FlaskCalls(lane)
    request = REQUESTS[case]
    fast, fast_line, fast_metrics = call(lane, **request)
    slow, slow_line, slow_metrics = call(flask, **request)

    assert reached_flask.count == (0 if case in ANSWERED_BY_THE_LANE else 1)
    assert (fast.status_code, fast.get_data()) == (slow.status_code, slow.get_data())
    fast_headers, slow_headers = dict(fast.headers), dict(slow.headers)
    fast_id, slow_id = fast_headers.pop("X-Request-ID"), slow_headers.pop("X-Request-ID")
    assert fast_headers == slow_headers
    given = request.get("headers", {}).get("X-Request-ID")
    if given == "trace-42":
        assert fast_id == slow_id == given
    else:
        assert HEX_ID.fullmatch(fast_id) and HEX_ID.fullmatch(slow_id)
    assert fast_line.pop("request_id") == fast_id and slow_line.pop("request_id") == slow_id
    assert fast_line == slow_line
    assert ("texts" in fast_line) == (log_text and fast.status_code == 200)
    assert fast_metrics == slow_metrics
    assert fast_metrics[("comment_classifier_requests_total",
                         frozenset({**ENDPOINT, "status": str(fast.status_code)}.items()))] == 1
    assert review_rows(lane) == review_rows(flask)
    if case == "every text to review":
        assert [row["text"] for row in review_rows(lane)] == COMMENT_EXAMPLES[:2]


def test_an_api_key_is_checked_as_flask_checks_it(tiny_classifier, tmp_path):
    config = {"REQUIRE_API_KEY": "/v1/classify"}
    lane = make(tiny_classifier, tmp_path, "lane", **config)
    flask = make(tiny_classifier, tmp_path, "flask", FAST_CLASSIFY=False, **config)
    reached_flask = FlaskCalls(lane)
    body = {"json": {"text": COMMENT_EXAMPLES[0]}}
    for headers, status in [({"Authorization": f"Bearer {KEY}"}, 200), ({}, 401),
                            ({"Authorization": "Bearer wrong"}, 403), ({"Authorization": f"Basic {KEY}"}, 401)]:
        fast, _line, _metrics = call(lane, headers=headers, **body)
        slow, _line, _metrics = call(flask, headers=headers, **body)
        assert fast.status_code == slow.status_code == status
        assert fast.get_data() == slow.get_data()
    assert reached_flask.count == 3  # the refusals only


def test_no_model_yet_is_flasks_503(tmp_path):
    app = create_app({"TESTING": True, "LOAD_MODEL": False})
    response = app.test_client().post("/v1/classify", json={"text": "a"})
    assert response.status_code == 503 and response.json["error"]["code"] == "not_ready"


def test_a_failure_while_scoring_is_flasks_500_counted_once(tiny_classifier, tmp_path, caplog):
    class Broken:
        version, card, review_band, kind_scorer = "broken-1", tiny_classifier.card, tiny_classifier.review_band, None

        def classify(self, *_args, **_kwargs):
            raise RuntimeError("the model fell over")

    app = create_app({"TESTING": True, "CLASSIFIER": Broken()})
    caplog.set_level(logging.ERROR)
    response, line, moved = call(app, json={"text": "a"})
    assert response.status_code == 500 and response.json["error"]["code"] == "internal_error"
    assert "the model fell over" not in response.get_data(as_text=True)
    assert line["status"] == 500
    assert moved[("comment_classifier_requests_total", frozenset({**ENDPOINT, "status": "500"}.items()))] == 1
    assert not any(name == "comment_classifier_labels_total" for name, _labels in moved)


@pytest.mark.parametrize("stream, length", [
    (io.BytesIO(b'{"text": "cut off'), "40"),  # the client stopped before its Content-Length
    (None, "20"),  # the server's stream failed
])
def test_a_body_that_cannot_be_read_whole_is_flasks_400(tiny_classifier, stream, length):
    class Failing:
        def read(self, *_args):
            raise OSError("connection reset")

    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier})
    statuses = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/v1/classify", "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": stream or Failing(), "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": length,
               "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1"}
    body = b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    assert statuses[0].startswith("400")
    assert json.loads(body)["error"]["code"] in {"invalid_json", "bad_request"}


def test_on_by_default_off_when_asked_and_a_typo_refused(tiny_classifier):
    def lanes(app):
        found, wsgi = [], app.wsgi_app
        while wsgi is not None:
            found.append(isinstance(wsgi, ClassifyLane))
            wsgi = getattr(wsgi, "wsgi_app", None)
        return any(found)

    assert lanes(create_app({"TESTING": True, "CLASSIFIER": tiny_classifier}))
    assert not lanes(create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "FAST_CLASSIFY": False}))
    with pytest.raises(ValueError, match="FAST_CLASSIFY"):
        create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "FAST_CLASSIFY": "no"})
