"""The service under gunicorn, as production runs it, on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.live
REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(model_dir: Path, port: int, env: dict | None = None) -> subprocess.Popen:
    """gunicorn as production runs it, its output going to a temporary file.

    Not to a pipe: a pipe nobody reads fills up with the server's log lines, and then the
    server blocks on writing them.
    """
    environment = {**os.environ, "COMMENT_CLASSIFIER_MODEL_DIR": str(model_dir), "PORT": str(port),
                   "WORKERS": "2", **(env or {})}
    log = tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [str(GUNICORN), "-c", "service/gunicorn.conf.py", "service.wsgi:app"],
        cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    process.log_path = Path(log.name)
    log.close()
    return process


def output(process: subprocess.Popen) -> str:
    """What the server has printed so far."""
    return process.log_path.read_text(errors="replace")


def request(port, path, body=None, content_type="application/json"):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers={"Content-Type": content_type} if data is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def serve(model_dir, env: dict | None = None):
    """Start gunicorn on a free port and wait until it is ready: (port, process)."""
    port = free_port()
    process = start(model_dir, port, env)
    deadline = time.monotonic() + 30
    while True:
        try:
            if request(port, "/readyz")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"gunicorn did not start:\n{output(process)}")
        time.sleep(0.2)
    return port, process


def stop(process):
    """SIGTERM, wait for the workers to finish, remove the log."""
    process.terminate()
    process.wait(timeout=30)
    process.log_path.unlink(missing_ok=True)


@pytest.fixture()
def live(tiny_model_dir):
    port, process = serve(tiny_model_dir)
    yield port
    stop(process)


@pytest.fixture(scope="module")
def live_shipped():
    port, process = serve(REPO / "model")
    yield port
    stop(process)


def test_live_service_answers_and_errors_as_json(live, tiny_classifier):
    status, body = request(live, "/v1/classify", {"texts": ["lol no way this is real", "The council met on Monday."]})
    assert status == 200
    assert [r["label"] for r in body["results"]] == ["comment", "editorial"]
    assert body["model"]["version"] == tiny_classifier.version
    assert request(live, "/v1/classify", b"{broken")[1]["error"]["code"] == "invalid_json"
    assert request(live, "/v1/classify", b"{}", "text/plain")[0] == 415
    assert request(live, "/nowhere")[0] == 404
    status, body = request(live, "/v1/classify", json.dumps({"text": "x" * 2_000_000}).encode())
    assert (status, body["error"]["code"]) == (413, "body_too_large")


def test_start_up_fails_fast_with_a_message_when_the_model_is_missing(tmp_path):
    process = start(tmp_path, free_port())
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("gunicorn kept running without a model")
    assert process.returncode != 0
    assert "make train" in output(process)


SEED_PAGE = REPO.parent / "shared" / "examples" / "scraped-page-article-and-comment.txt"


@pytest.mark.artifact
def test_seed_page_end_to_end_through_the_live_api(live_shipped):
    if not SEED_PAGE.is_file():
        pytest.skip("the seed page is not beside the repository")
    page = SEED_PAGE.read_text(encoding="utf-8")
    status, body = request(live_shipped, "/v1/segment", {"text": page, "explain": True})
    assert status == 200
    labels = [block["label"] for block in body["blocks"]]
    assert labels == ["editorial"] * 15 + ["comment", "other"]
    assert body["comments_start"] == 15
    for block in body["blocks"]:
        assert page[block["start"]:block["end"]] == block["text"]
        for term in block["explanation"]["terms"]:
            for start, end in term["spans"]:
                assert 0 <= start < end <= len(block["text"])
    comment = body["blocks"][15]
    assert comment["kind"].get("label", "sarcastic") in ("sarcastic", "opinion")
    assert set(comment["kind"]["scores"]) == {"sarcastic", "opinion"}
    assert comment["decision"] in ("comment", "review")


@pytest.mark.artifact
def test_shipped_model_classifies_through_the_live_api(live_shipped):
    lines = SEED_PAGE.read_text(encoding="utf-8").splitlines() if SEED_PAGE.is_file() else []
    if not lines:
        pytest.skip("the seed page is not beside the repository")
    status, body = request(live_shipped, "/v1/classify", {"texts": lines[:15] + [lines[15]]})
    assert status == 200
    labels = [r["label"] for r, line in zip(body["results"], lines) if len(line.split()) >= 8]
    assert labels == ["editorial"] * 13 + ["comment"]
