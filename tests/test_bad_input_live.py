"""A catalogue of bad input against the live service under gunicorn.

Every case must get a clear 4xx with the documented JSON error code, or a correct 200 answer:
never a 5xx, never a hang (every socket has a timeout of a few seconds), never a traceback in
the server's output. Raw ``socket`` is used where ``urllib`` would refuse to send the request
(invalid bytes, chunked bodies, bodies the server stops reading).
"""

from __future__ import annotations

import json
import select
import socket
import time

import pytest

from bench import servers

pytestmark = pytest.mark.live

TIMEOUT = 5  # seconds: any answer slower than this is a hang


@pytest.fixture(scope="module")
def server(module_live_server, tiny_model_dir):
    return module_live_server(tiny_model_dir)


@pytest.fixture(scope="module")
def port(server):
    return server.port


# --- A raw HTTP/1.1 client ------------------------------------------------------------------

def _read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Status, headers (lower-cased names) and body of one response; ``Connection: close`` ok."""
    data = b""
    deadline = time.monotonic() + TIMEOUT
    while b"\r\n\r\n" not in data:
        if time.monotonic() > deadline:
            raise AssertionError(f"no complete response head within {TIMEOUT}s: {data[:200]!r}")
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed without answering: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def raw(port: int, method: str, path: str, body: bytes = b"", content_type: str | None = "application/json",
        headers: dict | None = None) -> tuple[int, dict, bytes]:
    """Send ``body`` as is (with its Content-Length) and read the answer.

    The body goes in pieces, watching for an early answer: a server that refuses a body too large
    answers without reading it, and then the rest need not (and cannot) be sent.
    """
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    if content_type:
        head.append(f"Content-Type: {content_type}")
    if body or method in ("POST", "PUT"):
        head.append(f"Content-Length: {len(body)}")
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        for start in range(0, len(body), 65536):
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered already
            try:
                sock.sendall(body[start:start + 65536])
            except (BrokenPipeError, ConnectionResetError):
                break
        return _read_response(sock)


def call(port, path, body, content_type="application/json", method="POST") -> tuple[int, dict]:
    """Status and parsed JSON answer; the answer must be JSON and never a 5xx."""
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, headers, answer = raw(port, method, path, body, content_type)
    assert status < 500, answer
    assert headers.get("content-type", "").startswith("application/json"), (status, headers, answer[:200])
    return status, json.loads(answer)


def error_code(port, path, body, content_type="application/json", method="POST") -> tuple[int, str, str]:
    status, answer = call(port, path, body, content_type, method)
    return status, answer["error"]["code"], answer["error"]["message"]


# --- The body's bytes -----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_invalid_utf8_is_invalid_json(port, path):
    status, code, message = error_code(port, path, b'{"text": "caf\xe9 \xff\xfe"}')
    assert (status, code) == (400, "invalid_json")
    assert "UTF-8" in message


def test_nul_escaped_in_a_json_string_is_just_a_character(port):
    """``"\\u0000"`` is valid JSON: the text is classified like any other."""
    status, answer = call(port, "/v1/classify", {"text": "hello\u0000 world, what a day lol"})
    assert status == 200 and answer["label"] in ("comment", "editorial")
    status, answer = call(port, "/v1/classify", {"text": "\u0000"})
    assert status == 200 and answer["label"] in ("comment", "editorial")


@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_raw_nul_inside_a_json_string_is_invalid_json(port, path):
    """A raw control character inside a string is not JSON (RFC 8259 requires it escaped)."""
    status, code, _ = error_code(port, path, b'{"text": "hello\x00world"}')
    assert (status, code) == (400, "invalid_json")


def test_raw_nul_outside_strings_is_invalid_json(port):
    assert error_code(port, "/v1/classify", b'{"text": "a"}\x00')[:2] == (400, "invalid_json")


# --- Size -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_a_10_mb_body_is_refused_without_being_read(port, path):
    body = json.dumps({"text": "x" * 10_000_000}).encode()
    started = time.monotonic()
    status, code, message = error_code(port, path, body)
    assert (status, code) == (413, "body_too_large")
    assert "1000000" in message
    assert time.monotonic() - started < TIMEOUT


def chunked(port: int, path: str, limit: int = 3_000_000, piece: int = 65536,
            content_type: str = "application/json") -> tuple[int, dict, bytes, int]:
    """A chunked body with no Content-Length, growing until the server answers or closes.

    Bounded to ``limit`` bytes; returns the answer and how many bytes were sent.
    """
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode())
        sent = 0
        first = b'{"text": "'
        while sent < limit:
            if select.select([sock], [], [], 0.01)[0]:
                break  # the server has answered (or closed)
            data = first + b"x" * (piece - len(first))
            first = b""
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(data)
        else:
            pytest.fail(f"the server read {limit} bytes of a chunked body without answering")
        return (*_read_response(sock), sent)


@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_a_chunked_body_growing_past_the_limit_is_refused(port, path):
    started = time.monotonic()
    status, headers, answer, sent = chunked(port, path)
    assert status == 413, answer
    assert json.loads(answer)["error"]["code"] == "body_too_large"
    assert sent < 3_000_000
    assert time.monotonic() - started < 2 * TIMEOUT


def test_a_small_chunked_body_is_answered(port):
    body = json.dumps({"text": "lol no way this is real"}).encode()
    request = (f"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    request += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        status, _, answer = _read_response(sock)
    assert status == 200 and json.loads(answer)["label"] == "comment"


# --- JSON that parses badly or strangely ----------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_json_nested_10000_levels_is_invalid_json(port, path):
    for body in (b"[" * 10_000 + b"]" * 10_000, b'{"text": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_001):
        status, code, message = error_code(port, path, body)
        assert (status, code) == (400, "invalid_json")
        assert "nested too deeply" in message


@pytest.mark.parametrize("body, says", [
    (b'{"text": 1e999999}', "'text' must be a string (got number)"),
    (b'{"texts": [1e400]}', "'texts'[0] must be a string (got number)"),
    (b'{"text": ' + b"7" * 5000 + b"}", "too many digits"),
    (b'{"texts": [-' + b"9" * 5000 + b"]}", "too many digits"),
])
def test_huge_numbers_are_400_with_a_clear_message(port, body, says):
    status, code, message = error_code(port, "/v1/classify", body)
    assert status == 400 and code in ("invalid_request", "invalid_json")
    assert says in message


def test_huge_numbers_in_segment_and_options(port):
    assert error_code(port, "/v1/segment", b'{"text": 1e999999}')[:2] == (400, "invalid_request")
    status, code, _ = error_code(port, "/v1/classify", b'{"text": "a b c", "explain_top": 1e999}')
    assert (status, code) == (400, "invalid_request")
    status, code, _ = error_code(port, "/v1/classify", b'{"text": "a b c", "review_band": [0.1, 1e999]}')
    assert (status, code) == (400, "invalid_review_band")


@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_duplicate_keys_are_rejected(port, path):
    """Duplicate keys are refused with 400 ``invalid_json``, naming the key.

    Python's json would silently keep the last value. A moderation service must not: a proxy or
    an audit log that reads the first ``text`` would see a different comment from the one
    classified, which is a way to smuggle text past moderation. RFC 8259 leaves the behaviour
    to the implementation; we choose to refuse the ambiguity, at every level of the body.
    """
    status, code, message = error_code(port, path, b'{"text": "a", "text": "b"}')
    assert (status, code) == (400, "invalid_json")
    assert "duplicate key 'text'" in message
    nested = b'{"text": "a b c", "review_band": [0.2, 0.8], "explain": false, "explain": true}'
    assert error_code(port, path, nested)[:2] == (400, "invalid_json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          None])
@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_wrong_content_type_is_415(port, path, content_type):
    status, headers, answer = raw(port, "POST", path, b'{"text": "hello there"}', content_type)
    assert status == 415, answer
    assert json.loads(answer)["error"]["code"] == "unsupported_media_type"


def test_1001_texts_is_too_many(port):
    status, code, message = error_code(port, "/v1/classify", {"texts": ["hello there"] * 1001})
    assert (status, code) == (400, "too_many_texts")
    assert "1001" in message and "1000" in message
    assert error_code(port, "/v1/segment", {"blocks": ["hello there"] * 1001})[:2] == (400, "too_many_blocks")


@pytest.mark.parametrize("body, code", [
    (b"{}", "invalid_request"),
    (b"[]", "invalid_request"),
    (b'[{"text": "hello"}]', "invalid_request"),
    (b'"hello"', "invalid_request"),
    (b"null", "invalid_request"),
    (b"", "invalid_json"),
    (b"   ", "invalid_json"),
    (b'{"text": null}', "invalid_request"),
    (b'{"texts": {}}', "invalid_request"),
    (b'{"text": NaN}', "invalid_request"),
])
@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_empty_and_wrong_shapes_are_400(port, path, body, code):
    status, answer_code, message = error_code(port, path, body)
    assert (status, answer_code) == (400, code), message


# --- Unusual but valid text: always a label -------------------------------------------------

UNUSUAL = {
    "emoji": "😂😂😂 this is hilarious 🤣👍🏽👨‍👩‍👧",
    "only emoji": "🔥🔥🔥",
    "arabic": "هذا المقال رائع جدا، شكرا للكاتب على هذا التحليل",
    "hebrew": "אני לא מסכים עם הכותב בכלל, זה שטויות",
    "mixed direction": "I think \u202eesrever\u202c is \u200fשלום\u200f fine",
    "zero width": "lol\u200b\u200c\u200d\ufeff no\u2060 way",
    "combining": "Z̵̡̢͇̈́a̴̜͌l̸̰̓g̷̣̈́ȯ̶̧ text ë\u0301\u0301\u0301",
    "html": "<p>The council <b>met</b> on Monday &amp; voted.</p>",
    "script": "<script>alert('xss')</script><img src=x onerror=alert(1)>",
    "only punctuation": "?!?!... ,,, ;;; !!!",
    "chinese": "这篇文章写得太好了，我完全同意作者的观点。",
    "russian": "Правительство объявило во вторник о новых мерах поддержки.",
    "german": "Die Regierung hat am Dienstag neue Maßnahmen angekündigt, sagte ein Sprecher.",
    "surrogate escapes": "\\ud83d\\ude00 escaped emoji",
}


@pytest.mark.parametrize("name", sorted(UNUSUAL))
def test_unusual_text_gets_a_label(port, name):
    text = UNUSUAL[name]
    status, answer = call(port, "/v1/classify", {"text": text})
    assert status == 200, answer
    assert answer["label"] in ("comment", "editorial")
    status, answer = call(port, "/v1/segment", {"text": text, "explain": True})
    assert status == 200, answer
    assert len(answer["blocks"]) == 1 and answer["blocks"][0]["label"] in ("comment", "editorial", "other")


@pytest.mark.parametrize("text", ["\u200b\u200c\u200d", "\ufeff\u2060 \u00ad", "\u200e\n\u3164"])
def test_a_text_of_only_invisible_characters_is_empty(port, text):
    for path, body in (("/v1/classify", {"text": text}), ("/v1/classify", {"texts": ["fine", text]}),
                       ("/v1/segment", {"text": text}), ("/v1/segment", {"blocks": [text]})):
        status, answer = call(port, path, body)
        assert status == 400 and answer["error"]["code"] == "empty_text", (path, answer)


def test_unusual_texts_as_a_batch_with_explanations(port):
    texts = list(UNUSUAL.values())
    status, answer = call(port, "/v1/classify", {"texts": texts, "explain": True})
    assert status == 200
    assert len(answer["results"]) == len(texts)
    for result, text in zip(answer["results"], texts):
        for term in result.get("explanation", {}).get("terms", []):
            for start, end in term.get("spans", []):
                assert 0 <= start < end <= len(text)


def test_lone_surrogate_escape_is_answered(port):
    """``"\\ud800"`` is valid JSON but not a Unicode character: a 200 or a 400, never a 5xx."""
    status, answer = call(port, "/v1/classify", b'{"text": "abc \\ud800 def"}')
    assert status in (200, 400), answer


# --- Methods and paths ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment"])
def test_get_on_a_post_endpoint_is_405_json(port, path):
    status, headers, answer = raw(port, "GET", path, content_type=None)
    assert status == 405
    assert json.loads(answer)["error"]["code"] == "method_not_allowed"
    assert "POST" in headers["allow"]


@pytest.mark.parametrize("method, path", [("GET", "/nowhere"), ("POST", "/v1/classifyy"), ("GET", "/v2/classify"),
                                          ("GET", "/v1/classify/extra"), ("GET", "/%ff%fe")])
def test_unknown_path_is_404_json(port, method, path):
    status, headers, answer = raw(port, method, path, b"{}" if method == "POST" else b"")
    assert status == 404
    assert json.loads(answer)["error"]["code"] == "not_found"


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/v1/classify", "/v1/segment", "/v1alpha1/comments:analyze", "/healthz"])
def test_other_methods_are_never_5xx(port, method, path):
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            f"{'Content-Length: 0' + chr(13) + chr(10) if method in ('PUT', 'PATCH') else ''}\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    assert status < 500, data[:300]
    if method == "OPTIONS":
        assert status == 204 and b"\r\nAllow: " in data
    elif method == "HEAD":
        assert status in (200, 405)
    elif path != "/healthz" or method != "HEAD":
        assert status == 405


# --- The Perspective-compatible API: Google's error shape, never a 5xx ----------------------

ANALYZE = "/v1alpha1/comments:analyze"


def google(port, body, content_type="application/json") -> tuple[int, dict]:
    status, headers, answer = raw(port, "POST", ANALYZE, body, content_type)
    assert status < 500, answer
    error = json.loads(answer)["error"]
    assert error["code"] == status and isinstance(error["message"], str) and error["status"]
    return status, error


def test_perspective_invalid_utf8(port):
    status, error = google(port, b'{"comment": {"text": "caf\xe9"}, "requestedAttributes": {"COMMENT": {}}}')
    assert (status, error["status"]) == (400, "INVALID_ARGUMENT")
    assert "UTF-8" in error["message"]


def test_perspective_deep_nesting(port):
    status, error = google(port, b'{"comment": ' + b"[" * 10_000 + b"]" * 10_000 + b"}")
    assert (status, error["status"]) == (400, "INVALID_ARGUMENT")
    assert "nested too deeply" in error["message"]


def test_perspective_huge_number(port):
    status, error = google(port, b'{"comment": {"text": ' + b"1" * 5000 + b'}}')
    assert status == 400
    assert "too many digits" in error["message"]
    status, _ = google(port, b'{"comment": {"text": 1e999999}, "requestedAttributes": {"COMMENT": {}}}')
    assert status == 400


def test_perspective_huge_body(port):
    status, error = google(port, json.dumps({"comment": {"text": "x" * 10_000_000}}).encode())
    assert status == 413
    assert "exceeds the limit" in error["message"]


def test_perspective_chunked_body_past_the_limit(port):
    status, _, answer, sent = chunked(port, ANALYZE)
    assert status == 413 and json.loads(answer)["error"]["code"] == 413
    assert sent < 3_000_000


def test_perspective_unusual_text_is_scored(port):
    body = {"comment": {"text": UNUSUAL["script"] + " " + UNUSUAL["emoji"]}, "requestedAttributes": {"COMMENT": {}}}
    status, headers, answer = raw(port, "POST", ANALYZE, json.dumps(body).encode())
    assert status == 200, answer
    assert 0 <= json.loads(answer)["attributeScores"]["COMMENT"]["summaryScore"]["value"] <= 1


# --- Last: the server logged no traceback through all of the above --------------------------

def test_zz_no_traceback_in_the_server_output(server):
    assert raw(server.port, "GET", "/healthz", content_type=None)[0] == 200
    log = servers.output(server)
    assert "Traceback" not in log, log[-5000:]
    assert server.process.poll() is None


# --- HTML pages: a clear 400 or a best-effort answer, never a 5xx or a hang --------------------

BAD_HTML_ANSWERED = {
    "unclosed tags": "<div><p>The council met on Monday <b>and voted <i>for the plan<p>Reply<li>3 hours ago",
    "script and style only around text": "<script>while(1){}</script><style>p{}</style><p>Visible words here</p>",
    "declared latin-1": '<meta charset="iso-8859-1"><p>Caf\u00e9 owners said the rules were unfair.</p>',
    "declared shift_jis": '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis"><p>\u65e5\u672c</p>',
    "a comment closed late": "<!-- a note <p>hidden</p> --><p>shown</p>",
    "attributes without quotes or ends": '<div class=comment id=c1 data-x="<p>"><p>So true</p><a href=',
    "900 unclosed paragraphs": "<p>word " * 900,
}


@pytest.mark.parametrize("name", sorted(BAD_HTML_ANSWERED))
def test_bad_html_gets_a_best_effort_answer(port, name):
    status, answer = call(port, "/v1/segment", {"html": BAD_HTML_ANSWERED[name]})
    assert status == 200, answer
    assert answer["blocks"]
    for block in answer["blocks"]:
        assert answer["text"][block["start"]:block["end"]] == block["text"]
        assert block["label"] in ("editorial", "comment", "other")
        assert "while(1)" not in block["text"]


@pytest.mark.parametrize("html, code", [
    ("<div>" * 5_000 + "deep", "html_too_deep"),
    ("<section>" * 1_500 + "x" + "</section>" * 1_500, "html_too_deep"),
    ("<script>only a script</script><style>p{}</style>", "empty_text"),
    ("<!-- never closed <p>hidden?</p><p>also hidden</p>", "empty_text"),
    ("<p>word " * 10_000, "too_many_blocks"),
    ("<div>" * 40_000 + "x" + "</div>" * 40_000, "text_too_long"),
])
def test_hostile_html_is_a_clear_400(port, html, code):
    started = time.monotonic()
    status, answer_code, message = error_code(port, "/v1/segment", {"html": html})
    assert (status, answer_code) == (400, code), message
    assert time.monotonic() - started < TIMEOUT


def test_a_megabyte_of_nested_divs_is_refused_quickly(port):
    body = json.dumps({"html": "<div>" * 200_000}).encode()
    status, headers, answer = raw(port, "POST", "/v1/segment", body)
    assert status in (400, 413), answer
    assert json.loads(answer)["error"]["code"] in ("text_too_long", "body_too_large", "html_too_deep")
