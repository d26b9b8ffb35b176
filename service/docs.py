"""The API's contract: the OpenAPI document at ``/openapi.json`` and Swagger UI over it at ``/docs``.

The document is written by hand (``service/openapi.json``) and held in sync with the code by
``tests/test_openapi.py`` and ``tests/test_schemathesis_live.py``. Swagger UI's files come from
the installed ``flask-swagger-ui`` package and are served by this app, so the page works offline.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, send_from_directory

from service.web import locked_to_this_origin

bp = Blueprint("docs", __name__)

OPENAPI_FILE = Path(__file__).with_name("openapi.json")
PAGE_DIR = Path(__file__).with_name("apidocs")
# Swagger UI's dist files (swagger-ui-bundle.js, swagger-ui.css, ...), as the package ships them.
SWAGGER_UI_DIR = Path(str(files("flask_swagger_ui") / "dist"))
OWN_ASSETS = ("swagger-init.js",)

# Swagger UI sets styles from its scripts, so styles may be inline; scripts may not.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


@cache
def openapi_bytes() -> bytes:
    """The document as shipped, byte for byte."""
    return OPENAPI_FILE.read_bytes()


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document of this service."""
    return Response(openapi_bytes(), mimetype="application/json")


@bp.get("/docs")
def docs() -> Response:
    """Swagger UI over ``/openapi.json``."""
    return send_from_directory(PAGE_DIR, "index.html")


@bp.get("/docs/assets/<path:filename>")
def docs_asset(filename: str) -> Response:
    """The page's start-up script, or one of Swagger UI's files."""
    if filename in OWN_ASSETS:
        return send_from_directory(PAGE_DIR, filename)
    return send_from_directory(SWAGGER_UI_DIR, filename)


# Lock the page to this origin: no CDN, no inline script.
bp.after_request(locked_to_this_origin(CONTENT_SECURITY_POLICY))
