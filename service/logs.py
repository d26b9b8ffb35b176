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
        header = request.environ.get(ENVIRON_KEY)
        if header is not None and VALID_ID.fullmatch(header):
            given = header
        else:
            given = uuid.uuid4().hex
            state.request_id_replaced = header is not None
        state.request_id = given
    return given


def endpoint_name() -> str:
    """The Flask endpoint that answered, or ``unmatched``: never the raw path, whose values are unbounded."""
    rule = request.url_rule
    return rule.endpoint if rule is not None else "unmatched"


def annotate(n_texts: int | None = None, model_version: str | None = None, texts: list[str] | None = None) -> None:
    """Add what a classifying view knows to this request's log line; texts only if ``LOG_TEXT`` is on."""
    fields = g.setdefault("log_fields", {})
    if n_texts is not None:
        fields["n_texts"] = n_texts
    if model_version is not None:
        fields["model_version"] = model_version
    if texts is not None and current_app.config.get("LOG_TEXT"):
        fields["texts"] = list(texts)


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
    started = getattr(state, "request_started", None)
    current = request._get_current_object()
    rule = current.url_rule
    fields = {
        "request_id": request_id(),
        "method": current.method,
        "path": current.path,
        "endpoint": rule.endpoint if rule is not None else "unmatched",
        "status": status,
        "duration_ms": None if started is None else round((time.perf_counter() - started) * 1000, 3),
        "bytes_in": current.content_length,
        "remote_addr": current.remote_addr,
    }
    if getattr(state, "request_id_replaced", False):
        fields["request_id_replaced"] = True
    fields.update(getattr(state, "log_fields", {}))
    state.log_line = (level, fields)
    if not getattr(state, "line_deferred", False):
        _emit(state)


def _emit(state) -> None:
    """Write the request's line (built while the request context was still there), once.

    The record is made and handed to the logger's handlers directly (``Logger.makeRecord`` and
    ``Logger.handle``, what ``Logger.log`` does after it has looked up the calling frame's file
    and line, which no line of ours shows and which cost as much as the rest of the call).
    """
    line = state.__dict__.pop("log_line", None)
    if line is not None:
        log.handle(log.makeRecord(log.name, line[0], __file__, 0, "request", None, None, extra=line[1]))


def init_app(app: Flask) -> None:
    """Give every request an id, echo it on the response, and write one log line per request.

    Call it before other request hooks are registered: a ``before_request`` that answers early
    stops the ones registered after it.
    """
    app.config["LOG_TEXT"] = check_log_text(app.config.get("LOG_TEXT", False))
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_write_line)
