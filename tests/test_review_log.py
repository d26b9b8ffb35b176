"""The review log: off by default; when on, the last N texts sent to review, read and resolved with a key."""

from __future__ import annotations

import pytest

from service import create_app
from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES

KEY = "moderators-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
ALL_REVIEW = [0.0, 1.0]  # every text falls in this band: each one is sent to review


def make(tiny_classifier, tmp_path, **config):
    return create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "API_KEYS": [KEY],
                       "REVIEW_LOG_DB": str(tmp_path / "review.sqlite3"), **config}).test_client()


def test_off_by_default_nothing_is_stored_and_the_endpoint_says_how_to_turn_it_on(tiny_classifier, tmp_path):
    client = make(tiny_classifier, tmp_path)
    assert client.post("/v1/classify", json={"text": COMMENT_EXAMPLES[0], "review_band": ALL_REVIEW}).status_code == 200
    assert not (tmp_path / "review.sqlite3").exists()
    response = client.get("/v1/review-log", headers=AUTH)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "review_log_off"
    assert "REVIEW_LOG_SIZE" in response.json["error"]["message"]


def test_needs_a_moderators_key(tiny_classifier, tmp_path):
    client = make(tiny_classifier, tmp_path, REVIEW_LOG_SIZE=10)
    assert client.get("/v1/review-log").status_code == 401
    assert client.get("/v1/review-log", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert client.delete("/v1/review-log/1").status_code == 401
    keyless = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "REVIEW_LOG_SIZE": 10,
                          "REVIEW_LOG_DB": str(tmp_path / "r2.sqlite3")}).test_client()
    assert keyless.get("/v1/review-log").json["error"]["code"] == "keys_not_configured"


def test_keeps_only_review_decisions_with_their_neighbours_and_only_the_last_n(tiny_classifier, tmp_path):
    client = make(tiny_classifier, tmp_path, REVIEW_LOG_SIZE=3)
    page = "\n".join([EDITORIAL_EXAMPLES[0], COMMENT_EXAMPLES[0], COMMENT_EXAMPLES[1]])
    # a band that decides every block whose page gives its label at least half: nothing goes to
    # review, nothing is kept (a page with an article and comments under a header)
    article_and_comments = "\n".join(EDITORIAL_EXAMPLES[:3] + ["12 Comments"] + COMMENT_EXAMPLES[:2])
    blocks = client.post("/v1/segment", json={"text": article_and_comments, "review_band": [0.5, 0.5]}).json["blocks"]
    assert {"editorial", "comment"} <= {b["label"] for b in blocks}
    assert client.get("/v1/review-log", headers=AUTH).json == {"items": [], "next_after": None}
    segmented = client.post("/v1/segment", json={"text": page, "review_band": ALL_REVIEW}).json["blocks"]
    items = client.get("/v1/review-log", headers=AUTH).json["items"]
    reviewed = [block for block in segmented if block["decision"] == "review"]
    assert [item["text"] for item in items] == [block["text"] for block in reviewed]
    middle = next(item for item in items if item["index"] == 1)
    assert middle["context"] == {"before": EDITORIAL_EXAMPLES[0], "after": COMMENT_EXAMPLES[1]}
    assert middle["scores"]["editorial"] == pytest.approx(segmented[1]["scores"]["editorial"])
    assert middle["page_scores"] == pytest.approx(segmented[1]["page_scores"])
    assert (middle["endpoint"], middle["decision"], middle["model"]) == ("segment", "review", {"version": "tiny-1"})
    # five more from /v1/classify: only the last three of everything are kept
    client.post("/v1/classify", json={"texts": COMMENT_EXAMPLES[2:7], "review_band": ALL_REVIEW})
    items = client.get("/v1/review-log", headers=AUTH).json["items"]
    assert [item["text"] for item in items] == COMMENT_EXAMPLES[4:7]
    assert all(item["context"] == {"before": None, "after": None} and item["index"] is None for item in items)
    assert all(item["page_scores"] is None for item in items)
    # keyset paging
    first = client.get("/v1/review-log?limit=2", headers=AUTH).json
    assert len(first["items"]) == 2 and first["next_after"] == first["items"][1]["id"]
    rest = client.get(f"/v1/review-log?after={first['next_after']}", headers=AUTH).json
    assert [item["text"] for item in rest["items"]] == COMMENT_EXAMPLES[6:7]


def test_a_resolved_entry_is_removed_once(tiny_classifier, tmp_path):
    client = make(tiny_classifier, tmp_path, REVIEW_LOG_SIZE=10)
    client.post("/v1/classify", json={"texts": COMMENT_EXAMPLES[:2], "review_band": ALL_REVIEW})
    first, second = client.get("/v1/review-log", headers=AUTH).json["items"]
    assert client.delete(f"/v1/review-log/{first['id']}", headers=AUTH).status_code == 204
    again = client.delete(f"/v1/review-log/{first['id']}", headers=AUTH)
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"
    assert [item["id"] for item in client.get("/v1/review-log", headers=AUTH).json["items"]] == [second["id"]]


@pytest.mark.parametrize("query", ["?limit=0", "?limit=1001", "?after=-1", "?after=x", "?page=2", "?limit=1&limit=2"])
def test_bad_parameters_are_named(tiny_classifier, tmp_path, query):
    client = make(tiny_classifier, tmp_path, REVIEW_LOG_SIZE=10)
    response = client.get(f"/v1/review-log{query}", headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("size", [-1, "ten", True, 2_000_000])
def test_a_bad_size_fails_at_start_up(tiny_classifier, size):
    with pytest.raises(ValueError, match="REVIEW_LOG_SIZE"):
        create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "REVIEW_LOG_SIZE": size})


def test_an_unwritable_log_never_fails_classification(tiny_classifier, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    client = make(tiny_classifier, tmp_path, REVIEW_LOG_SIZE=10, REVIEW_LOG_DB=str(blocker / "review.sqlite3"))
    assert client.post("/v1/classify", json={"text": COMMENT_EXAMPLES[0], "review_band": ALL_REVIEW}).status_code == 200
    response = client.get("/v1/review-log", headers=AUTH)
    assert response.status_code == 503 and response.json["error"]["code"] == "review_log_unavailable"


def test_a_log_file_from_before_page_scores_gains_them_and_keeps_its_rows(tiny_classifier, tmp_path):
    import sqlite3

    path = tmp_path / "review.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE review_log (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, endpoint TEXT "
                "NOT NULL, model_version TEXT, text TEXT NOT NULL, label TEXT NOT NULL, p_editorial REAL NOT NULL, "
                "kind TEXT, block INTEGER, before TEXT, after TEXT)")
    old.execute("INSERT INTO review_log (created, endpoint, model_version, text, label, p_editorial, block) VALUES "
                "('2026-12-01T00:00:00.000Z', 'segment', 'tiny-1', 'an old entry', 'comment', 0.3, 4)")
    old.commit()
    old.close()
    client = make(tiny_classifier, tmp_path, REVIEW_LOG_SIZE=10)
    page = "\n".join(EDITORIAL_EXAMPLES[:2] + COMMENT_EXAMPLES[:1])
    blocks = client.post("/v1/segment", json={"text": page, "review_band": ALL_REVIEW}).json["blocks"]
    first, *rest = client.get("/v1/review-log", headers=AUTH).json["items"]
    assert (first["text"], first["page_scores"], first["index"]) == ("an old entry", None, 4)
    assert len(rest) == len(blocks)
    for item, block in zip(rest, blocks):
        assert item["page_scores"] == pytest.approx(block["page_scores"])
