"""Production as the README runs it (gunicorn on a loopback port behind Debian's nginx), attacked.

Each finding of the hostile-traffic review, against the real processes: texts built to be slow,
8 at once; 200 idle and 200 one-byte-per-second connections while probes and texts are answered;
malformed chunked bodies on every POST endpoint; HTTP that nginx refuses (request line,
Content-Length, a 10 KB URL, a 9 KB header) answered as JSON; OPTIONS; bytes that are not UTF-8;
a text of zero-width characters; the overload 503 passing through; and no ``?key=`` in any log.
Latencies are printed (``-s``), with bounds far above the goals: a held probe took 5-15 s.
"""

from __future__ import annotations

import http.client
import json
import socket
import signal
import statistics
import threading
import time
from pathlib import Path

import pytest

from bench import adversarial
from tests.production import Production, connect

pytestmark = pytest.mark.live
REPO = Path(__file__).resolve().parent.parent
POSTS = ["/v1/classify", "/v1/segment", "/v1alpha1/comments:analyze", "/v1/feedback", "/v1/coral/moderate"]
SECRET = "sekrit-key-0123456789"


@pytest.fixture(scope="module")
def production():
    with Production(REPO / "model", {"COMMENT_CLASSIFIER_API_KEYS": "a-real-key"}) as running:
        yield running
        # After every test of the module: nothing in any log carries a key, and no worker died.
        time.sleep(0.5)
        logs = running.logs()
        assert SECRET not in logs
        assert "WORKER TIMEOUT" not in logs and "Traceback" not in logs


def raw(port: int, data: bytes, timeout: float = 10) -> tuple[int, dict, bytes]:
    """Send ``data`` as it is; the status, headers and body of the answer."""
    with connect(port, timeout) as sock:
        sock.sendall(data)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            head, sep, body = received.partition(b"\r\n\r\n")
            if sep:
                headers = {line.split(b":", 1)[0].decode().lower(): line.split(b":", 1)[1].strip().decode()
                           for line in head.split(b"\r\n")[1:] if b":" in line}
                if "content-length" in headers and len(body) >= int(headers["content-length"]):
                    break
    if not received.startswith(b"HTTP/"):  # an HTTP/0.9 answer: the body alone
        return 0, {}, received
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {line.split(b":", 1)[0].decode().lower(): line.split(b":", 1)[1].strip().decode()
               for line in lines[1:] if b":" in line}
    return int(lines[0].split()[1]), headers, body


def post(port: int, path: str, body: bytes, headers: dict | None = None) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def assert_json_error(status_headers_body, status: int, code: str | None = None):
    got, headers, body = status_headers_body
    assert got == status, (got, body[:300])
    assert headers["content-type"].startswith("application/json"), headers
    error = json.loads(body)["error"]
    assert set(error) >= {"code", "message"}
    if code is not None:
        assert error["code"] == code, error


@pytest.mark.parametrize("path", POSTS)
def test_a_malformed_chunked_body_is_400_json(production, path):
    request = (f"POST {path}?key={SECRET} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n").encode()
    assert_json_error(raw(production.port, request), 400, "bad_request")


