"""Prometheus metrics, served at ``GET /metrics``.

Under gunicorn each worker is a process of its own, so prometheus-client runs in multiprocess
mode: ``service/gunicorn.conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at a folder before this
module is first imported, every worker writes its figures to files there, and ``/metrics`` adds
up the files of all workers, dead ones included (their counts stay in the totals). Without that
variable (``flask run``, the test client) the process's default registry is served.

Label values come from small fixed sets: the Flask endpoint name (``unmatched`` for a path no
route knows, never the raw path), the status code, the model's labels and decisions.
"""

from __future__ import annotations

import bisect
import collections
import functools
import os
import socket
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

from service.logs import annotate, endpoint_name

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "comment_classifier_requests", "HTTP requests answered, by Flask endpoint and status code",
    ["endpoint", "status"],
)
LATENCY = Histogram(
    "comment_classifier_request_duration_seconds", "Time from the start of a request to its response",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LABELS = Counter(
    "comment_classifier_labels", "Labels given to texts, by the endpoint that gave them",
    ["endpoint", "label"],
)
DECISIONS = Counter(
    "comment_classifier_decisions", "Decisions given to texts (a label, review, or Coral's verdict), by endpoint",
    ["endpoint", "decision"],
)
TEXT_LENGTH = Histogram(
    "comment_classifier_text_length_characters", "Length of each text classified, in characters",
    ["endpoint"],
    buckets=(10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 20_000),
)
BATCH_SIZE = Histogram(
    "comment_classifier_batch_size_texts", "Texts (or page blocks) classified per request",
    ["endpoint"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000),
)
# 1 for each version some live worker serves, 0 for one none serves any more. "livemax": a
# worker's value is dropped when it exits (mark_process_dead in child_exit), so a dead worker's
# old version does not linger as "max"/"all" would keep it; the maximum over workers keeps
# the info-metric convention (value 1) where "livesum" would count workers, and it needs no
# pid label, unlike "liveall", whose series change with every restarted worker.
# "replica" names the service instance (REPLICA: a setting, else hostname:port), so that one
# dashboard over several replicas shows which serves what.
MODEL_INFO = Gauge(
    "comment_classifier_model_info", "The model version served: 1 while a live worker serves it",
    ["replica", "version"], multiprocess_mode="livemax",
)
# 0 while some live worker serves another version than the store's current one, because it could
# not verify that one (it keeps its last good version); "livemin": one such worker is enough.
MODEL_IN_SYNC = Gauge(
    "comment_classifier_model_in_sync", "1 when the workers serve the store's current version, 0 when one refused it",
    ["replica"], multiprocess_mode="livemin",
)
RELOADS = Counter(
    "comment_classifier_model_reloads", "Model reloads, by outcome: switched to a new model, or refused",
    ["outcome"],
)
FEEDBACK = Counter(
    "comment_classifier_feedback_stored", "Feedback stored: a new record, or an update to an earlier one",
    ["action"],
)
RELOAD_OUTCOMES = ("switched", "refused")
FEEDBACK_ACTIONS = ("created", "updated")
# Series that exist from the start, so a rate() over them has a zero to start from.
for _outcome in RELOAD_OUTCOMES:
    RELOADS.labels(_outcome)
for _action in FEEDBACK_ACTIONS:
    FEEDBACK.labels(_action)

bp = Blueprint("metrics", __name__)
# The replica this process belongs to (one per process: set by init_app from the app's config).
_identity = {"replica": ""}


@functools.cache
def _series(metric, *labels):
    """``metric.labels(*labels)``, looked up once: label values come from small fixed sets, and
    ``labels()`` costs more than the increment itself."""
    return metric.labels(*labels)


def registry():
    """All workers' figures under gunicorn; this process's default registry otherwise."""
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


@bp.get("/metrics")
def scrape():
    """The metrics in Prometheus' text exposition format (OpenMetrics when the scraper asks)."""
    encoder, content_type = choose_encoder(request.headers.get("Accept"))
    return Response(encoder(registry()), content_type=content_type)


def record_results(results: list[dict], texts: list[str], model_version: str | None = None) -> None:
    """Count the labels and decisions a view gave, the texts' lengths and the batch size.

    ``results`` are plain dicts with ``label`` and, where the endpoint gives one, ``decision``;
    they also feed the request's log line (number of texts, model version, and the texts only
    when ``LOG_TEXT`` is on).
    """
    count_results(results, texts, endpoint_name())
    annotate(n_texts=len(texts), model_version=model_version, texts=texts)


def count_results(results: list[dict], texts: list[str], endpoint: str) -> None:
    """``record_results``' counts for ``endpoint``, outside any Flask request (``service.lane``)."""
    # One increment per label and decision given, not per text: a batch has up to MAX_TEXTS.
    if len(results) == 1:
        only = results[0]
        labels = {only.get("label"): 1}
        decisions = {only.get("decision"): 1}
    else:
        labels = collections.Counter(result.get("label") for result in results)
        decisions = collections.Counter(result.get("decision") for result in results)
    for label, count in labels.items():
        if label is not None:
            _series(LABELS, endpoint, label).inc(count)
    for decision, count in decisions.items():
        if decision is not None:
            _series(DECISIONS, endpoint, decision).inc(count)
    _observe_all(_series(TEXT_LENGTH, endpoint), list(map(len, texts)))
    _series(BATCH_SIZE, endpoint).observe(len(texts))


def _observe_all(histogram, amounts: list[int]) -> None:
    """``histogram.observe(amount)`` for each of ``amounts`` (whole numbers), as one increment per bucket.

    In multiprocess mode each increment is a locked write to the worker's file, two per
    observation, so a batch of 1,000 texts cost 2,000 writes. The sum of whole numbers and the
    count per bucket come out the same either way (a test checks the figures). prometheus-client
    has no public call for that, so this goes through the child's bucket values; without them (a
    later release that renamed them) it falls back to one ``observe`` each.
    """
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if len(amounts) < 4 or bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for amount in amounts:
            histogram.observe(amount)
        return
    counts = collections.Counter(bisect.bisect_left(bounds, amount) for amount in amounts)
    total.inc(sum(amounts))
    for index, count in counts.items():
        buckets[index].inc(count)


def replica_name(config) -> str:
    """This service instance's name in metrics and /readyz: ``REPLICA``, else hostname:port."""
    given = config.get("REPLICA")
    if given not in (None, ""):
        return str(given)
    # gunicorn's address: BIND (production's 127.0.0.1:8001) wins over PORT, as in its config;
    # a unix socket has no port, and the name keeps PORT's.
    bind = os.environ.get("BIND", "")
    port = bind.rpartition(":")[2] if not bind.startswith("unix:") else ""
    return f"{socket.gethostname()}:{port if port.isdigit() else os.environ.get('PORT', '8000')}"


def record_model(version: str) -> None:
    """This process now serves model ``version`` (at start-up, in each worker, and on a switch)."""
    replica = _identity["replica"]
    for sample in MODEL_INFO.collect()[0].samples:
        if sample.labels["version"] != version:
            MODEL_INFO.labels(sample.labels["replica"], sample.labels["version"]).set(0)
    MODEL_INFO.labels(replica, version).set(1)


def record_in_sync(in_sync: bool) -> None:
    """Whether this process serves the store's current version (it refused it otherwise)."""
    MODEL_IN_SYNC.labels(_identity["replica"]).set(1 if in_sync else 0)


def record_reload(outcome: str) -> None:
    """Count a model reload: ``switched`` to the new model, or ``refused`` (the old one stays)."""
    if outcome not in RELOAD_OUTCOMES:
        raise ValueError(f"outcome must be one of {RELOAD_OUTCOMES} (got {outcome!r})")
    RELOADS.labels(outcome).inc()


def record_feedback(created: bool) -> None:
    """Count a feedback record stored: ``created`` when new, ``updated`` when it replaced one."""
    FEEDBACK.labels("created" if created else "updated").inc()


def record_serving(app: Flask) -> None:
    """Report the model ``app`` serves, if any: at start-up, and again in each forked worker."""
    loaded = app.extensions.get("classifier")
    if loaded is not None:
        record_model(loaded.version)
    watcher = app.extensions.get("model_watcher")
    status = watcher.status() if watcher is not None else {}
    if status:
        record_in_sync(status["in_sync"])


def record_refused(endpoint: str) -> None:
    """Count a request the in-flight limit refused (503, answered before Flask saw it)."""
    _series(REQUESTS, endpoint, "503").inc()


def record_request(endpoint: str, status: int, seconds: float | None) -> None:
    """Count a request answered with ``status``, and its duration when known."""
    _series(REQUESTS, endpoint, str(status)).inc()
    if seconds is not None:
        _series(LATENCY, endpoint).observe(seconds)


def _count(error: BaseException | None) -> None:
    state = g._get_current_object()  # taken once: this runs on every request
    started = getattr(state, "request_started", None)
    # No response recorded means the request failed past every error handler.
    record_request(endpoint_name(), getattr(state, "response_status", 500),
                   None if started is None else time.perf_counter() - started)


def init_app(app: Flask) -> None:
    """Serve ``/metrics`` and count every request.

    Call it after ``service.logs.init_app``, whose hooks note when each request started and the
    status it got (one set of hooks for both: each one costs a little on every request).
    """
    app.register_blueprint(bp)
    app.teardown_request(_count)
    app.config["REPLICA"] = _identity["replica"] = replica_name(app.config)
