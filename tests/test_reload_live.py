"""Hot reload under load against live gunicorn: no failed request, the new version within 5 s."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from bench import servers
from tests.conftest import train_tiny

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


def switch_delay(answers, switched: float, old: str, until: float = float("inf")) -> float:
    """How long after ``switched`` (and before ``until``) a request still started that the old version answered."""
    return max((started - switched for started, _, version, _ in answers
                if version == old and switched < started < until), default=0.0)


def test_promotion_and_rollback_take_over_under_load_without_a_failed_request(live_server, tmp_path):
    from model.artifact import load
    from model.store import ModelStore

    for version in ("tiny-1", "tiny-2"):
        train_tiny(tmp_path / version, version=version)
    store = ModelStore(tmp_path / "models")
    store.seed(tmp_path / "tiny-1")
    # The second version goes in as make retrain adds it, and is promoted under load.
    artifact = load(tmp_path / "tiny-2")
    card = artifact.card
    store.add(artifact, {k: v for k, v in card.items() if k != "artifact"})
    server = live_server(store.root)
    port = server.port
    with Load(port) as load_:
        wait_for(lambda: len(load_.answers) > 200, 20)
        store.promote("tiny-2")
        promoted = time.monotonic()
        wait_for(lambda: False, SWITCH_WITHIN + 2)
        assert store.rollback() == "tiny-1"
        rolled_back = time.monotonic()
        wait_for(lambda: False, SWITCH_WITHIN + 2)
    log = servers.output(server)
    servers.stop(server)
    assert not load_.failures, load_.failures[:5]
    assert {status for _, status, _, _ in load_.answers} == {200}
    # Every answer names the model that made it, in the header and the body alike.
    assert all(header == body for _, _, header, body in load_.answers)
    up, down = switch_delay(load_.answers, promoted, "tiny-1", rolled_back), switch_delay(load_.answers, rolled_back, "tiny-2")
    print(f"\n{len(load_.answers)} requests, 0 failed; old version last answered a request started "
          f"{up:.2f} s after the promotion and {down:.2f} s after the rollback")
    def versions_between(start, end):
        return {version for started, _, version, _ in load_.answers if start <= started < end}

    assert versions_between(promoted + SWITCH_WITHIN, rolled_back) == {"tiny-2"}
    assert versions_between(rolled_back + SWITCH_WITHIN, float("inf")) == {"tiny-1"}
    assert log.count("switched model from tiny-1 to tiny-2") == 2  # both workers
    assert log.count("switched model from tiny-2 to tiny-1") == 2


def test_a_model_that_fails_verification_is_refused_and_the_old_one_serves(live_server, tmp_path):
    model_dir = tmp_path / "model"
    train_tiny(model_dir, version="tiny-1")
    server = live_server(model_dir)
    port = server.port
    card = json.loads((model_dir / "card.json").read_text())
    card["version"] = "tampered"
    card["artifact"]["sha256"] = "f" * 64
    (model_dir / "card.json").write_text(json.dumps(card))
    wait_for(lambda: servers.output(server).count("refused the model") >= 2, SWITCH_WITHIN + 5)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/v1/classify", json.dumps({"text": "lol sure"}), {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    log = servers.output(server)
    servers.stop(server)
    assert response.status == 200 and response.getheader("X-Model-Version") == "tiny-1"
    assert log.count("refused the model") == 2 and "still serving tiny-1" in log


def store_with_two_versions(tmp_path):
    """A store whose current version is tiny-1, with tiny-2 added (not current)."""
    from model.artifact import load
    from model.store import ModelStore

    for version in ("tiny-1", "tiny-2"):
        train_tiny(tmp_path / version, version=version)
    store = ModelStore(tmp_path / "models")
    store.seed(tmp_path / "tiny-1")
    artifact = load(tmp_path / "tiny-2")
    card = artifact.card
    store.add(artifact, {k: v for k, v in card.items() if k != "artifact"})
    return store


def artifact_of(store, version: str):
    card = store.card(version)
    return store.path_of(version) / card["artifact"]["file"]


def test_a_worker_restarted_after_its_version_was_damaged_in_place_serves_that_version(live_server, tmp_path):
    """Issue: a version tampered with in place, then a worker killed: the new worker served the
    master's start-up model beside the others' newer one. The master now follows the store."""
    import os
    import signal

    from tests.test_metrics_live import http, lines_for, two_new_workers

    store = store_with_two_versions(tmp_path)
    server = live_server(store.root)
    port = server.port
    first = two_new_workers(server)
    store.promote("tiny-2")
    wait_for(lambda: servers.output(server).count("switched model from tiny-1 to tiny-2") == 2
             and "master now holds model tiny-2" in servers.output(server), SWITCH_WITHIN + 5)
    assert "master now holds model tiny-2" in servers.output(server)
    with open(artifact_of(store, "tiny-2"), "ab") as handle:  # damaged in place: no longer verifiable
        handle.write(b"tampered")
    victim = sorted(first)[0]
    os.kill(victim, signal.SIGKILL)
    now = two_new_workers(server, {victim})
    [newcomer] = now - first
    answers = [http(port, "POST", "/v1/classify", {"text": "lol sure"}, {"X-Request-ID": f"tamper-{i}"})
               for i in range(40)]
    ready = [json.loads(http(port, "GET", "/readyz")[2]) for _ in range(6)]
    lines = lines_for(server, *(f"tamper-{i}" for i in range(40)))
    servers.stop(server)
    assert {status for status, _, _ in answers} == {200}
    assert {headers["X-Model-Version"] for _, headers, _ in answers} == {"tiny-2"}
    served = {line["pid"] for line in lines if str(line.get("request_id", "")).startswith("tamper-")}
    assert newcomer in served, (newcomer, served)  # the restarted worker answered, with tiny-2
    assert all(body["model"] == {"version": "tiny-2", "store_version": "tiny-2", "in_sync": True} for body in ready)


def test_a_replica_that_cannot_verify_the_new_version_keeps_the_last_good_one_and_says_so(live_server, tmp_path):
    """A shared folder whose pointer arrived before the version's files were whole (a sync still
    copying): the replica refuses, keeps serving, reports it in /readyz and /metrics, and takes
    the version once its files are whole."""
    from tests.test_metrics_live import http, scrape, value

    store = store_with_two_versions(tmp_path)
    artifact = artifact_of(store, "tiny-2")
    whole = artifact.read_bytes()
    artifact.write_bytes(whole[: len(whole) // 2])  # half copied
    pointer = {"version": "tiny-2", "previous": ["tiny-1"], "switched": "2026-01-01T00:00:00+00:00"}
    server = live_server(store.root, {"COMMENT_CLASSIFIER_REPLICA": "replica-a"})
    port = server.port
    (store.root / "current.json.sync").write_text(json.dumps(pointer))
    (store.root / "current.json.sync").rename(store.root / "current.json")  # as another host's sync would
    wait_for(lambda: servers.output(server).count("refused the model") >= 2, SWITCH_WITHIN + 5)
    ready = json.loads(http(port, "GET", "/readyz")[2])
    samples = scrape(port)
    answer = http(port, "POST", "/v1/classify", {"text": "lol sure"})
    artifact.write_bytes(whole)  # the sync finishes
    repaired = time.monotonic()
    wait_for(lambda: servers.output(server).count("switched model from tiny-1 to tiny-2") == 2, 15)
    took = time.monotonic() - repaired
    after = json.loads(http(port, "GET", "/readyz")[2])
    samples_after = scrape(port)
    servers.stop(server)
    assert ready["replica"] == "replica-a"
    assert ready["model"]["version"] == "tiny-1"
    assert ready["model"]["store_version"] == "tiny-2" and ready["model"]["in_sync"] is False
    assert ready["model"]["refused"]["version"] == "tiny-2"
    assert "could not be verified" in ready["model"]["refused"]["reason"]
    assert str(store.root) not in json.dumps(ready)  # paths stay in the log
    assert value(samples, "comment_classifier_model_in_sync", replica="replica-a") == 0
    assert value(samples, "comment_classifier_model_info", replica="replica-a", version="tiny-1") == 1
    assert answer[0] == 200 and answer[1]["X-Model-Version"] == "tiny-1"
    print(f"\nrepaired version taken {took:.1f} s after its files were whole")
    assert after["model"] == {"version": "tiny-2", "store_version": "tiny-2", "in_sync": True}
    assert value(samples_after, "comment_classifier_model_in_sync", replica="replica-a") == 1
    assert value(samples_after, "comment_classifier_model_info", replica="replica-a", version="tiny-2") == 1
    assert value(samples_after, "comment_classifier_model_info", replica="replica-a", version="tiny-1") == 0
