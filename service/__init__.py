"""The Flask service: an app factory that loads the model once and answers over JSON/HTTP."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from model import Classifier
from model.artifact import DEFAULT_DIR
from model.labels import MAX_TEXT_CHARS, check_band

DEFAULTS = {
    "MODEL_DIR": str(DEFAULT_DIR),
    "MAX_TEXT_CHARS": MAX_TEXT_CHARS,
    "MAX_TEXTS": 1_000,
    "MAX_PAGE_CHARS": 200_000,
    "MAX_CONTENT_LENGTH": 1_000_000,
    "LOAD_MODEL": True,
    # How often each worker looks for a newly promoted or rolled-back model (seconds; 0: never).
    "MODEL_POLL_SECONDS": 1.0,
    "JSON_SORT_KEYS": False,
    # None: the band in the model card. A pair [low, high] overrides it for every request that
    # scores single texts (/v1/segment holds the page's probabilities to the model's page band).
    "REVIEW_BAND": None,
    # API keys (a list, or one string of keys separated by commas) and/or a file of keys, one
    # per line. Feedback always needs one; REQUIRE_API_KEY ("*", or paths such as
    # "/v1/classify,/v1/segment") asks for one on other endpoints too.
    "API_KEYS": [],
    "API_KEYS_FILE": None,
    "REQUIRE_API_KEY": None,
    # Moderators' own keys: when set, only these open /v1/feedback (an integration's key for
    # classify cannot read or change the feedback).
    "FEEDBACK_API_KEYS": [],
    "FEEDBACK_API_KEYS_FILE": None,
    # The SQLite file of moderators' feedback (relative paths: from the working directory).
    "FEEDBACK_DB": "var/feedback.sqlite3",
    "FEEDBACK_BUSY_TIMEOUT": 10.0,
    # Add the texts to each request's log line, for debugging only: comment text is personal data.
    "LOG_TEXT": False,
    # Requests each worker process runs at once; more are answered 503 overloaded (0: no limit).
    "MAX_IN_FLIGHT": 4,
    # Behind nginx (its X-Request-Start header): a scoring request that waited longer than this
    # for a worker is answered 503 overloaded rather than scored late (0: no limit).
    "MAX_QUEUE_MS": 1000,
    # Keep the last N texts decided "review" for the desk's queue (0: keep none; texts are personal data).
    "REVIEW_LOG_SIZE": 0,
    "REVIEW_LOG_DB": "var/review-log.sqlite3",
    # Answer well-formed POST /v1/classify requests outside Flask (service.lane): the same answers,
    # log lines and metrics for about 0.6 of the CPU. False sends every request through Flask.
    "FAST_CLASSIFY": True,
}


def create_app(config: dict | None = None) -> Flask:
    """Defaults, then ``COMMENT_CLASSIFIER_*`` environment variables, then ``config``.

    Loads and verifies the model unless ``LOAD_MODEL`` is false (or a ``CLASSIFIER`` object is
    given, as tests do); a missing or broken model raises ``model.ModelError`` here, so that a
    server fails at start-up rather than on every request.
    """
    app = Flask(__name__)
    # werkzeug answers a path with doubled slashes (/v1//classify) with a 308 redirect whose body is
    # HTML, outside the error handlers; an API client is better told 404 in JSON.
    app.url_map.merge_slashes = False
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("COMMENT_CLASSIFIER")
    if config:
        app.config.from_mapping(config)
    if app.config["REVIEW_BAND"] is not None:
        app.config["REVIEW_BAND"] = check_band(app.config["REVIEW_BAND"])
    app.json.sort_keys = False
    app.json.compact = True
    _remember_sync_functions(app)

    from service import api, auth, docs, errors, feedback, lane, logs, metrics, overload, reload, review_log, web
    from service.integrations import coral, perspective

    errors.init_app(app)
    # Before auth: a before_request hook that answers early (401) stops the ones registered after
    # it, and refused requests too need their id, log line and count.
    logs.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(perspective.bp)
    app.register_blueprint(coral.bp)
    app.register_blueprint(web.bp)
    review_log.init_app(app)
    app.register_blueprint(docs.bp)
    # After the routes (it checks REQUIRE_API_KEY's paths against them), after logs and metrics.
    auth.init_app(app)
    # Inside the overload limits, after auth (it asks which routes need a key).
    lane.init_app(app)
    overload.init_app(app)

    # The watcher notes the model folder's state before the model is read, so a promotion that
    # lands during start-up is still noticed.
    reload.init_app(app)
    if app.config.get("CLASSIFIER") is not None:
        app.extensions["classifier"] = app.config["CLASSIFIER"]
    elif app.config["LOAD_MODEL"]:
        load_model(app)
    metrics.record_serving(app)
    return app


def _remember_sync_functions(app: Flask, most: int = 1024) -> None:
    """Make ``app.ensure_sync`` remember its answer for each view and hook.

    Flask calls ``ensure_sync`` on the view and on every request hook of every request, and each
    call asks ``inspect.iscoroutinefunction`` again: eight times per classify request, several
    microseconds each. The views and hooks are a fixed set, so the answer is kept (for at most
    ``most`` functions, in case something makes them per request). Flask documents
    ``ensure_sync`` as the method to override to change how functions are run.
    """
    original = app.ensure_sync
    known: dict = {}

    def ensure_sync(func):
        try:
            return known[func]
        except KeyError:
            answer = original(func)
            if len(known) < most:
                known[func] = answer
            return answer
        except TypeError:  # an unhashable callable
            return original(func)

    app.ensure_sync = ensure_sync


def load_model(app: Flask) -> Classifier:
    """Load and verify the model named by ``MODEL_DIR`` and keep it on the app."""
    loaded = Classifier.load(Path(app.config["MODEL_DIR"]))
    app.extensions["classifier"] = loaded
    logging.getLogger(__name__).info("loaded model %s", loaded.version)
    return loaded
