"""The model store: versions, the current pointer, promotion, rollback, seeding and its CLI."""

import json
import os
import subprocess
import sys

import pytest

from model import Classifier, ModelNotFound
from model.artifact import load
from model.store import ModelStore, StoreError, current_version, is_store, main, resolve

from tests.conftest import REPO


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """The tiny model's artifact and card, to add to stores under other version names."""
    from tests.conftest import train_tiny

    directory = tmp_path_factory.mktemp("pair")
    train_tiny(directory, version="tiny-1")
    return load(directory)


def add(store, tiny_pair, version, created):
    artifact, card = tiny_pair, tiny_pair.card
    return store.add(artifact, {**card, "version": version, "created": created})


@pytest.fixture()
def store(tmp_path, tiny_pair):
    """A store holding v1 (current) and v2, v3 (added, not promoted)."""
    store = ModelStore(tmp_path / "models")
    add(store, tiny_pair, "v1", "2026-01-01T00:00:00+00:00")
    store.promote("v1")
    add(store, tiny_pair, "v2", "2026-01-02T00:00:00+00:00")
    add(store, tiny_pair, "v3", "2026-01-03T00:00:00+00:00")
    return store


def pointer(store):
    return json.loads((store.root / "current.json").read_text())


def test_add_writes_a_complete_version_without_switching(store):
    assert [card["version"] for card in store.versions()] == ["v1", "v2", "v3"]
    assert current_version(store.root) == "v1"
    folder = store.root / "versions" / "v2"
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "classifier-v2.joblib"]
    assert Classifier.load(folder).version == "v2"
    assert [p.name for p in (store.root / "versions").iterdir() if p.name.startswith(".")] == []


def test_adding_an_existing_version_is_refused(store, tiny_pair):
    with pytest.raises(StoreError, match="already"):
        add(store, tiny_pair, "v2", "2026-02-01T00:00:00+00:00")


def test_promote_and_rollback_walk_the_history(store):
    store.promote("v2")
    store.promote("v3")
    assert pointer(store)["version"] == "v3"
    assert pointer(store)["previous"] == ["v2", "v1"]
    assert store.current()["version"] == "v3"
    assert store.rollback() == "v2"
    assert pointer(store)["previous"] == ["v1"]
    assert store.rollback() == "v1"
    with pytest.raises(StoreError, match="no previous version"):
        store.rollback()
    assert current_version(store.root) == "v1"


def test_rollback_onto_a_damaged_version_is_refused_and_changes_nothing(store):
    store.promote("v2")
    artifact = store.root / "versions" / "v1" / "classifier-v1.joblib"
    artifact.write_bytes(artifact.read_bytes()[:-10])  # truncated
    before = pointer(store)
    with pytest.raises(StoreError, match="'v1' .* damaged"):
        store.rollback()
    assert pointer(store) == before


def test_promote_if_current_refuses_when_the_current_version_moved(store):
    store.promote("v2", if_current="v1")
    with pytest.raises(StoreError, match="changed from v1 to v2"):
        store.promote("v3", if_current="v1")
    assert current_version(store.root) == "v2"


def test_promoting_the_current_version_changes_nothing(store):
    before = pointer(store)
    assert store.promote("v1") == before
    assert pointer(store) == before


def test_promote_refuses_an_unknown_or_damaged_version(store):
    with pytest.raises(StoreError, match="no version 'v9'.*v1, v2, v3"):
        store.promote("v9")
    with pytest.raises(StoreError, match="not a valid version"):
        store.promote("../v1")
    artifact = store.root / "versions" / "v2" / "classifier-v2.joblib"
    artifact.write_bytes(artifact.read_bytes()[:100])
    with pytest.raises(StoreError, match="damaged"):
        store.promote("v2")
    assert current_version(store.root) == "v1"


