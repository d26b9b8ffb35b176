"""The app factory: configuration order, readiness, fail-fast start-up."""

import json
import shutil

import pytest

from model import ModelNotFound, ModelVerificationError
from service import create_app


def test_readyz_is_503_before_the_model_is_loaded():
    client = create_app({"LOAD_MODEL": False}).test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "not_ready"
    assert client.post("/v1/classify", json={"text": "hi"}).status_code == 503


def test_loads_the_model_named_by_config(tiny_model_dir):
    app = create_app({"MODEL_DIR": str(tiny_model_dir)})
    assert app.test_client().get("/readyz").status_code == 200


def test_environment_then_mapping(monkeypatch, tiny_classifier):
    monkeypatch.setenv("COMMENT_CLASSIFIER_MAX_TEXTS", "5")
    monkeypatch.setenv("COMMENT_CLASSIFIER_MAX_TEXT_CHARS", "100")
    app = create_app({"CLASSIFIER": tiny_classifier, "MAX_TEXT_CHARS": 50})
    assert app.config["MAX_TEXTS"] == 5
    assert app.config["MAX_TEXT_CHARS"] == 50


def test_start_up_fails_fast_without_a_model(tmp_path):
    with pytest.raises(ModelNotFound, match="make train"):
        create_app({"MODEL_DIR": str(tmp_path)})


def test_start_up_fails_fast_on_a_tampered_model(tmp_path, tiny_model_dir):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    card = json.loads((copy / "card.json").read_text())
    with open(copy / card["artifact"]["file"], "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelVerificationError, match="sha256"):
        create_app({"MODEL_DIR": str(copy)})
