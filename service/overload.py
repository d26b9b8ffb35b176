"""Bounded concurrency: a per-worker limit on requests in flight, and a worker that drains on SIGTERM.

Scoring is CPU-bound Python, so a worker gains nothing from running more requests at once than
a few: each one only takes longer. ``InFlightLimit`` lets ``MAX_IN_FLIGHT`` requests into the
app per worker process and answers the rest at once with ``503 overloaded`` and ``Retry-After``,
instead of letting them wait behind the others without bound. It needs a worker that has threads
to spare for those quick answers: ``DrainingThreadWorker``, gunicorn's threaded worker, which
also serves what was already queued on SIGTERM and then refuses new connections, and says
``Connection: close`` when it is going to close a kept-alive connection.
"""

from __future__ import annotations

import json
import os
import socket
import threading

from flask import Flask
from gunicorn.workers.gthread import TConn, ThreadWorker

# Probes must see the process, not its load: an orchestrator that reads a 503 from /healthz
# would restart a worker that is merely busy.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
# Requests take milliseconds; a second is long enough for the backlog to clear.
RETRY_AFTER_SECONDS = 1


class InFlightLimit:
    """WSGI middleware: at most ``limit`` requests in the app at once, the rest 503 at once."""

    def __init__(self, wsgi_app, limit: int, retry_after: int = RETRY_AFTER_SECONDS,
                 exempt: frozenset[str] = EXEMPT_PATHS):
        self.wsgi_app = wsgi_app
        self.limit = limit
        self.exempt = exempt
        self._slots = threading.BoundedSemaphore(limit)
        self._body = json.dumps({"error": {
            "code": "overloaded",
            "message": f"the service is answering {limit} requests per worker already; "
                       f"retry after {retry_after} s",
        }}, separators=(",", ":")).encode()
        self._headers = [("Content-Type", "application/json"), ("Content-Length", str(len(self._body))),
                         ("Retry-After", str(retry_after))]

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") in self.exempt:
            return self.wsgi_app(environ, start_response)
        if not self._slots.acquire(blocking=False):
            start_response("503 Service Unavailable", list(self._headers))
            return [self._body]
        try:
            # Flask builds the whole body before it returns, so the slot is free again while
            # gunicorn writes it to a slow client.
            return self.wsgi_app(environ, start_response)
        finally:
            self._slots.release()


def init_app(app: Flask) -> None:
    """Wrap the app in ``InFlightLimit`` unless ``MAX_IN_FLIGHT`` is 0."""
    limit = int(app.config["MAX_IN_FLIGHT"])
    if limit < 0:
        raise ValueError(f"MAX_IN_FLIGHT must be 0 (no limit) or more (got {limit})")
    if limit:
        app.wsgi_app = InFlightLimit(app.wsgi_app, limit)


def _master_holds(listener: socket.socket) -> bool | None:
    """Whether the gunicorn master still has ``listener`` open (None: cannot tell).

    The master closes its listening sockets before it tells the workers to stop, and keeps
    them on a reload (HUP) or when it removes a worker (TTOU); so this tells a shutdown,
    where new connections must be refused, from a worker being replaced, where the other
    workers go on accepting on the same socket.
    """
    try:
        target = f"socket:[{os.fstat(listener.fileno()).st_ino}]"
        fds = f"/proc/{os.getppid()}/fd"
        for name in os.listdir(fds):
            try:
                if os.readlink(f"{fds}/{name}") == target:
                    return True
            except OSError:
                continue
        return False
    except OSError:
        return None


# gunicorn drains at most this much of a body the app left unread before it reuses a kept-alive
# connection (gunicorn.http.parser._DRAIN_MAX_BYTES); past it, it closes the connection.
_DRAIN_LIMIT = 64 * 1024


def _close_after_unread_body(wsgi_app):
    """Announce ``Connection: close`` on an error answer to a body too big for gunicorn to drain.

    A 413 (or a 404) leaves the body unread; gunicorn then closes the connection after the
    answer, but the answer said keep-alive, so a client's next request on it fails. Only the
    server's own response object can change that header, and start_response is its method.
    """
    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            if int(status[:3]) >= 400 and _large_body(environ):
                force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
                if force_close:
                    force_close()
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return app


def _large_body(environ) -> bool:
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return True
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > _DRAIN_LIMIT
    except ValueError:
        return True


class DrainingThreadWorker(ThreadWorker):
    """gunicorn's gthread worker that, on SIGTERM, serves every connection already queued.

    gunicorn's own worker stops accepting on SIGTERM but leaves the listening socket open
    until it exits: connections the kernel queued meanwhile (a client reconnecting after
    its last keep-alive answer, say) are reset when it closes, after the client has sent
    its request. This worker accepts what is queued and, when the master is shutting down,
    shuts the listening socket so that new connections are refused at once. Requests in
    flight and those queued then finish as gunicorn's worker finishes them, with
    ``Connection: close``, within ``graceful_timeout``.

    It also says ``Connection: close`` when it will close a kept-alive connection after an
    error answer to a large body (see ``_close_after_unread_body``). Written against gunicorn
    27's gthread worker (``set_accept_enabled``, ``enqueue_req``, ``TConn``).
    """

    def load_wsgi(self):
        """Load the app as gunicorn does, answering with ``Connection: close`` where it must."""
        super().load_wsgi()
        self.wsgi = _close_after_unread_body(self.wsgi)

    def handle_exit(self, sig, frame):
        """Stop accepting, take in what is queued, refuse the rest if the server is stopping."""
        if self.alive:
            self.set_accept_enabled(False)
            for listener in self.sockets:
                self._accept_queued(listener)
                if _master_holds(listener) is False:
                    try:
                        # On a listening socket, shutdown closes it for every process that
                        # shares it: new connections are refused (RST) instead of queued.
                        listener.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass  # another worker did it first
        super().handle_exit(sig, frame)

    def accept(self, listener):
        """Accept as gunicorn does, unless stopping (the poller may still report the socket)."""
        if self.alive:
            super().accept(listener)

    def _accept_queued(self, listener) -> None:
        listener.setblocking(False)
        while True:
            try:
                client, address = listener.accept()
            except OSError:
                return  # nothing queued, or the socket is shut already
            self.nr_conns += 1
            client.setblocking(True)
            self.enqueue_req(TConn(self.cfg, client, address, listener.getsockname()))
