"""The one training command on a newsroom's own file: store, gate, promotion, the served model, errors."""

import json

import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from model import Classifier
from model.store import ModelStore, current_version
from training.train import main

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES


@pytest.fixture()
def user_file(tmp_path):
    path = tmp_path / "newsroom.jsonl"
    rows = [{"text": t, "label": "editorial", "source": "desk"} for t in EDITORIAL_EXAMPLES]
    rows += [{"text": t, "label": "comment", "source": "readers"} for t in COMMENT_EXAMPLES]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def train(user_file, store, *extra):
    return main(["--data", str(user_file), "--no-corpora", "--no-loso", "--store", str(store),
                 "--param", "features__chars__min_df=1", "--param", "features__words__min_df=1",
                 "--param", "features__style__min_df=1", *extra])


def store_files(root):
    return sorted((str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*") if p.is_file())


def test_trains_into_the_store_and_promotes_a_verified_version(tmp_path, user_file):
    store = tmp_path / "models"
    assert train(user_file, store) == 0
    card = ModelStore(store).current()
    for key in ("version", "created", "data", "hyperparameters", "metrics", "versions", "licence", "artifact", "gate"):
        assert key in card
    assert card["data"]["counts"]["train"]["by_label"]["editorial"] > 0
    assert len(card["data"]["fingerprint_sha256"]) == 64
    held_out = card["metrics"]["held_out"]
    for key in ("accuracy", "macro_f1", "roc_auc", "brier", "confusion", "per_source"):
        assert key in held_out
    assert card["data"]["user_files"] == ["newsroom.jsonl"]
    assert card["gate"]["passed"] is True and card["forced"] is False
    assert "feedback" not in card  # no --feedback: the corpora (here: the user's file) alone
    assert Classifier.load(store).version == card["version"] == current_version(store)
    folder = store / "versions" / card["version"]
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_after_training_the_service_on_the_store_serves_the_new_version(tmp_path, user_file):
    """make run serves the store: training must land where the service reads, not beside it."""
    from service import create_app

    store = tmp_path / "models"
    assert train(user_file, store) == 0
    old = current_version(store)
    app = create_app({"TESTING": True, "MODEL_DIR": str(store)})
    client = app.test_client()
    assert client.get("/readyz").json["model"]["version"] == old
    assert train(user_file, store) == 0  # same data, same scores: the gate passes
    new = current_version(store)
    assert new != old
    assert app.extensions["model_watcher"].check() == "switched"
    assert client.get("/readyz").json["model"]["version"] == new
    assert json.loads((store / "current.json").read_text())["previous"] == [old]


def constant_pipeline(*args, **kwargs):
    """A candidate that calls everything a comment: as bad as a model gets."""
    return Pipeline([("clf", DummyClassifier(strategy="constant", constant="comment"))])


def test_a_worse_candidate_is_refused_and_the_pointer_stays_unless_forced(tmp_path, user_file, capsys, monkeypatch):
    store = tmp_path / "models"
    assert train(user_file, store) == 0
    good = current_version(store)
    before = store_files(store)
    capsys.readouterr()
    monkeypatch.setattr("training.train.build_pipeline", constant_pipeline)
    assert train(user_file, store) == 3
    err = capsys.readouterr().err
    assert "refused" in err and "nothing was written" in err
    assert "! pooled macro-F1" in err[err.index("source "):]  # the table of what got worse
    assert store_files(store) == before
    assert train(user_file, store, "--force") == 0
    card = ModelStore(store).current()
    assert card["version"] != good
    assert card["forced"] is True and card["gate"]["passed"] is False and card["gate"]["forced"] is True
    assert json.loads((store / "current.json").read_text())["previous"] == [good]


def test_a_plain_model_folder_is_not_a_place_to_train_into(tmp_path, user_file, tiny_model_dir, capsys):
    before = sorted(p.name for p in tiny_model_dir.iterdir())
    assert train(user_file, tiny_model_dir) == 2
    assert "plain model folder" in capsys.readouterr().err
    assert sorted(p.name for p in tiny_model_dir.iterdir()) == before


def test_out_is_the_old_name_of_store(tmp_path, user_file):
    assert main(["--data", str(user_file), "--no-corpora", "--no-loso", "--out", str(tmp_path / "m"),
                 "--param", "features__chars__min_df=1", "--param", "features__words__min_df=1",
                 "--param", "features__style__min_df=1"]) == 0
    assert current_version(tmp_path / "m") is not None


def test_missing_data_folder_names_the_setting(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "nowhere"), "--store", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "DATA_DIR" in err and "nowhere" in err
    assert not (tmp_path / "m").exists()


def test_no_data_at_all_names_the_setting(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COMMENT_CLASSIFIER_DATA", raising=False)
    assert main(["--store", str(tmp_path / "m")]) == 2
    assert "DATA_DIR" in capsys.readouterr().err


def test_malformed_user_row_is_reported_with_its_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nfine text here,comment\nother text,maybe\n")
    assert main(["--data", str(path), "--no-corpora", "--store", str(tmp_path / "m")]) == 2
    assert "bad.csv line 3" in capsys.readouterr().err


def test_with_leave_one_source_out_the_band_and_calibration_are_chosen_out_of_source(tmp_path, capsys):
    path = tmp_path / "four-sources.jsonl"
    rows = [{"text": t, "label": "editorial", "source": "desk" if i % 2 else "wire", "group": str(i)}
            for i, t in enumerate(EDITORIAL_EXAMPLES)]
    rows += [{"text": t, "label": "comment", "source": "readers" if i % 2 else "forum", "group": str(i)}
             for i, t in enumerate(COMMENT_EXAMPLES)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    store = tmp_path / "models"
    assert main(["--data", str(path), "--no-corpora", "--loso", "--jobs", "1", "--store", str(store),
                 "--test-share", "0.25", "--param", "features__words__min_df=1",
                 "--param", "features__style__min_df=1"]) == 0
    card = ModelStore(store).current()
    oos = card["metrics"]["out_of_source"]
    assert card["review_band_chosen_on"] == "out-of-source scores"
    assert card["review_band"] == oos["review_band"]["band"]
    assert set(oos["held_out_sources"]["per_source"]) == {"desk", "wire", "readers", "forum"}
    assert set(card["metrics"]["leave_one_source_out"]["per_source"]) == {"desk", "wire", "readers", "forum"}
    # The scaling is folded into the served pipeline: its probabilities are the calibrated ones.
    classifier = Classifier.load(store)
    a, b = oos["platt_scaling"]["a"], oos["platt_scaling"]["b"]
    assert a > 0
    text = EDITORIAL_EXAMPLES[0]
    assert classifier.classify([text])[0]["scores"]["editorial"] == pytest.approx(
        classifier.pipeline.predict_proba([text])[0][list(classifier.pipeline.classes_).index("editorial")])
    err = capsys.readouterr().err
    assert "out of source: Platt scaling" in err and "sent to review" in err
