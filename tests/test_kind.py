"""The kind-of-comment model: C3 vote policy, the three importers, training and its CLI."""

import csv
import json

import numpy as np
import pytest

from model.scoring import FastScorer
from training.kind import (
    C3,
    DEFAULT_POLICY,
    FORUMS,
    ISARCASM,
    KINDS,
    KindRecord,
    VotePolicy,
    kind_weights,
    load_c3,
    load_isarcasm,
    load_kinds,
    load_sarcasm_v2,
    main,
    parse_votes,
    train_kind,
)
from training.records import Record

TINY_PARAMS = {"features__words__min_df": 1, "features__style__min_df": 1, "clf__C": 10.0}

SARCASTIC_EXAMPLES = [
    "Oh great, another tax. Just what we all needed, thanks so much.",
    "Sure, because that worked so well the last ten times, right?",
    "Wow, what a genius plan. I'm sure nothing could possibly go wrong.",
    "Yeah right, and I'm the Queen of England.",
    "Brilliant. Truly the finest minds of our generation at work here.",
    "Oh wonderful, more meetings. My favourite thing in the whole world.",
    "Clearly the experts know best, as they always do, obviously.",
    "Nice to see our leaders working so hard on their holidays again.",
]
OPINION_EXAMPLES = [
    "I think the budget should put more money into public transit.",
    "The council made the right call on the housing plan, in my view.",
    "We need better funding for rural hospitals before anything else.",
    "I disagree with the author: the tax change will hurt small firms.",
    "Schools should teach more practical skills like personal finance.",
    "The new bridge is a sensible investment for the whole region.",
    "In my experience the clinic waiting times have really improved.",
    "I would vote for a candidate who takes climate policy seriously.",
]


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


# --- vote policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("sarcastic:2\nprovocative:1", {"sarcastic": 2, "provocative": 1}),
        ("no_non_con:3\nunsubstantial:1", {"no_non_con": 3, "unsubstantial": 1}),
        ("", {}),
        ("\n\n", {}),
        ("garbage\nsarcastic: 3 \nteasing", {"sarcastic": 3}),
    ],
)
def test_parse_votes(cell, expected):
    assert parse_votes(cell) == expected


@pytest.mark.parametrize(
    "policy, expected",
    [
        (DEFAULT_POLICY, ["opinion", None, "sarcastic", "sarcastic", "sarcastic", "sarcastic"]),
        (VotePolicy(1, 0), ["opinion", "sarcastic", "sarcastic", "sarcastic", "sarcastic", "sarcastic"]),
        (VotePolicy(2, 1), ["opinion", "opinion", "sarcastic", "sarcastic", "sarcastic", "sarcastic"]),
        (VotePolicy(3, 0), ["opinion", None, None, "sarcastic", "sarcastic", "sarcastic"]),
    ],
)
def test_vote_policy(policy, expected):
    assert [policy.kind(votes) for votes in range(6)] == expected


def test_default_policy_is_two_votes_against_none():
    assert (DEFAULT_POLICY.sarcastic_min, DEFAULT_POLICY.opinion_max) == (2, 0)
    assert DEFAULT_POLICY.name == ">=2 / 0"


# --- importers ------------------------------------------------------------------------------


@pytest.fixture()
def c3_dir(tmp_path):
    """A data folder holding a C3 file with one row for each case the importer handles."""
    (tmp_path / "socc_c3").mkdir()
    _write_csv(
        tmp_path / "socc_c3" / "C3_anonymized.csv",
        ["article_id", "comment_counter", "comment_text", "non_constructive_characteristics"],
        [
            ["101", "a", "Oh sure, that always works.", "sarcastic:2\nprovocative:1"],
            ["101", "b", "I think the budget is too large.", "no_non_con:3"],
            ["102", "c", "Maybe, maybe not.", "sarcastic:1\nno_non_con:2"],
            ["102", "d", "Great, <b>another</b> tax.Thanks", "sarcastic:4"],
            ["103", "e", "i think   the budget is TOO large!", "no_non_con:2"],  # a copy of b
            ["103", "f", "Same words, two labels.", "sarcastic:3"],
            ["104", "g", "same words two labels", "no_non_con:5"],  # conflicts with f
            ["104", "h", "   ", "sarcastic:2"],
        ],
    )
    return tmp_path


