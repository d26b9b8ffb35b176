"""service/openapi.json is valid OpenAPI 3 and says what the code does: routes, error codes, examples."""

from __future__ import annotations

import ast
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from service import docs, errors

REPO = Path(__file__).resolve().parent.parent
SERVICE = REPO / "service"
DOCUMENT = json.loads(docs.OPENAPI_FILE.read_text(encoding="utf-8"))
METHODS = {"get", "put", "post", "delete", "patch"}

# Routes that only ever answer an error (in Google's body): wrong methods on the Perspective
# methods, and unknown Perspective methods. The document says so in the operations' descriptions.
ERROR_ONLY = {"perspective._wrong_method": 405, "perspective._unknown_method": 404}
# Documented from the spec, built on other branches: allowed to be missing from the app (and their
# codes from the code) until they are merged; from then on they are checked like the rest.
PLANNED_ROUTES = set()
PLANNED_CODES = set()


def resolve(node):
    """``node`` with every ``$ref`` into this document replaced by what it points at."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = DOCUMENT
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target)
        return {key: resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item) for item in node]
    return node


def operations():
    """``(method, path, operation)`` for every documented operation, references resolved."""
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, resolve(operation)


def app_routes(app):
    """``{(method, OpenAPI path): endpoint}`` for every rule in the app's URL map."""
    routes = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes[(method.lower(), path)] = rule.endpoint
    return routes


def test_document_is_valid_openapi_3():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.")


def test_every_route_is_documented_and_every_documented_route_exists(app):
    routes = app_routes(app)
    served = {key for key, endpoint in routes.items() if endpoint not in ERROR_ONLY}
    documented = {(method, path) for method, path, _ in operations()}
    assert sorted(served - documented) == [], "routes the document does not describe"
    assert sorted(documented - served - PLANNED_ROUTES) == [], "documented routes the app does not serve"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_undocumented_perspective_routes_only_answer_errors(client, method):
    for path, status in [("/v1alpha1/comments:analyze", 405), ("/v1alpha1/comments:nothing", 404)]:
        response = client.open(path, method=method)
        assert response.status_code == status
        assert response.json["error"]["code"] == status


