"""The service's errors: one small hierarchy, one JSON shape, one handler."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Codes for the statuses werkzeug raises before a view runs (routing, body size).
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


class APIError(Exception):
    """An error a client can act on: an HTTP status, a stable code and a message."""

    status = 400
    code = "bad_request"
    headers: dict = {}

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidRequest(APIError):
    """The body is not what the endpoint accepts."""

    status = 400
    code = "invalid_request"


class UnsupportedMediaType(APIError):
    """The body is not JSON."""

    status = 415
    code = "unsupported_media_type"


class NotReady(APIError):
    """The model is not loaded yet."""

    status = 503
    code = "not_ready"


def error_body(status: int, code: str, message: str):
    """A JSON response ``{"error": {"code", "message"}}`` with ``status``."""
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _options_no_content(response):
    """``OPTIONS`` on a path that exists: 204 No Content with ``Allow`` (Flask's own answer is an
    empty 200 typed text/html). On a path that does not exist it stays 404 ``not_found``."""
    if request.method == "OPTIONS" and response.status_code == 200 and request.url_rule is not None:
        answer = Response(status=204)
        del answer.headers["Content-Type"]
        answer.headers["Allow"] = response.headers.get("Allow", "")
        return answer
    return response


def init_app(app: Flask) -> None:
    """Register the handlers that turn every error into the JSON error body."""
    app.after_request(_options_no_content)

    @app.errorhandler(APIError)
    def _api_error(error: APIError):
        response = error_body(error.status, error.code, error.message)
        response.headers.update(error.headers)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        message = error.description or error.name
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"the request body is over the limit of {limit} bytes"
        response = error_body(status, code, message)
        if status == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return error_body(500, "internal_error", "the server failed to answer this request; it was logged")
