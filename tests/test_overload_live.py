"""A saturated worker answers 503 overloaded with Retry-After at once instead of queueing.

One worker under gunicorn as production runs it, with room for one request in flight and
three spare threads, gets many slow requests at once (1,000 texts with explanations each).
The limit's answers must come back before the slow ones do: this is checked by the order in
which the answers arrive, never against a wall-clock threshold.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from bench import servers, texts
from service import overload

# The in-process tests run in the fast suite; the two against gunicorn are marked live.
CLIENTS = 10
TIMEOUT = 60  # seconds: a socket timeout, only so that a hang fails instead of blocking the suite


@pytest.fixture()
def app_factory(tiny_classifier):
    from service import create_app

    return lambda limit, max_queue_ms=1000: create_app({
        "TESTING": True, "CLASSIFIER": tiny_classifier, "MAX_IN_FLIGHT": limit, "MAX_QUEUE_MS": max_queue_ms})


def test_limit_wraps_the_app_unless_zero(app_factory):
    # Outermost, the refused bodies are read; inside it, the limit.
    assert isinstance(app_factory(2).wsgi_app, overload.FinishUnreadBody)
    assert isinstance(app_factory(2).wsgi_app.wsgi_app, overload.InFlightLimit)
    assert isinstance(app_factory(0).wsgi_app.wsgi_app, overload.InFlightLimit)  # the queue deadline alone
    assert not isinstance(app_factory(0, 0).wsgi_app.wsgi_app, overload.InFlightLimit)


def test_negative_limit_is_refused_at_start_up(app_factory):
    with pytest.raises(ValueError, match="MAX_IN_FLIGHT"):
        app_factory(-1)
    with pytest.raises(ValueError, match="MAX_QUEUE_MS"):
        app_factory(4, -1)
    with pytest.raises(ValueError, match="MAX_QUEUE_MS"):
        app_factory(4, float("nan"))


def _started(seconds_ago: float) -> dict:
    return {"X-Request-Start": f"t={time.time() - seconds_ago:.3f}"}


@pytest.mark.parametrize("limit", [0, 4])
def test_a_scoring_request_that_waited_past_the_deadline_is_503(app_factory, limit):
    """nginx's X-Request-Start says when it handed the request on: past MAX_QUEUE_MS, 503 overloaded."""
    client = app_factory(limit, 200).test_client()
    for path, body in (("/v1/classify", {"text": "late"}), ("/v1/segment", {"text": "late"})):
        late = client.post(path, json=body, headers=_started(0.5))
        assert late.status_code == 503, path
        assert late.get_json()["error"] == {
            "code": "overloaded", "message": "the request waited over 200 ms for a worker; retry after 1 s"}
        assert late.headers["Retry-After"] == "1" and len(late.headers["X-Request-ID"]) == 32
        assert client.post(path, json=body, headers=_started(0.05)).status_code == 200, path
    # Probes, other GETs and feedback are never refused, however long they waited.
    assert client.get("/healthz", headers=_started(5)).status_code == 200
    assert client.get("/v1/model", headers=_started(5)).status_code == 200
    feedback = client.post("/v1/feedback", json={}, headers=_started(5))  # refused for its own reasons
    assert feedback.get_json()["error"]["code"] != "overloaded", feedback.get_json()


@pytest.mark.parametrize("value", ["", "t=", "t=abc", "1733330000", "t=1e400", "t=nan", "t=-inf", "t=" + "9" * 40,
                                   "in a minute", "two days ago", "t=0", "T=5", " t=5"])
def test_a_missing_or_malformed_start_is_ignored(app_factory, value):
    # Without a proxy a client may send anything there; only a well-formed recent time is read
    # (a time in the future, or days ago, is a clock or a client's own doing, not a queue).
    value = {"in a minute": f"t={time.time() + 60:.3f}", "two days ago": f"t={time.time() - 2 * 86400:.3f}"}.get(value, value)
    client = app_factory(4, 1).test_client()
    response = client.post("/v1/classify", json={"text": "on time"}, headers={"X-Request-Start": value})
    assert response.status_code == 200, value


def test_no_deadline_when_it_is_zero(app_factory):
    client = app_factory(4, 0).test_client()
    assert client.post("/v1/classify", json={"text": "x"}, headers=_started(30)).status_code == 200


def refused_counts(client) -> dict:
    """503 answers so far by endpoint, from /metrics."""
    counts = {"api.classify": 0.0, "api.segment": 0.0}
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        for endpoint in counts:
            if line.startswith(f'comment_classifier_requests_total{{endpoint="{endpoint}",status="503"}}'):
                counts[endpoint] = float(line.rsplit(" ", 1)[1])
    return counts


