"""Bounded concurrency: a per-worker limit on requests in flight, and refused bodies read to their end.

Scoring is CPU-bound Python, so a worker gains nothing from running more requests at once than
a few: each one only takes longer. ``InFlightLimit`` lets ``MAX_IN_FLIGHT`` scoring requests
into the app per worker process and answers the rest, after 50 ms at most, with ``503
overloaded`` and ``Retry-After``, instead of letting them wait behind the others without bound.
It needs a worker that has threads to spare for those quick answers: gunicorn's own threaded
worker (``gthread``), used as it is. Behind nginx (production), where gunicorn runs sync workers
that take one request at a time from a shared queue, ``InFlightLimit`` also refuses a scoring
request that waited longer than ``MAX_QUEUE_MS`` for a worker, as nginx's ``X-Request-Start``
header tells, and nginx itself refuses what is over its connection limit (``max_conns``).
``FinishUnreadBody`` reads a refused request body to its
end before the error answer, so that a client still sending gets the answer. Both are plain WSGI
middleware: nothing here depends on a gunicorn worker's internals. Draining on shutdown is
nginx's part in production (``nginx -s quit``, then SIGTERM to gunicorn; see the README).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid

from flask import Flask

from service import logs, metrics

refusals = logging.getLogger("service.requests")

# The limit is on scoring, which is CPU-bound: the POST endpoints. GETs (probes, model card,
# pages, docs) are cheap, and a feedback POST is a short SQLite write that waits on a lock
# without holding the GIL. Probes must see the process, not its load: an orchestrator that
# reads a 503 from /healthz would restart a worker that is merely busy.
LIMITED_METHODS = frozenset({"POST"})
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/v1/feedback"})
# Requests take milliseconds; a second is long enough for the backlog to clear.
RETRY_AFTER_SECONDS = 1
# A request that finds every slot taken waits this long for one before it is refused: a burst
# of millisecond requests (more clients than slots, all at once) passes, while a worker busy
# with long requests (batches, pages: tenths of seconds to seconds) still refuses quickly.
SLOT_WAIT_SECONDS = 0.05
# nginx's "t=<seconds since the epoch>" (its $msec) when it sent the request to gunicorn.
QUEUE_HEADER = "HTTP_X_REQUEST_START"


def queued_seconds(environ, now: float) -> float | None:
    """How long ago the proxy handed this request on (``X-Request-Start: t=<seconds>``), or None.

    None when there is no such header or it is not a time in seconds: a client without a proxy
    may send anything there, and only a well-formed one is read (it can only make its own
    request refused).
    """
    value = environ.get(QUEUE_HEADER)
    if not value or len(value) > 32 or not value.startswith("t="):
        return None
    try:
        started = float(value[2:])
    except ValueError:
        return None
    waited = now - started
    return waited if 0.0 <= waited < 86400.0 else None


def _overloaded(message: str, retry_after: int) -> tuple[bytes, list[tuple[str, str]]]:
    body = json.dumps({"error": {"code": "overloaded", "message": f"{message}; retry after {retry_after} s"}},
                      separators=(",", ":")).encode()
    return body, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                  ("Retry-After", str(retry_after))]


class InFlightLimit:
    """WSGI middleware: at most ``limit`` scoring requests in the app at once, the rest 503 quickly;
    and (``max_queue`` seconds, when positive) none that waited longer than that behind a proxy."""

    def __init__(self, wsgi_app, limit: int, retry_after: int = RETRY_AFTER_SECONDS,
                 wait: float = SLOT_WAIT_SECONDS, exempt: frozenset[str] = EXEMPT_PATHS,
                 max_queue: float = 0.0):
        self.wsgi_app = wsgi_app
        self.limit = limit
        self.wait = wait
        self.exempt = exempt
        self.max_queue = max_queue
        self._slots = threading.BoundedSemaphore(limit) if limit else None
        self.url_map = None  # the app's routes, to name a refused request's endpoint
        self._full = _overloaded(f"the service is answering {limit} requests per worker already", retry_after)
        self._late = _overloaded(f"the request waited over {max_queue * 1000:.0f} ms for a worker", retry_after)

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in LIMITED_METHODS or environ.get("PATH_INFO") in self.exempt:
            return self.wsgi_app(environ, start_response)
        if self.max_queue > 0:
            waited = queued_seconds(environ, time.time())
            if waited is not None and waited > self.max_queue:
                return self._refuse(environ, start_response, self._late, waited)
        if self._slots is None:
            return self.wsgi_app(environ, start_response)
        got = self._slots.acquire(timeout=self.wait) if self.wait > 0 else self._slots.acquire(blocking=False)
        if not got:
            return self._refuse(environ, start_response, self._full)
        try:
            # Flask builds the whole body before it returns, so the slot is free again while
            # gunicorn writes it to a slow client.
            return self.wsgi_app(environ, start_response)
        finally:
            self._slots.release()

    def _refuse(self, environ, start_response, answer, waited: float | None = None):
        """503 overloaded, answered outside Flask (that is the point: no work for a refused request),
        yet like every other answer: with its request id, a count in /metrics and a log line."""
        given = environ.get(logs.ENVIRON_KEY)
        request_id = given if given is not None and logs.VALID_ID.fullmatch(given) else uuid.uuid4().hex
        endpoint = self.endpoint_of(environ)
        metrics.record_refused(endpoint)
        if refusals.isEnabledFor(logging.WARNING):
            fields = {"request_id": request_id, "method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO"),
                      "endpoint": endpoint, "status": 503, "error": "overloaded", "remote_addr": environ.get("REMOTE_ADDR")}
            if waited is not None:
                fields["queued_ms"] = round(waited * 1000, 1)
            refusals.warning("request", extra=fields)
        body, headers = answer
        start_response("503 Service Unavailable", [*headers, (logs.HEADER, request_id)])
        return [body]

    def endpoint_of(self, environ) -> str:
        """The Flask endpoint the refused request was for (bounded label values), or ``unmatched``."""
        if self.url_map is None:
            return "unmatched"
        try:
            return self.url_map.bind_to_environ(environ).match(return_rule=True)[0].endpoint
        except Exception:  # 404, 405 or a malformed path: nothing to name
            return "unmatched"


def init_app(app: Flask) -> None:
    """Wrap the app in ``InFlightLimit`` unless ``MAX_IN_FLIGHT`` and ``MAX_QUEUE_MS`` are both 0,
    then in ``FinishUnreadBody``."""
    limit = int(app.config["MAX_IN_FLIGHT"])
    if limit < 0:
        raise ValueError(f"MAX_IN_FLIGHT must be 0 (no limit) or more (got {limit})")
    max_queue_ms = float(app.config["MAX_QUEUE_MS"])
    if not max_queue_ms >= 0:
        raise ValueError(f"MAX_QUEUE_MS must be 0 (no limit) or more (got {app.config['MAX_QUEUE_MS']})")
    if limit or max_queue_ms:
        app.wsgi_app = InFlightLimit(app.wsgi_app, limit, max_queue=max_queue_ms / 1000)
        app.wsgi_app.url_map = app.url_map
    app.wsgi_app = FinishUnreadBody(app.wsgi_app)


# A body the app refused unread (a 413, a 404) is read and discarded, up to this much and for
# this long, before the answer goes out: a client still sending it would otherwise meet a reset
# connection instead of the answer, and a kept-alive connection could not be reused.
_DISCARD_LIMIT = 8 * 1024 * 1024
_DISCARD_SECONDS = 2.0


class FinishUnreadBody:
    """WSGI middleware: discard what is left of the body before an error answer; ``Connection:
    close`` if it can't.

    gunicorn drains only 64 KiB of a body the app left unread, and then closes a connection whose
    answer promised keep-alive; a client that sent more meets a broken pipe. Only the server's own
    response object can change that header: under gunicorn ``start_response`` is a method of it,
    whose ``force_close`` is used when there is one (other servers: the answer goes as it is).
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            if int(status[:3]) >= 400 and not _discard_body(environ):
                force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
                if force_close:
                    force_close()
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def _discard_body(environ) -> bool:
    """Read what is left of a request body of known length within the limits; whether it all came.

    A chunked body is not read: it may be endless, and its sender is told at once to stop.
    """
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return False
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if length == 0:
        return True
    if length > _DISCARD_LIMIT:
        return False
    stream, sock = environ["wsgi.input"], environ.get("gunicorn.socket")
    deadline = time.monotonic() + _DISCARD_SECONDS
    total = 0
    try:
        while total <= length:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if sock is not None:
                sock.settimeout(remaining)
            chunk = stream.read(64 * 1024)
            if not chunk:
                return True
            total += len(chunk)
        return False
    except Exception:  # a timeout, a reset, a malformed chunk: the connection cannot be reused
        return False
    finally:
        if sock is not None:
            sock.settimeout(None)  # blocking again, as the threaded worker keeps it
