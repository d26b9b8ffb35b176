"""Coral Talk's requests replayed byte for byte against the service under gunicorn."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time

import pytest


pytestmark = pytest.mark.live
PATH = "/v1/coral/moderate"
# The server holds two secrets; Talk may still sign with one we have dropped.
HELD = ["empsec_" + "1a" * 32, "empsec_" + "2b" * 32]
RETIRED = "empsec_" + "3c" * 32
TALK_TIMEOUT_MS = 200  # the admin form's default phase timeout
EDITORIAL = ("<p>The city council approved the budget on Tuesday, officials said. The finance minister "
             "told reporters that the deficit would narrow next year, according to figures published "
             "by the statistics bureau.</p>")
COMMENT = "<div>Bold move by the council. I'm sure it will all be fixed by Tuesday.</div>"
FLAG = {"actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}]}


def talk_body(html: str, action: str = "NEW", parent: str | None = None) -> bytes:
    """Talk's body: ``JSON.stringify(request, null, 2)`` in its key order, UTF-8, no newline at the end."""
    request = {
        "action": action,
        "comment": {"body": html, "parentID": parent},
        "author": {"id": "3f0c5b1e-7d2a-4c55-9b61-2e8f4a9d0c17", "role": "COMMENTER"},
        "story": {"id": "b7e2d4a0-1c3f-4e8b-a5d6-9f0e1c2b3a45",
                  "url": "https://news.example.org/2026/07/city-council-budget/"},
        "site": {"id": "5a9c7e21-0b4d-4f6a-8c3e-1d2f3a4b5c6d"},
        "tenantID": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
        "tenantDomain": "comments.news.example.org",
    }
    return json.dumps(request, indent=2, ensure_ascii=False).encode("utf-8")


def signature(body: bytes, *secrets: str) -> str:
    """``X-Coral-Signature``: one ``sha256=<hex>`` per active secret, oldest first, no spaces."""
    return ",".join("sha256=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)


def send(connection: http.client.HTTPConnection, body: bytes, sig: str) -> tuple[int, bytes]:
    """POST with Talk's headers in node-fetch's order, on a kept-alive connection."""
    connection.putrequest("POST", PATH, skip_accept_encoding=True)
    for name, value in [("Content-Type", "application/json"), ("X-Coral-Signature", sig),
                        ("User-Agent", "Coral Moderation/9.11.8"), ("Accept", "*/*"),
                        ("Accept-Encoding", "gzip,deflate"), ("Content-Length", str(len(body))),
                        ("Connection", "keep-alive")]:
        connection.putheader(name, value)
    connection.endheaders(body)
    response = connection.getresponse()
    return response.status, response.read()


@pytest.fixture(scope="module")
def live(module_live_server, tiny_model_dir):
    return module_live_server(tiny_model_dir, {
        "COMMENT_CLASSIFIER_CORAL_SIGNING_SECRETS": json.dumps(HELD),
        # The tiny model scores the editorial paragraph about 0.95; the shipped default is 0.95.
        "COMMENT_CLASSIFIER_CORAL_FLAG_THRESHOLD": "0.8",
    }).port


@pytest.fixture()
def connection(live):
    connection = http.client.HTTPConnection("127.0.0.1", live, timeout=10)
    yield connection
    connection.close()


def test_pasted_editorial_paragraph_is_flagged(connection):
    body = talk_body(EDITORIAL)
    status, answer = send(connection, body, signature(body, HELD[0]))
    assert status == 200
    assert json.loads(answer) == FLAG


def test_ordinary_comment_gets_no_opinion(connection):
    body = talk_body(COMMENT, parent="0b7a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d")
    assert send(connection, body, signature(body, HELD[1])) == (204, b"")


def test_edit_with_non_ascii_text_is_read(connection):
    body = talk_body("<div>Café «super» — ça alors&nbsp;! 👍</div>", action="EDIT")
    assert "Café".encode() in body  # sent as UTF-8, not \\u-escaped, as JSON.stringify does
    assert send(connection, body, signature(body, HELD[0])) == (204, b"")


def test_rotated_secret_header_with_two_signatures_only_the_second_valid(connection):
    body = talk_body(EDITORIAL)
    header = signature(body, RETIRED, HELD[1])
    assert header.count("sha256=") == 2 and " " not in header
    status, answer = send(connection, body, header)
    assert (status, json.loads(answer)) == (200, FLAG)


def test_body_tampered_after_signing_is_401(connection):
    body = talk_body(COMMENT)
    tampered = body.replace(b"Bold move", b"Good move")
    assert len(tampered) == len(body)
    status, answer = send(connection, tampered, signature(body, HELD[0]))
    assert status == 401
    assert json.loads(answer)["error"]["code"] == "invalid_signature"


def test_signed_only_with_a_retired_secret_is_401(connection):
    body = talk_body(COMMENT)
    assert send(connection, body, signature(body, RETIRED))[0] == 401


def test_latency_against_talks_default_timeout(connection):
    """Prints p99 over many requests; asserts only the answers, never the time."""
    bodies = [talk_body(text, action) for text in (EDITORIAL, COMMENT) for action in ("NEW", "EDIT")]
    requests = [(body, signature(body, RETIRED, HELD[1])) for body in bodies]
    for body, sig in requests * 5:  # warm up both workers
        send(connection, body, sig)
    times = []
    for i in range(400):
        body, sig = requests[i % len(requests)]
        start = time.perf_counter()
        status, _ = send(connection, body, sig)
        times.append((time.perf_counter() - start) * 1000)
        assert status in (200, 204)
    times.sort()
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99) - 1]
    print(f"\ncoral moderate over {len(times)} requests: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"max {times[-1]:.2f} ms (Talk's default timeout {TALK_TIMEOUT_MS} ms)")
