"""Whole responses or none: a replica that dies mid-response must not leave a proxy half an answer.

gunicorn writes a response's headers and its body in two writes. If the process is killed between
them (a crashed host, an OOM kill, SIGKILL), the proxy in front has received the headers and
passes them on, and then the body never comes: the client gets a response cut short, and no
proxy can retry a request whose response it has begun to forward. Under threaded workers the gap
is not rare: a thread may wait for the GIL between the two writes for a few milliseconds.

So while a request is handled its socket is corked (TCP_CORK: the kernel holds partial frames)
and set to reset on close (SO_LINGER 0: a close by a dying process discards what is held, and
the peer sees a reset instead of a truncated answer). When the whole response is written the
linger is restored first, then the cork is removed, which sends the response in one go. A proxy
such as nginx sees either the whole response or a connection reset before any byte of it, and
can then retry the request on another replica (deploy/replicas/nginx.conf does for scoring).

Linux TCP only (a no-op elsewhere, on Unix sockets, or outside gunicorn). Responses larger than
a TCP segment still leave in full segments while corked; the service's answers are far smaller.
"""

from __future__ import annotations

import socket
import struct

_RESET_ON_CLOSE = struct.pack("ii", 1, 0)
_NORMAL_CLOSE = struct.pack("ii", 0, 0)


def _hold(sock) -> bool:
    try:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return False
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    except (OSError, AttributeError):
        return False
    return True


def _release(sock) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _NORMAL_CLOSE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    except OSError:
        pass  # the client is gone: nothing left to send


class _Released:
    """The app's response iterable; closing it (the server does, after the last write) releases the socket."""

    def __init__(self, body, sock):
        self._body, self._sock = body, sock

    def __iter__(self):
        return iter(self._body)

    def close(self) -> None:
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            _release(self._sock)


class WholeResponses:
    """WSGI middleware: hold each response on its socket until it is whole (see the module)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.enabled = hasattr(socket, "TCP_CORK")

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if not self.enabled or sock is None or not _hold(sock):
            return self.wsgi_app(environ, start_response)
        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            _release(sock)
            raise
        return _Released(body, sock)
