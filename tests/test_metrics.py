"""service.metrics in one process (the default registry): what /metrics shows after requests."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import create_app, metrics

SECRET = "empsec_" + "ef" * 32


def scrape(client) -> dict:
    """``{(sample name, frozenset of labels): value}`` from GET /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    """One sample's value, 0 when the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_is_text_exposition_with_the_prefix(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.get_data(as_text=True))}
    # Beside ours, the default registry has prometheus-client's own python_* and process_* figures.
    ours = {name for name in names if not name.startswith(("python_", "process_"))}
    assert ours and all(name.startswith("comment_classifier_") for name in ours)
    assert {"comment_classifier_requests", "comment_classifier_request_duration_seconds",
            "comment_classifier_labels", "comment_classifier_decisions", "comment_classifier_model_info",
            "comment_classifier_model_reloads", "comment_classifier_feedback_stored",
            "comment_classifier_text_length_characters", "comment_classifier_batch_size_texts"} <= names


def test_requests_are_counted_by_endpoint_and_status(client):
    before = scrape(client)
    for _ in range(3):
        assert client.post("/v1/classify", json={"text": "lol no way"}).status_code == 200
    assert client.post("/v1/classify", json={"texts": 5}).status_code == 400
    assert client.get("/healthz").status_code == 200
    after = scrape(client)
    assert delta(before, after, "comment_classifier_requests_total", endpoint="api.classify", status="200") == 3
    assert delta(before, after, "comment_classifier_requests_total", endpoint="api.classify", status="400") == 1
    assert delta(before, after, "comment_classifier_requests_total", endpoint="api.healthz", status="200") == 1
    assert delta(before, after, "comment_classifier_request_duration_seconds_count", endpoint="api.classify") == 4
    assert delta(before, after, "comment_classifier_request_duration_seconds_sum", endpoint="api.classify") > 0


def test_unknown_paths_are_one_unmatched_series_never_the_raw_path(client):
    before = scrape(client)
    for path in ("/nowhere", "/wp-admin/setup.php", "/x" * 50):
        assert client.get(path).status_code == 404
    response = client.get("/metrics")
    assert "wp-admin" not in response.get_data(as_text=True)
    after = scrape(client)
    assert delta(before, after, "comment_classifier_requests_total", endpoint="unmatched", status="404") == 3


def test_wrong_method_and_too_large_bodies_are_counted(client, app):
    before = scrape(client)
    assert client.get("/v1/classify").status_code == 405
    too_big = json.dumps({"text": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert client.post("/v1/classify", data=too_big, content_type="application/json").status_code == 413
    after = scrape(client)
    assert delta(before, after, "comment_classifier_requests_total", endpoint="unmatched", status="405") == 1
    assert delta(before, after, "comment_classifier_requests_total", endpoint="api.classify", status="413") == 1


def test_an_unexpected_error_is_counted_as_500(tiny_classifier):
    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier})

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    client = app.test_client()
    before = scrape(client)
    assert client.get("/boom").status_code == 500
    after = scrape(client)
    assert delta(before, after, "comment_classifier_requests_total", endpoint="boom", status="500") == 1


def test_label_mix_matches_the_labels_returned(client):
    texts = ["lol this is the dumbest thing", "The council voted 7-2 to approve the housing plan on Monday.",
             "Who cares? Nobody asked", "Police said three people were taken to hospital."]
    before = scrape(client)
    body = client.post("/v1/classify", json={"texts": texts, "review_band": [0.4, 0.6]}).get_json()
    after = scrape(client)
    for label in ("editorial", "comment"):
        given = sum(r["label"] == label for r in body["results"])
        assert delta(before, after, "comment_classifier_labels_total", endpoint="api.classify", label=label) == given
    for decision in ("editorial", "comment", "review"):
        given = sum(r["decision"] == decision for r in body["results"])
        assert delta(before, after, "comment_classifier_decisions_total", endpoint="api.classify",
                     decision=decision) == given
    assert delta(before, after, "comment_classifier_batch_size_texts_count", endpoint="api.classify") == 1
    assert delta(before, after, "comment_classifier_batch_size_texts_sum", endpoint="api.classify") == len(texts)
    assert delta(before, after, "comment_classifier_text_length_characters_count", endpoint="api.classify") == 4
    assert delta(before, after, "comment_classifier_text_length_characters_sum",
                 endpoint="api.classify") == sum(map(len, texts))
    # Buckets are cumulative: every text is under 100 characters, none under 10.
    assert delta(before, after, "comment_classifier_text_length_characters_bucket", endpoint="api.classify",
                 le="100.0") == 4
    assert delta(before, after, "comment_classifier_text_length_characters_bucket", endpoint="api.classify",
                 le="10.0") == 0


def test_segment_counts_each_block(client):
    page = "The council met on Monday to approve the budget, officials said.\n\nlol who cares\n\nShare this"
    before = scrape(client)
    body = client.post("/v1/segment", json={"text": page}).get_json()
    after = scrape(client)
    for label in {block["label"] for block in body["blocks"]}:
        given = sum(block["label"] == label for block in body["blocks"])
        assert delta(before, after, "comment_classifier_labels_total", endpoint="api.segment", label=label) == given
    assert delta(before, after, "comment_classifier_batch_size_texts_sum", endpoint="api.segment") == len(body["blocks"])


def test_a_failed_request_counts_no_labels(client):
    before = scrape(client)
    assert client.post("/v1/classify", json={"texts": ["ok", ""]}).status_code == 400
    after = scrape(client)
    assert delta(before, after, "comment_classifier_batch_size_texts_count", endpoint="api.classify") == 0


def test_perspective_answers_count_a_label(client):
    before = scrape(client)
    body = {"comment": {"text": "lol who cares, nobody asked"}, "requestedAttributes": {"COMMENT": {}}}
    answer = client.post("/v1alpha1/comments:analyze", json=body).get_json()
    after = scrape(client)
    label = "comment" if answer["attributeScores"]["COMMENT"]["summaryScore"]["value"] > 0.5 else "editorial"
    assert delta(before, after, "comment_classifier_labels_total", endpoint="perspective.analyze", label=label) == 1
    assert delta(before, after, "comment_classifier_text_length_characters_count", endpoint="perspective.analyze") == 1


def test_coral_verdicts_count_as_decisions(tiny_classifier):
    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "CORAL_SIGNING_SECRETS": [SECRET],
                      "CORAL_FLAG_THRESHOLD": 0.5})
    client = app.test_client()
    before = scrape(client)
    for text in ("lol who cares, nobody asked for this",
                 "The finance minister announced on Tuesday that the budget deficit would narrow next year."):
        raw = json.dumps({"action": "NEW", "comment": {"body": text}}).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        client.post("/v1/coral/moderate", data=raw, content_type="application/json",
                    headers={"X-Coral-Signature": signature})
    after = scrape(client)
    assert delta(before, after, "comment_classifier_decisions_total", endpoint="coral.moderate", decision="none") == 1
    assert delta(before, after, "comment_classifier_decisions_total", endpoint="coral.moderate", decision="flag") == 1
    assert delta(before, after, "comment_classifier_labels_total", endpoint="coral.moderate", label="editorial") == 1


def test_model_version_gauge(client, tiny_classifier):
    samples = scrape(client)
    assert value(samples, "comment_classifier_model_info", replica=metrics.replica_name({}), version=tiny_classifier.version) == 1


def test_a_switched_model_leaves_the_old_version_at_zero(client, tiny_classifier):
    metrics.record_model("next-version")
    samples = scrape(client)
    assert value(samples, "comment_classifier_model_info", replica=metrics.replica_name({}), version="next-version") == 1
    assert samples[("comment_classifier_model_info",
                    frozenset({"replica": metrics.replica_name({}), "version": tiny_classifier.version}.items()))] == 0
    metrics.record_model(tiny_classifier.version)
    samples = scrape(client)
    assert value(samples, "comment_classifier_model_info", replica=metrics.replica_name({}), version="next-version") == 0
    assert value(samples, "comment_classifier_model_info", replica=metrics.replica_name({}), version=tiny_classifier.version) == 1


def test_reloads_and_feedback_counters(client):
    before = scrape(client)
    metrics.record_reload("switched")
    metrics.record_reload("refused")
    metrics.record_reload("refused")
    metrics.record_feedback(True)
    metrics.record_feedback(False)
    metrics.record_feedback(True)
    after = scrape(client)
    assert delta(before, after, "comment_classifier_model_reloads_total", outcome="switched") == 1
    assert delta(before, after, "comment_classifier_model_reloads_total", outcome="refused") == 2
    assert delta(before, after, "comment_classifier_feedback_stored_total", action="created") == 2
    assert delta(before, after, "comment_classifier_feedback_stored_total", action="updated") == 1


def test_reload_and_feedback_series_exist_before_any_event(client):
    samples = scrape(client)
    for outcome in ("switched", "refused"):
        assert ("comment_classifier_model_reloads_total", frozenset({"outcome": outcome}.items())) in samples
    for action in ("created", "updated"):
        assert ("comment_classifier_feedback_stored_total", frozenset({"action": action}.items())) in samples


def test_an_unknown_reload_outcome_is_refused():
    with pytest.raises(ValueError, match="switched"):
        metrics.record_reload("maybe")


def test_openmetrics_when_the_scraper_asks(client):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


def test_hot_reload_switches_and_refusals_show(tmp_path):
    from tests.conftest import train_tiny

    directory = tmp_path / "model"
    train_tiny(directory, version="metrics-1")
    app = create_app({"TESTING": True, "MODEL_DIR": str(directory)})
    client = app.test_client()
    watcher = app.extensions["model_watcher"]
    before = scrape(client)
    assert value(before, "comment_classifier_model_info", replica=metrics.replica_name({}), version="metrics-1") == 1
    train_tiny(directory, version="metrics-2")
    assert watcher.check() == "switched"
    card = json.loads((directory / "card.json").read_text())
    card["artifact"]["sha256"] = "0" * 64
    (directory / "card.json").write_text(json.dumps(card))
    assert watcher.check() == "refused"
    after = scrape(client)
    assert delta(before, after, "comment_classifier_model_reloads_total", outcome="switched") == 1
    assert delta(before, after, "comment_classifier_model_reloads_total", outcome="refused") == 1
    assert value(after, "comment_classifier_model_info", replica=metrics.replica_name({}), version="metrics-2") == 1
    assert value(after, "comment_classifier_model_info", replica=metrics.replica_name({}), version="metrics-1") == 0


def test_a_batch_fills_the_length_buckets_as_one_observation_per_text(client):
    # Lengths on both sides of bucket bounds (10, 25, 100, ...), on them, and past the last one.
    lengths = [1, 9, 10, 11, 25, 26, 99, 100, 101, 250, 999, 1_000, 5_000, 19_999, 20_000, 7, 10]
    texts = [("w" * n) for n in lengths]
    before = scrape(client)
    assert client.post("/v1/classify", json={"texts": texts}).status_code == 200
    after = scrape(client)
    name = "comment_classifier_text_length_characters"
    assert delta(before, after, f"{name}_count", endpoint="api.classify") == len(lengths)
    assert delta(before, after, f"{name}_sum", endpoint="api.classify") == sum(lengths)
    for bound in (10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 20_000, float("inf")):
        le = "+Inf" if bound == float("inf") else f"{bound:.1f}"
        assert delta(before, after, f"{name}_bucket", endpoint="api.classify", le=le) == \
            sum(n <= bound for n in lengths), le


@pytest.mark.parametrize("bind, port, expected", [
    (None, "8123", "8123"), ("127.0.0.1:8001", "8000", "8001"), ("[::1]:9001", None, "9001"),
    ("unix:/run/cc/gunicorn.sock", "8124", "8124"), (None, None, "8000"),
])
def test_the_replica_name_takes_gunicorns_port_from_bind_first(monkeypatch, bind, port, expected):
    import socket

    for name, value in (("BIND", bind), ("PORT", port)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert metrics.replica_name({}) == f"{socket.gethostname()}:{expected}"
    assert metrics.replica_name({"REPLICA": "replica-1"}) == "replica-1"
