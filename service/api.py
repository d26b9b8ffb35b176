"""The core HTTP endpoints (health, readiness, the model card, classify, segment): validate, call the classifier, serialise."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from service.metrics import record_results
from service.model_access import classifier
from service.review_log import record as record_review
from service.validation import (
    explain_options,
    html_page_from,
    page_from,
    parse_json_object,
    read_body,
    review_band_from,
    texts_from,
)

bp = Blueprint("api", __name__)


@bp.get("/healthz")
def healthz():
    """Alive: the process answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready: the model is loaded. Under a model store, also the store's current version and
    whether this replica serves it (``in_sync``; ``refused`` when it could not verify it)."""
    loaded = classifier()
    watcher = current_app.extensions.get("model_watcher")
    model = {"version": loaded.version, **(watcher.status() if watcher is not None else {})}
    return jsonify({"status": "ready", "replica": current_app.config.get("REPLICA"), "model": model})


@bp.get("/v1/model")
def model_card():
    """The model card of the loaded model."""
    return jsonify(classifier().card)


@bp.post("/v1/classify")
def classify():
    """Label one text (``text``) or a batch (``texts``)."""
    loaded = classifier()
    config = current_app.config
    payload = parse_json_object(request.mimetype, read_body(request))
    texts, single = texts_from(payload, config["MAX_TEXT_CHARS"], config["MAX_TEXTS"])
    band = review_band_from(payload, config["REVIEW_BAND"])
    explain, top = explain_options(payload)
    results = loaded.classify(texts, review_band=band, explain=explain, explain_top=top)
    record_results(results, texts, loaded.version)
    record_review(results, texts, "classify", loaded.version)
    model = {"version": loaded.version}
    if single:
        return jsonify({**results[0], "model": model})
    return jsonify({"results": results, "model": model})


@bp.post("/v1/segment")
def segment():
    """Label each block of a page editorial, comment or other, using the page's structure."""
    loaded = classifier()
    config = current_app.config
    payload = parse_json_object(request.mimetype, read_body(request))
    limits = config["MAX_PAGE_CHARS"], config["MAX_TEXT_CHARS"], config["MAX_TEXTS"]
    markup, text = None, None
    if "html" in payload:
        blocks, markup, text = html_page_from(payload, *limits)
    else:
        blocks = page_from(payload, *limits)
    band = review_band_from(payload, config["REVIEW_BAND"])
    explain, top = explain_options(payload)
    page = loaded.segment_page(blocks, review_band=band, explain=explain, explain_top=top, markup=markup)
    texts = [block["text"] for block in page["blocks"]]
    record_results(page["blocks"], texts, loaded.version)
    record_review(page["blocks"], texts, "segment", loaded.version, page=True)
    extracted = {} if text is None else {"text": text}
    return jsonify({**page, **extracted, "model": {"version": loaded.version}})