def test_a_full_worker_answers_503_quickly_but_never_to_the_probes(app_factory):
    app = app_factory(1)
    entered, release = threading.Event(), threading.Event()
    limit = app.wsgi_app.wsgi_app
    flask_app = limit.wsgi_app

    def held(environ, start_response):
        # The view that holds the only slot until the test lets it go.
        if environ["PATH_INFO"] == "/hold":
            entered.set()
            release.wait(TIMEOUT)
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]
        return flask_app(environ, start_response)

    limit.wsgi_app = held
    client = app.test_client()
    holder = threading.Thread(target=client.post, args=("/hold",))
    holder.start()
    try:
        assert entered.wait(TIMEOUT)
        before = refused_counts(client)
        refused = client.post("/v1/classify", json={"text": "a second request"})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == str(overload.RETRY_AFTER_SECONDS)
        assert refused.get_json()["error"]["code"] == "overloaded"
        assert len(refused.headers["X-Request-ID"]) == 32  # generated, like every other answer's
        echoed = client.post("/v1/segment", json={"text": "x"}, headers={"X-Request-ID": "desk-42"})
        assert (echoed.status_code, echoed.headers["X-Request-ID"]) == (503, "desk-42")
        bad_id = client.post("/v1/segment", json={"text": "x"}, headers={"X-Request-ID": "<script>"})
        assert bad_id.headers["X-Request-ID"] != "<script>"
        after = refused_counts(client)
        assert after["api.classify"] - before["api.classify"] == 1  # counted in /metrics like any answer
        assert after["api.segment"] - before["api.segment"] == 2
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/v1/model").status_code == 200  # GETs are cheap: never limited
    finally:
        release.set()
        holder.join(TIMEOUT)
    assert client.post("/v1/classify", json={"text": "after"}).status_code == 200


def _post(port: int, path: str, body: str) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.live
def test_saturated_worker_sheds_load_with_503_before_the_slow_answers(live_server, tiny_model_dir):
    server = live_server(tiny_model_dir, {"WORKERS": "1", "THREADS": "4",
                                           "COMMENT_CLASSIFIER_MAX_IN_FLIGHT": "1"})
    port = server.port
    slow_body = json.dumps({"texts": texts.cycle(1000), "explain": True})
    start = threading.Barrier(CLIENTS)
    arrivals: list[tuple[int, int, dict, dict]] = []  # (order, status, headers, body)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client():
        start.wait(TIMEOUT)
        try:
            status, headers, body = _post(port, "/v1/classify", slow_body)
        except BaseException as error:  # a connection error is a failure, kept for the assert
            with lock:
                failures.append(error)
            return
        with lock:
            arrivals.append((len(arrivals), status, headers, body))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    # While the worker is full, the probes are answered by a spare thread.
    probes = []
    while any(thread.is_alive() for thread in threads) and len(probes) < 3:
        probes.append(_get_status(port, "/healthz"))
        time.sleep(0.05)
    for thread in threads:
        thread.join(TIMEOUT * 2)

    assert failures == []
    assert len(arrivals) == CLIENTS
    statuses = [status for _, status, _, _ in arrivals]
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses and 503 in statuses, statuses
    for _, status, headers, body in arrivals:
        if status == 503:
            assert body["error"]["code"] == "overloaded"
            assert headers["Retry-After"] == str(overload.RETRY_AFTER_SECONDS)
        else:
            assert len(body["results"]) == 1000
    # Every 503 arrived before the first slow answer: none of them waited behind it.
    first_ok = statuses.index(200)
    assert statuses[first_ok:] == [200] * (len(statuses) - first_ok), statuses
    assert probes and set(probes) == {200}, probes

    # Normal service afterwards.
    status, _, body = _post(port, "/v1/classify", json.dumps({"text": "The council met on Monday."}))
    assert status == 200 and body["label"] in ("editorial", "comment")
    assert "Traceback" not in servers.output(server)
    servers.stop(server)


def _get_status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.live
def test_a_refused_body_is_read_before_the_answer_so_the_client_gets_it(live_server, tiny_model_dir):
    # gunicorn drains only 64 KiB of a body the app refused unread, then closes a connection
    # whose answer promised keep-alive: the client still sending would meet a broken pipe. The
    # worker reads the rest first, so the answer arrives and the connection stays usable; a
    # body that stops coming gets its answer, after 2 s, with Connection: close.
    server = live_server(tiny_model_dir, {"WORKERS": "1"})
    port = server.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    answers = []
    for body in ({"text": "first"}, {"text": "x" * 3_000_000}, {"text": "after the refused body"}):
        connection.request("POST", "/v1/classify", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        answers.append((response.status, response.will_close, json.loads(response.read())))
    connection.close()
    assert [(status, closes) for status, closes, _ in answers] == [(200, False), (413, False), (200, False)]
    assert answers[1][2]["error"]["code"] == "body_too_large"

    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as stalled:
        stalled.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 5000000\r\n\r\n" + b"x" * 100_000)
        head = stalled.recv(65536).split(b"\r\n\r\n")[0].decode().lower()
    assert head.startswith("http/1.1 413") and "connection: close" in head
    servers.stop(server)