def test_load_c3(c3_dir):
    assert list(load_c3(c3_dir)) == [
        KindRecord("Oh sure, that always works.", "sarcastic", C3, f"{C3}:101"),
        KindRecord("I think the budget is too large.", "opinion", C3, f"{C3}:101"),
        KindRecord("Great,  another  tax. Thanks", "sarcastic", C3, f"{C3}:102"),
    ]


def test_load_c3_policy_decides_the_one_vote_comments(c3_dir):
    kinds = {r.text: r.kind for r in load_c3(c3_dir, VotePolicy(1, 0))}
    assert kinds["Maybe, maybe not."] == "sarcastic"
    kinds = {r.text: r.kind for r in load_c3(c3_dir, VotePolicy(2, 1))}
    assert kinds["Maybe, maybe not."] == "opinion"


@pytest.fixture()
def sarcasm_v2_dir(tmp_path):
    """A data folder holding GEN, HYP and RQ files with emoticons, repeats and a conflict."""
    folder = tmp_path / "sarcasm_corpus_v2"
    folder.mkdir()
    header = ["class", "id", "text"]
    _write_csv(folder / "GEN-sarc-notsarc.csv", header, [
        ["sarc", "1", "Oh really? emoticonXRolleyes Tell me more."],
        ["notsarc", "2", "Guns are a tool;\r\nlaws should reflect that."],
        ["sarc", "3", "What a surprise."],
    ])
    _write_csv(folder / "HYP-sarc-notsarc.csv", header, [
        ["sarc", "1", "Oh really?  Tell me more!"],  # the GEN post again
        ["notsarc", "2", "Evolution is well supported &amp; tested."],
    ])
    _write_csv(folder / "RQ-sarc-notsarc.csv", header, [
        ["notsarc", "1", "What a surprise"],  # GEN 3 with the other label: both dropped
        ["unsure", "2", "Who knows?"],
    ])
    return tmp_path


def test_load_sarcasm_v2(sarcasm_v2_dir):
    assert list(load_sarcasm_v2(sarcasm_v2_dir)) == [
        KindRecord("Oh really? Tell me more.", "sarcastic", FORUMS, f"{FORUMS}:GEN:1"),
        KindRecord("Guns are a tool;\nlaws should reflect that.", "opinion", FORUMS, f"{FORUMS}:GEN:2"),
        KindRecord("Evolution is well supported & tested.", "opinion", FORUMS, f"{FORUMS}:HYP:2"),
    ]


@pytest.fixture()
def isarcasm_dir(tmp_path):
    """A data folder holding iSarcasmEval train and test files."""
    folder = tmp_path / "isarcasmeval_tweets"
    folder.mkdir()
    _write_csv(folder / "train.En.csv", ["", "tweet", "sarcastic", "rephrase", "sarcasm", "irony"], [
        ["0", "@bob @amy I just love Mondays https://t.co/xyz", "1", "I dislike Mondays.", "1", "0"],
        ["1", "", "0", "", "", ""],
        ["2", "Lovely walk by the river today", "0", "", "", ""],
    ])
    _write_csv(folder / "task_A_En_test.csv", ["text", "sarcastic"], [
        ["Can't wait for more rain &amp; wind", "1"],
        [".@carol: the match starts at six", "0"],
    ])
    return tmp_path


def test_load_isarcasm(isarcasm_dir):
    assert list(load_isarcasm(isarcasm_dir)) == [
        KindRecord("I just love Mondays", "sarcastic", ISARCASM, f"{ISARCASM}:train:0"),
        KindRecord("Lovely walk by the river today", "opinion", ISARCASM, f"{ISARCASM}:train:2"),
        KindRecord("Can't wait for more rain & wind", "sarcastic", ISARCASM, f"{ISARCASM}:test:0"),
        KindRecord("the match starts at six", "opinion", ISARCASM, f"{ISARCASM}:test:1"),
    ]


