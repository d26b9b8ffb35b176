"""The core HTTP endpoints (health, readiness, the model card, classify, segment): validate, call the classifier, serialise."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from service.metrics import record_results
from service.model_access import classifier
from service.review_log import record as record_review
from service.schemas import ClassifyRequest, Limits, SegmentBlocks, SegmentHTML, SegmentRequest, parse
from service.validation import given_blocks, html_page_blocks, parse_json_object, read_body, text_page_blocks

bp = Blueprint("api", __name__)

# Where ``service.lane`` leaves the error it met on a classify request before handing it to Flask,
# so that the view answers it without parsing or scoring the body a second time.
HANDED_OVER = "comment_classifier.classify_error"


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
    handed_over = request.environ.pop(HANDED_OVER, None)
    if handed_over is not None:
        raise handed_over
    payload = parse_json_object(request.mimetype, read_body(request))
    answer, results, texts = classify_payload(loaded, current_app.config, payload)
    record_results(results, texts, loaded.version)
    record_review(results, texts, "classify", loaded.version)
    return jsonify(answer)


def classify_payload(loaded, config, payload: dict) -> tuple[dict, list[dict], list[str]]:
    """``POST /v1/classify``'s answer to a parsed body, with the results and texts it is made of.

    The endpoint's work between the parsed body and the response, with nothing of Flask's: the
    view and ``service.lane`` (the same endpoint outside Flask) both call it.
    """
    body = parse(ClassifyRequest, payload, Limits.of(config)).root
    single = not hasattr(body, "texts")
    texts = [body.text] if single else body.texts
    band = config["REVIEW_BAND"] if body.review_band is None else body.review_band
    results = loaded.classify(texts, review_band=band, explain=body.explain, explain_top=body.explain_top)
    model = {"version": loaded.version}
    answer = {**results[0], "model": model} if single else {"results": results, "model": model}
    return answer, results, texts


@bp.post("/v1/segment")
def segment():
    """Label each block of a page editorial, comment or other, using the page's structure."""
    loaded = classifier()
    config = current_app.config
    payload = parse_json_object(request.mimetype, read_body(request))
    body = parse(SegmentRequest, payload, Limits.of(config)).root
    limits = config["MAX_TEXT_CHARS"], config["MAX_TEXTS"]
    markup, text = None, None
    if isinstance(body, SegmentHTML):
        blocks, markup, text = html_page_blocks(body.html, *limits)
    elif isinstance(body, SegmentBlocks):
        blocks = given_blocks(body.blocks)
    else:
        blocks = text_page_blocks(body.text, *limits)
    # On a page the band holds the page's probabilities: the request's, else the model's page band
    # (REVIEW_BAND is a band on a text's own scores).
    page = loaded.segment_page(blocks, review_band=body.review_band, explain=body.explain, explain_top=body.explain_top,
                               markup=markup)
    texts = [block["text"] for block in page["blocks"]]
    record_results(page["blocks"], texts, loaded.version)
    record_review(page["blocks"], texts, "segment", loaded.version, page=True)
    extracted = {} if text is None else {"text": text}
    return jsonify({**page, **extracted, "model": {"version": loaded.version}})