@pytest.mark.parametrize(("name", "request_bytes", "status", "code"), [
    ("bad request line", f"GET\x01 /?key={SECRET} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 400, "bad_request"),
    ("bad version", f"GET /?key={SECRET} HTTP/7.1\r\nHost: x\r\n\r\n".encode(), 505, "http_version_not_supported"),
    ("three words and more", f"GET /healthz?key={SECRET} HTTP/1.1 extra\r\nHost: x\r\n\r\n".encode(), 400, "bad_request"),
    ("bad Content-Length", b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "bad_request"),
    ("two Content-Lengths", b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
     400, "bad_request"),
    ("10 KB URL", b"GET /healthz?key=" + SECRET.encode() + b"&" + b"a" * 10_240 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, "uri_too_long"),
    ("9 KB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9_216 + b"\r\n\r\n", 400,
     "headers_too_large"),
    ("body over 1 MiB", b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 2000000\r\n\r\n", 413, "body_too_large"),
])
def test_http_that_nginx_refuses_is_answered_as_json(production, name, request_bytes, status, code):
    assert_json_error(raw(production.port, request_bytes), status, code)


def test_a_request_line_without_a_version_gets_the_json_error_alone(production):
    # No version is HTTP/0.9, whose answers have no status line and no headers: the body alone.
    status, _, body = raw(production.port, f"GARBAGE /?key={SECRET}\r\n\r\n".encode())
    assert status == 0 and json.loads(body)["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/v1/classify", "/healthz", "/v1alpha1/comments:analyze"])
def test_options_is_204_with_allow(production, path):
    status, headers, body = raw(production.port, f"OPTIONS {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert status == 204 and body == b""
    assert "POST" in headers["allow"] or "GET" in headers["allow"]


def test_options_on_an_unknown_path_is_404_json(production):
    assert_json_error(raw(production.port, b"OPTIONS /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                      404, "not_found")


@pytest.mark.parametrize("body", [b'{"text": "caf\xed\xa0\x80"}', '{"text": "hello there"}'.encode("utf-16"),
                                  '{"text": "hello there"}'.encode("utf-16-le"), b'{"text": "\xff"}'])
def test_bytes_that_are_not_utf8_are_invalid_json(production, body):
    status, _, answer = post(production.port, "/v1/classify", body)
    assert status == 400 and answer["error"]["code"] == "invalid_json", answer


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200c\u200d\ufeff\u2060", "\u00ad \u200e\u200f", "\u3164\u2800"])
def test_a_text_of_only_invisible_characters_is_empty(production, text):
    status, _, answer = post(production.port, "/v1/classify", json.dumps({"text": text}).encode())
    assert status == 400 and answer["error"]["code"] == "empty_text", answer
    status, _, answer = post(production.port, "/v1/classify", json.dumps({"texts": ["fine text", text]}).encode())
    assert status == 400 and answer["error"]["code"] == "empty_text", answer


def test_keys_in_query_strings_are_never_logged(production):
    # Answered, refused by the app, and refused by nginx: none may write the key anywhere.
    status, _, _ = post(production.port, f"/v1alpha1/comments:analyze?key={SECRET}",
                        json.dumps({"comment": {"text": "hello"}}).encode())
    assert status in (400, 403)  # Google answers a wrong key 400
    raw(production.port, f"GET /v1/model?key={SECRET} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw(production.port, f"BREW /?key={SECRET} HTCPCP/1.0\r\n\r\n".encode())
    time.sleep(0.5)
    assert SECRET not in production.logs()


def _parallel(count: int, function) -> list:
    results: list = [None] * count

    def run(index):
        try:
            results[index] = function()
        except BaseException as error:  # kept for the assert
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@pytest.mark.parametrize("family", ["spaces then -x", "a, dots, b", "unclosed <p", "doubly escaped &amp;",
                                    "question marks"])
def test_slow_texts_8_at_once_are_all_answered(production, family):
    text = adversarial.fill(*adversarial.FAMILIES[family])
    classify = json.dumps({"texts": [text] * 4, "explain": True}).encode()
    analyze = json.dumps({"comment": {"text": text[:20_000]}, "languages": ["en"], "spanAnnotations": True,
                          "requestedAttributes": {"EDITORIAL": {}}}).encode()
    started = time.monotonic()
    answers = _parallel(8, lambda: post(production.port, "/v1/classify", classify))
    answers += _parallel(8, lambda: post(production.port, "/v1alpha1/comments:analyze?key=a-real-key", analyze))
    elapsed = time.monotonic() - started
    print(f"\n{family}: 8 batches of 4 with explanations, then 8 span analyses, in {elapsed:.2f} s")
    # 200, or 503 overloaded when the queue is long: answered either way, no worker killed (a
    # killed worker is nginx's 503 unavailable).
    results = [answer[0] if isinstance(answer, tuple) else answer for answer in answers]
    assert all(result in (200, 503) for result in results), [repr(answer)[:300] for answer in answers]
    assert all(answer[2]["error"]["code"] == "overloaded" for answer in answers if answer[0] == 503), answers
    assert results.count(200) >= 2


def test_idle_and_slow_connections_do_not_hold_the_probes(production):
    idle = [connect(production.port) for _ in range(200)]
    slow = [connect(production.port) for _ in range(200)]
    stop = threading.Event()

    def trickle():
        # One byte per second on each slow connection: a request that never ends.
        message = b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000
        for position in range(len(message)):
            for sock in slow:
                try:
                    sock.send(message[position:position + 1])
                except OSError:
                    pass
            if stop.wait(1.0):
                return

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(1.5)
        latencies = {"/healthz": [], "/v1/classify": []}
        body = json.dumps({"text": "The council voted on Monday to approve the plan."}).encode()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            for path in latencies:
                started = time.perf_counter()
                if path == "/healthz":
                    status, _, _ = raw(production.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                else:
                    status, _, _ = post(production.port, path, body)
                latencies[path].append(time.perf_counter() - started)
                assert status == 200
    finally:
        stop.set()
        trickler.join(5)
        for sock in idle + slow:
            sock.close()
    for path, values in latencies.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"\n{path} with 200 idle and 200 slow connections: {len(values)} requests, "
              f"median {statistics.median(values) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
        # Far above the 50 ms goal (printed): the bound only tells held from answered.
        assert p99 < 1.0, (path, p99)


def _slow_batch() -> bytes:
    from bench import texts

    return json.dumps({"texts": texts.cycle(1000), "explain": True}).encode()


def _overloaded_and_answered(results) -> list[str]:
    """The messages of the 503s; every answer a 200 or a 503 overloaded with Retry-After, both present."""
    statuses = [result[0] if isinstance(result, tuple) else result for result in results]
    assert set(statuses) <= {200, 503} and 503 in statuses and 200 in statuses, statuses
    messages = []
    for status, headers, body in results:
        if status == 503:
            assert body["error"]["code"] == "overloaded" and headers["Retry-After"] == "1", (headers, body)
            messages.append(body["error"]["message"])
    return messages


def test_a_request_that_waited_too_long_for_a_worker_is_503_overloaded(tiny_model_dir):
    """One sync worker, six slow batches at once: the ones that wait past MAX_QUEUE_MS are refused
    by the service when their turn comes (nginx's X-Request-Start), the first is answered."""
    with Production(tiny_model_dir, {"WORKERS": "1", "COMMENT_CLASSIFIER_MAX_QUEUE_MS": "100"}) as running:
        results = _parallel(6, lambda: post(running.port, "/v1/classify", _slow_batch()))
        messages = _overloaded_and_answered(results)
        assert set(messages) == {"the request waited over 100 ms for a worker; retry after 1 s"}, messages
        # A client's own X-Request-Start is replaced by nginx's: one from a minute ago, which the
        # service would refuse (the in-process tests), changes nothing.
        status, _headers, _body = post(running.port, "/v1/classify", json.dumps({"text": "on time"}).encode(),
                                       {"X-Request-Start": f"t={time.time() - 60:.3f}"})
        assert status == 200


def test_past_max_conns_nginx_answers_503_overloaded_but_never_to_the_probes(tiny_model_dir):
    """nginx lets at most --max-conns scoring requests into gunicorn; the rest are refused at once,
    as the service's JSON error. GETs and feedback go around the limit."""
    with Production(tiny_model_dir, {"WORKERS": "1", "COMMENT_CLASSIFIER_MAX_QUEUE_MS": "0"}, max_conns=1) as running:
        body = _slow_batch()
        probes: list = []

        def probe_while_busy():
            time.sleep(0.2)  # the batches are in flight by now
            for request in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            b"GET /v1/model HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            b"HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            b"OPTIONS /v1/classify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            b"DELETE /v1/review-log/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            b"POST /v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"):
                status, _headers, answer = raw(running.port, request)
                probes.append((status, json.loads(answer)["error"]["code"] if status >= 400 and answer else None))

        prober = threading.Thread(target=probe_while_busy)
        prober.start()
        results = _parallel(6, lambda: post(running.port, "/v1/classify", body))
        prober.join(30)
        messages = _overloaded_and_answered(results)
        assert set(messages) == {"the service is answering 1 scoring requests already; retry after 1 s"}, messages
        # Around the limit: the probes and GETs answered, the other methods and feedback reach the
        # app and get its own answers (both need a key and none is configured), none "overloaded".
        assert probes == [(200, None), (200, None), (200, None), (204, None), (503, "keys_not_configured"),
                          (503, "keys_not_configured")], probes
        time.sleep(0.2)
        lines = [json.loads(line) for line in running.access_log.read_text().splitlines()]
        # Logged as what they were, a POST to /v1/classify, not as nginx's error page.
        refused = [(line["method"], line["path"], line["upstream_status"]) for line in lines
                   if line["status"] == 503 and line["path"] not in ("/readyz", "/v1/review-log/1", "/v1/feedback")]
        # nginx records "no live upstream" as an upstream 502, then answers 503.
        assert refused == [("POST", "/v1/classify", "502")] * len(messages), refused


def test_gunicorn_not_answering_is_503_unavailable(tiny_model_dir):
    from bench import servers

    with Production(tiny_model_dir) as running:
        servers.stop(running.gunicorn_server)
        for request in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b'POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                        b'Content-Length: 12\r\nConnection: close\r\n\r\n{"text":"a"}'):
            answer = raw(running.port, request)
            assert_json_error(answer, 503, "unavailable")
            assert answer[1]["retry-after"] == "1"


def test_gunicorn_on_a_unix_socket_behind_nginx(tiny_model_dir):
    """The template's other upstream: gunicorn on a unix socket (``render.py --socket``)."""
    with Production(tiny_model_dir, unix_socket=True) as running:
        assert f"server unix:{running.socket} " in (running.folder / "nginx.conf").read_text()
        status, _headers, body = post(running.port, "/v1/classify", json.dumps({"text": "What a joke, as usual."}).encode())
        assert status == 200 and body["label"] in {"editorial", "comment"}


def test_an_upstream_that_never_answers_is_504_upstream_timeout(tmp_path):
    """A gunicorn that accepts and then hangs (here a socket that never answers, standing in for a
    worker stuck in a request): nginx gives up after --read-timeout with the JSON error, and
    without Retry-After, since the request may have been carried out."""
    import subprocess
    import sys

    from bench import servers
    from tests.production import RENDER, nginx_binary

    nginx = nginx_binary()
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    port = servers.free_port()
    tmp_path.chmod(0o755)
    conf = tmp_path / "nginx.conf"
    subprocess.run([sys.executable, str(RENDER), "--listen", f"127.0.0.1:{port}",
                    "--upstream", f"127.0.0.1:{hung.getsockname()[1]}", "--read-timeout", "1",
                    "--run-dir", str(tmp_path), "--access-log", "off", "--out", str(conf)],
                   check=True, capture_output=True)
    process = subprocess.Popen([nginx, "-c", str(conf), "-e", str(tmp_path / "error.log"), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                connect(port, timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        for request in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b'POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                        b'Content-Length: 12\r\nConnection: close\r\n\r\n{"text":"a"}'):
            answer = raw(port, request)
            assert_json_error(answer, 504, "upstream_timeout")
            assert "retry-after" not in answer[1]
            assert json.loads(answer[2])["error"]["message"] == "the service did not answer within 1 s"
    finally:
        process.send_signal(signal.SIGQUIT)
        process.wait(timeout=20)
        hung.close()
