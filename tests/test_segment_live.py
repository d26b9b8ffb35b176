"""The seed page through the live service under gunicorn, as text and as a small HTML page made from it."""

from __future__ import annotations

import pytest

from tests.conftest import REPO, http_json, seed_page_as_html

pytestmark = [pytest.mark.live, pytest.mark.artifact]

EXPECTED = ["editorial"] * 15 + ["comment", "other"]


@pytest.fixture(scope="module")
def live_shipped(module_live_server):
    return module_live_server(REPO / "model").port


def test_the_seed_page_as_text_is_17_of_17(live_shipped, seed_lines):
    lines = seed_lines
    status, body = http_json(live_shipped, "/v1/segment", {"text": "\n".join(lines)})
    assert status == 200
    assert [block["label"] for block in body["blocks"]] == EXPECTED
    # Every block decided by the page: the comment, which opens the section with no header above
    # it, and its controls below it (docs/model.md, "Decisions on a page").
    assert [block["decision"] for block in body["blocks"]] == EXPECTED
    comment = body["blocks"][15]
    assert comment["page_scores"]["comment"] > 0.5 > comment["scores"]["editorial"]


def test_the_seed_page_as_html_is_17_of_17(live_shipped, seed_lines):
    lines = seed_lines
    status, body = http_json(live_shipped, "/v1/segment", {"html": seed_page_as_html(lines)})
    assert status == 200
    assert [block["text"] for block in body["blocks"]] == lines
    assert [block["label"] for block in body["blocks"]] == EXPECTED
    for block in body["blocks"]:
        assert body["text"][block["start"]:block["end"]] == block["text"]
    # The comment system's markup around the comment makes the page sure of it: every block decided.
    assert [block["decision"] for block in body["blocks"]] == EXPECTED
