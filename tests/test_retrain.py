"""Retraining with moderators' feedback (training.corrections, training.gate, and the command's retrain alias)."""

import json

import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from model import Classifier
from model.store import ModelStore, current_version
from model.store import main as store_main
from training.data import DataError
from training.records import Record
from training.corrections import (
    FEEDBACK_WEIGHT,
    clean_feedback,
    feedback_records,
    read_feedback,
    split_feedback,
    training_weights,
    without_overridden,
)
from training.gate import format_gate, gate
from training.retrain import main

from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES

# A 24-text corpus: its 10 feedback rows could never move the model at the default 20% share.
TINY = ["--param", "features__chars__min_df=1", "--param", "features__words__min_df=1",
        "--param", "features__style__min_df=1", "--no-loso", "--max-feedback-share", "1"]
FEEDBACK_COMMENTS = [
    "honestly this reporter should be fired, worst take I have read in years",
    "who even writes this stuff?? my cat could do better journalism lol",
    "Agree with the guy above, the council is a total joke and everyone knows it",
    "Cancelled my subscription after this one. Bye.",
    "lmao the mental gymnastics in this piece are olympic level",
    "Sure, blame the workers again, that always fixes everything right?",
]
FEEDBACK_EDITORIAL = [
    "The ministry said on Monday that wheat exports rose 3 per cent in the quarter.",
    "Fire crews contained the blaze near the port by late evening, officials said.",
    "The central bank left its benchmark rate unchanged at 4.5 per cent on Thursday.",
    "The trial is expected to last six weeks, the prosecution told the court.",
]


def row(i, text, label, comment_id=None, updated="2026-11-27T10:00:00Z"):
    return {"id": i, "text": text, "label": label, "kind": None, "comment_id": comment_id, "moderator": "m",
            "note": None, "model_version": "tiny-1", "scores": None, "created": updated, "updated": updated}


def feedback_rows():
    rows = [row(i, t, "comment", f"c{i}") for i, t in enumerate(FEEDBACK_COMMENTS, start=1)]
    rows += [row(10 + i, t, "editorial") for i, t in enumerate(FEEDBACK_EDITORIAL, start=1)]
    return rows


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def corpus(tmp_path):
    rows = [{"text": t, "label": "editorial", "source": "desk"} for t in EDITORIAL_EXAMPLES]
    rows += [{"text": t, "label": "comment", "source": "readers"} for t in COMMENT_EXAMPLES]
    return write_jsonl(tmp_path / "newsroom.jsonl", rows)


@pytest.fixture()
def feedback(tmp_path):
    return write_jsonl(tmp_path / "feedback.jsonl", feedback_rows())


def retrain(corpus, feedback, store, *extra):
    return main(["--data", str(corpus), "--no-corpora", "--feedback", str(feedback), "--store", str(store),
                 *TINY, *extra])


