"""Schemathesis against the live service under gunicorn: every operation in service/openapi.json.

Each operation gets a bounded number of generated requests (valid and invalid); each answer must
not be a server error, and its status, content type, body and (once the service sends them)
headers must be the ones the document gives. The service runs with everything the document
describes turned on (keys, Coral's signing secret, feedback, the review log), so that every
operation can answer its success as well as its errors.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import COMMENT_EXAMPLES, REPO

pytestmark = [pytest.mark.live, pytest.mark.fuzz]

SCHEMA = schemathesis.openapi.from_path(REPO / "service" / "openapi.json")
# Explicit examples, then random valid and invalid requests. The coverage phase (every boundary
# of every constraint: 20,000-character texts, 1,000-item batches) takes minutes here.
SCHEMA.config.phases.update(phases=["examples", "fuzzing"])
KEY = "schemathesis-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
CORAL_SECRET = "empsec_schemathesis"
# Bounded, and the same cases on every run (derandomized): 20 operations, about 200 requests in
# all. SCHEMATHESIS_MAX_EXAMPLES=200 explores further by hand.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
REVIEW_LOG_ENTRY = "/v1/review-log/{entry_id}"
# A band every score falls in: each text classified with it goes to the review log.
ALL_REVIEW = [0.0, 1.0]


@pytest.fixture(scope="module")
def live_service(module_live_server, tiny_model_dir, tmp_path_factory):
    """gunicorn with the tiny model, one API key, a Coral signing secret, a feedback file and the
    review log on, holding a few texts: (base URL, whether it sends request ids)."""
    folder = tmp_path_factory.mktemp("schemathesis")
    env = {"COMMENT_CLASSIFIER_API_KEYS": json.dumps([KEY]),
           "COMMENT_CLASSIFIER_CORAL_SIGNING_SECRETS": json.dumps([CORAL_SECRET]),
           "COMMENT_CLASSIFIER_FEEDBACK_DB": str(folder / "feedback.sqlite3"),
           "COMMENT_CLASSIFIER_REVIEW_LOG_SIZE": "1000",
           "COMMENT_CLASSIFIER_REVIEW_LOG_DB": str(folder / "review-log.sqlite3")}
    base_url = module_live_server(tiny_model_dir, env).url
    for text in COMMENT_EXAMPLES[:5]:
        seed_review_log(base_url, text)
    return base_url, _has_header(base_url, "X-Request-ID")


def seed_review_log(base_url: str, text: str) -> int:
    """Send ``text`` to review (a band every score falls in) and return its entry's id in the log."""
    response = requests.post(f"{base_url}/v1/classify", json={"text": text, "review_band": ALL_REVIEW}, timeout=10)
    assert response.status_code == 200 and response.json()["decision"] == "review", response.text
    items = requests.get(f"{base_url}/v1/review-log?limit=1000", headers=AUTH, timeout=10).json()["items"]
    return max(item["id"] for item in items if item["text"] == text)


def _has_header(base_url: str, name: str) -> bool:
    """Whether the service's answers carry header ``name``."""
    return name in requests.get(f"{base_url}/healthz", timeout=10).headers


@SCHEMA.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_live_service_conforms_to_the_document(case, live_service):
    base_url, sends_request_ids = live_service
    # X-Request-ID is required by the document on every response; checked once the service sends it.
    checks = CHECKS + ([response_headers_conformance] if sends_request_ids else [])
    # The configured key, as a bearer key and as Perspective's, in place of any the case made up:
    # wrong keys would only ever reach the 401/403 answers (tests/test_feedback*.py cover those).
    headers = {**AUTH, "X-Goog-Api-Key": KEY}
    if case.headers:
        for name in headers:
            case.headers.pop(name, None)
    if case.operation.path == "/v1/coral/moderate" and isinstance(case.body, dict):
        # Sign the body as Talk does, so that requests get past the signature to the classifier.
        kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
        body = json.dumps(kwargs.pop("json")).encode()
        signature = hmac.new(CORAL_SECRET.encode(), body, hashlib.sha256).hexdigest()
        kwargs["headers"]["X-Coral-Signature"] = f"sha256={signature}"
        response = requests.request(**kwargs, data=body, timeout=10)
        case.validate_response(response, checks=checks)
        return
    case.call_and_validate(base_url=base_url, headers=headers, checks=checks, timeout=10)
    entry_id = (case.path_parameters or {}).get("entry_id")
    if case.operation.path == REVIEW_LOG_ENTRY and isinstance(entry_id, int) and entry_id >= 0:
        # A made-up id is (almost always) not in the log: 404. The same case on an entry that is
        # there takes it out: 204, and it is gone from the log.
        case.path_parameters["entry_id"] = seed_review_log(base_url, f"to be resolved: {entry_id}, lol")
        kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
        kwargs["headers"].update(AUTH)  # a case made to go without a key is sent with it here
        response = requests.request(**kwargs, timeout=10)
        assert response.status_code == 204, response.text
        case.validate_response(response, checks=checks)
        items = requests.get(f"{base_url}/v1/review-log?limit=1000", headers=AUTH, timeout=10).json()["items"]
        assert case.path_parameters["entry_id"] not in {item["id"] for item in items}
