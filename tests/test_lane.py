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


def call(app, environ_overrides: dict | None = None, level: int = logging.INFO, **request):
    """One request through the app's whole WSGI stack: the response, its log line (None when the
    logger's ``level`` leaves it out) and the metrics it moved."""
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
    requests_log.setLevel(level)
    try:
        response = client.post("/v1/classify", environ_overrides=environ_overrides or {}, **request)
        response.close()  # as the server does once the answer is sent: the log line is written then
    finally:
        requests_log.removeHandler(keep)
        requests_log.setLevel(old_level)
    after = metric_values()
    if not handler_records:
        return response, None, changes(before, after)
    [record] = handler_records
    fields = {key: value for key, value in record.__dict__.items()
              if key in {"request_id", "method", "path", "endpoint", "status", "bytes_in", "remote_addr",
                         "request_id_replaced", "n_texts", "model_version", "texts", "error"}}
    return response, fields, changes(before, after)


def without_id(headers) -> list[tuple[str, str]]:
    """Every header but the request id, repeated ones included, in a fixed order."""
    return sorted((name, value) for name, value in headers.items() if name != "X-Request-ID")


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
    fast_id, slow_id = fast.headers["X-Request-ID"], slow.headers["X-Request-ID"]
    assert without_id(fast.headers) == without_id(slow.headers)
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


def assert_alike(fast, slow) -> None:
    """Two ``call`` results (response, log line, metrics moved) that must not differ but for the request id."""
    (fast_response, fast_line, fast_metrics), (slow_response, slow_line, slow_metrics) = fast, slow
    assert (fast_response.status_code, fast_response.get_data()) == (slow_response.status_code, slow_response.get_data())
    assert without_id(fast_response.headers) == without_id(slow_response.headers)
    drop = {"request_id"}
    assert ({k: v for k, v in (fast_line or {}).items() if k not in drop}
            == {k: v for k, v in (slow_line or {}).items() if k not in drop})
    assert fast_metrics == slow_metrics


@pytest.mark.parametrize("config, headers, status", [
    ({"REQUIRE_API_KEY": "/v1/classify"}, {"Authorization": f"Bearer {KEY}"}, 200),
    ({"REQUIRE_API_KEY": "/v1/classify"}, {"Authorization": f"bearer   {KEY} "}, 200),
    ({"REQUIRE_API_KEY": "/v1/classify"}, {}, 401),
    ({"REQUIRE_API_KEY": "/v1/classify"}, {"Authorization": "Bearer wrong"}, 403),
    ({"REQUIRE_API_KEY": "/v1/classify"}, {"Authorization": f"Basic {KEY}"}, 401),
    ({"REQUIRE_API_KEY": "*"}, {"Authorization": f"Bearer {KEY}"}, 200),
    ({"REQUIRE_API_KEY": "/v1/classify", "API_KEYS": []}, {"Authorization": f"Bearer {KEY}"}, 503),
    ({"REQUIRE_API_KEY": "/v1/segment"}, {}, 200),
])
def test_an_api_key_is_checked_as_flask_checks_it(tiny_classifier, tmp_path, config, headers, status):
    lane = make(tiny_classifier, tmp_path, "lane", **config)
    flask = make(tiny_classifier, tmp_path, "flask", FAST_CLASSIFY=False, **config)
    reached_flask = FlaskCalls(lane)
    body = {"json": {"text": COMMENT_EXAMPLES[0]}}
    fast = call(lane, headers=headers, **body)
    assert_alike(fast, call(flask, headers=headers, **body))
    assert fast[0].status_code == status
    assert reached_flask.count == (0 if status == 200 else 1)


