"""/docs in a real browser (Debian's chromium) against gunicorn, with every request off this machine refused."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, SCREENSHOTS

pytestmark = pytest.mark.browser

DOCUMENT = json.loads((REPO / "service" / "openapi.json").read_text(encoding="utf-8"))
OPERATIONS = sorted((method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item
                    if method in {"get", "post", "put", "patch", "delete"})


@pytest.fixture(scope="module")
def base_url(module_live_server, tiny_model_dir):
    return module_live_server(tiny_model_dir).url


@pytest.fixture(scope="module")
def page(browser, base_url):
    """The docs page, loaded with requests to anywhere but the service refused and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused, problems = [], []

    def only_this_service(route):
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_service)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    # A Content-Security-Policy violation is reported as a console error.
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(base_url + "/docs")
    page.wait_for_selector(".opblock")
    page.refused, page.problems = refused, problems
    yield page
    context.close()


def test_docs_page_renders_every_operation_offline(page):
    shown = page.eval_on_selector_all(
        ".opblock", """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent.trim(),
            b.querySelector('.opblock-summary-path').dataset.path])""")
    assert sorted(tuple(item) for item in shown) == OPERATIONS
    assert page.inner_text(".info .title").startswith(DOCUMENT["info"]["title"])
    assert page.refused == [], "the page tried to load something from another origin"
    assert page.problems == []
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "docs-page.png"), full_page=False)


def test_an_operation_opens_with_its_body_and_responses(page):
    page.click("#operations-Classify-classify .opblock-summary-control")
    operation = page.locator("#operations-Classify-classify")
    operation.locator(".opblock-body").wait_for()
    codes = operation.locator(".responses-table .response-col_status").all_inner_texts()
    assert {"200", "400", "413", "415", "503"} <= {code.strip() for code in codes}
    assert operation.locator("text=Try it out").count() == 1
    assert page.refused == [] and page.problems == []


def test_try_it_out_classifies_the_documented_example_against_the_service(page):
    operation = page.locator("#operations-Classify-classify")
    if not operation.locator(".opblock-body").is_visible():
        page.click("#operations-Classify-classify .opblock-summary-control")
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    body = json.loads(operation.locator(".live-responses-table .microlight").first.inner_text())
    assert body["label"] in ("editorial", "comment") and "version" in body["model"]
    assert page.refused == [] and page.problems == []
