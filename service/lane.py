"""``POST /v1/classify`` answered without Flask when the request is well-formed: the service's hot path.

A single-text request spent about twice as long in Flask, its hooks and middleware as in the
model (``python -m bench.layers``: some 200 µs around a model of about 190), so under load a
worker answered well under half the requests a hello-world Flask app does. ``ClassifyLane``
sits between the overload limits and Flask (``init_app``) and answers the endpoint's happy path
itself, with the same parts the view uses: the body checks of ``service.validation``, the
endpoint's work in ``service.api.classify_payload``, the JSON of ``app.json``, and the request's
id, log line, metrics, review log and ``X-Model-Version`` header as the Flask hooks give them. A
test checks that both paths answer, log and count the same requests alike.

Anything else goes to Flask untouched, which answers it as before: another method or path, no
model yet, a body without a Content-Length (chunked) or over ``MAX_CONTENT_LENGTH``, another
content type, a missing or wrong API key where ``REQUIRE_API_KEY`` asks for one, a body that
ended early or could not be read. A request the lane starts and cannot finish (a body that is not
valid JSON or fails the schema, an error while scoring or recording) goes to Flask with the error
it met (``service.api.HANDED_OVER``), which the view raises at once: the error's answer, log line
and count are Flask's own, and the body is not parsed or scored a second time. The lane records
its labels and review log only once the answer is ready (only a failure in the middle of those
records leaves a partial count). Lines other loggers write while the lane scores carry no
``request_id`` (there is no Flask request to take it from); the request's own line always does.

The lane mirrors the app's request hooks by hand; a test lists them, so that a hook added later
fails it until the lane does what the hook does (or leaves the request to Flask).
"""

from __future__ import annotations

import io
import json
import logging
import time

from flask import Flask

from service import auth, logs, metrics
from service.api import HANDED_OVER, classify_payload
from service.review_log import record as record_review
from service.validation import parse_json_object

PATH = "/v1/classify"
ENDPOINT = "api.classify"  # the Flask endpoint of the same route, for metrics and the log line


class _Unreadable:
    """A body stream that fails as the server's did, so Flask answers the failure as its own."""

    def __init__(self, error: Exception):
        self.error = error

    def read(self, *_args):
        raise self.error


class _Answer:
    """The response body, whole; its log line is written when the server closes it, once the
    client has the answer (as Flask's hooks do with ``call_on_close``)."""

    def __init__(self, data: bytes, line: dict | None):
        self.data = data
        self.line = line

    def __iter__(self):
        yield self.data

    def close(self) -> None:
        line, self.line = self.line, None
        if line is not None:
            logs.write_line(logging.INFO, line)


def _is_json(content_type: str) -> bool:
    """Whether the Content-Type is plainly ``application/json`` (parameters allowed); anything
    less plain is Flask's to judge."""
    return content_type.partition(";")[0].strip().lower() == "application/json"


class ClassifyLane:
    """WSGI middleware: well-formed ``POST /v1/classify`` requests answered here, the rest by Flask."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.protected = auth.protects(app, PATH)
        # What ``jsonify`` writes with the app's JSON settings (``create_app`` makes them compact),
        # its encoder made once rather than per response.
        provider = app.json
        self.encode = json.JSONEncoder(default=provider.default, ensure_ascii=provider.ensure_ascii,
                                       sort_keys=provider.sort_keys, separators=(",", ":")).encode

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        app = self.app
        config = app.config
        watcher = app.extensions.get("model_watcher")
        if watcher is not None:  # what reload's before_request hook does for servers without post_fork
            watcher.ensure_running()
        loaded = app.extensions.get("classifier")
        length = environ.get("CONTENT_LENGTH", "")
        limit = config.get("MAX_CONTENT_LENGTH")
        if (loaded is None or not (length.isascii() and length.isdigit()) or len(length) > 15
                or "HTTP_TRANSFER_ENCODING" in environ or (limit is not None and int(length) > limit)
                or not _is_json(environ.get("CONTENT_TYPE", ""))
                or (self.protected and not auth.accepts(app.extensions["api_keys"], environ.get("HTTP_AUTHORIZATION")))):
            return self.wsgi_app(environ, start_response)
        length = int(length)
        try:
            body = environ["wsgi.input"].read(length)
        except Exception as error:  # a cut connection: Flask's read_body says so
            environ["wsgi.input"] = _Unreadable(error)
            return self.wsgi_app(environ, start_response)
        if len(body) != length:  # the client stopped early: Flask reads what came, as it would have
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        try:
            answer, results, texts = classify_payload(loaded, config, parse_json_object("application/json", body))
            data = f"{self.encode(answer)}\n".encode()
            metrics.count_results(results, texts, ENDPOINT)
            record_review(results, texts, "classify", loaded.version, app=app)
        except Exception as error:  # an invalid body, a failure while scoring: Flask's view raises it
            environ[HANDED_OVER] = error
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        request_id, replaced = logs.id_from_header(environ.get(logs.ENVIRON_KEY))
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                  ("X-Model-Version", loaded.version), (logs.HEADER, request_id)])
        line = None
        if logs.log.isEnabledFor(logging.INFO):
            line = logs.line_fields(request_id, "POST", PATH, ENDPOINT, 200, started, length,
                                    environ.get("REMOTE_ADDR"), replaced)
            line.update(logs.classified_fields(len(texts), loaded.version, texts, config.get("LOG_TEXT")))
        metrics.record_request(ENDPOINT, 200, time.perf_counter() - started)
        return _Answer(data, line)


def init_app(app: Flask) -> None:
    """Put ``ClassifyLane`` in front of Flask unless ``FAST_CLASSIFY`` is false.

    Call it after ``service.auth.init_app`` (it asks which routes need a key) and before
    ``service.overload.init_app``, whose limits must still come first.
    """
    on = app.config.get("FAST_CLASSIFY", True)
    if not isinstance(on, bool):  # a typo must not pass for either
        raise ValueError(f"FAST_CLASSIFY must be true or false (got {on!r:.40})")
    if on:
        app.wsgi_app = ClassifyLane(app, app.wsgi_app)
