"""The service under gunicorn, as production runs it, on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess

import pytest

from bench import servers
from tests.conftest import REPO, http_json

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def live_shipped(module_live_server):
    return module_live_server(REPO / "model").port


def test_live_service_answers_and_errors_as_json(live_server, tiny_model_dir, tiny_classifier):
    port = live_server(tiny_model_dir).port
    status, body = http_json(port, "/v1/classify", {"texts": ["lol no way this is real", "The council met on Monday."]})
    assert status == 200
    assert [r["label"] for r in body["results"]] == ["comment", "editorial"]
    assert body["model"]["version"] == tiny_classifier.version
    assert http_json(port, "/v1/classify", b"{broken")[1]["error"]["code"] == "invalid_json"
    assert http_json(port, "/v1/classify", b"{}", "text/plain")[0] == 415
    assert http_json(port, "/nowhere")[0] == 404
    status, body = http_json(port, "/v1/classify", json.dumps({"text": "x" * 2_000_000}).encode())
    assert (status, body["error"]["code"]) == (413, "body_too_large")


def test_start_up_fails_fast_with_a_message_when_the_model_is_missing(live_server, tmp_path):
    server = live_server(tmp_path, wait=False)
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("gunicorn kept running without a model")
    assert server.process.returncode != 0
    assert "make train" in servers.output(server)


@pytest.mark.artifact
def test_seed_page_end_to_end_through_the_live_api(live_shipped, seed_page):
    status, body = http_json(live_shipped, "/v1/segment", {"text": seed_page, "explain": True})
    assert status == 200
    labels = [block["label"] for block in body["blocks"]]
    assert labels == ["editorial"] * 15 + ["comment", "other"]
    assert body["comments_start"] == 15
    for block in body["blocks"]:
        assert seed_page[block["start"]:block["end"]] == block["text"]
        for term in block["explanation"]["terms"]:
            for start, end in term["spans"]:
                assert 0 <= start < end <= len(block["text"])
    comment = body["blocks"][15]
    assert comment["kind"].get("label", "sarcastic") in ("sarcastic", "opinion")
    assert set(comment["kind"]["scores"]) == {"sarcastic", "opinion"}
    assert comment["decision"] in ("comment", "review")


@pytest.mark.artifact
def test_shipped_model_classifies_through_the_live_api(live_shipped, seed_page):
    lines = seed_page.splitlines()
    status, body = http_json(live_shipped, "/v1/classify", {"texts": lines[:15] + [lines[15]]})
    assert status == 200
    labels = [r["label"] for r, line in zip(body["results"], lines) if len(line.split()) >= 8]
    assert labels == ["editorial"] * 13 + ["comment"]
