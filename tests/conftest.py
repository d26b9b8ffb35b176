"""Fixtures shared by the whole suite.

Tests import shared code one way, as the package it is in: ``from tests.conftest import
train_tiny``. The markers (pyproject.toml) split the suite: ``make test`` leaves out ``live``
(starts gunicorn, nginx or PostgreSQL), ``browser`` (drives headless chromium) and ``fuzz``
(schemathesis, hypothesis-heavy); ``make test-all`` runs everything. A test that starts a server
through the fixtures below must carry one of those marks, or it fails and says so.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench import servers

REPO = Path(__file__).resolve().parent.parent
# The example page beside the repository (../shared/examples), article then reader comments.
SEED_PAGE = REPO.parent / "shared" / "examples" / "scraped-page-article-and-comment.txt"
# Screenshots the browser tests leave for a person to look at.
SCREENSHOTS = REPO / "test-output"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SERVER_MARKS = ("live", "browser")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of public corpora; tests that need it skip when it is absent."""
    path = Path(os.environ.get("COMMENT_CLASSIFIER_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"data folder {path} not found (set COMMENT_CLASSIFIER_DATA)")
    return path


EDITORIAL_EXAMPLES = [
    "The finance minister announced on Tuesday that the budget deficit would narrow next year.",
    "Officials said the new bridge, which cost $40 million, will open to traffic in the spring.",
    "The company reported a 12 per cent rise in quarterly profit, beating analysts' forecasts.",
    "Police said three people were taken to hospital after the collision on the highway.",
    "The council voted 7-2 to approve the housing plan, according to the meeting minutes.",
    "Researchers at the university published the findings in the journal Nature last week.",
    "The prime minister told reporters that talks with the unions would resume on Monday.",
    "Exports of wheat fell sharply in the third quarter, the statistics bureau reported.",
    "The museum will reopen in June after a two-year renovation, its director said.",
    "Shares in the airline rose 4 per cent in early trading after the merger was confirmed.",
    "The court adjourned the hearing until next month to allow both sides to file evidence.",
    "Rescue teams reached the village on Thursday, two days after the earthquake struck.",
]
COMMENT_EXAMPLES = [
    "lol this is the dumbest thing i've read all week",
    "Totally agree with you!! These politicians never learn.",
    "Who cares? Nobody asked for this anyway...",
    "I think you're wrong, but thanks for sharing your opinion I guess",
    "Yeah right, like that's ever going to happen. Wake up people!",
    "Great article, but the comments here are a joke lol",
    "Oh sure, because raising taxes always works so well, doesn't it?",
    "My neighbour said the same thing and he's an idiot too",
    "Can't believe anyone still falls for this nonsense. Sad.",
    "You clearly didn't read the article. Try again buddy.",
    "Honestly i just want my flight refunded, is that so hard???",
    "Another day, another scandal. What a time to be alive.",
]
TINY_PARAMS = {
    "features__words__min_df": 1,
    "features__chars__min_df": 1,
    "features__style__min_df": 1,
    "clf__C": 10.0,
}


def train_tiny(directory: Path, version: str = "tiny-1") -> dict:
    """Fit the real pipeline on the examples above and save it with a card to ``directory``."""
    import sklearn

    from model.artifact import save
    from model.features import build_pipeline

    texts = EDITORIAL_EXAMPLES + COMMENT_EXAMPLES
    labels = ["editorial"] * len(EDITORIAL_EXAMPLES) + ["comment"] * len(COMMENT_EXAMPLES)
    pipeline = build_pipeline(TINY_PARAMS).fit(texts, labels)
    card = {"version": version, "labels": ["editorial", "comment"],
            "versions": {"scikit-learn": sklearn.__version__}}
    return save(pipeline, card, directory)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A folder holding a tiny real model trained on the examples above."""
    directory = tmp_path_factory.mktemp("tiny-model")
    train_tiny(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model_dir):
    """The tiny model, loaded and verified."""
    from model import Classifier

    return Classifier.load(tiny_model_dir)


@pytest.fixture()
def app(tiny_classifier):
    """A fresh app serving the tiny model."""
    from service import create_app

    return create_app({"TESTING": True, "CLASSIFIER": tiny_classifier})


@pytest.fixture()
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server from Debian's packages in a temporary folder on a free port, for the
    session (deploy/replicas/postgres.py); skips with the reason where none can be started."""
    import shutil
    import tempfile

    from deploy.replicas.postgres import PostgresServer, missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    # Not under pytest's tmp_path: its folders are private to root, and the server runs as 'postgres'.
    folder = tempfile.mkdtemp(prefix="comment-classifier-pg-")
    server = PostgresServer(folder, servers.free_port(), durable=False).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def postgres_url(postgres_server, request):
    """The URL of a fresh, empty database on the session's server."""
    import re

    require_server_mark(request.node)
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40] + f"_{os.getpid()}_{id(request) % 10**6}"
    return postgres_server.create_database(name)


# --- live servers ------------------------------------------------------------------------------


def require_server_mark(node) -> None:
    """Fail a test (or module) that starts a server without the mark that keeps it out of ``make test``."""
    if not any(node.get_closest_marker(mark) for mark in SERVER_MARKS):
        pytest.fail(f"{node.nodeid} starts a server: mark it live (or browser), so that the fast suite "
                    "leaves it out", pytrace=False)


class LiveServers:
    """Starts the service under gunicorn (bench/servers.py, as production runs it) and stops what it started."""

    _names = itertools.count(1)

    def __init__(self, node, log_dir: Path):
        self.node, self.log_dir, self.started = node, log_dir, []

    def __call__(self, model_dir: Path, env: dict | None = None, wait: bool = True) -> servers.Server:
        """gunicorn with two workers on ``model_dir`` on a free 127.0.0.1 port, plus ``env``; ready
        unless ``wait`` is false. Its log: ``servers.output(server)``."""
        require_server_mark(self.node)
        env, name = {"WORKERS": "2", **(env or {})}, f"gunicorn-{next(self._names)}"
        if wait:
            try:
                server = servers.serve(model_dir, self.log_dir, env, name, timeout=60)
            except RuntimeError as error:  # stopped already; the error ends with its log
                pytest.fail(f"gunicorn did not start: {error}", pytrace=False)
        else:
            server = servers.start_service(model_dir, self.log_dir, env, name)
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        while self.started:
            servers.stop(self.started.pop())


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory) -> Path:
    """The folder of the live servers' logs (kept with pytest's temporary folders)."""
    return tmp_path_factory.mktemp("gunicorn-logs")


