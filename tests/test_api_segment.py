"""POST /v1/segment on the tiny model: offsets, labels, options and errors."""

import pytest

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES
from tests.test_api import assert_error


def segment(client, body):
    return client.post("/v1/segment", json=body)


def test_page_text_gives_blocks_with_offsets(client, tiny_classifier):
    # The comment section opens on its header, as on most pages (a section that opens straight on
    # a comment costs the decoder more, and a short last paragraph may then be read as its opening).
    page = "\n".join(EDITORIAL_EXAMPLES[:3]) + "\n\n12 Comments\n" + COMMENT_EXAMPLES[0] + "\r\nReply\n"
    body = segment(client, {"text": page}).get_json()
    blocks = body["blocks"]
    assert [b["index"] for b in blocks] == list(range(6))
    for block in blocks:
        assert page[block["start"]:block["end"]] == block["text"]
        assert set(block["scores"]) == {"editorial", "comment"}
    assert [b["label"] for b in blocks] == ["editorial"] * 3 + ["other", "comment", "other"]
    assert body["comments_start"] == 4
    assert body["model"]["version"] == tiny_classifier.version


def test_blocks_are_offset_as_if_joined_by_line_breaks(client):
    body = segment(client, {"blocks": ["First block here.", "Second one"]}).get_json()
    assert [(b["start"], b["end"]) for b in body["blocks"]] == [(0, 17), (18, 28)]


def test_segment_takes_explain_and_review_band(client):
    body = segment(client, {"blocks": [EDITORIAL_EXAMPLES[0]], "explain": True, "review_band": [0.0, 1.0]}).get_json()
    block = body["blocks"][0]
    assert block["decision"] == "review" and "explanation" in block


PAGE = "\n".join(EDITORIAL_EXAMPLES[:3]) + "\n\n12 Comments\n" + COMMENT_EXAMPLES[0] + "\nReply\n" + COMMENT_EXAMPLES[1]


def test_the_decision_is_the_page_s_held_to_the_model_s_page_band(client, tiny_classifier):
    least = tiny_classifier.bundle.segment_params.page_band
    blocks = segment(client, {"text": PAGE}).get_json()["blocks"]
    for block in blocks:
        scores = block["page_scores"]
        assert set(scores) == {"editorial", "comment", "other"} and sum(scores.values()) == pytest.approx(1.0)
        if block["label"] == "other":
            assert block["decision"] == "other"
        else:
            sure = scores[block["label"]] >= least[0 if block["label"] == "editorial" else 1]
            assert block["decision"] == (block["label"] if sure else "review")


@pytest.mark.parametrize("least, decided", [((0.0, 0.0), True), ((1.0, 1.0), False)])
def test_without_a_band_the_model_s_page_band_decides(tiny_classifier, least, decided):
    from dataclasses import replace

    from model import Classifier
    from service import create_app

    bundle = tiny_classifier.bundle
    params = replace(bundle.segment_params, page_editorial=least[0], page_comment=least[1])
    strict = Classifier(replace(bundle, segment_params=params))
    with create_app({"TESTING": True, "CLASSIFIER": strict}).test_client() as client:
        blocks = segment(client, {"text": PAGE}).get_json()["blocks"]
    sure = [b for b in blocks if b["label"] != "other" and b["page_scores"][b["label"]] < 1.0]
    assert len(sure) >= 4
    for block in sure:
        assert block["decision"] == (block["label"] if decided else "review")


def test_a_requests_band_holds_the_page_s_scores_not_the_blocks_own(client):
    def decisions(band):
        return [b["decision"] for b in segment(client, {"text": PAGE, "review_band": band}).get_json()["blocks"]]

    blocks = segment(client, {"text": PAGE}).get_json()["blocks"]
    labels = [b["label"] for b in blocks]
    # Every text block's page is more than half sure of its label: [0.5, 0.5] decides them all ...
    assert all(b["page_scores"][b["label"]] > 0.5 for b in blocks)
    assert decisions([0.5, 0.5]) == labels
    # ... and a band a little wider than each block's page score sends exactly that block to review.
    for index, block in enumerate(blocks):
        if block["label"] == "other":
            continue
        q = block["page_scores"][block["label"]]
        assert q < 1.0 - 1e-6
        # An editorial block needs P(editorial) >= high, a comment P(comment) >= 1 - low.
        above, below = ([0.0, q + 1e-6], [0.0, q - 1e-6]) if block["label"] == "editorial" else \
            ([1.0 - q - 1e-6, 1.0], [1.0 - q + 1e-6, 1.0])
        assert decisions(above)[index] == "review"
        assert decisions(below)[index] == block["label"]


