"""Stopping under load: nginx first (``nginx -s quit``), then gunicorn (SIGTERM); and a reload.

The README's order. Six clients keep kept-alive connections to nginx busy with single texts and
batches; nginx is told to quit in the middle. It stops accepting at once (new connections are
refused), finishes every request it holds (gunicorn answers them) and closes its idle connections;
then gunicorn drains what is left and exits 0. Every request sent on an open connection must get a
whole answer, except one sent on a kept-alive connection in the instant nginx closed it as idle,
which gets no byte at all (a closed connection, which HTTP clients retry on a new connection; the
retry is then refused, as the server is gone).
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import threading

import pytest

from bench import servers, texts
from tests.conftest import http_json
from tests.production import Production

pytestmark = pytest.mark.live

CLIENTS = 6
TIMEOUT = 30
BODIES = [
    json.dumps({"text": texts.cycle(1, start=3)[0]}),
    json.dumps({"texts": texts.cycle(300, start=5), "explain": True}),
    json.dumps({"texts": texts.cycle(20, start=11)}),
]


class Client(threading.Thread):
    def __init__(self, port: int, index: int, quitting: threading.Event):
        super().__init__(daemon=True)
        self.port, self.index, self.quitting = port, index, quitting
        self.answers: list[tuple[int, str | None, bool, bool]] = []
        self.failures: list[str] = []
        self.closed_idle = 0
        self.refused_before_quit = False
        self.refused = threading.Event()

    def run(self):
        connection, sent, reused = None, 0, False
        while True:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
                try:
                    connection.connect()
                except ConnectionRefusedError:
                    self.refused_before_quit = not self.quitting.is_set()
                    self.refused.set()
                    return
                except OSError as error:
                    self.failures.append(f"connect: {error!r}")
                    return
                reused = False
            body = BODIES[(self.index + sent) % len(BODIES)]
            sent += 1
            after = self.quitting.is_set()
            try:
                connection.request("POST", "/v1/classify", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = json.loads(response.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                if reused and self.quitting.is_set():  # closed as idle while quitting, before a byte of answer: retry
                    self.closed_idle += 1
                    connection.close()
                    connection = None
                    continue
                self.failures.append(f"request {sent} ({'after' if after else 'before'} quit): {error!r}")
                return
            except (OSError, http.client.HTTPException, ValueError) as error:
                self.failures.append(f"request {sent} ({'after' if after else 'before'} quit): {error!r}")
                return
            code = payload.get("error", {}).get("code") if response.status >= 400 else None
            self.answers.append((response.status, code, after, self.quitting.is_set()))
            reused = True
            if response.will_close:
                connection.close()
                connection = None


def test_quit_nginx_then_term_gunicorn_under_load_answers_every_request(tiny_model_dir):
    with Production(tiny_model_dir, {"GRACEFUL_TIMEOUT": "10"}) as running:
        quitting = threading.Event()
        clients = [Client(running.port, i, quitting) for i in range(CLIENTS)]
        for client in clients:
            client.start()
        while not all(len(c.answers) >= 3 or c.failures or not c.is_alive() for c in clients):
            threading.Event().wait(0.05)
        quitting.set()
        running.nginx.send_signal(signal.SIGQUIT)
        try:
            nginx_code = running.nginx.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"nginx did not quit:\n{running.logs()}")
        for client in clients:
            client.join(TIMEOUT)
        running.gunicorn.send_signal(signal.SIGTERM)
        gunicorn_code = running.gunicorn.wait(timeout=TIMEOUT)
        logs = running.logs()

    assert nginx_code == 0 and gunicorn_code == 0, logs
    assert "SIGKILL" not in logs and "WORKER TIMEOUT" not in logs and "Traceback" not in logs, logs
    assert [c.failures for c in clients] == [[]] * CLIENTS, ([c.failures for c in clients], logs[-3000:])
    answers = [answer for c in clients for answer in c.answers]
    assert {(status, code) for status, code, _, _ in answers} <= {(200, None), (503, "overloaded")}
    # Requests in flight when nginx was told to quit were answered, not dropped.
    assert any(not sent_after and done_after for _, _, sent_after, done_after in answers)
    assert all(c.refused.is_set() and not c.refused_before_quit for c in clients)
    assert all(not c.is_alive() for c in clients)
    print(f"\n{len(answers)} answers; {sum(c.closed_idle for c in clients)} requests met a connection "
          "closed as idle while quitting, and were retried")


def test_a_reload_replaces_the_workers_without_refusing_connections(live_server, tiny_model_dir):
    # HUP stops the old workers with SIGTERM too, but the master keeps the listening socket for
    # the new ones: connections go on being accepted.
    server = live_server(tiny_model_dir)
    old = set(servers.worker_pids(server.process.pid))
    server.process.send_signal(signal.SIGHUP)
    while not (current := set(servers.worker_pids(server.process.pid))) or current & old:
        assert server.process.poll() is None, servers.output(server)
        threading.Event().wait(0.1)
    for _ in range(20):
        assert http_json(server.port, "/v1/classify", {"text": "still here after the reload"})[0] == 200
