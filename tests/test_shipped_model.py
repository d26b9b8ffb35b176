"""The model shipped in model/: it verifies, and reads the canonical scraped page right."""

from pathlib import Path

import numpy as np
import pytest

from model import Classifier

pytestmark = pytest.mark.artifact
REPO = Path(__file__).resolve().parent.parent
SEED_PAGE = REPO.parent / "shared" / "examples" / "scraped-page-article-and-comment.txt"
COMMENT_LINE = 16  # the sarcastic reader comment; line 17 is the "Reply1 Comment(s)" artifact


@pytest.fixture(scope="module")
def shipped():
    return Classifier.load(REPO / "model")


@pytest.fixture(scope="module")
def seed_lines():
    if not SEED_PAGE.is_file():
        pytest.skip(f"{SEED_PAGE.name} not found beside the repository")
    return SEED_PAGE.read_text(encoding="utf-8").splitlines()


def test_shipped_model_verifies_and_is_small(shipped):
    assert shipped.card["artifact"]["bytes"] < 25_000_000
    assert shipped.card["metrics"]["leave_one_source_out"] is not None
    assert "non-commercial" in shipped.card["licence"]


def test_every_article_paragraph_of_eight_words_is_editorial(shipped, seed_lines):
    article = [(n, line) for n, line in enumerate(seed_lines[: COMMENT_LINE - 1], start=1) if len(line.split()) >= 8]
    assert len(article) == 13
    wrong = [(n, round(shipped.editorial_probability(line), 3)) for n, line in article
             if shipped.classify([line])[0]["label"] != "editorial"]
    assert wrong == []


def test_the_reader_comment_is_a_comment(shipped, seed_lines):
    assert shipped.classify([seed_lines[COMMENT_LINE - 1]])[0]["label"] == "comment"


def test_served_probabilities_are_the_pipelines(shipped, seed_lines):
    pipeline = shipped.pipeline
    expected = pipeline.predict_proba(seed_lines)[:, list(pipeline.classes_).index("editorial")]
    served = [r["scores"]["editorial"] for r in shipped.classify(seed_lines)]
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-12)