def store_files(root):
    return sorted((str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*") if p.is_file())


def constant_pipeline(*args, **kwargs):
    """A candidate that calls everything a comment: as bad as a model gets."""
    return Pipeline([("clf", DummyClassifier(strategy="constant", constant="comment"))])


# --- feedback as records ------------------------------------------------------------------------


def test_feedback_rows_become_records_grouped_by_comment():
    records = feedback_records([row(7, "a text here", "comment", "c42"), row(8, "another text here", "editorial")])
    assert records == [
        Record("a text here", "comment", "feedback", "feedback:comment:c42"),
        Record("another text here", "editorial", "feedback", "feedback:row:8"),
    ]


def test_page_chrome_verdicts_stay_out_of_the_text_classifiers_records():
    rows = [row(1, "Share this story on social media", "other"), row(2, "a text here", "comment")]
    assert feedback_records(rows) == [Record("a text here", "comment", "feedback", "feedback:row:2")]


@pytest.mark.parametrize("bad, message", [
    ({"id": 3, "text": "", "label": "comment"}, "feedback row 3: 'text'"),
    ({"id": 4, "text": "some words here", "label": "spam"}, "feedback row 4: 'label' must be one of"),
    ({"id": 5, "label": "comment"}, "feedback row 5: 'text'"),
])
def test_bad_feedback_rows_are_named(bad, message):
    with pytest.raises(DataError, match=message):
        feedback_records([bad])


def test_the_latest_verdict_on_a_text_wins():
    rows = [
        row(2, "This is exactly the same text", "comment", "c1", updated="2026-11-27T12:00:00Z"),
        row(1, "this is EXACTLY the same text!", "editorial", "c1", updated="2026-11-27T09:00:00Z"),
        row(3, "too short", "comment"),
    ]
    kept, dropped = clean_feedback(feedback_records(rows))
    assert [(r.text, r.label) for r in kept] == [("This is exactly the same text", "comment")]
    assert dropped == {"superseded": 1, "short": 1}


def test_feedback_wins_over_a_corpus_near_duplicate():
    corpus = [Record("Great article, but the comments here are a joke lol", "editorial", "desk", "desk:1"),
              Record("The council voted to approve the plan.", "editorial", "desk", "desk:2")]
    feedback = [Record("great article -- but the comments here are a JOKE, lol!", "comment", "feedback", "feedback:row:1")]
    kept, overridden = without_overridden(corpus, feedback)
    assert kept == corpus[1:] and overridden == 1


def test_the_held_out_feedback_only_grows_as_feedback_grows():
    def records(n):
        return [Record(f"text number {i} here", "comment", "feedback", f"feedback:comment:c{i}") for i in range(n)]

    _, held_100 = split_feedback(records(100), 0.2)
    train_1000, held_1000 = split_feedback(records(1000), 0.2)
    assert set(held_100) <= set(held_1000)
    assert not set(held_100) & set(train_1000)
    assert 150 < len(held_1000) < 250


def test_a_feedback_row_weighs_w_times_a_corpus_row_of_its_label():
    corpus = [Record(f"e{i}", "editorial", "a", f"a:{i}") for i in range(6)]
    corpus += [Record(f"e{i}", "editorial", "b", f"b:{i}") for i in range(2)]
    corpus += [Record(f"c{i}", "comment", "c", f"c:{i}") for i in range(4)]
    feedback = [Record("f1", "editorial", "feedback", "f:1"), Record("f2", "comment", "feedback", "f:2")]
    weights = training_weights(corpus, feedback, 5.0, max_share=1.0)
    assert sum(weights) == pytest.approx(len(weights))
    editorial_mean = sum(weights[:8]) / 8
    comment_mean = sum(weights[8:12]) / 4
    assert weights[12] == pytest.approx(5.0 * editorial_mean)
    assert weights[13] == pytest.approx(5.0 * comment_mean)
    assert weights[0] / weights[6] == pytest.approx(2 / 6)  # the corpora keep their per-source balance


def test_feedback_never_holds_more_than_its_share_of_the_weight():
    corpus = [Record(f"e{i}", "editorial", "a", f"a:{i}") for i in range(50)]
    corpus += [Record(f"c{i}", "comment", "c", f"c:{i}") for i in range(50)]
    few = [Record(f"f{i}", "comment", "feedback", f"f:{i}") for i in range(5)]
    weights = training_weights(corpus, few, 3.0, max_share=0.2)  # 15 of 115: under 20%, W as asked
    assert weights[-1] == pytest.approx(3.0 * weights[0])
    many = [Record(f"f{i}", "comment", "feedback", f"f:{i}") for i in range(100)]
    weights = training_weights(corpus, many, 3.0, max_share=0.2)  # 300 of 400 asked: capped at 20%
    assert sum(weights[100:]) / sum(weights) == pytest.approx(0.2)
    assert weights[-1] == pytest.approx(weights[-2])  # every feedback row scaled alike


def test_missing_feedback_is_no_feedback_and_creates_nothing(tmp_path, capsys):
    assert read_feedback(tmp_path / "feedback.sqlite3") == []
    assert "corpora alone" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- the gate ----------------------------------------------------------------------------------


def result(macro_f1, **accuracy):
    return {"n": 100 * len(accuracy), "macro_f1": macro_f1,
            "per_source": {name: {"n": 100, "accuracy": acc} for name, acc in accuracy.items()}}


@pytest.mark.parametrize("candidate, passed, refused_for", [
    (result(0.900, a=0.90, b=0.80), True, []),
    (result(0.8951, a=0.90, b=0.80), True, []),           # within 0.005
    (result(0.8949, a=0.90, b=0.80), False, ["pooled_macro_f1"]),
    (result(0.910, a=0.88, b=0.85), True, []),            # a drops by exactly 0.02
    (result(0.910, a=0.8799, b=0.85), False, ["a"]),
    (result(0.880, a=0.70, b=0.85), False, ["pooled_macro_f1", "a"]),
])
def test_gate(candidate, passed, refused_for):
    outcome = gate(result(0.900, a=0.90, b=0.80), candidate, "v1")
    assert outcome["passed"] is passed
    assert outcome["refused_for"] == refused_for


def test_gate_table_lists_what_got_worse():
    outcome = gate(result(0.900, a=0.90, b=0.80, c=0.7), result(0.910, a=0.85, b=0.79, c=0.9), "v1")
    lines = format_gate(outcome).splitlines()
    assert lines[0].split() == ["source", "n", "current", "candidate", "change"]
    assert lines[1].split() == ["pooled", "macro-F1", "300", "0.9000", "0.9100", "+0.0100"]
    assert lines[2].split() == ["!", "a", "100", "0.9000", "0.8500", "-0.0500"]
    assert lines[3].split() == ["b", "100", "0.8000", "0.7900", "-0.0100"]
    assert "c " not in format_gate(outcome)


def test_a_current_model_that_cannot_be_read_refuses_unless_forced():
    outcome = gate(None, result(0.95, a=0.9), "v1")
    assert outcome["passed"] is False and outcome["refused_for"] == ["current model unreadable"]
    assert "refused (the current model v1 cannot be loaded" in format_gate(outcome)
    assert gate(None, result(0.95, a=0.9), None)["passed"] is True  # an empty store: nothing to compare


def test_a_source_with_too_few_held_out_texts_is_shown_but_cannot_block():
    current, candidate = result(0.900, a=0.90), result(0.900, a=0.90)
    current["per_source"]["feedback"] = {"n": 6, "accuracy": 5 / 6}
    candidate["per_source"]["feedback"] = {"n": 6, "accuracy": 4 / 6}  # one text flipped: -0.167
    outcome = gate(current, candidate, "v1")
    assert outcome["passed"] and outcome["refused_for"] == []
    assert outcome["too_few_to_block"] == ["feedback"]
    table = format_gate(outcome)
    assert "~ feedback" in table and "too few to block" in table
    candidate["per_source"]["feedback"]["n"] = current["per_source"]["feedback"]["n"] = 60
    assert gate(current, candidate, "v1")["refused_for"] == ["feedback"]


# --- the command ---------------------------------------------------------------------------------


def test_retrain_promotes_a_candidate_that_passes(tmp_path, corpus, feedback, tiny_model_dir, capsys):
    root = tmp_path / "models"
    ModelStore(root).seed(tiny_model_dir)
    assert retrain(corpus, feedback, root) == 0
    err = capsys.readouterr().err
    assert "gate: candidate against the current model tiny-1" in err and "pooled macro-F1" in err
    store = ModelStore(root)
    card = store.current()
    assert current_version(root) == card["version"] != "tiny-1"
    assert json.loads((root / "current.json").read_text())["previous"] == ["tiny-1"]
    assert Classifier.load(root).version == card["version"]
    assert card["gate"]["passed"] is True and card["gate"]["current_version"] == "tiny-1"
    assert card["forced"] is False
    fb = card["feedback"]
    assert fb["weight"] == FEEDBACK_WEIGHT and fb["rows"] == 10 and fb["train"] + fb["held_out"] == 10
    assert card["metrics"]["held_out"]["per_source"].get("feedback", {}).get("n", 0) == fb["held_out"]
    for key in ("review_band", "metrics", "data", "hyperparameters", "versions", "licence", "artifact"):
        assert key in card


def test_a_worse_candidate_is_refused_and_nothing_changes(tmp_path, corpus, feedback, capsys, monkeypatch):
    root = tmp_path / "models"
    assert retrain(corpus, feedback, root) == 0
    before = store_files(root)
    capsys.readouterr()
    monkeypatch.setattr("training.train.build_pipeline", constant_pipeline)
    assert retrain(corpus, feedback, root) == 3  # tiny sources: only the pooled macro-F1 can block
    err = capsys.readouterr().err
    assert "~ desk" in err[err.index("source "):]
    assert retrain(corpus, feedback, root, "--source-min-n", "0") == 3
    err = capsys.readouterr().err
    assert "refused" in err and "nothing was written" in err
    table = err[err.index("source "):]
    assert "! pooled macro-F1" in table and "! desk" in table
    assert store_files(root) == before


def test_force_promotes_and_the_card_says_so_then_rollback(tmp_path, corpus, feedback, capsys, monkeypatch):
    root = tmp_path / "models"
    assert retrain(corpus, feedback, root) == 0
    good = current_version(root)
    monkeypatch.setattr("training.train.build_pipeline", constant_pipeline)
    assert retrain(corpus, feedback, root, "--force", "--source-min-n", "0") == 0
    card = ModelStore(root).current()
    assert card["version"] != good
    assert card["forced"] is True
    assert card["gate"]["passed"] is False and card["gate"]["forced"] is True
    assert "desk" in card["gate"]["refused_for"]
    capsys.readouterr()
    assert store_main(["list", "--store", str(root)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[2].startswith(f"* {card['version']}") and listed[2].split()[-1] == "yes"
    assert store_main(["rollback", "--store", str(root)]) == 0
    assert current_version(root) == good
    assert store_main(["list", "--store", str(root)]) == 0
    assert f"* {good}" in capsys.readouterr().out


def test_a_candidate_is_not_promoted_over_a_model_it_was_not_gated_against(tmp_path, corpus, feedback,
                                                                          tiny_model_dir, capsys, monkeypatch):
    """Someone promotes another version while the retrain runs: its candidate is stored, not made current."""
    from model.artifact import load
    from training import train as module

    root = tmp_path / "models"
    store = ModelStore(root)
    store.seed(tiny_model_dir)
    artifact = load(tiny_model_dir)
    card = artifact.card
    store.add(artifact, {**card, "version": "other"})
    scored = module.score_current

    def score_then_someone_promotes(*args):
        result = scored(*args)
        store.promote("other")
        return result

    monkeypatch.setattr(module, "score_current", score_then_someone_promotes)
    assert retrain(corpus, feedback, root) == 3
    assert "changed from tiny-1 to other" in capsys.readouterr().err
    assert current_version(root) == "other"
    assert len(store.versions()) == 3


def test_a_moderators_correction_overrides_the_corpus_label(tmp_path, corpus, capsys):
    """The corpus calls this text a comment; a moderator says it is editorial: the verdict stands."""
    text = COMMENT_EXAMPLES[0]
    feedback = write_jsonl(tmp_path / "fb.jsonl", [row(1, text, "editorial", "c1")] * 1)
    root = tmp_path / "models"
    assert retrain(corpus, feedback, root) == 0
    card = ModelStore(root).current()
    assert card["feedback"]["corpus_texts_overridden"] == 1
    assert card["data"]["dropped"]["overridden by feedback"] == 1
    assert card["feedback"]["by_label"] == {"editorial": 1}


def test_retrain_without_feedback_says_so(tmp_path, corpus, capsys):
    assert retrain(corpus, tmp_path / "none.sqlite3", tmp_path / "models") == 0
    assert "no feedback rows" in capsys.readouterr().err
    card = ModelStore(tmp_path / "models").current()
    assert card["feedback"]["rows"] == 0 and card["gate"]["reason"] == "no current model to compare with"
    assert not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize("extra, rows, message", [
    (["--feedback-weight", "-1"], None, "--feedback-weight must be 0 or more"),
    ([], [{"id": 1, "text": "a fine comment here", "label": "spam"}], "feedback row 1: 'label'"),
])
def test_bad_settings_stop_with_exit_2(tmp_path, corpus, capsys, extra, rows, message):
    feedback = write_jsonl(tmp_path / "fb.jsonl", rows or feedback_rows())
    assert retrain(corpus, feedback, tmp_path / "models", *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


def test_retrain_reads_the_feedback_database(tmp_path, corpus):
    """The real SQLite store the service writes (the feedback package)."""
    from feedback.store import FeedbackStore

    db = FeedbackStore(tmp_path / "feedback.sqlite3")
    for item in feedback_rows():
        db.put({k: v for k, v in item.items() if k in ("text", "label", "comment_id", "moderator")})
    db.close()
    assert retrain(corpus, tmp_path / "feedback.sqlite3", tmp_path / "models") == 0
    assert ModelStore(tmp_path / "models").current()["feedback"]["rows"] == len(feedback_rows())


def test_with_feedback_the_leave_one_source_out_table_is_over_the_corpora_alone(tmp_path, feedback):
    rows = [{"text": t, "label": "editorial", "source": "desk" if i % 2 else "wire"}
            for i, t in enumerate(EDITORIAL_EXAMPLES)]
    rows += [{"text": t, "label": "comment", "source": "readers" if i % 2 else "forum"}
             for i, t in enumerate(COMMENT_EXAMPLES)]
    corpus = write_jsonl(tmp_path / "four-sources.jsonl", rows)
    store = tmp_path / "models"
    with_loso = [arg for arg in TINY if arg != "--no-loso"]
    assert main(["--data", str(corpus), "--no-corpora", "--feedback", str(feedback), "--store", str(store),
                 *with_loso]) == 0
    card = ModelStore(store).current()
    loso = card["metrics"]["leave_one_source_out"]
    assert set(loso["per_source"]) == {"desk", "wire", "readers", "forum"}
    corpus_train = sum(n for name, n in card["data"]["counts"]["train"]["by_source"].items()
                       if name in loso["per_source"])
    assert loso["pooled"]["n"] == corpus_train
    assert card["metrics"]["leave_one_source_out_is"].startswith("over the corpora's training split")
