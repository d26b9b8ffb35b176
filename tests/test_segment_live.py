"""The seed page through the live service under gunicorn, as text and as a small HTML page made from it."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from tests.test_live import request, serve, stop

pytestmark = [pytest.mark.live, pytest.mark.artifact]

REPO = Path(__file__).resolve().parent.parent
SEED_PAGE = REPO.parent / "shared" / "examples" / "scraped-page-article-and-comment.txt"
EXPECTED = ["editorial"] * 15 + ["comment", "other"]


@pytest.fixture(scope="module")
def live_shipped():
    port, process = serve(REPO / "model")
    yield port
    stop(process)


def seed_lines() -> list[str]:
    if not SEED_PAGE.is_file():
        pytest.skip("the seed page is not beside the repository")
    return [line.strip() for line in SEED_PAGE.read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_as_html(lines: list[str]) -> str:
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


def test_the_seed_page_as_text_is_17_of_17(live_shipped):
    lines = seed_lines()
    status, body = request(live_shipped, "/v1/segment", {"text": "\n".join(lines)})
    assert status == 200
    assert [block["label"] for block in body["blocks"]] == EXPECTED


def test_the_seed_page_as_html_is_17_of_17(live_shipped):
    lines = seed_lines()
    status, body = request(live_shipped, "/v1/segment", {"html": seed_as_html(lines)})
    assert status == 200
    assert [block["text"] for block in body["blocks"]] == lines
    assert [block["label"] for block in body["blocks"]] == EXPECTED
    for block in body["blocks"]:
        assert body["text"][block["start"]:block["end"]] == block["text"]
