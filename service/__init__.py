"""The Flask service: an app factory that loads the model once and answers over JSON/HTTP."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from model import Classifier
from model.artifact import DEFAULT_DIR
from model.labels import check_band

DEFAULTS = {
    "MODEL_DIR": str(DEFAULT_DIR),
    "MAX_TEXT_CHARS": 20_000,
    "MAX_TEXTS": 1_000,
    "MAX_PAGE_CHARS": 200_000,
    "MAX_CONTENT_LENGTH": 1_000_000,
    "LOAD_MODEL": True,
    "JSON_SORT_KEYS": False,
    # None: the band in the model card. A pair [low, high] overrides it for every request.
    "REVIEW_BAND": None,
    # API keys clients may present; none configured means none required.
    "API_KEYS": [],
    # Requests each worker process runs at once; more are answered 503 overloaded (0: no limit).
    "MAX_IN_FLIGHT": 4,
}


def create_app(config: dict | None = None) -> Flask:
    """Defaults, then ``COMMENT_CLASSIFIER_*`` environment variables, then ``config``.

    Loads and verifies the model unless ``LOAD_MODEL`` is false (or a ``CLASSIFIER`` object is
    given, as tests do); a missing or broken model raises ``model.ModelError`` here, so that a
    server fails at start-up rather than on every request.
    """
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("COMMENT_CLASSIFIER")
    if config:
        app.config.from_mapping(config)
    if app.config["REVIEW_BAND"] is not None:
        app.config["REVIEW_BAND"] = check_band(app.config["REVIEW_BAND"])
    app.json.sort_keys = False
    app.json.compact = True

    from service import api, coral, errors, overload, perspective, web

    errors.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(perspective.bp)
    app.register_blueprint(coral.bp)
    app.register_blueprint(web.bp)
    overload.init_app(app)

    if app.config.get("CLASSIFIER") is not None:
        app.extensions["classifier"] = app.config["CLASSIFIER"]
    elif app.config["LOAD_MODEL"]:
        load_model(app)
    return app


def load_model(app: Flask) -> Classifier:
    """Load and verify the model named by ``MODEL_DIR`` and keep it on the app."""
    loaded = Classifier.load(Path(app.config["MODEL_DIR"]))
    app.extensions["classifier"] = loaded
    logging.getLogger(__name__).info("loaded model %s", loaded.version)
    return loaded
