"""``python -m bench.layers``: where a classify request's time goes, layer by layer, in one process.

The service's WSGI app is built as gunicorn builds it (Prometheus in multiprocess mode, the JSON
log configuration of ``service/gunicorn.conf.py`` writing to /dev/null, the model frozen out of
the garbage collector's sight) and called directly, without a socket, for the benchmark's single
texts and for batches. Each layer is then timed on its own over the same texts: reading and
parsing the JSON body, validation, normalising, tokenising, the model's terms, look-ups and sums,
the metrics, the request's log line and the response's JSON. What remains of the whole request is
the rest of ``service.lane`` (which answers ``POST /v1/classify`` outside Flask) and the middleware
(in-flight limit, whole responses). The same requests with ``FAST_CLASSIFY`` false, every one
through Flask and its hooks, show what the lane saves.
The same service with the model replaced by a constant answer shows what the model costs inside
a request (more than in a loop of its own, most likely because the rest of the request evicts its
tables from the CPU's caches).
Beside it, the hello-world app of the HTTP benchmark through the same call. Figures are medians
over rounds of this thread's CPU time (``time.thread_time``: time spent waiting for a core on a
shared machine is left out), in microseconds per request and per text; nothing is asserted.
Compare the layers within one run.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import logging.config
import os
import runpy
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import texts
from bench.servers import CONFIG, REPO


def _environ(body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/v1/classify", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
        "REMOTE_ADDR": "127.0.0.1",
    }


class _Answer:
    """A stand-in for the classifier that answers at once (the same label for every text)."""

    kind_scorer = None

    def __init__(self, real):
        self.version, self.card, self.review_band = real.version, real.card, real.review_band

    def classify(self, texts, review_band=None, explain=False, explain_top=10):
        return [{"label": "comment", "scores": {"editorial": 0.25, "comment": 0.75}, "decision": "comment"}
                for _text in texts]


def _call(wsgi, body: bytes) -> bytes:
    statuses = []
    out = wsgi(_environ(body), lambda status, headers, exc_info=None: statuses.append(status))
    try:
        data = b"".join(out)
    finally:
        if hasattr(out, "close"):
            out.close()
    if not statuses or not statuses[0].startswith("200"):
        raise RuntimeError(f"the app answered {statuses} to a benchmark body")
    return data


def _configure_logging() -> None:
    """The gunicorn configuration's log set-up, every handler writing to /dev/null."""
    settings = runpy.run_path(str(CONFIG))
    config = {"version": 1, **settings["logconfig_dict"]}
    logging.config.dictConfig(config)
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for name in ("", "gunicorn.error", "gunicorn.access"):
        for handler in logging.getLogger(name).handlers:
            handler.setStream(sink)


