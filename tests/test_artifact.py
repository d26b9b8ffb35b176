"""Saving writes a matching pair; loading verifies it and refuses a mismatch."""

import json
import shutil

import pytest

from model import Classifier, ModelNotFound, ModelVerificationError
from model.artifact import ModelBundle, load, save, sha256_of

from tests.conftest import train_tiny


def copy_of(tiny_model_dir, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(tiny_model_dir, target)
    return target


def edit_card(directory, change):
    path = directory / "card.json"
    card = json.loads(path.read_text())
    change(card)
    path.write_text(json.dumps(card))


def test_card_names_its_artifact_and_hash(tiny_model_dir):
    card = json.loads((tiny_model_dir / "card.json").read_text())
    artifact = tiny_model_dir / card["artifact"]["file"]
    assert artifact.name == "classifier-tiny-1.joblib"
    assert sha256_of(artifact) == card["artifact"]["sha256"]
    assert card["artifact"]["bytes"] == artifact.stat().st_size


def test_saving_a_new_version_replaces_the_old_pair(tmp_path):
    train_tiny(tmp_path, version="v1")
    train_tiny(tmp_path, version="v2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json", "classifier-v2.joblib"]
    assert Classifier.load(tmp_path).version == "v2"


def test_missing_card(tmp_path):
    with pytest.raises(ModelNotFound, match="make train"):
        load(tmp_path)


def test_missing_artifact(tmp_path, tiny_model_dir):
    directory = copy_of(tiny_model_dir, tmp_path)
    (directory / "classifier-tiny-1.joblib").unlink()
    with pytest.raises(ModelNotFound, match="not in"):
        load(directory)


def test_changed_artifact_is_refused(tmp_path, tiny_model_dir):
    directory = copy_of(tiny_model_dir, tmp_path)
    path = directory / "classifier-tiny-1.joblib"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelVerificationError, match="changed or truncated"):
        load(directory)


def test_other_scikit_learn_version_is_refused(tmp_path, tiny_model_dir):
    directory = copy_of(tiny_model_dir, tmp_path)
    edit_card(directory, lambda card: card["versions"].update({"scikit-learn": "0.0.1"}))
    with pytest.raises(ModelVerificationError, match="scikit-learn==0.0.1"):
        load(directory)


@pytest.mark.parametrize("change", [
    lambda card: card.pop("artifact"),
    lambda card: card["artifact"].update({"file": "../elsewhere.joblib"}),
])
def test_card_without_what_verification_needs_is_refused(tmp_path, tiny_model_dir, change):
    directory = copy_of(tiny_model_dir, tmp_path)
    edit_card(directory, change)
    with pytest.raises(ModelVerificationError):
        load(directory)


def test_broken_card_is_refused(tmp_path, tiny_model_dir):
    directory = copy_of(tiny_model_dir, tmp_path)
    (directory / "card.json").write_text("{half")
    with pytest.raises(ModelVerificationError, match="not valid JSON"):
        load(directory)


def test_failed_write_leaves_the_previous_pair(tmp_path, monkeypatch):
    train_tiny(tmp_path, version="good")
    bundle = load(tmp_path)
    card = bundle.card

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("model.artifact.joblib.dump", fail)
    with pytest.raises(OSError):
        save(bundle, {**card, "version": "bad"}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json", "classifier-good.joblib"]
    assert Classifier.load(tmp_path).version == "good"


def test_loading_gives_one_bundle_type_whatever_the_file_holds(tmp_path, tiny_model_dir):
    """A file holds the pipelines as a mapping; older versions in a store hold a bare pipeline."""
    import joblib
    import sklearn

    saved = load(tiny_model_dir)
    assert isinstance(saved, ModelBundle) and saved.kind is None and saved.card["version"] == "tiny-1"
    for version, content in (("bare", saved.classifier), ("mapping", {"classifier": saved.classifier})):
        directory = tmp_path / version
        directory.mkdir()
        path = directory / f"classifier-{version}.joblib"
        joblib.dump(content, path)
        card = {"version": version, "versions": {"scikit-learn": sklearn.__version__},
                "artifact": {"file": path.name, "sha256": sha256_of(path)}}
        (directory / "card.json").write_text(json.dumps(card))
        bundle = load(directory)
        assert isinstance(bundle, ModelBundle) and bundle.kind is None and bundle.card["version"] == version
        assert bundle.classifier.predict(["Nice one lol"]) == saved.classifier.predict(["Nice one lol"])
        assert bundle.segment_params == saved.segment_params


def test_saved_file_holds_the_pipelines_as_standard_pickle_bytes(tmp_path):
    """joblib's own unpickler is written in Python (1.3 s for the shipped vocabularies): the file holds
    the pipelines pickled by the C pickler, which loads the same objects."""
    import pickle

    import joblib

    from model.artifact import PICKLED

    train_tiny(tmp_path, version="v1")
    held = joblib.load(tmp_path / "classifier-v1.joblib")
    assert set(held) == {PICKLED} and isinstance(held[PICKLED], bytes)
    inner = pickle.loads(held[PICKLED])
    assert set(inner) == {"classifier", "kind"}
    bundle = load(tmp_path)
    texts = ["Nice one lol", "The minister said on Tuesday that the bill would pass."]
    assert (bundle.classifier.predict_proba(texts) == inner["classifier"].predict_proba(texts)).all()


def test_an_artifact_holding_something_else_is_refused(tmp_path, tiny_model_dir):
    with pytest.raises(ModelVerificationError, match="expected 'classifier'"):
        ModelBundle.of({"pipeline": load(tiny_model_dir).classifier})
