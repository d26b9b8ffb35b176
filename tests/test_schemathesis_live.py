"""Schemathesis against the live service under gunicorn: every operation in service/openapi.json.

Each operation gets a bounded number of generated requests (valid and invalid); each answer must
not be a server error, and its status, content type, body and (once the service sends them)
headers must be the ones the document gives.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from functools import cache

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402  (after the importorskip)
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from test_live import REPO, serve, stop  # noqa: E402

pytestmark = pytest.mark.live

SCHEMA = schemathesis.openapi.from_path(REPO / "service" / "openapi.json")
# Explicit examples, then random valid and invalid requests. The coverage phase (every boundary
# of every constraint: 20,000-character texts, 1,000-item batches) takes minutes here.
SCHEMA.config.phases.update(phases=["examples", "fuzzing"])
KEY = "schemathesis-key"
CORAL_SECRET = "empsec_schemathesis"
# Bounded, and the same cases on every run (derandomized): 19 operations, about 200 requests in
# all. SCHEMATHESIS_MAX_EXAMPLES=200 explores further by hand.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live_service(tiny_model_dir, tmp_path_factory):
    """gunicorn with the tiny model, one API key, a Coral signing secret and a feedback file:
    (base URL, whether it sends request ids)."""
    env = {"COMMENT_CLASSIFIER_API_KEYS": json.dumps([KEY]),
           "COMMENT_CLASSIFIER_CORAL_SIGNING_SECRETS": json.dumps([CORAL_SECRET]),
           "COMMENT_CLASSIFIER_FEEDBACK_DB": str(tmp_path_factory.mktemp("feedback") / "feedback.sqlite3")}
    port, process = serve(tiny_model_dir, env)
    base_url = f"http://127.0.0.1:{port}"
    yield base_url, _has_header(base_url, "X-Request-ID")
    stop(process)


def _has_header(base_url: str, name: str) -> bool:
    """Whether the service's answers carry header ``name``."""
    return name in requests.get(f"{base_url}/healthz", timeout=10).headers


@cache
def _route_exists(base_url: str, path: str) -> bool:
    """False when the path is in the document but not yet in the service (built on another branch)."""
    if "{" in path:
        return True
    response = requests.request("OPTIONS", base_url + path, timeout=10)
    return response.status_code != 404


@SCHEMA.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_live_service_conforms_to_the_document(case, live_service):
    base_url, sends_request_ids = live_service
    if not _route_exists(base_url, case.operation.path):
        pytest.skip(f"{case.operation.label} is documented but not served yet; checked once it exists")
    # X-Request-ID is required by the document on every response; checked once the service sends it.
    checks = CHECKS + ([response_headers_conformance] if sends_request_ids else [])
    # The configured key, as a bearer key and as Perspective's, in place of any the case made up:
    # wrong keys would only ever reach the 401/403 answers (tests/test_feedback*.py cover those).
    headers = {"Authorization": f"Bearer {KEY}", "X-Goog-Api-Key": KEY}
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
