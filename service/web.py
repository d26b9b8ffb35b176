"""The moderator's web page: one static page and its assets, all served by this app (no CDN)."""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("web", __name__, static_folder="static", static_url_path="/assets")

# The page builds every result from text nodes; this policy is the second line of defence, so
# that even a slip could not run a script or load anything from another origin.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


@bp.get("/")
def index() -> Response:
    """The moderator's page."""
    return bp.send_static_file("index.html")


def locked_to_this_origin(policy: str):
    """An after-request hook that sends ``policy`` as the Content-Security-Policy, with nosniff
    and no referrer (a blueprint's own hook runs first, so its policy wins)."""

    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return security_headers


bp.after_request(locked_to_this_origin(CONTENT_SECURITY_POLICY))