def measure(model_dir: Path, rounds: int, batch: int) -> dict:
    """Per-layer medians in microseconds: ``{"single": {...}, "batch": {...}}``."""
    import gc

    _configure_logging()
    from service import create_app, logs, metrics
    from service.schemas import ClassifyRequest, Limits, parse
    from service.validation import parse_json_object
    from service.lane import ClassifyLane
    from service.whole import WholeResponses
    from bench.hello import create_app as hello_app
    from model.text import normalize, tokenize

    app = create_app({"MODEL_DIR": str(model_dir), "MODEL_POLL_SECONDS": 0})
    wsgi = WholeResponses(app.wsgi_app)
    lane = app.wsgi_app  # the lane's JSON encoder, or the same settings when FAST_CLASSIFY is off
    while lane is not None and not isinstance(lane, ClassifyLane):
        lane = getattr(lane, "wsgi_app", None)
    encode = lane.encode if lane is not None else json.JSONEncoder(separators=(",", ":")).encode
    # The same model, every request through Flask (what the service did before service.lane).
    through_flask = WholeResponses(create_app({"MODEL_DIR": str(model_dir), "MODEL_POLL_SECONDS": 0,
                                               "FAST_CLASSIFY": False,
                                               "CLASSIFIER": app.extensions["classifier"]}).wsgi_app)
    # The same service answering without the model: what a request costs around it.
    stubbed = WholeResponses(create_app({"MODEL_DIR": str(model_dir), "MODEL_POLL_SECONDS": 0,
                                         "CLASSIFIER": _Answer(app.extensions["classifier"])}).wsgi_app)
    hello = hello_app().wsgi_app
    gc.freeze()  # as gunicorn's pre_fork does
    loaded = app.extensions["classifier"]
    config = app.config
    log = logging.getLogger("service.requests")

    corpus = texts.all_texts()
    cases = {
        "single": [[text] for text in corpus],
        "batch": [texts.cycle(batch, start=i * 7) for i in range(5)],
    }
    results = {}
    for case, groups in cases.items():
        key = "text" if case == "single" else "texts"
        bodies = [json.dumps({key: group[0] if case == "single" else group}).encode() for group in groups]
        normalised = [[normalize(t) for t in group] for group in groups]
        classified = [loaded.classify(group) for group in groups]
        fields = {"request_id": "0" * 32, "method": "POST", "path": "/v1/classify", "endpoint": "api.classify",
                  "status": 200, "duration_ms": 0.5, "bytes_in": 200, "remote_addr": "127.0.0.1",
                  "n_texts": 1, "model_version": loaded.version}

        def each(function, items):
            def run():
                for item in items:
                    function(item)
            return run

        def record_request(endpoint, status, seconds):  # what the teardown hook counts per request
            metrics.REQUESTS.labels(endpoint, str(status)).inc()
            metrics.LATENCY.labels(endpoint).observe(seconds)

        count_request = getattr(metrics, "record_request", record_request)

        def metrics_of(item):
            results_, group = item
            metrics.record_results(results_, group, loaded.version)
            count_request("api.classify", 200, 0.0005)

        def payload_of(body):
            payload = parse_json_object("application/json", body)
            return payload

        payloads = [payload_of(body) for body in bodies]

        def validate(payload):
            parse(ClassifyRequest, payload, Limits.of(config))

        def respond(item):  # as the lane writes it
            return f"{encode({'results': item, 'model': {'version': loaded.version}})}\n".encode()

        layers = {
            "whole request (WSGI)": each(lambda body: _call(wsgi, body), bodies),
            "whole request, model stubbed (WSGI)": each(lambda body: _call(stubbed, body), bodies),
            "whole request through Flask (WSGI)": each(lambda body: _call(through_flask, body), bodies),
            "hello-world app (WSGI)": each(lambda body: _call(hello, body), bodies),
            "JSON body parse": each(payload_of, bodies),
            "validation": each(validate, payloads),
            "normalise": each(lambda group: [normalize(t) for t in group], groups),
            "tokenise": each(lambda group: [tokenize(t) for t in group], normalised),
            "classify (all model work)": each(loaded.classify, groups),
            "metrics": each(metrics_of, list(zip(classified, groups))),
            "log line": each(lambda _item: log.info("request", extra=fields), groups),
            "response JSON": each(respond, classified),
        }
        timings = {name: [] for name in layers}
        with app.test_request_context("/v1/classify", method="POST"):
            for name, run in layers.items():  # warm up
                run()
            for _ in range(rounds):
                for name, run in layers.items():
                    began = time.thread_time()
                    run()
                    timings[name].append((time.thread_time() - began) / len(groups) * 1e6)
        medians = {name: statistics.median(values) for name, values in timings.items()}
        model = medians["classify (all model work)"]
        medians["terms, look-ups, sums"] = model - medians["normalise"] - medians["tokenise"]
        measured = ("JSON body parse", "validation", "classify (all model work)", "metrics", "log line", "response JSON")
        medians["the rest: lane, middleware"] = medians["whole request (WSGI)"] - sum(medians[m] for m in measured)
        medians["model inside the request"] = (medians["whole request (WSGI)"]
                                               - medians["whole request, model stubbed (WSGI)"])
        results[case] = {"texts_per_request": len(groups[0]), "us_per_request": medians}
    return results


def table(results: dict) -> str:
    order = ["whole request (WSGI)", "JSON body parse", "validation", "normalise", "tokenise", "terms, look-ups, sums",
             "metrics", "log line", "response JSON", "the rest: lane, middleware",
             "whole request, model stubbed (WSGI)", "model inside the request", "hello-world app (WSGI)",
             "whole request through Flask (WSGI)"]
    single, batch = results["single"], results["batch"]
    n = batch["texts_per_request"]
    lines = [f"{'layer (us)':38} {'single text':>12} {f'batch of {n}':>14} {'per text':>9}"]
    for name in order:
        one, many = single["us_per_request"][name], batch["us_per_request"][name]
        lines.append(f"{name:38} {one:12.1f} {many:14.0f} {many / n:9.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "model", help="a model folder or store (default: model/)")
    parser.add_argument("--rounds", type=int, default=15, help="rounds over the texts; medians over them (default: 15)")
    parser.add_argument("--batch", type=int, default=100, help="texts per batch request (default: 100)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-layers-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # before prometheus_client is imported
        results = measure(args.model, args.rounds, args.batch)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
