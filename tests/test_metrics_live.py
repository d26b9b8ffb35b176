"""Metrics, request ids and JSON logs under gunicorn with 2 workers, as production runs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench import servers

pytestmark = pytest.mark.live

TEXT = "zebraquokka says lol nobody asked for this"
EDITORIAL = "The council voted 7-2 to approve the housing plan, according to the meeting minutes."
SECRET = "empsec_" + "12" * 32


def http(port: int, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """Status, headers and body; JSON bodies are sent as JSON."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def scrape(port: int) -> dict:
    """``{(sample name, frozenset of labels): value}`` from GET /metrics."""
    status, headers, body = http(port, "GET", "/metrics")
    assert status == 200, body[-2000:]
    assert headers["Content-Type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def log_lines(server: servers.Server) -> list[dict]:
    """Every line the server printed, each parsed as JSON (a line that is not JSON fails the test)."""
    lines = []
    for line in servers.output(server).splitlines():
        if line.strip():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pytest.fail(f"not a JSON log line: {line[:300]!r}")
    return lines


def lines_for(server: servers.Server, *request_ids: str) -> list[dict]:
    """The log, once a request line for each of ``request_ids`` is in it.

    A worker writes a request's line after it has sent the response (as gunicorn writes its
    access log), so the line may land a moment after the client has its answer.
    """
    deadline = time.monotonic() + 10
    while True:
        lines = log_lines(server)
        logged = {line.get("request_id") for line in lines if line["logger"] == "service.requests"}
        if logged.issuperset(request_ids) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def metrics_folder(server: servers.Server) -> Path:
    [line] = [line for line in log_lines(server) if line["message"].startswith("metrics folder ")]
    return Path(line["message"].removeprefix("metrics folder "))


def two_new_workers(server: servers.Server, old: set[int] = frozenset()) -> set[int]:
    """Wait until the master runs two workers, none of them in ``old``."""
    deadline = time.monotonic() + 30
    while True:
        current = set(servers.worker_pids(server.process.pid))
        if len(current) == 2 and not current & old:
            return current
        assert time.monotonic() < deadline, f"gunicorn runs workers {current}, after {old}"
        time.sleep(0.1)


def classify(port: int, i: int) -> list[str]:
    status, headers, body = http(port, "POST", "/v1/classify", {"texts": [TEXT, EDITORIAL]},
                                 {"X-Request-ID": f"live-{i}"})
    assert status == 200 and headers["X-Request-ID"] == f"live-{i}"
    return [result["label"] for result in json.loads(body)["results"]]


@pytest.fixture(scope="module")
def server(module_live_server, tiny_model_dir):
    return module_live_server(tiny_model_dir, {"COMMENT_CLASSIFIER_CORAL_SIGNING_SECRETS": json.dumps([SECRET])})


def test_counts_add_up_across_workers_and_outlive_dead_workers(server, tiny_classifier):
    port = server.port
    first = two_new_workers(server)
    folder = metrics_folder(server)
    with ThreadPoolExecutor(4) as pool:
        labels = [label for labels in pool.map(lambda i: classify(port, i), range(24)) for label in labels]
    samples = scrape(port)
    assert value(samples, "comment_classifier_requests_total", endpoint="api.classify", status="200") == 24
    assert value(samples, "comment_classifier_request_duration_seconds_count", endpoint="api.classify") == 24
    assert value(samples, "comment_classifier_batch_size_texts_sum", endpoint="api.classify") == 48
    for label in ("comment", "editorial"):
        assert value(samples, "comment_classifier_labels_total", endpoint="api.classify",
                     label=label) == labels.count(label)
    replica = f"{socket.gethostname()}:{port}"  # REPLICA's default: hostname:port
    assert value(samples, "comment_classifier_model_info", replica=replica, version=tiny_classifier.version) == 1
    # The master loaded the model too, but its gauge is not among the workers'.
    assert not (folder / f"gauge_livemax_{server.process.pid}.db").exists()

    for pid in first:  # both workers die without a word; gunicorn starts two new ones
        os.kill(pid, signal.SIGKILL)
    two_new_workers(server, first)
    for i in range(24, 30):
        classify(port, i)
    samples = scrape(port)
    # The dead workers' counts are still in the totals; only the new workers served these 6.
    assert value(samples, "comment_classifier_requests_total", endpoint="api.classify", status="200") == 30
    assert value(samples, "comment_classifier_request_duration_seconds_count", endpoint="api.classify") == 30
    versions = {dict(labels)["version"]: v for (name, labels), v in samples.items()
                if name == "comment_classifier_model_info"}
    assert versions == {tiny_classifier.version: 1}
    for pid in first:
        assert not (folder / f"gauge_livemax_{pid}.db").exists()
        assert (folder / f"counter_{pid}.db").exists()
    lines = lines_for(server, *(f"live-{i}" for i in range(30)))
    served = {line["pid"] for line in lines if str(line.get("request_id", "")).startswith("live-")}
    assert len(served) >= 2  # at least one old and one new worker answered


def test_request_ids_are_echoed_generated_or_replaced(server):
    port = server.port
    assert http(port, "GET", "/healthz", headers={"X-Request-ID": "abc.123:x_y-z"})[1]["X-Request-ID"] == "abc.123:x_y-z"
    generated = http(port, "GET", "/healthz")[1]["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    for hostile in ("<script>alert(1)</script>", "a" * 129, "x y"):
        replaced = http(port, "GET", "/healthz", headers={"X-Request-ID": hostile})[1]["X-Request-ID"]
        assert replaced != hostile and len(replaced) == 32
    status, headers, _ = http(port, "GET", "/nowhere", headers={"X-Request-ID": "nf-1"})
    assert (status, headers["X-Request-ID"]) == (404, "nf-1")
    status, headers, _ = http(port, "POST", "/v1/classify", {"text": "x" * 2_000_000}, {"X-Request-ID": "big-1"})
    assert (status, headers["X-Request-ID"]) == (413, "big-1")


def test_log_lines_are_json_with_ids_and_never_the_text(server):
    port = server.port
    http(port, "POST", "/v1/segment", {"text": TEXT + "\n\n" + EDITORIAL}, {"X-Request-ID": "seg-1"})
    http(port, "POST", "/v1alpha1/comments:analyze?key=sekrit-key-2",
         {"comment": {"text": TEXT}, "requestedAttributes": {"COMMENT": {}}}, {"X-Request-ID": "persp-1"})
    http(port, "POST", "/v1/classify", {"texts": [TEXT, 5]},
         {"Authorization": "Bearer sekrit-token-1", "X-Request-ID": "bad-1"})
    raw = json.dumps({"action": "NEW", "comment": {"body": EDITORIAL}}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    status, _, _ = http(port, "POST", "/v1/coral/moderate", raw, {"X-Coral-Signature": signature,
                                                                  "X-Request-ID": "coral-1"})
    assert status in (200, 204)

    lines = lines_for(server, "seg-1", "persp-1", "bad-1", "coral-1")
    by_id = {}
    for line in lines:
        assert {"time", "level", "logger", "pid", "message"} <= line.keys()
        by_id.setdefault(line.get("request_id"), []).append(line)
    [segment] = by_id["seg-1"]
    assert (segment["status"], segment["endpoint"], segment["n_texts"]) == (200, "api.segment", 2)
    [bad] = by_id["bad-1"]
    assert (bad["status"], bad["endpoint"]) == (400, "api.classify")
    [perspective] = by_id["persp-1"]
    assert perspective["path"] == "/v1alpha1/comments:analyze" and perspective["status"] == 200
    # Coral's own verdict line, written while the request was handled, carries its id too.
    assert {line["logger"] for line in by_id["coral-1"]} == {"service.coral", "service.requests"}
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    everything = servers.output(server)
    for secret in ("zebraquokka", "sekrit-key-2", "sekrit-token-1"):
        assert secret not in everything


def test_zz_the_temporary_metrics_folder_goes_with_the_server(server):
    folder = metrics_folder(server)
    assert folder.is_dir()
    servers.stop(server)
    assert not folder.exists()


def test_log_text_on_and_an_operators_metrics_folder(live_server, tiny_model_dir, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"a previous run's file, unreadable")
    server = live_server(tiny_model_dir, {"COMMENT_CLASSIFIER_LOG_TEXT": "true",
                                          "PROMETHEUS_MULTIPROC_DIR": str(folder)})
    assert not (folder / "counter_1.db").exists()
    assert metrics_folder(server) == folder
    classify(server.port, 1)
    assert value(scrape(server.port), "comment_classifier_requests_total", endpoint="api.classify", status="200") == 1
    [line] = [line for line in lines_for(server, "live-1") if line.get("request_id") == "live-1"]
    assert line["texts"] == [TEXT, EDITORIAL]
    servers.stop(server)
    assert folder.is_dir()  # the operator's folder stays


def test_the_temporary_folder_outlives_replaced_workers_and_goes_even_after_a_failed_start(
        live_server, tiny_model_dir, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    server = live_server(tiny_model_dir, {"TMPDIR": str(temporary)})
    folder = metrics_folder(server)
    assert folder.parent == temporary
    first = two_new_workers(server)
    classify(server.port, 1)
    os.kill(server.process.pid, signal.SIGHUP)  # new workers; the old ones exit on their own
    two_new_workers(server, first)
    assert folder.is_dir()
    classify(server.port, 2)
    assert value(scrape(server.port), "comment_classifier_requests_total", endpoint="api.classify", status="200") == 2
    servers.stop(server)
    assert list(temporary.iterdir()) == []

    failed = live_server(tmp_path / "no-model", {"TMPDIR": str(temporary)}, wait=False)
    assert failed.process.wait(timeout=60) != 0
    assert list(temporary.iterdir()) == []