def test_a_failed_pointer_write_leaves_the_old_current(store, monkeypatch):
    before = (store.root / "current.json").read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("model.store.os.replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        store.promote("v2")
    assert (store.root / "current.json").read_bytes() == before
    assert [p.name for p in store.root.iterdir() if p.name.endswith(".tmp")] == []
    assert Classifier.load(store.root).version == "v1"


def test_a_failed_version_write_leaves_nothing_behind(store, tiny_pair, monkeypatch):
    def failing_save(artifact, card, directory):
        (directory / "classifier-v4.joblib").write_bytes(b"half an artifact")
        raise OSError("killed mid-write")

    monkeypatch.setattr("model.store.save", failing_save)
    with pytest.raises(OSError):
        add(store, tiny_pair, "v4", "2026-01-04T00:00:00+00:00")
    assert sorted(p.name for p in (store.root / "versions").iterdir()) == ["v1", "v2", "v3"]


def test_a_crash_between_artifact_and_pointer_leaves_the_old_current(store, tiny_model_dir):
    """A real process stores a version, then dies before it switches the pointer."""
    script = (
        "import os, sys\n"
        "from model.artifact import load\n"
        "from model.store import ModelStore\n"
        "artifact = load(sys.argv[2])\n"
        "ModelStore(sys.argv[1]).add(artifact, {**artifact.card, 'version': 'v4', 'created': '2026-01-04T00:00:00+00:00'})\n"
        "os._exit(9)  # killed before promote()\n"
    )
    before = (store.root / "current.json").read_bytes()
    done = subprocess.run([sys.executable, "-c", script, str(store.root), str(tiny_model_dir)], cwd=REPO)
    assert done.returncode == 9
    assert (store.root / "current.json").read_bytes() == before
    assert Classifier.load(store.root).version == "v1"
    assert store.versions()[-1]["version"] == "v4"  # complete, and can be promoted by hand
    store.promote("v4")
    assert Classifier.load(store.root).version == "v4"


def test_a_half_written_version_folder_is_ignored(store):
    stray = store.root / "versions" / ".v5.abc123"
    stray.mkdir()
    (stray / "card.json").write_text('{"version": "v5"}')
    assert [card["version"] for card in store.versions()] == ["v1", "v2", "v3"]


def test_resolve_and_load_accept_a_store_or_a_plain_folder(store, tiny_model_dir, tmp_path):
    assert is_store(store.root) and not is_store(tiny_model_dir)
    assert resolve(store.root) == store.root / "versions" / "v1"
    assert resolve(tiny_model_dir) == tiny_model_dir
    assert current_version(tiny_model_dir) is None
    assert Classifier.load(store.root).version == "v1"
    assert load(tiny_model_dir).card["version"] == "tiny-1"
    store.promote("v3")
    assert load(store.root).card["version"] == "v3"
    empty = ModelStore(tmp_path / "empty")
    empty.init()
    with pytest.raises(ModelNotFound, match="no current version.*model.store init"):
        Classifier.load(empty.root)


def test_seed_copies_a_plain_folder_in_once(tmp_path, tiny_model_dir):
    store = ModelStore(tmp_path / "models")
    assert store.seed(tiny_model_dir) == "tiny-1"
    assert pointer(store)["version"] == "tiny-1" and pointer(store)["previous"] == []
    assert Classifier.load(store.root).version == "tiny-1"
    switched = pointer(store)["switched"]
    assert store.seed(tiny_model_dir) == "tiny-1"
    assert pointer(store)["switched"] == switched
    assert [card["version"] for card in store.versions()] == ["tiny-1"]
    assert sorted(os.listdir(tiny_model_dir)) == ["card.json", "classifier-tiny-1.joblib"]


def test_seed_does_not_replace_a_current_version(store, tiny_model_dir):
    assert store.seed(tiny_model_dir) == "v1"
    assert [card["version"] for card in store.versions()] == ["v1", "v2", "v3"]


def test_cli_init_list_promote_rollback(tmp_path, tiny_model_dir, tiny_pair, capsys):
    root = tmp_path / "models"
    assert main(["init", "--store", str(root), "--seed", str(tiny_model_dir)]) == 0
    assert "seeded" in capsys.readouterr().out
    store = ModelStore(root)
    artifact, card = tiny_pair, tiny_pair.card
    store.add(artifact, {**card, "version": "v2", "created": "2099-01-01T00:00:00+00:00", "forced": True,
                         "metrics": {"held_out": {"macro_f1": 0.91234},
                                     "leave_one_source_out": {"pooled": {"macro_f1": 0.85}}},
                         "feedback": {"train": 40, "held_out": 9}})
    assert main(["promote", "v2", "--store", str(root)]) == 0
    capsys.readouterr()
    assert main(["list", "--store", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["version", "created", "held-out", "F1", "LOSO", "F1", "feedback", "forced"]
    assert lines[1].split()[:1] == ["tiny-1"]
    assert lines[2].split() == ["*", "v2", "2099-01-01T00:00:00+00:00", "0.9123", "0.8500", "40/9", "yes"]
    assert main(["rollback", "--store", str(root)]) == 0
    assert "to tiny-1" in capsys.readouterr().out
    assert main(["list", "--store", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("* tiny-1") and lines[2].startswith("  v2")


@pytest.mark.parametrize("argv, message", [
    (["list"], "no model store"),
    (["rollback"], "no model store"),
    (["promote", "v1"], "no model store"),
])
def test_cli_errors_on_a_missing_store(tmp_path, capsys, argv, message):
    assert main([*argv, "--store", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_errors_name_what_is_wrong(store, capsys, tmp_path):
    assert main(["rollback", "--store", str(store.root)]) == 2
    assert "no previous version" in capsys.readouterr().err
    assert main(["promote", "v9", "--store", str(store.root)]) == 2
    assert "no version 'v9'" in capsys.readouterr().err
    assert main(["init", "--store", str(tmp_path / "new"), "--seed", str(tmp_path / "not-a-model")]) == 2
    assert "no model card" in capsys.readouterr().err
    (store.root / "current.json").write_text("{not json")
    assert main(["list", "--store", str(store.root)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_cli_as_a_module(tmp_path, tiny_model_dir):
    root = tmp_path / "models"
    run = lambda *argv: subprocess.run([sys.executable, "-m", "model.store", *argv, "--store", str(root)],
                                       cwd=REPO, capture_output=True, text=True)
    assert run("init", "--seed", str(tiny_model_dir)).returncode == 0
    refused = run("rollback")
    assert refused.returncode == 2 and refused.stderr.startswith("error: ")
    assert "no previous version" in refused.stderr and "Traceback" not in refused.stderr


def test_the_service_reloads_on_promote_and_rollback(store):
    """COMMENT_CLASSIFIER_MODEL_DIR may name a store: the watcher follows its pointer."""
    from service import create_app

    app = create_app({"TESTING": True, "MODEL_DIR": str(store.root)})
    client = app.test_client()
    watcher = app.extensions["model_watcher"]
    assert client.get("/v1/model").json["version"] == "v1"
    store.promote("v3")
    assert watcher.check() == "switched"
    assert client.get("/v1/model").json["version"] == "v3"
    store.rollback()
    assert watcher.check() == "switched"
    assert client.get("/v1/model").json["version"] == "v1"


@pytest.mark.live
def test_gunicorn_serves_a_store_and_follows_its_pointer(live_server, store):
    """As make run does: gunicorn on a store, then a promotion and a rollback while it serves."""
    import time

    from tests.conftest import http_json

    def serving_version(expected):
        deadline = time.monotonic() + 20
        while True:
            status, body = http_json(port, "/v1/model")
            if status == 200 and body["version"] == expected or time.monotonic() > deadline:
                return body["version"]
            time.sleep(0.2)

    store.promote("v3")
    port = live_server(store.root).port
    assert serving_version("v3") == "v3"
    status, body = http_json(port, "/v1/classify", {"texts": ["lol who even cares, wake up people"]})
    assert status == 200 and body["results"][0]["label"] == "comment"
    store.promote("v2")
    assert serving_version("v2") == "v2"
    store.rollback()
    assert serving_version("v3") == "v3"


# --- export: publishing a version as the shipped seed --------------------------------------------


def seed_folder(tmp_path, tiny_model_dir):
    """A copy of a plain model folder standing in for model/ (the real one is never touched)."""
    import shutil

    folder = tmp_path / "seed"
    shutil.copytree(tiny_model_dir, folder)
    return folder


def test_export_replaces_the_seed_with_the_current_version(store, tmp_path, tiny_model_dir, capsys):
    seed = seed_folder(tmp_path, tiny_model_dir)
    store.promote("v3")
    assert main(["export", "--store", str(store.root), "--to", str(seed)]) == 0
    assert "shipped seed is now v3 (was tiny-1)" in capsys.readouterr().out
    assert Classifier.load(seed).version == "v3"
    assert sorted(p.name for p in seed.iterdir()) == ["card.json", "classifier-v3.joblib"]
    assert (seed / "card.json").read_bytes() == (store.root / "versions" / "v3" / "card.json").read_bytes()
    # A new store seeded from the exported folder serves that version.
    fresh = ModelStore(tmp_path / "fresh")
    assert fresh.seed(seed) == "v3"


def test_export_of_a_damaged_version_leaves_the_old_seed_whole(store, tmp_path, tiny_model_dir):
    seed = seed_folder(tmp_path, tiny_model_dir)
    before = sorted((p.name, p.read_bytes()) for p in seed.iterdir())
    artifact = store.root / "versions" / "v2" / "classifier-v2.joblib"
    artifact.write_bytes(artifact.read_bytes()[:-10])
    with pytest.raises(StoreError, match="damaged"):
        store.export(seed, "v2")
    assert sorted((p.name, p.read_bytes()) for p in seed.iterdir()) == before


def test_export_that_fails_midway_leaves_the_old_seed_whole(store, tmp_path, tiny_model_dir, monkeypatch):
    seed = seed_folder(tmp_path, tiny_model_dir)
    before = sorted((p.name, p.read_bytes()) for p in seed.iterdir())

    def torn_copy(src, dst):
        with open(dst, "wb") as handle:
            handle.write(open(src, "rb").read()[:100])  # a copy cut short (disk full, crash)

    monkeypatch.setattr("model.store.shutil.copyfile", torn_copy)
    with pytest.raises(StoreError, match="does not match its card"):
        store.export(seed, "v2")
    assert sorted((p.name, p.read_bytes()) for p in seed.iterdir()) == before
    assert Classifier.load(seed).version == "tiny-1"


def test_export_refuses_a_store_as_target_and_an_empty_store(store, tmp_path, capsys):
    assert main(["export", "--store", str(store.root), "--to", str(store.root)]) == 2
    assert "is a model store" in capsys.readouterr().err
    ModelStore(tmp_path / "empty").init()
    assert main(["export", "--store", str(tmp_path / "empty"), "--to", str(tmp_path / "x")]) == 2
    assert "no current version" in capsys.readouterr().err


def test_locate_prefers_the_argument_then_the_setting_then_the_store_then_the_seed(store, tmp_path,
                                                                                 tiny_model_dir, monkeypatch):
    from model.store import MODEL_SETTING, locate

    monkeypatch.delenv(MODEL_SETTING, raising=False)
    assert locate(tiny_model_dir, store=store.root)[0] == tiny_model_dir
    assert locate(None, store=store.root) == (store.root, f"the model store {store.root}")
    path, origin = locate(None, store=tmp_path / "none", seed=tiny_model_dir)
    assert path == tiny_model_dir and "has no current version yet" in origin
    monkeypatch.setenv(MODEL_SETTING, str(tiny_model_dir))
    assert locate(None, store=store.root)[0] == tiny_model_dir
    (store.root / "current.json").write_text("{")
    monkeypatch.delenv(MODEL_SETTING)
    with pytest.raises(StoreError, match="not valid JSON"):
        locate(None, store=store.root)  # a damaged pointer is an error, not a silent fallback
