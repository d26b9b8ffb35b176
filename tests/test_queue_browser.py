"""The desk's review queue in a real browser (Debian's chromium, through Playwright) against gunicorn:
the keyboard-only path through a page with blocks to review and a 200-row file, every verdict found in
/v1/feedback, the service's review log, a server without keys, and a 390 px phone."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES, REPO, SCREENSHOTS, SEED_PAGE, http_json, stored_feedback

pytestmark = [pytest.mark.browser, pytest.mark.artifact]

KEY = "queue-key-1"
LABELS = {"e": ("editorial", None), "c": ("comment", None), "s": ("comment", "sarcastic"),
          "o": ("comment", "opinion"), "p": ("other", None)}


@pytest.fixture(scope="module")
def server(module_live_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("queue")
    return module_live_server(REPO / "model", {
        "COMMENT_CLASSIFIER_API_KEYS": KEY, "COMMENT_CLASSIFIER_FEEDBACK_DB": str(folder / "feedback.sqlite3"),
        "COMMENT_CLASSIFIER_REVIEW_LOG_SIZE": "100", "COMMENT_CLASSIFIER_REVIEW_LOG_DB": str(folder / "review.sqlite3"),
    }).port


def api(port, method, path, body=None, key=KEY):
    status, answer = http_json(port, path, body, method=method, headers={"Authorization": f"Bearer {key}"} if key else {})
    assert status < 400, answer
    return answer


def stored(port) -> list[dict]:
    return stored_feedback(port, KEY)


def open_page(browser, port, width=1280, phone=False):
    context = browser.new_context(viewport={"width": width, "height": 844 if phone else 900}, is_mobile=phone,
                                  has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(30_000)  # a busy 2-core machine
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"http://127.0.0.1:{port}/")
    return page


def tab_to(page, selector: str, limit: int = 80, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab) until ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    pytest.fail(f"Tab never reached {selector}")


def focused_card(page) -> str | None:
    return page.evaluate("(() => { const c = document.activeElement && document.activeElement.closest('.qcard');"
                         " return c ? c.dataset.key : null; })()")


def resolve_with(page, key: str) -> None:
    """Press ``key`` on the focused card and wait until it has left the queue."""
    card = focused_card(page)
    assert card, "no card has the focus"
    page.keyboard.press(key)
    page.wait_for_selector(f'.qcard[data-key="{card}"]', state="detached")


def keyboard_login(page, name: str) -> None:
    tab_to(page, "#moderator-settings summary")
    page.keyboard.press("Enter")
    tab_to(page, "#api-key")
    page.keyboard.type(KEY)
    tab_to(page, "#moderator")
    page.keyboard.type(name)
    page.keyboard.press("Tab")  # leaving the field is a change: the page asks the server again
    page.wait_for_selector("#queue-corrections[hidden]", state="attached")


def unsure_page() -> str:
    """The seed page as scraped without its last line (the comment's controls): the page is sure
    of its article and of the seed page's comment, but not of a comment with nothing below it."""
    return "\n".join(SEED_PAGE.read_text(encoding="utf-8").splitlines()[:-1])


PAGE_BLOCKS = 16  # the non-blank lines of unsure_page()


def test_keyboard_only_through_a_page_with_blocks_to_review(browser, server):
    if not SEED_PAGE.exists():
        pytest.skip(f"{SEED_PAGE} not found")
    seed = unsure_page()
    before = len(stored(server))
    page = open_page(browser, server)
    keyboard_login(page, "kim")
    tab_to(page, "#text")
    page.keyboard.insert_text(seed)
    tab_to(page, "#queue-page")
    page.keyboard.press("Enter")
    page.wait_for_selector("#queue-status.status-ok")
    review = page.locator(".qcard:not([hidden])")
    # the blocks the page leaves the shipped model unsure about, as the API says
    unsure = sum(block["decision"] == "review" for block in api(server, "POST", "/v1/segment", {"text": seed})["blocks"])
    assert 1 <= unsure < PAGE_BLOCKS
    keys = ("epso" * 5)[:unsure]
    assert review.count() == unsure
    assert page.eval_on_selector_all(".qcard:not([hidden])", "cs => cs.map(c => c.dataset.decision)") == ["review"] * unsure
    first = review.first
    assert focused_card(page) == first.get_attribute("data-key")
    # the score and the cues in plain words, never the model's internals
    text = first.inner_text()
    assert "The model is unsure: about" in text and "in 10 texts like this are" in text
    assert "With the rest of the page: " in text and " blocks placed like this are " in text
    assert "Why:" in text and "(points to " in text  # cues in plain words, each with its direction
    for internal in ("logit", " w w", "P(editorial)", "+0."):
        assert internal not in text
    assert first.locator(".qctx").count() == 1  # its neighbour on the page (the comment ends the page)
    texts = page.eval_on_selector_all(".qcard:not([hidden]) .qtext", "qs => qs.map(q => q.textContent)")
    for key in keys:
        resolve_with(page, key)
    assert "The queue is done" in page.inner_text("#queue-status")
    # the confident blocks: shown once "Only those to review" is off; resolve them all with "c"
    tab_to(page, "#queue-only-review")
    page.keyboard.press("Space")
    shown = page.locator(".qcard:not([hidden])")
    assert shown.count() == PAGE_BLOCKS - unsure
    tab_to(page, ".qcard")
    assert "The model is fairly sure: " in shown.first.inner_text()
    # j and k move between cards
    page.keyboard.press("j")
    assert focused_card(page) == shown.nth(1).get_attribute("data-key")
    page.keyboard.press("k")
    assert focused_card(page) == shown.first.get_attribute("data-key")
    for _ in range(PAGE_BLOCKS - unsure):
        texts.append(page.evaluate("document.activeElement.closest('.qcard').querySelector('.qtext').textContent"))
        resolve_with(page, "c")
    assert page.locator(".qcard").count() == 0
    rows = stored(server)[before:]
    assert [row["text"] for row in rows] == texts
    expected = [LABELS[key] for key in keys] + [LABELS["c"]] * (PAGE_BLOCKS - unsure)
    assert [(row["label"], row["kind"]) for row in rows] == expected
    version = api(server, "GET", "/v1/model")["version"]
    assert all(row["moderator"] == "kim" and row["model_version"] == version for row in rows)
    assert all(row["scores"]["editorial"] + row["scores"]["comment"] == pytest.approx(1) for row in rows)
    assert page.errors == []
    page.context.close()


def two_hundred_rows(path: Path) -> list[str]:
    texts = [f"{(EDITORIAL_EXAMPLES + COMMENT_EXAMPLES)[i % 24]} (row {i})" for i in range(200)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([[i, text] for i, text in enumerate(texts)])
    return texts


def test_a_200_row_file_with_the_keyboard_filters_and_compact_view(browser, server, tmp_path):
    texts = two_hundred_rows(tmp_path / "comments.csv")
    before = len(stored(server))
    page = open_page(browser, server)
    keyboard_login(page, "lee")
    page.set_input_files("#queue-file", str(tmp_path / "comments.csv"))  # the file chooser is the system's
    page.wait_for_selector("#queue-status.status-ok")
    assert "comments.csv: 200 rows." in page.inner_text("#queue-status")
    tab_to(page, "#queue-only-review", backwards=True)
    page.keyboard.press("Space")
    assert page.locator(".qcard:not([hidden])").count() == 200
    # by the model's guess
    page.select_option("#queue-label", "comment")
    guesses = page.eval_on_selector_all(".qcard:not([hidden])", "cs => cs.map(c => c.dataset.label)")
    assert guesses and set(guesses) == {"comment"} and len(guesses) < 200
    page.select_option("#queue-label", "")
    page.check("#queue-compact")
    assert page.locator(".qcard").first.locator(".qctx").first.is_hidden()
    assert page.locator(".qcard").first.locator(".qtext").is_visible()
    tab_to(page, ".qcard")
    keys = "ecsop"
    for i in range(200):
        assert page.evaluate("document.activeElement.closest('.qcard').querySelector('.qtext').textContent") == texts[i]
        resolve_with(page, keys[i % 5])
    assert page.locator(".qcard").count() == 0
    rows = stored(server)[before:]
    assert [row["text"] for row in rows] == texts
    assert [(row["label"], row["kind"]) for row in rows] == [LABELS[keys[i % 5]] for i in range(200)]
    assert page.errors == []
    page.context.close()


def test_the_service_s_review_log_is_pulled_and_a_verdict_takes_it_out(browser, server):
    if not SEED_PAGE.exists():
        pytest.skip(f"{SEED_PAGE} not found")
    api(server, "POST", "/v1/segment", {"text": unsure_page()}, key=None)
    logged = api(server, "GET", "/v1/review-log?limit=1000")["items"]
    assert logged
    before = len(stored(server))
    page = open_page(browser, server)
    keyboard_login(page, "ana")
    tab_to(page, "#queue-pull")
    page.keyboard.press("Enter")
    page.wait_for_selector("#queue-status.status-ok")
    cards = page.locator(".qcard")
    assert cards.count() == len(logged)
    assert "Why:" in cards.last.inner_text()  # cues computed for the pulled texts too
    # pulling scored the texts again without sending them to review again
    assert len(api(server, "GET", "/v1/review-log?limit=1000")["items"]) == len(logged)
    resolve_with(page, "c")
    row = stored(server)[-1]
    assert len(stored(server)) == before + 1 and row["text"] == logged[0]["text"] and row["label"] == "comment"
    # The page removes the resolved entry after storing the verdict: wait for it from here (a
    # predicate for wait_for_function would be evaluated in the page, which its CSP refuses).
    for _ in range(100):
        remaining = [item["id"] for item in api(server, "GET", "/v1/review-log?limit=1000")["items"]]
        if len(remaining) == len(logged) - 1:
            break
        time.sleep(0.05)
    assert logged[0]["id"] not in remaining
    assert page.errors == []
    page.context.close()


def test_without_keys_the_queue_says_corrections_are_off(browser, live_server, tiny_model_dir, tmp_path):
    server = live_server(tiny_model_dir, {"COMMENT_CLASSIFIER_FEEDBACK_DB": str(tmp_path / "fb.sqlite3")})
    port = server.port
    page = open_page(browser, port)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" and
            "feedback" in request.url else None)
    page.wait_for_selector("#queue-corrections:not([hidden])")
    assert "Corrections are off on this server" in page.inner_text("#queue-corrections")
    page.fill("#text", "\n".join([EDITORIAL_EXAMPLES[0], COMMENT_EXAMPLES[0]]))
    page.click("#analyse")
    page.wait_for_selector("#analyse-status.status-ok")
    assert page.locator("#results .feedback").first.is_hidden()  # no buttons that cannot work
    assert page.locator("#moderator-settings").is_hidden()
    page.uncheck("#queue-only-review")
    page.click("#queue-page")
    page.wait_for_selector("#queue-status.status-ok")
    card = page.locator(".qcard").first
    assert card.locator("button").count() == 0
    assert card.locator(".qoff").inner_text() == "Corrections are off on this server."
    card.focus()
    page.keyboard.press("c")
    assert page.locator(".qcard").count() == 2 and posts == []
    body = page.inner_text("body")
    for operator_words in ("COMMENT_CLASSIFIER", "keys_not_configured", "API_KEYS"):
        assert operator_words not in body
    assert page.errors == []
    page.context.close()


def test_the_queue_on_a_390px_phone(browser, server):
    if not SEED_PAGE.exists():
        pytest.skip(f"{SEED_PAGE} not found")
    page = open_page(browser, server, width=390, phone=True)
    page.fill("#text", SEED_PAGE.read_text(encoding="utf-8"))
    page.click("#queue-page")
    page.wait_for_selector("#queue-status.status-ok")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways on a phone"
    for box in page.eval_on_selector_all(".qcard:not([hidden]) button",
                                         "bs => bs.map(b => { const r = b.getBoundingClientRect();"
                                         " return [r.left, r.right, r.height]; })"):
        assert box[0] >= 0 and box[1] <= 390 and box[2] >= 44  # inside the screen, big enough to tap
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator("#queue-section").screenshot(path=str(SCREENSHOTS / "queue-phone.png"))
    assert page.errors == []
    page.context.close()


def test_the_page_view_explains_review_in_words_and_a_verdict_clears_the_flag(browser, server):
    if not SEED_PAGE.exists():
        pytest.skip(f"{SEED_PAGE} not found")
    page = open_page(browser, server)
    page.click("#moderator-settings summary")
    page.fill("#api-key", KEY)
    page.fill("#text", unsure_page())
    page.click("#analyse")
    page.wait_for_selector("#analyse-status.status-ok")
    # full width, sure blocks folded to two lines: the 17 blocks were 5,100 px in a narrow column
    height = page.evaluate("document.getElementById('results').offsetHeight")
    assert height < 3000, f"the seed page's blocks are {height} px tall at 1280 px"
    flagged = page.locator("#results .block.is-review").first
    assert "a moderator should decide" in flagged.locator(".decision-review").get_attribute("title")
    flagged.locator(".why summary").click()
    why = flagged.locator(".why").inner_text()
    assert "points to" in why and "logit" not in why and "+0." not in why
    assert "Moderator says" not in page.inner_text("#results")
    index = flagged.get_attribute("data-index")
    flagged.locator(".feedback button[data-label=other]").click()
    block = page.locator(f'#results .block[data-index="{index}"]')
    block.locator(".feedback[data-saved=other]").wait_for()
    assert "is-review" not in block.get_attribute("class")
    assert block.locator(".decision-review").count() == 0
    assert stored(server)[-1]["label"] == "other"
    assert page.errors == []
    page.context.close()
