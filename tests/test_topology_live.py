"""The replicated topology, live: nginx before two gunicorn replicas sharing a model store folder and
PostgreSQL (deploy/replicas/). Load through nginx while a replica is killed and restarted, a model
is promoted and rolled back, and moderators post feedback through both replicas.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path

import pytest

from bench.servers import free_port
from tests.conftest import train_tiny

pytestmark = pytest.mark.live
KEY = "topology-moderator-key"
CLIENTS = 8
SECONDS = 20.0
SWITCH_WITHIN = 5.0


@pytest.fixture()
def topology(tmp_path):
    """Two replicas of two workers, nginx and PostgreSQL on free ports; a store with tiny-1
    current and tiny-2 added."""
    from deploy.replicas.postgres import missing_reason
    from deploy.replicas.topology import Topology, nginx_binary
    from model.artifact import load
    from model.store import ModelStore

    reason = missing_reason() or (None if nginx_binary() else "nginx is not installed (apt-get install nginx)")
    if reason:
        pytest.skip(reason)
    for version in ("tiny-1", "tiny-2"):
        train_tiny(tmp_path / version, version=version)
    store = ModelStore(tmp_path / "models")
    store.seed(tmp_path / "tiny-1")
    artifact = load(tmp_path / "tiny-2")
    card = artifact.card
    store.add(artifact, {k: v for k, v in card.items() if k != "artifact"})
    # Not under tmp_path: PostgreSQL and nginx's workers run as other users, pytest's folders are root's only.
    run = Path(tempfile.mkdtemp(prefix="comment-classifier-topology-"))
    topology = Topology(run, free_port(), [free_port(), free_port()], free_port(), models=store.root,
                        env={"COMMENT_CLASSIFIER_API_KEYS": KEY}, durable=False)
    topology.store = store
    try:
        yield topology.start()
    finally:
        topology.stop()
        shutil.rmtree(run, ignore_errors=True)


def call(port, method, path, body=None, key=None, connection=None):
    """(status, headers, parsed body) on ``connection`` (kept alive) or a new one."""
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        connection.request(method, path, None if body is None else json.dumps(body), headers)
        response = connection.getresponse()
        return response.status, response, json.loads(response.read() or b"null")
    finally:
        if own:
            connection.close()


class Scoring(threading.Thread):
    """One client posting /v1/classify through nginx on a kept-alive connection, back to back.

    Anything but a whole 200 answer is a failure, a response cut short included: when a replica
    dies mid-response, service/whole.py makes nginx see a reset rather than half an answer, so
    that it can retry the request on the other replica.
    """

    def __init__(self, port, number, stop):
        super().__init__()
        self.port, self.number, self.stop = port, number, stop
        self.answers: list[tuple[float, float, int, str | None]] = []  # started, took, status, version
        self.failures: list[str] = []

    def run(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = {"texts": [f"client {self.number}: what a joke this is", "The council met on Monday."]}
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status, response, payload = call(self.port, "POST", "/v1/classify", body, connection=connection)
            except (OSError, http.client.HTTPException, ValueError) as error:
                self.failures.append(f"{type(error).__name__} at {started:.2f}: {error}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            self.answers.append((started, time.monotonic() - started, status, response.getheader("X-Model-Version")))
            if status != 200:
                self.failures.append(f"{status}: {payload}")
        connection.close()


class Moderator(threading.Thread):
    """Posts verdicts straight to one replica (so both get some), a new comment each time, and
    every fifth an update of an earlier one; notes what was acknowledged."""

    def __init__(self, port, name, stop):
        super().__init__()
        self.port, self.name, self.stop = port, name, stop
        self.acknowledged: dict[str, tuple[int, int]] = {}  # comment_id -> (row id, index in sent)
        self.sent: dict[str, list[str]] = {}  # comment_id -> every text posted for it, in order
        self.refused = 0

    def run(self):
        number = 0
        while not self.stop.is_set():
            comment = f"{self.name}-{number // 5 * 5 if number % 5 == 4 else number}"
            text = f"{self.name} verdict {number}: you cannot be serious"
            self.sent.setdefault(comment, []).append(text)
            try:
                status, _, body = call(self.port, "POST", "/v1/feedback",
                                       {"text": text, "label": "comment", "comment_id": comment,
                                        "moderator": self.name}, key=KEY)
            except (OSError, http.client.HTTPException, ValueError):
                status, body = None, None
            if status in (200, 201):
                self.acknowledged[comment] = (body["id"], len(self.sent[comment]) - 1)
            else:
                self.refused += 1  # never acknowledged: the moderator would post it again
            number += 1
            time.sleep(0.05)


class Versions(threading.Thread):
    """Polls each replica's /readyz and notes when its version changes."""

    def __init__(self, ports, stop):
        super().__init__()
        self.ports, self.stop = ports, stop
        self.changes: dict[int, list[tuple[float, str]]] = {port: [] for port in ports}

    def run(self):
        while not self.stop.is_set():
            for port in self.ports:
                try:
                    status, _, body = call(port, "GET", "/readyz")
                except (OSError, http.client.HTTPException, ValueError):
                    continue
                if status == 200:
                    version = body["model"]["version"]
                    seen = self.changes[port]
                    if not seen or seen[-1][1] != version:
                        seen.append((time.monotonic(), version))
            time.sleep(0.05)

    def switched(self, port, version, after) -> float | None:
        """Seconds from ``after`` until ``port`` first reported ``version``."""
        return next((at - after for at, seen in self.changes[port] if seen == version and at >= after), None)


