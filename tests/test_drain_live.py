"""SIGTERM under load: every request the server took in is answered, then connections are refused.

Several clients keep kept-alive connections busy with single texts and batches against
gunicorn as production runs it; the master gets SIGTERM in the middle. Every request sent on
a connection that was open must get a whole response (2xx, or 503 overloaded), none may be
cut off; once the server stops accepting, a new connection is refused rather than left
hanging or reset after it was taken; the master exits 0, its workers not killed.
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import threading

import pytest

from bench import texts
from tests.test_live import output, serve, stop

pytestmark = pytest.mark.live

CLIENTS = 6
GRACEFUL_TIMEOUT = 10
TIMEOUT = 30  # seconds: a socket timeout, only so that a hang fails instead of blocking the suite
BODIES = [
    json.dumps({"text": texts.cycle(1, start=3)[0]}),
    json.dumps({"texts": texts.cycle(300, start=5), "explain": True}),
    json.dumps({"texts": texts.cycle(20, start=11)}),
]


class Client(threading.Thread):
    """Sends requests on a kept-alive connection until a new connection is refused."""

    def __init__(self, port: int, index: int, terminated: threading.Event):
        super().__init__(daemon=True)
        self.port, self.index, self.terminated = port, index, terminated
        self.answers: list[tuple[int, str | None, bool, bool]] = []  # status, code, sent/done after TERM
        self.failures: list[str] = []
        self.refused_before_term = False
        self.refused = threading.Event()

    def run(self):
        connection = None
        sent = 0
        while True:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
                try:
                    connection.connect()
                except ConnectionRefusedError:
                    self.refused_before_term = not self.terminated.is_set()
                    self.refused.set()
                    return
                except OSError as error:
                    self.failures.append(f"connect: {error!r}")
                    return
            body = BODIES[(self.index + sent) % len(BODIES)]
            sent += 1
            after_term = self.terminated.is_set()
            try:
                connection.request("POST", "/v1/classify", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = json.loads(response.read())
            except (OSError, http.client.HTTPException, ValueError) as error:
                # The connection was open and the request sent: anything but an answer is a cut.
                self.failures.append(f"request {sent} ({'after' if after_term else 'before'} TERM): {error!r}")
                return
            code = payload.get("error", {}).get("code") if response.status >= 400 else None
            self.answers.append((response.status, code, after_term, self.terminated.is_set()))
            if response.will_close:
                connection.close()
                connection = None


def test_sigterm_under_load_answers_every_request_taken_in(tiny_model_dir):
    port, process = serve(tiny_model_dir, {"GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT)})
    terminated = threading.Event()
    clients = [Client(port, i, terminated) for i in range(CLIENTS)]
    try:
        for client in clients:
            client.start()
        # Load first: every client has had answers, so the workers are busy when TERM comes.
        while not all(len(c.answers) >= 3 or c.failures or not c.is_alive() for c in clients):
            threading.Event().wait(0.05)
        terminated.set()
        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=GRACEFUL_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the master did not exit within graceful_timeout:\n{output(process)}")
        for client in clients:
            client.join(TIMEOUT)
        log = output(process)
    finally:
        stop_quietly(process)

    assert returncode == 0, log
    assert "SIGKILL" not in log and "WORKER TIMEOUT" not in log and "Traceback" not in log, log
    assert [c.failures for c in clients] == [[]] * CLIENTS
    answers = [answer for c in clients for answer in c.answers]
    assert {(status, code) for status, code, _, _ in answers} <= {(200, None), (503, "overloaded")}
    # Some requests were in flight (sent before, answered after TERM): they were not dropped.
    assert any(not sent_after and done_after for _, _, sent_after, done_after in answers)
    # Every client ended on a refused connection, none before TERM, none left hanging.
    assert all(c.refused.is_set() and not c.refused_before_term for c in clients)
    assert all(not c.is_alive() for c in clients)


def stop_quietly(process) -> None:
    """Make sure the server is gone and its log removed, whatever the test found."""
    if process.poll() is None:
        process.kill()
    stop(process)


def test_a_reload_replaces_the_workers_without_refusing_connections(tiny_model_dir):
    # HUP stops the old workers with SIGTERM too, but the master keeps the listening socket
    # for the new ones: a draining worker must not shut it.
    from tests.test_live import request
    from bench.servers import worker_pids

    port, process = serve(tiny_model_dir)
    try:
        old = set(worker_pids(process.pid))
        process.send_signal(signal.SIGHUP)
        while not (current := set(worker_pids(process.pid))) or current & old:
            assert process.poll() is None, output(process)
            threading.Event().wait(0.1)
        for _ in range(20):
            assert request(port, "/v1/classify", {"text": "still here after the reload"})[0] == 200
    finally:
        stop(process)
