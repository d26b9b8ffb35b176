"""Corrections from the moderator's page, in a real browser (Debian's chromium) against gunicorn."""

from __future__ import annotations

import re

import pytest

from tests.conftest import stored_feedback

pytestmark = pytest.mark.browser

KEY = "desk-key-123"
PAGE = "The council voted on Monday to approve the new housing plan, officials said.\nlol as if that will ever get built"


@pytest.fixture(scope="module")
def server(module_live_server, tiny_model_dir, tmp_path_factory):
    db = tmp_path_factory.mktemp("desk") / "feedback.sqlite3"
    return module_live_server(tiny_model_dir, {"COMMENT_CLASSIFIER_API_KEYS": KEY,
                                               "COMMENT_CLASSIFIER_FEEDBACK_DB": str(db)}).port


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)  # a busy 2-core CI machine
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"http://127.0.0.1:{server}/")
    yield page
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def stored(port) -> list[dict]:
    return stored_feedback(port, KEY)


def analyse(page):
    page.fill("#text", PAGE)
    page.click("#analyse")
    page.wait_for_selector("#analyse-status.status-ok")


def test_a_correction_without_a_key_says_so_and_stores_nothing(page, server):
    before = len(stored(server))
    analyse(page)
    page.click("#results .block >> nth=0 >> .feedback button[data-label=comment]")
    status = page.locator("#results .block >> nth=0 >> .feedback-status")
    status.wait_for(state="visible")
    # Playwright's expect polls from outside the page: a string for wait_for_function would be
    # evaluated inside it, which the page's Content-Security-Policy (no 'unsafe-eval') refuses
    # whenever the first check comes too early.
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(status).to_have_text(re.compile(r"^Not saved"))
    assert "missing_api_key" in status.inner_text()
    assert page.locator("#moderator-settings").get_attribute("open") is not None
    assert len(stored(server)) == before


def test_a_moderator_corrects_a_block_and_the_verdict_is_stored(page, server):
    page.click("#moderator-settings summary")
    page.fill("#api-key", KEY)
    page.fill("#moderator", "ana")
    analyse(page)
    blocks = page.locator("#results .block")
    assert blocks.count() == 2
    assert page.eval_on_selector("#results .block", "b => b.dataset.label") in ("editorial", "comment")
    blocks.nth(1).locator(".feedback button[data-label=editorial]").click()
    blocks.nth(1).locator(".feedback[data-saved=editorial]").wait_for()
    assert "Saved as editorial" in blocks.nth(1).locator(".feedback-status").inner_text()
    assert blocks.nth(1).locator("button[data-label=editorial]").get_attribute("aria-pressed") == "true"
    row = stored(server)[-1]
    assert row["text"] == "lol as if that will ever get built"
    assert (row["label"], row["moderator"], row["model_version"]) == ("editorial", "ana", "tiny-1")
    assert set(row["scores"]) == {"editorial", "comment"}
    # the key stays in this tab's session storage, not in a cookie or the address
    assert page.context.cookies() == [] and KEY not in page.url
    assert page.evaluate("sessionStorage.getItem('comment-classifier.api-key')") == KEY