def read_all(port) -> list[dict]:
    items, after = [], 0
    while after is not None:
        status, _, page = call(port, "GET", f"/v1/feedback?after={after}&limit=500", key=KEY)
        assert status == 200, page
        items += page["items"]
        after = page["next_after"]
    return items


def test_kill_promote_rollback_and_feedback_under_load_through_nginx(topology):
    store = topology.store
    replicas = topology.replica_ports
    stop = threading.Event()
    clients = [Scoring(topology.port, n, stop) for n in range(CLIENTS)]
    moderators = [Moderator(port, f"mod{i + 1}", stop) for i, port in enumerate(replicas)]
    versions = Versions(replicas, stop)
    threads = [*clients, *moderators, versions]
    events = {}
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        topology.kill_replica(0, signal.SIGKILL)  # the whole replica: master and workers
        events["killed"] = time.monotonic()
        time.sleep(2)
        topology.start_replica(0)
        topology.wait_ready(0)
        events["restarted"] = time.monotonic()
        store.promote("tiny-2")
        events["promoted"] = time.monotonic()
        time.sleep(SWITCH_WITHIN + 1)
        assert store.rollback() == "tiny-1"
        events["rolled_back"] = time.monotonic()
        time.sleep(max(SWITCH_WITHIN + 1, SECONDS - (time.monotonic() - begun)))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    ended = time.monotonic()

    answers = [answer for client in clients for answer in client.answers]
    failures = [failure for client in clients for failure in client.failures]
    took = sorted(answer[1] for answer in answers)
    up = [versions.switched(port, "tiny-2", events["promoted"]) for port in replicas]
    down = [versions.switched(port, "tiny-1", events["rolled_back"]) for port in replicas]
    acknowledged = {(moderator.name, comment): (row_id, moderator.sent[comment][index:])
                    for moderator in moderators for comment, (row_id, index) in moderator.acknowledged.items()}
    through = {port: read_all(port) for port in replicas}
    print(f"\n{len(answers)} scoring requests through nginx in {ended - begun:.1f} s at concurrency {CLIENTS} "
          f"({len(answers) / (ended - begun):.0f}/s), {len(failures)} failed; p50 {statistics.median(took) * 1000:.1f} ms, "
          f"p99 {took[int(len(took) * 0.99)] * 1000:.1f} ms, slowest {took[-1] * 1000:.0f} ms; replica-1 back "
          f"{events['restarted'] - events['killed']:.1f} s after SIGKILL; both on tiny-2 within "
          f"{max(up):.2f} s of the promotion, on tiny-1 within {max(down):.2f} s of the rollback; "
          f"{len(acknowledged)} verdicts acknowledged, "
          f"{sum(m.refused for m in moderators)} not (posted to the replica while it was down)")

    assert not failures, (failures[:5], {name: f"{at:.2f}" for name, at in events.items()},
                          (topology.run / "nginx" / "error.log").read_text()[-3000:])
    assert {answer[2] for answer in answers} == {200}
    assert all(seconds is not None and seconds <= SWITCH_WITHIN for seconds in up + down), (up, down)
    # Every acknowledged verdict is stored exactly once, with its last acknowledged text (or a later
    # one that was stored but not acknowledged, when its replica died in between), and both
    # replicas read the same rows.
    assert through[replicas[0]] == through[replicas[1]]
    rows = through[replicas[0]]
    by_comment = {(row["moderator"], row["comment_id"]): row for row in rows}
    assert len(by_comment) == len(rows)
    assert by_comment.keys() >= acknowledged.keys()
    for key, (row_id, texts) in acknowledged.items():
        assert by_comment[key]["id"] == row_id
        assert by_comment[key]["text"] in texts
    assert all(len(moderator.acknowledged) > 20 for moderator in moderators)
    # While replica-1 was down, nginx sent its share to replica-2: the answers continued.
    during = [answer for answer in answers if events["killed"] < answer[0] < events["restarted"]]
    assert len(during) > 50
