"""Hot reload in one process: the watcher switches to a verified new model and refuses a bad one."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from tests.conftest import train_tiny


@pytest.fixture()
def model_dir(tmp_path):
    directory = tmp_path / "model"
    train_tiny(directory, version="tiny-1")
    return directory


def make_app(model_dir, **config):
    from service import create_app

    return create_app({"TESTING": True, "MODEL_DIR": str(model_dir), **config})


def test_a_new_model_in_the_folder_is_loaded_and_names_itself(model_dir):
    app = make_app(model_dir)
    watcher = app.extensions["model_watcher"]
    client = app.test_client()
    response = client.post("/v1/classify", json={"text": "The council met on Monday."})
    assert response.headers["X-Model-Version"] == response.json["model"]["version"] == "tiny-1"
    assert watcher.check() is None  # nothing changed
    train_tiny(model_dir, version="tiny-2")
    assert watcher.check() == "switched"
    response = client.post("/v1/classify", json={"text": "The council met on Monday."})
    assert response.headers["X-Model-Version"] == response.json["model"]["version"] == "tiny-2"
    assert client.get("/readyz").headers["X-Model-Version"] == "tiny-2"


def test_a_request_in_flight_keeps_the_model_it_started_with(model_dir):
    from service.model_access import classifier

    app = make_app(model_dir)
    with app.test_request_context("/v1/classify"):
        held = classifier()
        train_tiny(model_dir, version="tiny-2")
        assert app.extensions["model_watcher"].check() == "switched"
        assert held.version == "tiny-1"  # this request's model did not change under it
        assert app.extensions["classifier"].version == "tiny-2"


def test_a_model_that_fails_verification_is_refused_and_logged(model_dir, caplog):
    app = make_app(model_dir)
    watcher = app.extensions["model_watcher"]
    card_path = model_dir / "card.json"
    card = json.loads(card_path.read_text())
    card["version"] = "tampered"
    card["artifact"]["sha256"] = "0" * 64
    card_path.write_text(json.dumps(card))
    with caplog.at_level(logging.ERROR, logger="service.reload"):
        assert watcher.check() == "refused"
    assert "refused the model" in caplog.text and "still serving tiny-1" in caplog.text
    assert app.extensions["classifier"].version == "tiny-1"
    response = app.test_client().post("/v1/classify", json={"text": "lol no"})
    assert response.status_code == 200 and response.headers["X-Model-Version"] == "tiny-1"
    assert watcher.check() is None  # refused once, not again every poll
    train_tiny(model_dir, version="tiny-3")
    assert watcher.check() == "switched"


def test_a_missing_model_is_refused_too(model_dir, tmp_path):
    app = make_app(model_dir)
    artifact = next(model_dir.glob("*.joblib"))
    shutil.move(artifact, tmp_path / artifact.name)
    (model_dir / "card.json").write_text((model_dir / "card.json").read_text() + " ")  # touch: a new stamp
    assert app.extensions["model_watcher"].check() == "refused"
    assert app.extensions["classifier"].version == "tiny-1"


def test_the_watcher_thread_polls_by_itself(model_dir):
    import time

    app = make_app(model_dir, MODEL_POLL_SECONDS=0.05)
    app.test_client().get("/healthz")  # the first request starts the watcher in this process
    train_tiny(model_dir, version="tiny-2")
    for _ in range(200):
        if app.extensions["classifier"].version == "tiny-2":
            break
        time.sleep(0.05)
    app.extensions["model_watcher"].stop()
    assert app.extensions["classifier"].version == "tiny-2"


def test_polling_can_be_turned_off(model_dir):
    app = make_app(model_dir, MODEL_POLL_SECONDS=0)
    assert "model_watcher" not in app.extensions


def test_a_worker_started_from_an_older_model_joins_the_last_good_one_when_the_current_is_refused(tmp_path, caplog):
    """A worker gunicorn restarts is forked from the master's start-up model; if the store's current
    version is then refused, it must serve the last good version like the others, not its own."""
    from model.artifact import load
    from model.store import ModelStore

    store = ModelStore(tmp_path / "models")
    for version in ("tiny-1", "tiny-2", "tiny-3"):
        train_tiny(tmp_path / version, version=version)
    store.seed(tmp_path / "tiny-1")
    for version in ("tiny-2", "tiny-3"):
        artifact = load(tmp_path / version)
        card = artifact.card
        store.add(artifact, {k: v for k, v in card.items() if k != "artifact"})
    app = make_app(store.root)  # this process serves tiny-1, as the master did at start-up
    store.promote("tiny-2")
    store.promote("tiny-3")
    damaged = store.root / "versions" / "tiny-3" / "classifier-tiny-3.joblib"
    damaged.write_bytes(damaged.read_bytes()[:-5])  # the current version breaks on disk
    with caplog.at_level(logging.INFO, logger="service.reload"):
        assert app.extensions["model_watcher"].check() == "refused"
    assert app.extensions["classifier"].version == "tiny-2"
    assert "still serving tiny-2" in caplog.text and "switched model from tiny-1 to tiny-2" in caplog.text
    # a worker already on the last good version stays on it, without loading anything
    store.rollback()  # tiny-2 current again: a new pointer, the same model
    assert app.extensions["model_watcher"].check() is None
    assert app.extensions["classifier"].version == "tiny-2"
