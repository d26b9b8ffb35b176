"""The training command on a newsroom's own file: artifact, card, gate and errors."""

import json

import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from model import Classifier
from training.train import main

from conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES


@pytest.fixture()
def user_file(tmp_path):
    path = tmp_path / "newsroom.jsonl"
    rows = [{"text": t, "label": "editorial", "source": "desk"} for t in EDITORIAL_EXAMPLES]
    rows += [{"text": t, "label": "comment", "source": "readers"} for t in COMMENT_EXAMPLES]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def train(user_file, out, *extra):
    return main(["--data", str(user_file), "--no-corpora", "--no-loso", "--out", str(out),
                 "--param", "features__chars__min_df=1", "--param", "features__words__min_df=1",
                 "--param", "features__style__min_df=1", *extra])


def test_trains_and_writes_a_verified_pair_with_its_card(tmp_path, user_file):
    out = tmp_path / "model"
    assert train(user_file, out) == 0
    card = json.loads((out / "card.json").read_text())
    for key in ("version", "created", "data", "hyperparameters", "metrics", "versions", "licence", "artifact"):
        assert key in card
    assert card["data"]["counts"]["train"]["by_label"]["editorial"] > 0
    assert len(card["data"]["fingerprint_sha256"]) == 64
    held_out = card["metrics"]["held_out"]
    for key in ("accuracy", "macro_f1", "roc_auc", "brier", "confusion", "per_source"):
        assert key in held_out
    assert card["data"]["user_files"] == ["newsroom.jsonl"]
    assert Classifier.load(out).version == card["version"]
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def constant_pipeline(*args, **kwargs):
    """A candidate that calls everything a comment: as bad as a model gets."""
    return Pipeline([("clf", DummyClassifier(strategy="constant", constant="comment"))])


def test_a_worse_candidate_is_refused_unless_forced(tmp_path, user_file, capsys, monkeypatch):
    out = tmp_path / "model"
    assert train(user_file, out) == 0
    good = json.loads((out / "card.json").read_text())
    monkeypatch.setattr("training.train.build_pipeline", constant_pipeline)
    assert train(user_file, out) == 3
    assert "refused" in capsys.readouterr().err
    assert json.loads((out / "card.json").read_text()) == good
    assert sorted(p.name for p in out.iterdir()) == ["card.json", good["artifact"]["file"]]
    assert train(user_file, out, "--force") == 0
    assert json.loads((out / "card.json").read_text())["version"] != good["version"]


def test_missing_data_folder_names_the_setting(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "DATA_DIR" in err and "nowhere" in err
    assert not (tmp_path / "m").exists()


def test_no_data_at_all_names_the_setting(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COMMENT_CLASSIFIER_DATA", raising=False)
    assert main(["--out", str(tmp_path / "m")]) == 2
    assert "DATA_DIR" in capsys.readouterr().err


def test_malformed_user_row_is_reported_with_its_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nfine text here,comment\nother text,maybe\n")
    assert main(["--data", str(path), "--no-corpora", "--out", str(tmp_path / "m")]) == 2
    assert "bad.csv line 3" in capsys.readouterr().err
