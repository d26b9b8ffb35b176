"""Moderators' feedback: the stores (SQLite, and PostgreSQL on a real server), the key check and
the two endpoints. The store and endpoint tests run against both backends."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from feedback import SCHEMA_VERSION, FeedbackError, FeedbackStore, open_store
from feedback.__main__ import main as feedback_cli

KEY = "moderators-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.live)])
def location(request, tmp_path):
    """Where a test's feedback lives: a SQLite file, or a fresh database on the session's server."""
    if request.param == "sqlite":
        return str(tmp_path / "feedback.sqlite3")
    return request.getfixturevalue("postgres_url")


def store_setting(location: str) -> dict:
    """The service setting that points at ``location``."""
    return {"DATABASE_URL": location} if location.startswith("postgresql://") else {"FEEDBACK_DB": location}


@pytest.fixture()
def store(location):
    opened = open_store(location)
    yield opened
    opened.close()


@pytest.fixture()
def fb_app(tiny_classifier, location):
    from service import create_app

    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS": [KEY, "second-key"],
                      **store_setting(location)})
    yield app
    if "feedback" in app.extensions:
        app.extensions["feedback"].close()


@pytest.fixture()
def fb(fb_app):
    return fb_app.test_client()


@pytest.fixture()
def sqlite_store(tmp_path):
    return FeedbackStore(tmp_path / "feedback.sqlite3")


def test_store_uses_wal_and_a_versioned_schema(sqlite_store):
    store = sqlite_store
    connection = sqlite3.connect(store.path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == store.schema_version()


def test_store_inserts_then_updates_the_same_comment_from_the_same_moderator(store):
    first, created = store.put({"text": "First verdict text", "label": "comment", "comment_id": "c-1", "moderator": "ana"})
    assert created
    again, created = store.put({"text": "Edited text", "label": "editorial", "comment_id": "c-1", "moderator": "ana"})
    assert (again, created) == (first, False)
    other, created = store.put({"text": "Edited text", "label": "comment", "comment_id": "c-1", "moderator": "bo"})
    assert created and other != first
    no_id_1, _ = store.put({"text": "No comment id", "label": "comment"})
    no_id_2, created = store.put({"text": "No comment id", "label": "comment"})
    assert created and no_id_1 != no_id_2  # without a comment id every verdict is its own row
    rows = list(store.rows())
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    assert len(rows) == store.count() == 4
    updated = store.get(first)
    assert (updated["text"], updated["label"]) == ("Edited text", "editorial")
    assert updated["updated"] >= updated["created"]


def test_store_pages_with_keyset_and_reads_everything_in_batches(store):
    ids = [store.put({"text": f"verdict number {i}", "label": "comment"})[0] for i in range(25)]
    page = store.page(after=0, limit=10)
    assert [row["id"] for row in page] == ids[:10]
    assert [row["id"] for row in store.page(after=ids[9], limit=10)] == ids[10:20]
    assert [row["id"] for row in store.rows(batch=7)] == ids


def test_store_migrates_an_old_file_and_refuses_a_newer_one(tmp_path):
    path = tmp_path / "old.sqlite3"
    sqlite3.connect(path).close()  # an empty file: schema version 0
    store = FeedbackStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(FeedbackError, match="newer than this code"):
        FeedbackStore(path)


def test_a_version_1_file_keeps_its_rows_and_then_takes_page_chrome(tmp_path):
    from feedback.store import MIGRATIONS

    path = tmp_path / "v1.sqlite3"
    connection = sqlite3.connect(path)
    connection.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    connection.execute("INSERT INTO feedback (text, label, kind, comment_id, moderator, created, updated) "
                       "VALUES ('an old verdict', 'comment', 'opinion', 'c-9', 'ana', 't0', 't1')")
    connection.commit()
    with pytest.raises(sqlite3.IntegrityError):  # version 1 cannot hold page chrome
        connection.execute("INSERT INTO feedback (text, label, created, updated) VALUES ('Menu', 'other', 't', 't')")
    connection.close()
    store = FeedbackStore(path)
    assert store.schema_version() == SCHEMA_VERSION == 2
    old = store.get(1)
    assert (old["text"], old["label"], old["kind"], old["comment_id"], old["moderator"], old["updated"]) == \
        ("an old verdict", "comment", "opinion", "c-9", "ana", "t1")
    chrome, _ = store.put({"text": "Reply 1 Comment(s)", "label": "other"})
    assert store.get(chrome)["label"] == "other"
    # the unique index on (comment, moderator) survived the copy
    assert store.put({"text": "edited", "label": "editorial", "comment_id": "c-9", "moderator": "ana"}) == (1, False)


def test_store_reports_an_unusable_path(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(FeedbackError, match="cannot open the feedback store"):
        FeedbackStore(tmp_path / "a-file" / "feedback.sqlite3")


def test_store_keeps_every_row_from_many_threads(store):
    def write(thread):
        for i in range(20):
            store.put({"text": f"thread {thread} row {i}", "label": "comment", "comment_id": f"{thread}-{i}"})
    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = [row["text"] for row in store.rows()]
    assert len(texts) == len(set(texts)) == 160


def test_post_feedback_needs_a_key(fb):
    body = {"text": "You call this journalism?", "label": "comment"}
    response = fb.post("/v1/feedback", json=body)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "missing_api_key"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = fb.post("/v1/feedback", json=body, headers={"Authorization": "Bearer wrong"})
    assert (response.status_code, response.json["error"]["code"]) == (403, "invalid_api_key")
    response = fb.post("/v1/feedback", json=body, headers={"Authorization": f"Basic {KEY}"})
    assert response.status_code == 401
    for key in (KEY, "second-key"):
        response = fb.post("/v1/feedback", json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 201


def test_feedback_without_configured_keys_says_how_to_configure_them(tiny_classifier, tmp_path):
    from service import create_app

    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier,
                         "FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}).test_client()
    for response in (client.post("/v1/feedback", json={"text": "x y z", "label": "comment"}, headers=AUTH),
                     client.get("/v1/feedback", headers=AUTH)):
        assert response.status_code == 503
        assert response.json["error"]["code"] == "keys_not_configured"
        assert "COMMENT_CLASSIFIER_API_KEYS" in response.json["error"]["message"]
    assert not (tmp_path / "fb.sqlite3").exists()


def test_keys_come_from_a_file_that_is_read_again_when_it_changes(tiny_classifier, tmp_path):
    from service import create_app

    keys = tmp_path / "keys.txt"
    keys.write_text("# moderators\nkey-one\n\n")
    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS_FILE": str(keys),
                         "FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}).test_client()
    assert client.get("/v1/feedback", headers={"Authorization": "Bearer key-one"}).status_code == 200
    assert client.get("/v1/feedback", headers={"Authorization": "Bearer key-two"}).status_code == 403
    keys.write_text("key-two\n")
    assert client.get("/v1/feedback", headers={"Authorization": "Bearer key-two"}).status_code == 200
    assert client.get("/v1/feedback", headers={"Authorization": "Bearer key-one"}).status_code == 403
    keys.unlink()
    assert client.get("/v1/feedback", headers={"Authorization": "Bearer key-two"}).status_code == 503


def test_keys_from_one_environment_string(tiny_classifier, tmp_path, monkeypatch):
    from service import create_app

    monkeypatch.setenv("COMMENT_CLASSIFIER_API_KEYS", "alpha, beta")
    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier,
                         "FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}).test_client()
    for key in ("alpha", "beta"):
        assert client.get("/v1/feedback", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client.get("/v1/feedback", headers={"Authorization": "Bearer alpha,"}).status_code == 403


def test_post_stores_everything_and_updates_by_comment_and_moderator(fb):
    body = {"text": "Oh great, another tax. Just what we needed.", "label": "comment", "kind": "sarcastic",
            "comment_id": "talk-123", "moderator": "ana", "note": "obvious sarcasm",
            "model_version": "v1", "scores": {"editorial": 0.62, "comment": 0.38}}
    response = fb.post("/v1/feedback", json=body, headers=AUTH)
    assert response.status_code == 201
    first = response.json
    assert first["created"] is True and isinstance(first["id"], int)
    response = fb.post("/v1/feedback", json={**body, "label": "comment", "kind": "opinion"}, headers=AUTH)
    assert (response.status_code, response.json) == (200, {"id": first["id"], "created": False})
    response = fb.post("/v1/feedback", json={**body, "moderator": "bo"}, headers=AUTH)
    assert response.status_code == 201 and response.json["id"] != first["id"]
    items = fb.get("/v1/feedback", headers=AUTH).json["items"]
    assert len(items) == 2
    stored = items[0]
    for key in ("text", "label", "comment_id", "moderator", "note", "model_version", "scores"):
        assert stored[key] == body[key]
    assert stored["kind"] == "opinion"


def test_post_takes_page_chrome_as_other(fb):
    body = {"text": "Reply1 Comment(s)", "label": "other", "scores": {"editorial": 0.4, "comment": 0.6}}
    response = fb.post("/v1/feedback", json=body, headers=AUTH)
    assert response.status_code == 201
    stored = fb.get("/v1/feedback", headers=AUTH).json["items"][-1]
    assert (stored["text"], stored["label"], stored["kind"]) == ("Reply1 Comment(s)", "other", None)


@pytest.mark.parametrize("body, code, words", [
    ({"label": "comment"}, "invalid_request", "send 'text'"),
    ({"text": "Some text here"}, "invalid_request", "'label'"),
    ({"text": "Some text here", "label": "spam"}, "invalid_label", "'other' for page chrome"),
    ({"text": "Some text here", "label": "editorial", "kind": "sarcastic"}, "invalid_label", "comments only"),
    ({"text": "Share this story", "label": "other", "kind": "opinion"}, "invalid_label", "comments only"),
    ({"text": "Some text here", "label": "comment", "kind": "funny"}, "invalid_label", "'sarcastic' or 'opinion'"),
    ({"text": "   ", "label": "comment"}, "empty_text", "empty"),
    ({"text": 5, "label": "comment"}, "invalid_request", "must be a string (got int)"),
    ({"text": "x" * 20_001, "label": "comment"}, "text_too_long", "limit is 20000"),
    ({"text": "Some text", "label": "comment", "lable": "x"}, "invalid_request", "unknown field(s) 'lable'"),
    ({"text": "Some text", "label": "comment", "comment_id": 7}, "invalid_request", "'comment_id' must be a string"),
    ({"text": "Some text", "label": "comment", "moderator": "m" * 201}, "invalid_request", "1 to 200"),
    ({"text": "Some text", "label": "comment", "note": ""}, "invalid_request", "1 to 2000"),
    ({"text": "Some text", "label": "comment", "scores": {"editorial": 1.5}}, "invalid_request", "from 0 to 1"),
    ({"text": "Some text", "label": "comment", "scores": {"editorial": True}}, "invalid_request", "from 0 to 1"),
    ({"text": "Some text", "label": "comment", "scores": {"toxic": 0.5}}, "invalid_request", "'editorial' and/or"),
    ({"text": "Some text", "label": "comment", "scores": [0.5]}, "invalid_request", "'scores' must be an object"),
    ({"text": "Some text", "label": "comment", "scores": {"comment": 10**400}}, "invalid_request", "from 0 to 1"),
    ({"text": "hello \ud800 world", "label": "comment"}, "invalid_request", "unpaired surrogate"),
    ({"text": "Some text", "label": "comment", "moderator": "ana\udfff"}, "invalid_request", "unpaired surrogate"),
])
def test_post_refuses_bad_bodies_clearly(fb, body, code, words):
    response = fb.post("/v1/feedback", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json["error"]["code"] == code
    assert words in response.json["error"]["message"]
    assert fb.get("/v1/feedback", headers=AUTH).json["items"] == []


def test_post_refuses_non_json_and_broken_json(fb):
    response = fb.post("/v1/feedback", data="text=hi", headers={**AUTH, "Content-Type": "text/plain"})
    assert response.status_code == 415
    response = fb.post("/v1/feedback", data=b'{"text": "a", "text": "b", "label": "comment"}',
                       headers={**AUTH, "Content-Type": "application/json"})
    assert (response.status_code, response.json["error"]["code"]) == (400, "invalid_json")


def test_get_pages_through_feedback(fb):
    ids = [fb.post("/v1/feedback", json={"text": f"comment number {i}", "label": "comment"}, headers=AUTH).json["id"]
           for i in range(7)]
    seen, after = [], 0
    while after is not None:
        page = fb.get(f"/v1/feedback?after={after}&limit=3", headers=AUTH).json
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        after = page["next_after"]
    assert seen == ids
    assert fb.get("/v1/feedback?limit=7", headers=AUTH).json["next_after"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=ten", "after=-1", "after=1e3", "limit=%C2%B2",
                                   "page=2"])
def test_get_refuses_bad_parameters(fb, query):
    response = fb.get(f"/v1/feedback?{query}", headers=AUTH)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_request"


def test_an_unusable_feedback_file_is_a_503_and_classification_goes_on(tiny_classifier, tmp_path, caplog):
    from service import create_app

    (tmp_path / "a-file").write_text("x")
    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS": [KEY],
                         "FEEDBACK_DB": str(tmp_path / "a-file" / "fb.sqlite3")}).test_client()
    response = client.post("/v1/feedback", json={"text": "Some text", "label": "comment"}, headers=AUTH)
    assert (response.status_code, response.json["error"]["code"]) == (503, "feedback_unavailable")
    assert "a-file" not in response.json["error"]["message"]  # paths stay in the log
    assert "cannot open the feedback store" in caplog.text
    assert client.post("/v1/classify", json={"text": "The council met on Monday."}).status_code == 200


def test_require_api_key_protects_other_endpoints_when_asked(tiny_classifier, tmp_path):
    from service import create_app

    def client(setting):
        return create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS": [KEY],
                           "REQUIRE_API_KEY": setting, "FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}).test_client()

    body = {"text": "The council met on Monday."}
    open_client = client(None)
    assert open_client.post("/v1/classify", json=body).status_code == 200
    some = client("/v1/classify")
    assert some.post("/v1/classify", json=body).status_code == 401
    assert some.post("/v1/classify", json=body, headers={"Authorization": "Bearer nope"}).status_code == 403
    assert some.post("/v1/classify", json=body, headers=AUTH).status_code == 200
    assert some.post("/v1/segment", json=body).status_code == 200
    every = client("*")
    assert every.get("/v1/model").status_code == 401
    assert every.get("/v1/model", headers=AUTH).status_code == 200
    assert every.post("/v1/segment", json=body).status_code == 401
    for path in ("/healthz", "/readyz", "/", "/assets/app.js", "/docs", "/openapi.json"):  # probes, page, docs
        assert every.get(path).status_code == 200
    # Perspective keeps its own ?key= protocol with the same keys
    analyze = "/v1alpha1/comments:analyze"
    perspective = {"comment": {"text": "hello there"}, "requestedAttributes": {"COMMENT": {}}}
    assert every.post(f"{analyze}?key={KEY}", json=perspective).status_code == 200
    assert every.post(analyze, json=perspective).status_code == 403


def test_feedback_export_writes_jsonl(location, fb, tmp_path, capsys):
    fb.post("/v1/feedback", json={"text": "Nice one «quoted» ☺", "label": "comment", "comment_id": "a"}, headers=AUTH)
    fb.post("/v1/feedback", json={"text": "Officials said so.", "label": "editorial"}, headers=AUTH)
    out = tmp_path / "out" / "feedback.jsonl"
    assert feedback_cli(["export", "--db", location, "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["text"], r["label"]) for r in rows] == [("Nice one «quoted» ☺", "comment"), ("Officials said so.", "editorial")]
    assert not list(out.parent.glob(".*.tmp"))
    assert feedback_cli(["count", "--db", location]) == 0
    assert capsys.readouterr().out.strip() == "2"
    assert feedback_cli(["export", "--db", str(tmp_path / "missing.sqlite3")]) == 2
    assert "no feedback store" in capsys.readouterr().err


def test_feedback_backup_is_a_consistent_sqlite_copy(sqlite_store, tmp_path, capsys):
    store = sqlite_store
    for i in range(5):
        store.put({"text": f"verdict {i}", "label": "comment"})
    copy = tmp_path / "backups" / "copy.sqlite3"
    assert feedback_cli(["backup", "--db", str(store.path), "--out", str(copy)]) == 0
    assert [row["text"] for row in FeedbackStore(copy).rows()] == [f"verdict {i}" for i in range(5)]
    assert "backed up 5 verdicts" in capsys.readouterr().err


def test_moderators_keys_keep_other_keys_out_of_feedback(tiny_classifier, tmp_path):
    from service import create_app

    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS": "integration-key",
                         "FEEDBACK_API_KEYS": ["moderator-key"], "REQUIRE_API_KEY": "/v1/classify",
                         "FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}).test_client()
    body = {"text": "You call this journalism?", "label": "comment"}
    integration = {"Authorization": "Bearer integration-key"}
    moderator = {"Authorization": "Bearer moderator-key"}
    assert client.post("/v1/feedback", json=body, headers=integration).status_code == 403
    assert client.get("/v1/feedback", headers=integration).status_code == 403
    assert client.post("/v1/feedback", json=body, headers=moderator).status_code == 201
    assert client.post("/v1/classify", json={"text": "hi there you"}, headers=integration).status_code == 200
    assert client.post("/v1/classify", json={"text": "hi there you"}, headers=moderator).status_code == 403


@pytest.mark.parametrize("setting, message", [
    ({"REQUIRE_API_KEY": True}, "REQUIRE_API_KEY must be"),
    ({"REQUIRE_API_KEY": "/v1/classify/"}, "'/v1/classify/' is not an endpoint"),
    ({"REQUIRE_API_KEY": "/v2/*"}, "no endpoint starts with"),
    ({"API_KEYS": True}, "API_KEYS must be"),
    ({"API_KEYS": {"a": 1}}, "API_KEYS must be"),
])
def test_key_settings_that_cannot_be_meant_stop_start_up(tiny_classifier, setting, message):
    from service import create_app

    with pytest.raises(ValueError, match=message):
        create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, **setting})


def test_numeric_keys_from_the_environment_are_strings(tiny_classifier, tmp_path, monkeypatch):
    from service import create_app

    monkeypatch.setenv("COMMENT_CLASSIFIER_API_KEYS", "12345")  # parsed as JSON: the number 12345
    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier,
                         "FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}).test_client()
    assert client.get("/v1/feedback", headers={"Authorization": "Bearer 12345"}).status_code == 200


def test_a_key_file_with_a_byte_order_mark(tiny_classifier, tmp_path):
    from service import create_app

    keys = tmp_path / "keys.txt"
    keys.write_bytes("\ufefffirst-key\r\nsecond-key\r\n".encode("utf-8"))
    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS_FILE": str(keys),
                         "FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}).test_client()
    for key in ("first-key", "second-key"):
        assert client.get("/v1/feedback", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_perspective_under_require_api_key(tiny_classifier, tmp_path):
    from service import create_app

    def client(**config):
        return create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "REQUIRE_API_KEY": "*",
                           "FEEDBACK_DB": str(tmp_path / "fb.sqlite3"), **config}).test_client()

    keyed = client(API_KEYS=[KEY])
    discovery = "/discovery/v1/apis/commentanalyzer/v1alpha1/rest"
    assert keyed.get(f"{discovery}?key={KEY}").status_code == 200
    assert keyed.get(f"/$discovery/rest?version=v1alpha1&key={KEY}").status_code == 200
    # "keys everywhere" with no keys configured: Perspective is closed too, not left open
    unkeyed = client()
    analyze = {"comment": {"text": "hello there"}, "requestedAttributes": {"COMMENT": {}}}
    response = unkeyed.post("/v1alpha1/comments:analyze", json=analyze)
    assert response.status_code == 403 and "none are configured" in response.json["error"]["message"]
    assert unkeyed.post("/v1/classify", json={"text": "hi there"}).status_code == 503


# --- PostgreSQL only ----------------------------------------------------------------------------


@pytest.mark.live
def test_postgres_store_has_a_versioned_schema_and_refuses_a_newer_one(postgres_url):
    import psycopg

    store = open_store(postgres_url)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.migrate() == SCHEMA_VERSION  # already up to date: nothing to run
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("UPDATE feedback_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(FeedbackError, match="newer than this code"):
        open_store(postgres_url)


@pytest.mark.live
def test_postgres_ids_have_no_gaps_like_sqlite(postgres_url, tmp_path):
    verdicts = [{"text": "first", "label": "comment", "comment_id": "c", "moderator": "ana"},
                {"text": "again", "label": "editorial", "comment_id": "c", "moderator": "ana"},
                {"text": "other", "label": "comment"}]
    answers = []
    for location in (postgres_url, str(tmp_path / "same.sqlite3")):
        store = open_store(location)
        answers.append([store.put(verdict) for verdict in verdicts])
        store.close()
    assert answers[0] == answers[1] == [(1, True), (1, False), (2, True)]


def test_postgres_unreachable_is_a_clear_error_without_the_password(tiny_classifier, caplog):
    from bench.servers import free_port

    url = f"postgresql://moderator:s3cret-pw@127.0.0.1:{free_port()}/feedback"
    with pytest.raises(FeedbackError, match="cannot open the feedback store") as raised:
        open_store(url, busy_timeout=2)
    assert "s3cret-pw" not in str(raised.value)
    from service import create_app

    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS": [KEY], "DATABASE_URL": url,
                         "FEEDBACK_BUSY_TIMEOUT": 2}).test_client()
    response = client.post("/v1/feedback", json={"text": "Some text", "label": "comment"}, headers=AUTH)
    assert (response.status_code, response.json["error"]["code"]) == (503, "feedback_unavailable")
    assert "cannot open the feedback store" in caplog.text and "s3cret-pw" not in caplog.text
    assert client.post("/v1/classify", json={"text": "The council met on Monday."}).status_code == 200


def test_a_database_url_that_is_not_postgresql_is_a_503_that_says_so(tiny_classifier, caplog):
    from service import create_app

    client = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS": [KEY],
                         "DATABASE_URL": "mysql://db/feedback"}).test_client()
    assert client.get("/v1/feedback", headers=AUTH).status_code == 503
    assert "must be a postgresql:// URL" in caplog.text


@pytest.mark.live
def test_postgres_backup_is_a_pg_dump_that_restores(postgres_server, postgres_url, tmp_path, capsys):
    import shutil
    import subprocess

    store = open_store(postgres_url)
    for i in range(5):
        store.put({"text": f"verdict {i}", "label": "comment", "comment_id": f"c{i}", "scores": {"comment": 0.25}})
    store.close()
    copy = tmp_path / "backups" / "feedback.dump"
    assert feedback_cli(["backup", "--db", postgres_url, "--out", str(copy)]) == 0
    assert "backed up 5 verdicts" in capsys.readouterr().err
    assert copy.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    restored = postgres_server.create_database("restored_from_backup")
    subprocess.run([shutil.which("pg_restore"), "--no-owner", "--dbname", restored, str(copy)], check=True)
    again = open_store(restored)
    assert [(row["text"], row["scores"]) for row in again.rows()] == [(f"verdict {i}", {"comment": 0.25}) for i in range(5)]
    assert again.schema_version() == SCHEMA_VERSION
    again.close()


@pytest.mark.live
def test_retraining_reads_every_replicas_feedback_from_postgresql(postgres_url):
    from training.corrections import read_feedback
    from training.train import build_parser

    for replica, port in (("replica-1", 8101), ("replica-2", 8102)):  # two stores: one per replica's pool
        store = open_store(postgres_url)
        store.put({"text": f"verdict through {replica} on {port}", "label": "comment", "comment_id": replica})
        store.close()
    assert build_parser().parse_args(["--feedback", postgres_url]).feedback == postgres_url  # not a mangled path
    rows = read_feedback(postgres_url)
    assert [row["comment_id"] for row in rows] == ["replica-1", "replica-2"]


@pytest.mark.live
def test_copy_moves_sqlite_feedback_into_postgresql_with_ids_and_times(postgres_url, sqlite_store, capsys):
    ids = [sqlite_store.put({"text": f"verdict {i}", "label": "comment", "comment_id": f"c{i % 3}",
                             "moderator": "ana", "scores": {"comment": 0.5}})[0] for i in range(5)]
    sqlite_store.put({"text": "no comment id", "label": "editorial", "kind": None, "note": "n"})
    before = list(sqlite_store.rows())
    assert feedback_cli(["copy", "--db", str(sqlite_store.path), "--to", postgres_url]) == 0
    assert "copied 4 verdicts" in capsys.readouterr().err and len(set(ids)) == 3
    target = open_store(postgres_url)
    assert list(target.rows()) == before
    # new verdicts continue after the copied ids; the upsert finds the copied rows
    assert target.put({"text": "after the copy", "label": "comment"}) == (before[-1]["id"] + 1, True)
    assert target.put({"text": "update", "label": "comment", "comment_id": "c0", "moderator": "ana"}) == (before[0]["id"], False)
    target.close()
    assert feedback_cli(["copy", "--db", str(sqlite_store.path), "--to", postgres_url]) == 2
    assert "already holds feedback" in capsys.readouterr().err


def test_the_feedback_package_does_not_load_the_model_stack():
    """feedback takes its label names from model.labels; importing it (python -m feedback export,
    backup) must not load scikit-learn, SciPy and the classifier with them."""
    import subprocess
    import sys

    code = ("import sys, feedback, feedback.store; "
            "print(sorted(m for m in ('sklearn', 'scipy', 'model.classifier', 'joblib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.strip() == "[]", done.stdout
    # The package's names still come from it, loaded when first used.
    code = "from model import Classifier, ModelBundle, ModelNotFound, LABELS; import model; print(model.Classifier is Classifier)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.strip() == "True"
