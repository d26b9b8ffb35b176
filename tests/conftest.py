"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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
    from tests.test_live import free_port

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    # Not under pytest's tmp_path: its folders are private to root, and the server runs as 'postgres'.
    folder = tempfile.mkdtemp(prefix="comment-classifier-pg-")
    server = PostgresServer(folder, free_port(), durable=False).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def postgres_url(postgres_server, request):
    """The URL of a fresh, empty database on the session's server."""
    import re

    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40] + f"_{os.getpid()}_{id(request) % 10**6}"
    return postgres_server.create_database(name)