@pytest.fixture()
def live_server(request, server_logs):
    """``live_server(model_dir, env=None)``: a ready gunicorn, stopped when the test ends."""
    started = LiveServers(request.node, server_logs)
    yield started
    started.stop_all()


@pytest.fixture(scope="module")
def module_live_server(request, server_logs):
    """As ``live_server``, for module-scoped fixtures: the servers stop when the module's tests end."""
    started = LiveServers(request.node, server_logs)
    yield started
    started.stop_all()


def http_json(port: int, path: str, body=None, content_type: str = "application/json", method: str | None = None,
              headers: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    """One request to 127.0.0.1:``port``: (status, the JSON answer). ``body``: bytes, or JSON to encode."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    sent = {**({"Content-Type": content_type} if data is not None else {}), **(headers or {})}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=sent, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def stored_feedback(port: int, key: str, limit: int = 1000) -> list[dict]:
    """Every verdict stored on the live server, oldest first, read ``limit`` at a time with ``key``."""
    items, after = [], 0
    while after is not None:
        status, page = http_json(port, f"/v1/feedback?after={after}&limit={limit}",
                                 headers={"Authorization": f"Bearer {key}"})
        assert status == 200, page
        items += page["items"]
        after = page["next_after"]
    return items


@pytest.fixture()
def seed_page() -> str:
    """The example page's text; the test skips when it is not beside the repository."""
    if not SEED_PAGE.is_file():
        pytest.skip(f"the example page {SEED_PAGE.name} is not beside the repository")
    return SEED_PAGE.read_text(encoding="utf-8")


@pytest.fixture()
def seed_lines(seed_page) -> list[str]:
    """The example page's non-blank lines, stripped: 15 of the article, a comment, a comment's buttons."""
    return [line.strip() for line in seed_page.splitlines() if line.strip()]


def seed_page_as_html(lines: list[str]) -> str:
    """The seed page as a news site and its comment system would mark it up."""
    article = "".join(f"<h2>{html.escape(line)}</h2>" if len(line.split()) <= 6 else f"<p>{html.escape(line)}</p>"
                      for line in lines[:15])
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Kim shows Shoigu his weapons</title>"
        "<script>window.dataLayer = [];</script></head><body>"
        f"<main><article class='story'><div class='story-body'>{article}</div></article></main>"
        "<section id='comments' class='comments'><div class='comment'>"
        f"<div class='comment-text'><p>{html.escape(lines[15])}</p></div>"
        f"<div class='comment-actions'>{html.escape(lines[16])}</div></div></section></body></html>"
    )



# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Headless chromium (Debian's, tests/install-browser.sh) through Playwright, for the session."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (tests/install-browser.sh installs it; make test-all runs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
