"""The moderator's page in a real browser (Debian's chromium) against gunicorn and the shipped model."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, SCREENSHOTS, SEED_PAGE, seed_page_as_html

pytestmark = [pytest.mark.browser, pytest.mark.artifact]

EDITORIAL = "The finance minister announced on Tuesday that the budget deficit would narrow next year."
COMMENT = "lol, as if that will EVER happen... wake up people!!"


@pytest.fixture(scope="module")
def base_url(module_live_server):
    return module_live_server(REPO / "model").url + "/"


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base_url)
    yield page
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def analyse(page, text: str) -> None:
    page.fill("#text", text)
    page.click("#analyse")
    page.wait_for_selector("#analyse-status.status-ok, #analyse-status.status-error")


def test_seed_page_is_segmented_and_explained(page):
    if not SEED_PAGE.exists():
        pytest.skip(f"{SEED_PAGE} not found")
    analyse(page, SEED_PAGE.read_text(encoding="utf-8"))
    labels = page.eval_on_selector_all("#results .block", "blocks => blocks.map(b => b.dataset.label)")
    assert labels == ["editorial"] * 15 + ["comment", "other"]
    assert page.locator("#results mark.term").count() >= 1
    assert page.locator("#results mark.term-pos").first.get_attribute("title")
    assert page.locator("#results .block[data-label=comment] .kind").count() == 1
    assert page.locator("#results .pbar").count() == 17
    # The page's own probability of each text block's label, beside the decision it made.
    shown = page.eval_on_selector_all("#results .block .page-score", "s => s.map(x => Number(x.dataset.pageScore))")
    assert len(shown) == 16 and all(0.0 <= value <= 1.0 for value in shown)
    assert "17 blocks" in page.inner_text("#analyse-status")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(SCREENSHOTS / "web-phone.png"), full_page=True)


def test_ctrl_enter_analyses_one_paragraph(page):
    page.fill("#text", COMMENT)
    page.press("#text", "Control+Enter")
    page.wait_for_selector("#results .block")
    blocks = page.locator("#results .block")
    assert blocks.count() == 1
    assert blocks.first.get_attribute("data-label") == "comment"


def upload_and_download(page, path: Path) -> str:
    page.set_input_files("#file", str(path))
    page.click("#process")
    with page.expect_download() as info:
        page.wait_for_selector("#download:not([hidden])")
        page.click("#download")
    return Path(info.value.path()).read_text(encoding="utf-8")


def served_kind(base_url, text):
    """The kind label the service states for ``text`` (None when it states none)."""
    request = urllib.request.Request(base_url + "v1/classify", data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return (json.load(answer).get("kind") or {}).get("label")


def test_csv_file_is_labelled_in_order(page, tmp_path, base_url):
    rows = [
        {"id": "1", "text": EDITORIAL, "source": "wire"},
        {"id": "2", "text": COMMENT + "\nSecond line, after a comma", "source": 'reader "x"'},
        {"id": "3", "text": "Officials said the new bridge, which cost $40 million, will open in spring.",
         "source": ""},
    ]
    path = tmp_path / "comments.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "source"])
        writer.writeheader()
        writer.writerows(rows)
    out = list(csv.DictReader(io.StringIO(upload_and_download(page, path))))
    assert [row["id"] for row in out] == ["1", "2", "3"]
    assert [(row["text"], row["source"]) for row in out] == [(row["text"], row["source"]) for row in rows]
    assert list(out[0]) == ["id", "text", "source", "label", "p_editorial", "decision", "kind"]
    assert [row["label"] for row in out] == ["editorial", "comment", "editorial"]
    assert float(out[0]["p_editorial"]) > 0.5 > float(out[1]["p_editorial"])
    # The kind column holds the kind the service states, empty where it states none.
    assert out[1]["kind"] == (served_kind(base_url, rows[1]["text"]) or "") and out[0]["kind"] == ""
    assert all(row["decision"] in {"editorial", "comment", "review"} for row in out)
    assert "3 rows labelled" in page.inner_text("#file-status")


def test_jsonl_file_is_labelled_in_order(page, tmp_path, base_url):
    records = [{"id": 7, "text": COMMENT, "meta": {"a": [1, 2]}}, {"id": 8, "text": EDITORIAL}]
    path = tmp_path / "comments.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = [json.loads(line) for line in upload_and_download(page, path).splitlines()]
    assert [r["id"] for r in out] == [7, 8] and out[0]["meta"] == {"a": [1, 2]}
    assert [r["label"] for r in out] == ["comment", "editorial"]
    assert out[0]["kind"] == served_kind(base_url, COMMENT) and out[1]["kind"] is None
    assert 0 <= out[0]["p_editorial"] < 0.5 < out[1]["p_editorial"] <= 1


def test_row_without_text_is_named(page, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(f'id,text\n1,"{EDITORIAL}"\n2,\n', encoding="utf-8")
    page.set_input_files("#file", str(path))
    page.click("#process")
    page.wait_for_selector("#file-status.status-error")
    assert "line 3" in page.inner_text("#file-status")
    assert page.locator("#download").is_hidden()


def test_pasted_html_never_runs(page):
    payload = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    analyse(page, payload)
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#results img, #results script").count() == 0
    assert payload in page.inner_text("#results")


def test_model_card_shows_version(page, base_url):
    version = page.evaluate("fetch('v1/model').then(r => r.json()).then(c => c.version)")
    page.wait_for_selector(f"#card[data-version='{version}']")
    card = page.inner_text("#card")
    assert version in card and "macro-F1" in card and "Licence" in card


def test_keyboard_reaches_textarea_and_button(page):
    focused = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id"))
        if "analyse" in focused:
            break
    assert "text" in focused and "analyse" in focused
    assert focused.index("text") < focused.index("analyse")
    # Set the text without moving the focus, which stays on the Analyse button.
    page.evaluate("text => { document.getElementById('text').value = text; }", EDITORIAL)
    page.keyboard.press("Enter")
    page.wait_for_selector("#results .block[data-label=editorial]")


def test_pasted_html_is_segmented(page):
    if not SEED_PAGE.exists():
        pytest.skip(f"{SEED_PAGE} not found")
    lines = [line.strip() for line in SEED_PAGE.read_text(encoding="utf-8").splitlines() if line.strip()]
    analyse(page, seed_page_as_html(lines))
    labels = page.eval_on_selector_all("#results .block", "blocks => blocks.map(b => b.dataset.label)")
    assert labels == ["editorial"] * 15 + ["comment", "other"]
    assert page.inner_text("#analyse-status").startswith("HTML page, 17 blocks")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-html.png"), full_page=True)


def test_text_that_looks_like_html_can_be_sent_as_plain_text(page):
    page.check("input[name=input-kind][value=text]")
    analyse(page, "<p>The council met on Monday and voted for the plan, officials said.</p>")
    assert page.locator("#results .block").count() == 1
    assert not page.inner_text("#analyse-status").startswith("HTML page")


def test_a_block_relabelled_by_its_context_says_why(page):
    if not SEED_PAGE.exists():
        pytest.skip(f"{SEED_PAGE} not found")
    page.check("input[name=input-kind][value=text]")
    analyse(page, SEED_PAGE.read_text(encoding="utf-8"))
    reasons = page.locator("#results .block .context")
    assert reasons.count() >= 1
    block = page.locator("#results .block:has(.context)").first
    assert block.get_attribute("data-label") == "editorial"
    assert reasons.first.inner_text().startswith("Labelled editorial by its place on the page: inside the article")