def _class_statuses() -> dict[str, tuple[int, str]]:
    """``{class name: (status, code)}`` for every APIError subclass in service/*.py."""
    found = {"APIError": (errors.APIError.status, errors.APIError.code)}
    for path in sorted(SERVICE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                values = {target.id: statement.value.value for statement in node.body
                          if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
                          for target in statement.targets if isinstance(target, ast.Name)}
                if "status" in values and "code" in values:
                    found[node.name] = (values["status"], values["code"])
    return found


def emitted_codes() -> set[tuple[int, str]]:
    """``(status, code)`` for every error the service's code can answer with its own body."""
    classes = _class_statuses()
    emitted = set(classes.values()) - {(400, "bad_request")}  # APIError's own default, never raised bare
    emitted |= set(errors._HTTP_CODES.items())
    for path in sorted(SERVICE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            constants = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            if name in classes and ("code" in constants or "status" in constants):
                # APIError(message, code=..., status=...): either one overrides the class's own.
                emitted.add((constants.get("status", classes[name][0]), constants.get("code", classes[name][1])))
    return emitted


def literal_error_codes() -> set[str]:
    """Codes in error bodies built as literals (``{"error": {"code": "overloaded", ...}}``) outside Flask."""
    codes = set()
    for path in sorted(SERVICE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            keys = [getattr(key, "value", None) for key in node.keys] if isinstance(node, ast.Dict) else []
            if "error" in keys:
                inner = node.values[keys.index("error")]
                if isinstance(inner, ast.Dict):
                    codes |= {v.value for k, v in zip(inner.keys, inner.values)
                              if getattr(k, "value", None) == "code" and isinstance(v, ast.Constant)
                              and isinstance(v.value, str)}
    return codes


def documented_codes() -> set[tuple[int, str]]:
    """``(status, code)`` for every error code the document gives, in operations or in components."""
    documented = set()

    def collect(status: int, schema: dict) -> None:
        for alternative in schema.get("oneOf", [schema]):
            code = alternative.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
            documented.update((status, value) for value in code.get("enum", []) if isinstance(value, str))

    for _method, _path, operation in operations():
        for status, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                collect(int(status), media["schema"])
    for name, schema in DOCUMENT["components"]["schemas"].items():
        if match := re.fullmatch(r"Error(\d{3})\w*", name):
            collect(int(match.group(1)), resolve(schema))
    return documented


def test_every_error_code_the_code_can_answer_is_documented_with_its_status():
    emitted, documented = emitted_codes(), documented_codes()
    assert {(400, "invalid_review_band"), (503, "coral_not_configured"), (401, "invalid_signature"),
            (500, "internal_error"), (413, "body_too_large")} <= emitted  # the scan finds what it should
    assert sorted(emitted - documented) == []
    assert sorted(literal_error_codes() - {code for _status, code in documented}) == []


def test_every_documented_error_code_is_one_the_code_can_answer():
    # Some codes travel through variables (``too_many`` in validation.py), so here a code counts
    # as answered when it is a string literal in service/*.py.
    literals = {node.value for path in SERVICE.rglob("*.py")
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    documented = {code for _status, code in documented_codes()}
    assert sorted(documented - literals - PLANNED_CODES) == []


def test_every_documented_error_code_is_in_the_readme():
    readme = "\n".join(path.read_text(encoding="utf-8") for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])
    assert sorted(code for _status, code in documented_codes() if f"`{code}`" not in readme) == []


def test_every_perspective_error_type_is_documented():
    source = (SERVICE / "integrations" / "perspective.py").read_text(encoding="utf-8")
    calls = [node for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PerspectiveError"]
    raised = {"INVALID_REQUEST"} | {call.args[1].value for call in calls if len(call.args) >= 2
                                    and isinstance(call.args[1], ast.Constant) and call.args[1].value is not None}
    documented = set(DOCUMENT["components"]["schemas"]["GoogleErrorDetail"]["properties"]["errorType"]["enum"])
    assert "LANGUAGE_DETECTION_FAILED" in raised
    assert raised == documented


def _examples(node, schema=None):
    """``(schema, example)`` for every example in the document beside the schema it illustrates."""
    if isinstance(node, dict):
        if "example" in node and isinstance(node.get("schema", node), dict):
            yield node.get("schema", node), node["example"]
        for key, value in node.items():
            if key != "example":
                yield from _examples(value)
    elif isinstance(node, list):
        for item in node:
            yield from _examples(item)


def test_every_example_matches_its_schema():
    checked = 0
    for schema, example in _examples(resolve(DOCUMENT["paths"])):
        OAS30Validator(schema).validate(example)
        checked += 1
    assert checked >= 10


def test_every_response_documents_the_request_id_header():
    missing = [f"{method.upper()} {path} {status}" for method, path, operation in operations()
               for status, response in operation["responses"].items()
               if not response.get("headers", {}).get("X-Request-ID", {}).get("required")]
    assert missing == []


def test_openapi_json_is_served_and_equals_the_file(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.data == docs.OPENAPI_FILE.read_bytes()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("src", "href", "data-url")]


def test_docs_page_loads_only_files_this_app_serves(client):
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    parser = _Links()
    parser.feed(response.get_data(as_text=True))
    assert {"docs/assets/swagger-ui-bundle.js", "docs/assets/swagger-init.js", "openapi.json"} <= set(parser.links)
    for link in parser.links:
        assert "//" not in link, f"{link} is not on this origin"
        assert client.get("/" + link).status_code == 200, link


def test_docs_assets_come_from_the_installed_package(client):
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.data == (docs.SWAGGER_UI_DIR / "swagger-ui-bundle.js").read_bytes()
    assert client.get("/docs/assets/../docs.py").status_code == 404
    assert client.get("/docs/assets/nothing.js").json["error"]["code"] == "not_found"


def test_documented_limits_are_the_service_defaults():
    from service import DEFAULTS, feedback
    from service.integrations.perspective import MAX_COMMENT_BYTES

    schemas = DOCUMENT["components"]["schemas"]
    batch, blocks = schemas["ClassifyRequest"]["oneOf"][1], schemas["SegmentRequest"]["oneOf"][1]
    assert schemas["Text"]["maxLength"] == DEFAULTS["MAX_TEXT_CHARS"]
    assert batch["properties"]["texts"]["maxItems"] == DEFAULTS["MAX_TEXTS"]
    assert blocks["properties"]["blocks"]["maxItems"] == DEFAULTS["MAX_TEXTS"]
    assert schemas["SegmentRequest"]["oneOf"][0]["properties"]["text"]["maxLength"] == DEFAULTS["MAX_PAGE_CHARS"]
    assert f"{DEFAULTS['MAX_CONTENT_LENGTH']:,}" in DOCUMENT["info"]["description"]
    assert f"{MAX_COMMENT_BYTES:,} bytes" in schemas["Comment"]["properties"]["text"]["description"]
    fields = schemas["FeedbackRequest"]["properties"]
    assert {key: fields[key]["maxLength"] for key in feedback._STRINGS} == feedback._STRINGS
    assert set(fields) == feedback._FIELDS
    limit = next(p for p in resolve(DOCUMENT["paths"]["/v1/feedback"]["get"]["parameters"]) if p["name"] == "limit")
    assert limit["schema"]["maximum"] == feedback.MAX_PAGE


def test_the_committed_document_is_the_one_the_models_generate():
    from service import openapi

    assert docs.OPENAPI_FILE == openapi.DOCUMENT_FILE
    assert openapi.render(openapi.build()) == docs.OPENAPI_FILE.read_text(encoding="utf-8"), (
        "service/openapi.json is out of date: run python -m service.openapi")


def test_the_bodies_schemas_come_from_the_models():
    from service import openapi, schemas

    generated = openapi.body_schemas()
    assert set(generated) == {*schemas.DOCUMENTED, *schemas.NAMED_TYPES, *schemas.NAMED_MODELS}
    for name, schema in generated.items():
        assert DOCUMENT["components"]["schemas"][name] == schema
    template = json.loads(openapi.TEMPLATE_FILE.read_text(encoding="utf-8"))
    assert not set(generated) & set(template["components"]["schemas"]), "a body's schema written in the template too"


def test_openapi_check_says_when_the_document_is_stale(tmp_path, capsys):
    from service import openapi

    output = tmp_path / "openapi.json"
    assert openapi.main(["--check", "--output", str(output)]) == 1
    assert openapi.main(["--output", str(output)]) == 0
    assert output.read_text(encoding="utf-8") == docs.OPENAPI_FILE.read_text(encoding="utf-8")
    assert openapi.main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text(encoding="utf-8").replace('"maxLength": 20000', '"maxLength": 20001'))
    assert openapi.main(["--check", "--output", str(output)]) == 1
    assert "python -m service.openapi" in capsys.readouterr().err
