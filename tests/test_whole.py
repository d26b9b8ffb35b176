"""service.whole: a response's socket is corked and reset-on-close while the response is written,
and released when the server closes the response (the live topology test shows the effect)."""

from __future__ import annotations

import socket
import struct

import pytest

from service.whole import WholeResponses

pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux only")


@pytest.fixture()
def tcp():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    yield accepted
    for sock in (accepted, client, server):
        sock.close()


def options(sock) -> tuple[int, tuple[int, int]]:
    linger = struct.unpack("ii", sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8))
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK), linger


def test_the_socket_is_held_while_the_app_answers_and_released_on_close(tcp):
    seen = {}

    def app(environ, start_response):
        seen["inside"] = options(tcp)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    body = WholeResponses(app)({"gunicorn.socket": tcp}, lambda *args: None)
    assert seen["inside"] == (1, (1, 0))  # corked, reset on close
    assert list(body) == [b"hello"]
    assert options(tcp) == (1, (1, 0))  # still held until the server closes the response
    body.close()
    assert options(tcp) == (0, (0, 0))


def test_an_app_that_raises_releases_the_socket(tcp):
    def app(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        WholeResponses(app)({"gunicorn.socket": tcp}, lambda *args: None)
    assert options(tcp) == (0, (0, 0))


def test_without_a_server_socket_the_app_is_called_as_is():
    answer = [b"plain"]
    assert WholeResponses(lambda environ, start: answer)({}, lambda *args: None) is answer
    unix = socket.socketpair()
    try:
        assert WholeResponses(lambda environ, start: answer)({"gunicorn.socket": unix[0]}, None) is answer
    finally:
        for sock in unix:
            sock.close()