def test_a_key_written_to_the_key_file_opens_the_lane_at_once(tiny_classifier, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("old-key\n")
    app = make(tiny_classifier, tmp_path, "lane", API_KEYS=[], API_KEYS_FILE=str(keys), REQUIRE_API_KEY="*")
    client = app.test_client()
    new_key = {"Authorization": "Bearer new-key"}
    assert client.post("/v1/classify", json={"text": "a b c"}, headers=new_key).status_code == 403
    keys.write_text("old-key\nnew-key\n")
    assert client.post("/v1/classify", json={"text": "a b c"}, headers=new_key).status_code == 200


def test_the_app_wide_review_band_and_a_quiet_log_apply_alike(tiny_classifier, tmp_path):
    config = {"REVIEW_BAND": EVERY_TEXT_IN_REVIEW}
    lane = make(tiny_classifier, tmp_path, "lane", **config)
    flask = make(tiny_classifier, tmp_path, "flask", FAST_CLASSIFY=False, **config)
    body = {"json": {"texts": COMMENT_EXAMPLES[:3]}}
    fast = call(lane, level=logging.WARNING, **body)
    assert_alike(fast, call(flask, level=logging.WARNING, **body))
    assert fast[1] is None  # LOG_LEVEL=warning: no line, and still counted
    assert fast[2][("comment_classifier_decisions_total", frozenset({**ENDPOINT, "decision": "review"}.items()))] == 3
    assert [row["text"] for row in review_rows(lane)] == COMMENT_EXAMPLES[:3] == [row["text"] for row in review_rows(flask)]


def test_a_rejected_body_is_parsed_once_and_a_failing_model_runs_once(tiny_classifier, tmp_path, monkeypatch):
    import service.api
    import service.lane

    parsed = []
    real_parse = service.api.parse

    def counting_parse(*args, **kwargs):
        parsed.append(1)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(service.api, "parse", counting_parse)
    app = make(tiny_classifier, tmp_path, "lane")
    response = app.test_client().post("/v1/classify", json={"texts": ["a"] * 5000})
    assert response.status_code == 400 and response.json["error"]["code"] == "too_many_texts"
    assert len(parsed) == 1

    class Broken:
        version, card, review_band, kind_scorer = "broken-1", tiny_classifier.card, tiny_classifier.review_band, None
        calls = 0

        def classify(self, *_args, **_kwargs):
            Broken.calls += 1
            raise RuntimeError("the model fell over")

    broken = create_app({"TESTING": True, "CLASSIFIER": Broken()})
    assert broken.test_client().post("/v1/classify", json={"text": "a"}).status_code == 500
    assert Broken.calls == 1


def test_no_model_yet_is_flasks_503(tmp_path):
    app = create_app({"TESTING": True, "LOAD_MODEL": False})
    response = app.test_client().post("/v1/classify", json={"text": "a"})
    assert response.status_code == 503 and response.json["error"]["code"] == "not_ready"


def test_a_failure_while_scoring_is_flasks_500_counted_once(tiny_classifier, caplog):
    class Broken:
        version, card, review_band, kind_scorer = "broken-1", tiny_classifier.card, tiny_classifier.review_band, None

        def classify(self, *_args, **_kwargs):
            raise RuntimeError("the model fell over")

    lane = create_app({"TESTING": True, "CLASSIFIER": Broken()})
    flask = create_app({"TESTING": True, "CLASSIFIER": Broken(), "FAST_CLASSIFY": False})
    caplog.set_level(logging.ERROR)
    fast = call(lane, json={"text": "a"})
    assert_alike(fast, call(flask, json={"text": "a"}))
    response, line, moved = fast
    assert response.status_code == 500 and response.json["error"]["code"] == "internal_error"
    assert "the model fell over" not in response.get_data(as_text=True)
    assert line["status"] == 500
    assert moved[("comment_classifier_requests_total", frozenset({**ENDPOINT, "status": "500"}.items()))] == 1
    assert not any(name == "comment_classifier_labels_total" for name, _labels in moved)


def test_a_failure_while_recording_is_flasks_json_500(tiny_classifier, tmp_path, monkeypatch):
    from service.review_log import ReviewLog

    def refuse(self, rows):
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr(ReviewLog, "add", refuse)
    config = {"REVIEW_BAND": EVERY_TEXT_IN_REVIEW}
    lane = make(tiny_classifier, tmp_path, "lane", **config)
    flask = make(tiny_classifier, tmp_path, "flask", FAST_CLASSIFY=False, **config)
    fast = call(lane, json={"text": COMMENT_EXAMPLES[0]})
    slow = call(flask, json={"text": COMMENT_EXAMPLES[0]})
    assert (fast[0].status_code, fast[0].get_data()) == (slow[0].status_code, slow[0].get_data())
    assert fast[0].status_code == 500 and fast[0].json["error"]["code"] == "internal_error"
    assert fast[1]["status"] == slow[1]["status"] == 500
    requests_500 = ("comment_classifier_requests_total", frozenset({**ENDPOINT, "status": "500"}.items()))
    assert fast[2][requests_500] == slow[2][requests_500] == 1


def _environ(stream, length: str) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/v1/classify", "SERVER_NAME": "localhost",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": stream, "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": length,
            "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1"}


def _answer(app, environ) -> tuple[str, dict]:
    statuses = []
    body = b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses[0], json.loads(body)


class _Failing:
    def read(self, *_args):
        raise OSError("connection reset")


@pytest.mark.parametrize("make_stream, length", [
    (lambda: io.BytesIO(b'{"text": "cut off'), "40"),  # the client stopped before its Content-Length
    (_Failing, "20"),  # the server's stream failed
    (lambda: io.BytesIO(b'{"text": "a b c"}'), "\u00b2"),  # a digit to str.isdigit, not to HTTP
    (lambda: io.BytesIO(b'{"text": "a b c"}'), "9" * 5000),  # past int()'s digit limit
    (lambda: io.BytesIO(b'{"text": "a b c"}'), "+17"),
])
def test_bodies_the_lane_cannot_read_whole_get_flasks_answer(tiny_classifier, make_stream, length):
    lane = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier})
    flask = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "FAST_CLASSIFY": False})
    fast = _answer(lane, _environ(make_stream(), length))
    assert fast == _answer(flask, _environ(make_stream(), length))
    assert fast[0][:3] in {"400", "413"} and "error" in fast[1]


def test_the_lane_mirrors_every_request_hook_of_the_app(tiny_classifier):
    """The lane does by hand what these hooks do for a classify request; a new hook must be added
    to the lane (or make it leave such requests to Flask) before this list changes."""
    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "REQUIRE_API_KEY": "*",
                      "API_KEYS": [KEY], "MODEL_POLL_SECONDS": 0})

    def names(hooks) -> dict:
        return {blueprint: sorted(f.__qualname__ for f in functions) for blueprint, functions in hooks.items()
                if blueprint is None or blueprint == "api"}

    assert names(app.before_request_funcs) == {None: ["_start", "init_app.<locals>._check_key"]}
    assert names(app.after_request_funcs) == {None: ["_finish", "_options_no_content", "init_app.<locals>._model_version"]}
    assert names(app.teardown_request_funcs) == {None: ["_count", "_write_line"]}


def test_the_first_classify_request_starts_the_model_watcher(tiny_model_dir, tmp_path):
    import os
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    app = create_app({"TESTING": True, "MODEL_DIR": str(folder), "MODEL_POLL_SECONDS": 60})
    watcher = app.extensions["model_watcher"]
    assert watcher._pid is None
    assert app.test_client().post("/v1/classify", json={"text": "a b c"}).status_code == 200
    try:
        assert watcher._pid == os.getpid()
    finally:
        watcher.stop()


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