def test_load_kinds_names_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_kinds(tmp_path / "nowhere")


# --- training -------------------------------------------------------------------------------

_TAILS = {C3: "said the reader", FORUMS: "posted the debater", ISARCASM: "tweeted someone"}


def tiny_records() -> list[KindRecord]:
    """Eight sarcastic and eight opinion comments for each source, one group each."""
    records = []
    for source, tail in _TAILS.items():
        for kind, examples in (("sarcastic", SARCASTIC_EXAMPLES), ("opinion", OPINION_EXAMPLES)):
            for i, text in enumerate(examples):
                records.append(KindRecord(f"{text} So {tail}.", kind, source, f"{source}:{kind}{i}"))
    return records


def test_kind_weights_give_every_source_and_kind_the_same_weight():
    records = [Record("a b c", kind, source, "g") for source, kind, n in
               (("x", "sarcastic", 1), ("x", "opinion", 3), ("y", "sarcastic", 2), ("y", "opinion", 2))
               for _ in range(n)]
    weights = kind_weights(records)
    totals = {}
    for record, weight in zip(records, weights):
        totals[(record.source, record.label)] = totals.get((record.source, record.label), 0) + weight
    assert set(round(t, 12) for t in totals.values()) == {2.0}
    assert sum(weights) == pytest.approx(len(records))


def test_train_kind_returns_a_sarcasm_pipeline_that_the_fast_scorer_matches():
    pipeline, report = train_kind(tiny_records(), params=TINY_PARAMS, loso=True)
    assert list(pipeline.classes_) == list(KINDS) == ["opinion", "sarcastic"]
    scorer = FastScorer(pipeline)
    assert scorer.positive_label == "sarcastic"
    for text in ["Oh great, more rain. Just what I wanted.", "I think the plan is sensible.",
                 "Wow. Brilliant idea, truly.", "", "!!!"]:
        assert scorer.probability(text) == pytest.approx(pipeline.predict_proba([text])[0, 1], abs=1e-12)
    assert report["classes"] == ["opinion", "sarcastic"]
    assert set(report["held_out"]["per_source"]) <= {C3, FORUMS, ISARCASM}
    assert set(report["leave_one_source_out"]) == {C3, FORUMS, ISARCASM}
    assert report["data"]["counts"]["all"] == {s: {"opinion": 8, "sarcastic": 8} for s in _TAILS}


def test_train_kind_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        train_kind([KindRecord("a fine text here", "ironic", C3, "g")])


def test_main_trains_on_fixture_corpora(tmp_path, capsys):
    data = tmp_path / "data"
    for folder in ("socc_c3", "sarcasm_corpus_v2", "isarcasmeval_tweets"):
        (data / folder).mkdir(parents=True)
    pairs = [(text, kind) for kind, examples in (("sarcastic", SARCASTIC_EXAMPLES), ("opinion", OPINION_EXAMPLES))
             for text in examples]
    _write_csv(data / "socc_c3" / "C3_anonymized.csv", ["article_id", "comment_text", "non_constructive_characteristics"],
               [[str(i), f"{t} Writes a reader.", "sarcastic:3" if k == "sarcastic" else "no_non_con:5"]
                for i, (t, k) in enumerate(pairs)])
    for part in ("GEN", "HYP", "RQ"):
        _write_csv(data / "sarcasm_corpus_v2" / f"{part}-sarc-notsarc.csv", ["class", "id", "text"],
                   [["sarc" if k == "sarcastic" else "notsarc", str(i), f"{t} Posts a {part.lower()} debater."]
                    for i, (t, k) in enumerate(pairs)])
    _write_csv(data / "isarcasmeval_tweets" / "train.En.csv", ["", "tweet", "sarcastic"],
               [[str(i), f"@x {t} Tweets someone.", "1" if k == "sarcastic" else "0"] for i, (t, k) in enumerate(pairs)])
    _write_csv(data / "isarcasmeval_tweets" / "task_A_En_test.csv", ["text", "sarcastic"],
               [[f"{t} Tweets another person.", "1" if k == "sarcastic" else "0"] for t, k in pairs])
    report, model = tmp_path / "out" / "report.json", tmp_path / "out" / "kind.joblib"
    assert main(["--data-dir", str(data), "--out", str(report), "--save", str(model), "--no-loso"]) == 0
    written = json.loads(report.read_text())
    assert written["classes"] == ["opinion", "sarcastic"]
    assert written["data"]["vote_policy"] == ">=2/0"
    assert written["artifact_bytes"] == model.stat().st_size
    assert "official_isarcasm_test" in written
    assert "held out" in capsys.readouterr().out
    assert sorted(p.name for p in report.parent.iterdir()) == ["kind.joblib", "report.json"]


