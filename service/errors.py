"""The service's errors: one small hierarchy and one renderer, with a wire shape per client family.

Every error a request can end in (an ``APIError`` a view raised, an HTTP error werkzeug raised, an
unexpected exception) goes through ``render``. What the body looks like is the shape of the
blueprint that answered: the service's own ``{"error": {"code", "message"}}`` by default, or a
variant a blueprint registered with ``use_shape`` (the Perspective integration answers in Google's
``{"error": {"code", "message", "status"[, "details"]}}``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, jsonify, request
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
    """An error a client can act on: an HTTP status, a stable code and a message.

    ``details`` is for shapes that carry them (Google's); ``headers`` are added to the response.
    """

    status = 400
    code = "bad_request"
    headers: dict = {}
    details: list | None = None

    def __init__(self, message: str, code: str | None = None, *, status: int | None = None,
                 details: list | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status is not None:
            self.status = status
        if details is not None:
            self.details = details
        if headers:
            self.headers = {**type(self).headers, **headers}


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


class InternalError(APIError):
    """An unexpected exception: logged with its traceback, answered without it."""

    status = 500
    code = "internal_error"


@dataclass(frozen=True)
class ErrorShape:
    """How one family of clients expects an error: the body's layout, and the wording of the
    errors the service words itself (``{code: message}``; ``{limit}`` is the body limit in bytes)."""

    wording: dict

    def body(self, error: APIError, message: str) -> dict:
        return {"error": {"code": error.code, "message": message}}


# Google's canonical status for each HTTP status Perspective answers with.
_CANONICAL = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 405: "UNIMPLEMENTED",
              413: "INVALID_ARGUMENT", 500: "INTERNAL", 503: "UNAVAILABLE"}


class GoogleErrorShape(ErrorShape):
    """Google's ``{"error": {"code": <HTTP status>, "message", "status"[, "details"]}}``."""

    def body(self, error: APIError, message: str) -> dict:
        body = {"code": error.status, "message": message, "status": _CANONICAL.get(error.status, "UNKNOWN")}
        if error.details:
            body["details"] = error.details
        return {"error": body}


SERVICE_SHAPE = ErrorShape({
    "body_too_large": "the request body is over the limit of {limit} bytes",
    "internal_error": "the server failed to answer this request; it was logged",
})
GOOGLE_SHAPE = GoogleErrorShape({
    "body_too_large": "Request payload size exceeds the limit: {limit} bytes.",
    "internal_error": "Internal error encountered.",
    "not_ready": "The model is not loaded yet; retry shortly.",
})


def use_shape(blueprint: Blueprint, shape: ErrorShape) -> None:
    """Answer every error of ``blueprint``'s routes in ``shape`` rather than the service's own."""
    blueprint.record_once(lambda state: state.app.extensions.setdefault("error_shapes", {})
                          .__setitem__(blueprint.name, shape))


def _shape() -> ErrorShape:
    shapes = current_app.extensions.get("error_shapes", {})
    return next((shapes[name] for name in request.blueprints if name in shapes), SERVICE_SHAPE)


def render(error: APIError, shape: ErrorShape | None = None) -> Response:
    """The response for ``error`` in ``shape`` (by default, the shape of the request's blueprint)."""
    shape = shape or _shape()
    template = shape.wording.get(error.code)
    message = error.message if template is None else template.format(limit=current_app.config.get("MAX_CONTENT_LENGTH"))
    response = jsonify(shape.body(error, message))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _from_http(error: HTTPException) -> APIError:
    """werkzeug's error as an ``APIError``: its status and message, our code."""
    status = error.code or 500
    headers = None
    if status == 405 and getattr(error, "valid_methods", None):
        headers = {"Allow": ", ".join(error.valid_methods)}
    return APIError(error.description or error.name, _HTTP_CODES.get(status, "http_error"), status=status,
                    headers=headers)


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
    """Register the one handler that turns every error into its JSON error body."""
    app.after_request(_options_no_content)

    @app.errorhandler(Exception)
    def _any_error(error: Exception):
        if isinstance(error, HTTPException):
            error = _from_http(error)
        elif not isinstance(error, APIError):
            log.exception("unhandled error")
            error = InternalError("unexpected error")
        return render(error)
