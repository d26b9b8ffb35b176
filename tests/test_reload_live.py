"""Hot reload under load against live gunicorn: no failed request, the new version within 5 s."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from tests.conftest import train_tiny
from tests.test_live import output, serve, stop

pytestmark = pytest.mark.live
SWITCH_WITHIN = 5.0


class Load:
    """Clients posting /v1/classify back to back on keep-alive connections, logging every answer."""

    def __init__(self, port: int, clients: int = 6):
        self.port = port
        self.answers: list[tuple[float, int, str | None, str | None]] = []  # (started, status, header, body)
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in range(clients)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _client(self, number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps({"texts": [f"client {number}: what a joke this is", "The council met on Monday."]})
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                connection.request("POST", "/v1/classify", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = json.loads(response.read())
            except (OSError, http.client.HTTPException, ValueError) as error:
                self.failures.append(f"{type(error).__name__}: {error}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            self.answers.append((started, response.status, response.getheader("X-Model-Version"),
                                 payload.get("model", {}).get("version")))
        connection.close()


def wait_for(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_promoted_model_takes_over_under_load_without_a_failed_request(tmp_path):
    model_dir = tmp_path / "model"
    train_tiny(model_dir, version="tiny-1")
    port, process = serve(model_dir)
    try:
        with Load(port) as load:
            wait_for(lambda: len(load.answers) > 200, 20)
            train_tiny(model_dir, version="tiny-2")  # the card is the pointer: written last, atomically
            promoted = time.monotonic()
            wait_for(lambda: False, SWITCH_WITHIN + 2)
        log = output(process)
    finally:
        stop(process)
    assert not load.failures, load.failures[:5]
    statuses = {status for _, status, _, _ in load.answers}
    assert statuses == {200}
    # Every answer names the model that made it, in the header and the body alike.
    assert all(header == body for _, _, header, body in load.answers)
    old_after = [started - promoted for started, _, version, _ in load.answers
                 if version == "tiny-1" and started > promoted]
    switch = max(old_after, default=0.0)
    print(f"\n{len(load.answers)} requests, 0 failed; last old-model answer started {switch:.2f} s after promotion")
    late = [started for started, _, version, _ in load.answers if started > promoted + SWITCH_WITHIN]
    assert late, "the load did not run past the switch window"
    assert all(version == "tiny-2" for started, _, version, _ in load.answers if started > promoted + SWITCH_WITHIN)
    assert log.count("switched model from tiny-1 to tiny-2") == 2  # both workers


def test_a_model_that_fails_verification_is_refused_and_the_old_one_serves(tmp_path):
    model_dir = tmp_path / "model"
    train_tiny(model_dir, version="tiny-1")
    port, process = serve(model_dir)
    try:
        card = json.loads((model_dir / "card.json").read_text())
        card["version"] = "tampered"
        card["artifact"]["sha256"] = "f" * 64
        (model_dir / "card.json").write_text(json.dumps(card))
        wait_for(lambda: output(process).count("refused the model") >= 2, SWITCH_WITHIN + 5)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/v1/classify", json.dumps({"text": "lol sure"}), {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        log = output(process)
    finally:
        stop(process)
    assert response.status == 200 and response.getheader("X-Model-Version") == "tiny-1"
    assert log.count("refused the model") == 2 and "still serving tiny-1" in log