def test_main_names_a_missing_data_folder(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err


# --- real data ------------------------------------------------------------------------------

# Measured with this configuration (2,000 texts per source, words+style, >=2/0 votes): mean over
# the three sources of held-out macro-F1 0.588 at seed 0 and 0.597, 0.581, 0.588 at seeds 1-3;
# pooled ROC-AUC 0.673-0.709; 4forums ROC-AUC 0.708-0.757. The full data (no cap) reaches 0.608-
# 0.614. Chance is 0.5 macro-F1 and 0.5 ROC-AUC, and sarcasm from text alone is hard (C3's crowd
# tag is near chance), so the floors sit about two seed-spreads below the worst seed: a label
# swap or a broken importer falls through them, version drift does not.
MEAN_MACRO_F1_FLOOR = 0.55
POOLED_AUC_FLOOR = 0.63
FORUMS_AUC_FLOOR = 0.66


@pytest.mark.realdata
def test_small_real_kind_training_run(data_dir):
    records = load_kinds(data_dir)
    counts = {(r.source, r.kind) for r in records}
    assert counts == {(s, k) for s in (C3, FORUMS, ISARCASM) for k in KINDS}
    pipeline, report = train_kind(records, seed=0, cap=2000, loso=False, official_isarcasm=False)
    held = report["held_out"]
    assert list(pipeline.classes_) == ["opinion", "sarcastic"]
    assert held["source_mean"]["macro_f1"] >= MEAN_MACRO_F1_FLOOR, held
    assert held["pooled"]["roc_auc"] >= POOLED_AUC_FLOOR, held
    assert held["per_source"][FORUMS]["roc_auc"] >= FORUMS_AUC_FLOOR, held


def test_the_kind_fits_in_two_processes_give_the_report_of_one():
    one_pipeline, one = train_kind(tiny_records(), params=TINY_PARAMS, loso=True, n_jobs=1)
    two_pipeline, two = train_kind(tiny_records(), params=TINY_PARAMS, loso=True, n_jobs=2)
    for report in (one, two):
        del report["seconds"]
    assert one == two
    texts = ["Oh great, more rain. Just what I wanted.", "I think the plan is sensible."]
    assert np.array_equal(one_pipeline.predict_proba(texts), two_pipeline.predict_proba(texts))


def test_the_shipped_kind_pipeline_is_the_one_fit_kind_fits_on_the_training_split():
    from training.data import clean, split_by_group
    from training.kind import as_records, fit_kind

    pipeline, _report = train_kind(tiny_records(), params=TINY_PARAMS, loso=False, official_isarcasm=False)
    cleaned, _dropped = clean(as_records(tiny_records()), min_words=3)
    train, _test = split_by_group(cleaned, test_share=0.2, seed=0)
    reference = fit_kind(train, TINY_PARAMS)
    for (name, ours), (_, theirs) in zip(pipeline.named_steps["features"].transformer_list,
                                         reference.named_steps["features"].transformer_list):
        assert ours.vocabulary_ == theirs.vocabulary_, name
    assert np.allclose(pipeline.named_steps["clf"].coef_, reference.named_steps["clf"].coef_, atol=1e-8)