def test_the_services_review_band_is_a_texts_not_a_pages(tiny_classifier):
    from service import create_app

    # REVIEW_BAND sends every text to review on /v1/classify; pages keep the page band.
    app = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier, "REVIEW_BAND": [0.0, 1.0]})
    with app.test_client() as client:
        assert client.post("/v1/classify", json={"text": COMMENT_EXAMPLES[0]}).get_json()["decision"] == "review"
        plain = create_app({"TESTING": True, "CLASSIFIER": tiny_classifier}).test_client()
        assert segment(client, {"text": PAGE}).get_json()["blocks"] == segment(plain, {"text": PAGE}).get_json()["blocks"]


def test_page_without_comments_has_no_comments_start(client):
    assert segment(client, {"blocks": EDITORIAL_EXAMPLES[:4]}).get_json()["comments_start"] is None


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ({}, "invalid_request", "exactly one of 'text'"),
        ({"text": "a", "blocks": ["b"]}, "invalid_request", "got both"),
        ({"text": ["a"]}, "invalid_request", "'text' must be a string (got array)"),
        ({"text": " \n \n"}, "empty_text", "no non-blank line"),
        ({"blocks": "a"}, "invalid_request", "'blocks' must be a list of strings (got string)"),
        ({"blocks": []}, "invalid_request", "'blocks' is empty"),
        ({"blocks": ["ok", 3]}, "invalid_request", "'blocks'[1] must be a string (got int)"),
        ({"blocks": ["ok", ""]}, "empty_text", "'blocks'[1]"),
        ({"blocks": ["x"] * 1001}, "too_many_blocks", "limit is 1000"),
        ({"text": "line\n" * 1001}, "too_many_blocks", "1001 blocks"),
        ({"text": "x" * 200_001}, "text_too_long", "limit for a page is 200000"),
        ({"blocks": ["y" * 20_001]}, "text_too_long", "'blocks'[0]"),
        ({"text": "short line\n" + "z" * 20_001}, "text_too_long", "block 1 of 'text' (characters 11-20012)"),
        ({"blocks": ["ok"], "review_band": [1, 0]}, "invalid_review_band", "low <= high"),
        ({"blocks": ["ok"], "explain": "no"}, "invalid_request", "'explain'"),
    ],
)
def test_bad_pages_get_400(client, body, code, says):
    assert says in assert_error(segment(client, body), 400, code)


def test_segment_needs_json(client):
    response = client.post("/v1/segment", data="text", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


HTML_PAGE = (
    "<html><head><title>t</title><script>var x = 1;</script></head><body>"
    "<nav>Home | World | Sport</nav><article><h1>Council backs plan</h1>"
    + "".join(f"<p>{text}</p>" for text in EDITORIAL_EXAMPLES[:3])
    + "</article><section id='comments' class='comments-area'><h2>2 Comments</h2>"
    + "".join(f"<div class='comment'><div class='comment-content'><p>{text}</p></div>"
              "<div class='reply'><a>Reply</a></div></div>" for text in COMMENT_EXAMPLES[:2])
    + "</section></body></html>"
)


def test_html_gives_blocks_with_offsets_into_its_extracted_text(client):
    body = segment(client, {"html": HTML_PAGE}).get_json()
    text, blocks = body["text"], body["blocks"]
    assert "var x" not in text and "<p>" not in text
    assert [b["text"] for b in blocks][:2] == ["Home | World | Sport", "Council backs plan"]
    for block in blocks:
        assert text[block["start"]:block["end"]] == block["text"]
    labels = {b["text"]: b["label"] for b in blocks}
    assert all(labels[t] == "editorial" for t in EDITORIAL_EXAMPLES[:3])
    assert all(labels[t] == "comment" for t in COMMENT_EXAMPLES[:2])
    assert labels["Reply"] == "other" and labels["Home | World | Sport"] == "other"
    assert body["comments_start"] == [b["text"] for b in blocks].index(COMMENT_EXAMPLES[0])


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ({"html": 5}, "invalid_request", "'html' must be a string (got int)"),
        ({"html": "<p>a</p>", "text": "a"}, "invalid_request", "exactly one of 'text', 'blocks' or 'html'"),
        ({"html": "<script>x</script>"}, "empty_text", "no visible text"),
        ({"html": "<div>" * 1001 + "x"}, "html_too_deep", "limit is 1000"),
        ({"html": "<p>x</p>" * 30_000}, "text_too_long", "limit for a page is 200000"),
        ({"html": "<p>x</p>" * 1001}, "too_many_blocks", "limit is 1000"),
    ],
)
def test_bad_html_gets_400(client, body, code, says):
    assert says in assert_error(segment(client, body), 400, code)
