"""Request ids and the per-request log line.

Every request gets an id: the client's ``X-Request-ID`` when it is 1-128 characters of
``[A-Za-z0-9._:-]``, else a new uuid4 hex (a malformed or hostile header is replaced, never
echoed). The id goes back on every response, errors included, and is kept as ``g.request_id``,
where the log configuration in ``service/gunicorn.conf.py`` adds it to every line written while
the request is handled.

At the end of each request the app writes one line to the ``service.requests`` logger with the
request's id, method, path (never the query string: Perspective keys arrive as ``?key=``),
endpoint, status, duration, body size, remote address and, for classifying endpoints, the number
of texts and the model version. Comment text is only added when the operator sets ``LOG_TEXT``.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid

from flask import Flask, current_app, g, request

HEADER = "X-Request-ID"
ENVIRON_KEY = "HTTP_X_REQUEST_ID"  # the header in the WSGI environ: cheaper than request.headers
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger("service.requests")


def request_id() -> str:
    """This request's id: the client's ``X-Request-ID`` if well-formed, else a new uuid4 hex."""
    # The objects behind the proxies, taken once: these hooks run on every request.
    state = g._get_current_object()
    given = getattr(state, "request_id", None)
    if given is None:
        given, replaced = id_from_header(request.environ.get(ENVIRON_KEY))
        if replaced:
            state.request_id_replaced = True
        state.request_id = given
    return given


def id_from_header(header: str | None) -> tuple[str, bool]:
    """The id for a request whose ``X-Request-ID`` is ``header``, and whether a given header was replaced."""
    if header is not None and VALID_ID.fullmatch(header):
        return header, False
    return uuid.uuid4().hex, header is not None


def endpoint_name() -> str:
    """The Flask endpoint that answered, or ``unmatched``: never the raw path, whose values are unbounded."""
    rule = request.url_rule
    return rule.endpoint if rule is not None else "unmatched"


def annotate(n_texts: int | None = None, model_version: str | None = None, texts: list[str] | None = None) -> None:
    """Add what a classifying view knows to this request's log line; texts only if ``LOG_TEXT`` is on."""
    g.setdefault("log_fields", {}).update(
        classified_fields(n_texts, model_version, texts, current_app.config.get("LOG_TEXT")))


def classified_fields(n_texts: int | None, model_version: str | None, texts: list[str] | None,
                      log_text: bool) -> dict:
    """The log line's fields for what a request classified (those given; the texts only with ``log_text``)."""
    fields = {}
    if n_texts is not None:
        fields["n_texts"] = n_texts
    if model_version is not None:
        fields["model_version"] = model_version
    if texts is not None and log_text:
        fields["texts"] = list(texts)
    return fields


def check_log_text(value) -> bool:
    """``LOG_TEXT`` as a boolean, or ValueError: a typo must not switch logging of comment text on."""
    if not isinstance(value, bool):
        raise ValueError(f"LOG_TEXT must be true or false (got {value!r:.40})")
    return value


def _start() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _finish(response):
    state = g._get_current_object()
    response.headers[HEADER] = request_id()
    state.response_status = response.status_code
    # The line is written once the server has sent the response and closes it, as gunicorn
    # writes its access log, so that the client does not wait for it.
    state.line_deferred = True
    response.call_on_close(functools.partial(_emit, state))
    return response


def _write_line(error: BaseException | None) -> None:
    state = g._get_current_object()
    # No response recorded means the request failed past every error handler.
    status = getattr(state, "response_status", 500)
    level = logging.ERROR if status >= 500 else logging.INFO
    if not log.isEnabledFor(level):  # LOG_LEVEL=warning turns the lines off, and their cost
        return
    current = request._get_current_object()
    rule = current.url_rule
    fields = line_fields(request_id(), current.method, current.path, rule.endpoint if rule is not None else "unmatched",
                         status, getattr(state, "request_started", None), current.content_length,
                         current.remote_addr, getattr(state, "request_id_replaced", False))
    fields.update(getattr(state, "log_fields", {}))
    state.log_line = (level, fields)
    if not getattr(state, "line_deferred", False):
        _emit(state)


def line_fields(request_id: str, method: str, path: str, endpoint: str, status: int, started: float | None,
                bytes_in: int | None, remote_addr: str | None, replaced: bool = False) -> dict:
    """The fields of a request's log line (``started``: its ``time.perf_counter()`` at the start)."""
    fields = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "endpoint": endpoint,
        "status": status,
        "duration_ms": None if started is None else round((time.perf_counter() - started) * 1000, 3),
        "bytes_in": bytes_in,
        "remote_addr": remote_addr,
    }
    if replaced:
        fields["request_id_replaced"] = True
    return fields


def _emit(state) -> None:
    """Write the request's line (built while the request context was still there), once.

    The record is made and handed to the logger's handlers directly (``Logger.makeRecord`` and
    ``Logger.handle``, what ``Logger.log`` does after it has looked up the calling frame's file
    and line, which no line of ours shows and which cost as much as the rest of the call).
    """
    line = state.__dict__.pop("log_line", None)
    if line is not None:
        write_line(*line)


def write_line(level: int, fields: dict) -> None:
    """Hand a request's line to the ``service.requests`` logger's handlers."""
    log.handle(log.makeRecord(log.name, level, __file__, 0, "request", None, None, extra=fields))


def init_app(app: Flask) -> None:
    """Give every request an id, echo it on the response, and write one log line per request.

    Call it before other request hooks are registered: a ``before_request`` that answers early
    stops the ones registered after it.
    """
    app.config["LOG_TEXT"] = check_log_text(app.config.get("LOG_TEXT", False))
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_write_line)
