"""Moderators' corrections: ``POST /v1/feedback`` stores one, ``GET /v1/feedback`` pages through them.

Both need an API key. The store is PostgreSQL when ``DATABASE_URL`` is set (replicas on several
hosts share it), else the SQLite file ``FEEDBACK_DB``. Each worker opens it on first use, so a
service whose feedback store is unreachable still classifies; feedback then answers 503.
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, current_app, jsonify, request

from feedback import FeedbackError, is_database_url, open_store
from service import metrics
from service.auth import feedback_keyring, require_key
from service.errors import APIError, InvalidRequest
from service.schemas import FEEDBACK_STRING_LIMITS, FeedbackRequest, Limits, parse
from service.validation import parse_json_object, read_body

bp = Blueprint("feedback", __name__)
log = logging.getLogger(__name__)

# The body's fields, and the optional strings' longest accepted lengths (declared in service.schemas).
_FIELDS = set(FeedbackRequest.model_fields)
_STRINGS = FEEDBACK_STRING_LIMITS
MAX_PAGE = 1000
_opening = threading.Lock()


class FeedbackUnavailable(APIError):
    status = 503
    code = "feedback_unavailable"


def store():
    """This process's feedback store, opened (and migrated) on first use: PostgreSQL for
    ``DATABASE_URL``, else the SQLite file ``FEEDBACK_DB``."""
    opened = current_app.extensions.get("feedback")
    if opened is not None:
        return opened
    config = current_app.config
    with _opening:  # one store (one connection pool) per process, however many threads ask at once
        opened = current_app.extensions.get("feedback")
        if opened is None:
            url = config.get("DATABASE_URL") or None
            try:
                if url is not None and not is_database_url(url):
                    raise FeedbackError("COMMENT_CLASSIFIER_DATABASE_URL must be a postgresql:// URL "
                                        f"(got one starting {str(url)[:12]!r})")
                opened = open_store(url or config["FEEDBACK_DB"], busy_timeout=config["FEEDBACK_BUSY_TIMEOUT"],
                                    pool_size=config.get("FEEDBACK_POOL_SIZE") or 4)
            except FeedbackError as error:
                log.error("%s", error)
                raise FeedbackUnavailable("the feedback store cannot be opened; the error is in the server log") from None
            current_app.extensions["feedback"] = opened
    return opened


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    given = request.args.getlist(name)
    if len(given) > 1:
        raise InvalidRequest(f"'{name}' is given {len(given)} times; give it once")
    raw = given[0] if given else None
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        raise InvalidRequest(f"'{name}' must be a whole number from {low} to {high} (got {raw!r:.40})")
    return int(raw)


def paging_args() -> tuple[int, int]:
    """``(after, limit)`` of a keyset-paged listing's query (only those two parameters)."""
    unknown = sorted(set(request.args) - {"after", "limit"})
    if unknown:
        raise InvalidRequest(f"unknown parameter(s) {', '.join(map(repr, unknown))}; accepted: after, limit")
    return _int_arg("after", 0, 0, 2**62), _int_arg("limit", 100, 1, MAX_PAGE)


@bp.post("/v1/feedback")
def post_feedback():
    """Store a moderator's verdict; the same comment_id from the same moderator updates it."""
    require_key(feedback_keyring())
    payload = parse_json_object(request.mimetype, read_body(request))
    verdict = parse(FeedbackRequest, payload, Limits.of(current_app.config)).verdict()
    try:
        row_id, created = store().put(verdict)
    except FeedbackError as error:
        log.error("%s", error)
        raise FeedbackUnavailable("the feedback could not be stored; retry later (the error is in the server log)") from None
    metrics.record_feedback(created)
    response = jsonify({"id": row_id, "created": created})
    response.status_code = 201 if created else 200
    return response


@bp.get("/v1/feedback")
def list_feedback():
    """Stored verdicts, oldest first: ``?after=<id>&limit=<n>``; ``next_after`` continues."""
    require_key(feedback_keyring())
    after, limit = paging_args()
    try:
        items = store().page(after, limit + 1)
    except FeedbackError as error:
        log.error("%s", error)
        raise FeedbackUnavailable("the feedback store cannot be read; retry later") from None
    more = len(items) > limit
    items = items[:limit]
    return jsonify({"items": items, "next_after": items[-1]["id"] if more else None})
