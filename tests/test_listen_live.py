"""REUSE_PORT=1: on a TCP address a listening socket per worker (SO_REUSEPORT), an address in use refused.

With one shared listening socket (the default), connections a client opens together went to the
first worker to wake and stayed there (one core busy, the other idle: docs/benchmarks.md). With
REUSE_PORT=1 each worker listens on its own socket and the kernel spreads new connections over
them. Because SO_REUSEPORT would also let a second server of the same user bind the same port and
take part of its traffic, the master first checks that the address is free. A unix socket or a
single worker keeps the shared socket.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from pathlib import Path

import pytest

from bench import servers

pytestmark = pytest.mark.live

LISTEN, ESTABLISHED = "0A", "01"


def tcp_sockets(port: int, state: str) -> set[int]:
    """Inodes of the IPv4 TCP sockets in ``state`` whose local port is ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(int(fields[9]))
    return inodes


def owners(inodes: set[int], pids: list[int]) -> dict[int, int]:
    """How many of ``inodes`` each of ``pids`` holds open."""
    held = {}
    for pid in pids:
        count = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                count += 1
        held[pid] = count
    return held


def both_workers(server: servers.Server, sockets: int) -> list[int]:
    """The two workers' pids once both are up and ``sockets`` listening sockets exist on the port:
    the server is ready when its first worker answers, and gunicorn forks the second a moment later."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = servers.worker_pids(server.process.pid)
        if len(workers) == 2 and len(tcp_sockets(server.port, LISTEN)) == sockets:
            return workers
        time.sleep(0.05)
    pytest.fail(f"not 2 workers and {sockets} listening sockets after 30 s:\n{servers.log_tail(server)}")


REUSE = {"REUSE_PORT": "1"}


def test_each_worker_listens_on_its_own_socket(live_server, tiny_model_dir):
    server = live_server(tiny_model_dir, env=REUSE)
    workers = both_workers(server, 2)
    listening = tcp_sockets(server.port, LISTEN)
    assert len(listening) == 2
    assert sorted(owners(listening, workers).values()) == [1, 1]
    assert f"Listening at: http://127.0.0.1:{server.port} (a socket per worker)" in servers.output(server)
    migrate = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    if migrate.exists():
        warned = "net.ipv4.tcp_migrate_req is not 1" in servers.output(server)
        assert warned == (migrate.read_text().strip() != "1")


def test_by_default_the_workers_share_one_socket(live_server, tiny_model_dir):
    server = live_server(tiny_model_dir)
    workers = both_workers(server, 1)
    assert list(owners(tcp_sockets(server.port, LISTEN), workers).values()) == [1, 1]
    assert "a socket per worker" not in servers.output(server)


def test_a_single_worker_keeps_the_shared_socket(live_server, tiny_model_dir):
    server = live_server(tiny_model_dir, env={**REUSE, "WORKERS": "1"})
    assert len(tcp_sockets(server.port, LISTEN)) == 1
    assert "REUSE_PORT: one shared listening socket" in servers.output(server)


def test_a_unix_socket_given_on_the_command_line_keeps_the_shared_socket(live_server, tiny_model_dir, tmp_path):
    path = tmp_path / "g.sock"
    server = live_server(tiny_model_dir, env={**REUSE, "GUNICORN_CMD_ARGS": f"--bind unix:{path}"}, wait=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not path.exists():
        assert server.process.poll() is None, servers.log_tail(server)
        time.sleep(0.1)
    connection = http.client.HTTPConnection("localhost", timeout=10)
    connection.sock = socket.socket(socket.AF_UNIX)
    connection.sock.connect(str(path))
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    connection.close()
    assert "REUSE_PORT: one shared listening socket" in servers.output(server)


def test_connections_opened_together_reach_both_workers(live_server, tiny_model_dir):
    server = live_server(tiny_model_dir, env=REUSE)
    workers = both_workers(server, 2)
    connections = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(16)]
    try:
        for connection in connections:
            connection.connect()
        for connection in connections:
            connection.request("POST", "/v1/classify", body=json.dumps({"text": "What a joke, as usual."}),
                               headers={"Content-Type": "application/json"})
        for connection in connections:
            response = connection.getresponse()
            assert response.status == 200
            response.read()
        # All 16 kept alive; with the kernel choosing a worker per connection, both hold some
        # (all 16 on one worker has a chance of 2 in 65,536).
        held = owners(tcp_sockets(server.port, ESTABLISHED), workers)
        assert sum(held.values()) == 16
        assert min(held.values()) >= 1, held
    finally:
        for connection in connections:
            connection.close()


def test_an_address_in_use_is_refused(live_server, tiny_model_dir):
    # Another server of the same user, listening with SO_REUSEPORT: the kernel would let the
    # workers bind beside it.
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        server = live_server(tiny_model_dir, env={**REUSE, "BIND": f"127.0.0.1:{port}"}, wait=False)
        assert server.process.wait(timeout=60) != 0
        assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in servers.output(server)
        assert "Booting worker" not in servers.output(server)
