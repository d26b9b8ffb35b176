"""The moderator's page: served by the app itself, with every asset local (works offline)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from service import create_app

ASSETS = {
    "/assets/app.js": "javascript",
    "/assets/dom.js": "javascript",
    "/assets/style.css": "text/css",
    "/assets/queue.js": "javascript",
    "/assets/queue.css": "text/css",
}


@pytest.fixture
def client():
    return create_app({"LOAD_MODEL": False, "TESTING": True}).test_client()


class References(HTMLParser):
    """Collects src/href references and notes inline scripts and handlers."""

    def __init__(self):
        super().__init__()
        self.references, self.inline_scripts, self.handlers = [], 0, []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                self.references.append(attrs[name])
        self.handlers += [name for name in attrs if name.startswith("on")]
        self._in_script = tag == "script" and "src" not in attrs

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        self._in_script = False


def test_page_is_served(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<meta name="viewport"' in page
    assert 'id="text"' in page and 'for="text"' in page
    assert ">Analyse</button>" in page
    assert 'type="file"' in page and 'aria-live="polite"' in page


@pytest.mark.parametrize("path, kind", ASSETS.items())
def test_assets_are_served(client, path, kind):
    response = client.get(path)
    assert response.status_code == 200
    assert kind in response.content_type
    assert len(response.get_data()) > 500


def test_page_references_only_its_own_assets(client):
    parser = References()
    parser.feed(client.get("/").get_data(as_text=True))
    assert parser.inline_scripts == 0 and parser.handlers == []
    local = [ref for ref in parser.references if not ref.startswith("#")]
    assert sorted(local) == ["assets/app.js", "assets/dom.js", "assets/queue.css", "assets/queue.js", "assets/style.css"]
    for ref in local:
        assert client.get("/" + ref).status_code == 200


@pytest.mark.parametrize("path", ["/", *ASSETS])
def test_no_external_references(client, path):
    body = client.get(path).get_data(as_text=True)
    assert not re.search(r"https?://", body), f"{path} refers to another origin"
    assert "@import" not in body and "//cdn" not in body.lower()


def test_page_is_locked_to_its_origin(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert client.get("/assets/app.js").headers["X-Content-Type-Options"] == "nosniff"


def test_api_is_unaffected(client):
    response = client.get("/assets/missing.js")
    assert response.status_code == 404
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_script_never_writes_html(client):
    """Results are built from text nodes: the script has no innerHTML, outerHTML or eval."""
    script = client.get("/assets/app.js").get_data(as_text=True)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script
