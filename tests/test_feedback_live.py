"""Feedback against live gunicorn: many clients writing at once through several workers."""

from __future__ import annotations

import sqlite3
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench import servers
from tests.conftest import http_json, stored_feedback

pytestmark = pytest.mark.live
KEY = "live-feedback-key"
CLIENTS, POSTS, DISTINCT = 16, 25, 20


def post(port, body, key=KEY):
    return http_json(port, "/v1/feedback", body, headers={"Authorization": f"Bearer {key}"} if key else {})


def client_run(port, client):
    """POSTS verdicts: DISTINCT new comments, then updates of the first few; plus one shared comment."""
    answers = []
    for i in range(POSTS):
        body = {"text": f"client {client} post {i}: what a ridiculous idea", "label": "comment",
                "comment_id": f"c{client}-{i % DISTINCT}", "moderator": f"mod-{client}"}
        answers.append((body, *post(port, body)))
    shared = {"text": f"shared comment judged by client {client}", "label": "editorial",
              "comment_id": "shared", "moderator": "desk"}
    answers.append((shared, *post(port, shared)))
    return answers


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


def test_concurrent_feedback_is_all_stored_once_and_survives_a_restart(live_server, tiny_model_dir, tmp_path, backend,
                                                                       request):
    db = tmp_path / "feedback.sqlite3"
    env = {"COMMENT_CLASSIFIER_API_KEYS": KEY, "WORKERS": "3"}
    if backend == "sqlite":
        env["COMMENT_CLASSIFIER_FEEDBACK_DB"] = str(db)
    else:
        url = request.getfixturevalue("postgres_url")
        env["COMMENT_CLASSIFIER_DATABASE_URL"] = url
    server = live_server(tiny_model_dir, env)
    port = server.port
    assert post(port, {"text": "no key here", "label": "comment"}, key=None)[0] == 401
    with ThreadPoolExecutor(CLIENTS) as pool:
        runs = list(pool.map(lambda c: client_run(port, c), range(CLIENTS)))
    answers = [answer for run in runs for answer in run]
    assert all(status in (200, 201) for _, status, _ in answers), [a for a in answers if a[1] not in (200, 201)]
    items = stored_feedback(port, KEY, limit=97)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        scrape = response.read().decode()
    servers.stop(server)

    # /metrics sums every worker's counts: one 'created' per new row, one 'updated' per update
    stored = {action: float(line.rsplit(" ", 1)[1]) for line in scrape.splitlines()
              for action in ("created", "updated")
              if line.startswith(f'comment_classifier_feedback_stored_total{{action="{action}"}}')}
    updates = CLIENTS * (POSTS - DISTINCT) + CLIENTS - 1
    assert stored == {"created": CLIENTS * DISTINCT + 1, "updated": updates}

    shared_answers = [(status, body["id"]) for sent, status, body in answers if sent["comment_id"] == "shared"]
    assert sorted(status for status, _ in shared_answers) == [200] * (CLIENTS - 1) + [201]
    assert len({row_id for _, row_id in shared_answers}) == 1
    created = [body["id"] for _, status, body in answers if status == 201]
    assert len(created) == len(set(created)) == CLIENTS * DISTINCT + 1
    # every comment exactly once, holding the last verdict its moderator sent
    by_key = {(item["comment_id"], item["moderator"]): item for item in items}
    assert len(items) == len(by_key) == CLIENTS * DISTINCT + 1
    for client in range(CLIENTS):
        for i in range(DISTINCT):
            last = max(j for j in range(POSTS) if j % DISTINCT == i)
            assert by_key[(f"c{client}-{i}", f"mod-{client}")]["text"] == f"client {client} post {last}: what a ridiculous idea"
    assert sorted(item["id"] for item in items) == sorted(created)

    # The file is a real SQLite database in WAL mode (or the rows are in PostgreSQL), and a
    # restarted server sees every row.
    if backend == "sqlite":
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert connection.execute("SELECT count(*) FROM feedback").fetchone()[0] == len(items)
    else:
        import psycopg

        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT count(*) FROM feedback").fetchone()[0] == len(items)
        assert not db.exists()
    server = live_server(tiny_model_dir, env)
    port = server.port
    status, body = post(port, {"text": "after the restart", "label": "comment", "comment_id": "c0-0",
                               "moderator": "mod-0"})
    assert status == 200 and body["id"] == by_key[("c0-0", "mod-0")]["id"]
    status, body = post(port, {"text": "a new one after the restart", "label": "comment"})
    assert status == 201 and body["id"] > max(created)
    again = stored_feedback(port, KEY, limit=97)
    log = servers.output(server)
    servers.stop(server)
    assert KEY not in log  # keys are never logged
    assert len(again) == len(items) + 1
    assert {item["id"] for item in again} >= {item["id"] for item in items}


def test_require_api_key_guards_other_endpoints_on_the_live_server(live_server, tiny_model_dir, tmp_path):
    env = {"COMMENT_CLASSIFIER_API_KEYS_FILE": str(tmp_path / "keys.txt"),
           "COMMENT_CLASSIFIER_REQUIRE_API_KEY": "/v1/classify,/v1/segment",
           "COMMENT_CLASSIFIER_FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}
    (tmp_path / "keys.txt").write_text("# desk\nfile-key-1\n")

    def call(path, key=None):
        status, answer = http_json(port, path, {"text": "The council met on Monday."},
                                   headers={"Authorization": f"Bearer {key}"} if key else {})
        if status >= 400:
            assert answer["error"]["code"] in ("missing_api_key", "invalid_api_key")
        return status

    server = live_server(tiny_model_dir, env)
    port = server.port
    assert [call("/v1/classify"), call("/v1/classify", "nope"), call("/v1/classify", "file-key-1")] == [401, 403, 200]
    assert [call("/v1/segment"), call("/v1/segment", "file-key-1")] == [401, 200]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=30) as response:
        assert response.status == 200
    (tmp_path / "keys.txt").write_text("file-key-2\n")  # rotated without a restart
    assert [call("/v1/classify", "file-key-1"), call("/v1/classify", "file-key-2")] == [403, 200]
    log = servers.output(server)
    assert "file-key-1" not in log and "file-key-2" not in log
