"""The report: plots from a card and predictions, the Markdown that links them, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from training import report

REPO = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CARD_ONLY_PLOTS = {"confusion.png", "reliability.png", "per_source.png", "leave_one_source_out.png",
                   "kind.png", "segmentation.png"}
ALL_PLOTS = CARD_ONLY_PLOTS | {"roc.png", "precision_recall.png"}


def _source(label, accuracy, n=10):
    return {"label": label, "n": n, "accuracy": accuracy, "mean_p_editorial": 0.5}


FAKE_CARD = {
    "version": "fake-1",
    "created": "2026-01-01T00:00:00+00:00",
    "metrics": {
        "held_out": {
            "n": 8, "accuracy": 0.75, "macro_f1": 0.75, "roc_auc": 0.8, "brier": 0.2,
            "confusion": {"labels": ["editorial", "comment"], "matrix": [[3, 1], [1, 3]]},
            "per_source": {"news": _source("editorial", 0.75, 4), "forum": _source("comment", 0.75, 4)},
        },
        "calibration": {
            "expected_calibration_error": 0.1,
            "reliability": [
                {"bin": [0.0, 0.5], "n": 4, "mean_predicted": 0.2, "observed_editorial": 0.25},
                {"bin": [0.5, 1.0], "n": 4, "mean_predicted": 0.8, "observed_editorial": 0.75},
            ],
            "review_band": {"band": [0.3, 0.7], "review_share": 0.25, "precision_editorial": 1.0,
                            "precision_comment": 1.0},
        },
        "leave_one_source_out": {
            "pooled": {"macro_f1": 0.6},
            "source_balanced_macro_f1": 0.6,
            "per_source": {"news": _source("editorial", 0.5), "forum": _source("comment", 0.7)},
        },
    },
    "segmentation": {
        "pages": 3,
        "segment": {"pages": 3, "blocks": 9, "block_accuracy": 0.9, "boundary_exact": 0.67,
                    "per_label": {"editorial": 1.0, "comment": 0.8}},
        "argmax": {"pages": 3, "blocks": 9, "block_accuracy": 0.8, "boundary_exact": 0.33,
                   "per_label": {"editorial": 0.7, "comment": 0.9}},
    },
    "kind": {"metrics": {
        "held_out": {
            "pooled": {"macro_f1": 0.6, "f1_sarcastic": 0.5},
            "per_source": {"tweets": {"f1_sarcastic": 0.4}, "forum": {"f1_sarcastic": 0.6}},
            "subsets": {"forum:GEN": {"f1_sarcastic": 0.65}},
        },
        "official_isarcasm_test": {"f1_sarcastic": 0.3},
        "baselines": [
            {"source": "twitter_isarcasm", "metric": "f1_sarcastic", "score": 0.6, "split": "official test set"},
            {"source": "forum", "metric": "f1_sarcastic", "score": {"GEN": 0.7}, "note": "approximate"},
            {"source": "tweets", "metric": None, "score": None},
        ],
    }},
}
FAKE_LABELS = ["editorial"] * 4 + ["comment"] * 4
FAKE_P = [0.9, 0.8, 0.6, 0.4, 0.55, 0.3, 0.2, 0.1]


def assert_png(path: Path) -> None:
    """A real, non-empty PNG image."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    image = imread(path)
    assert image.shape[0] > 0 and image.shape[1] > 0
    assert path.stat().st_size < 150_000, f"{path.name} is {path.stat().st_size} bytes"


def markdown_links(path: Path) -> set[str]:
    return set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", path.read_text()))


def test_draw_writes_every_plot_and_the_markdown_links_them(tmp_path):
    drawn = report.draw(FAKE_CARD, tmp_path, FAKE_LABELS, FAKE_P)
    files = {file for file, _ in drawn["figures"].values()}
    assert files == ALL_PLOTS
    for name in files:
        assert_png(tmp_path / name)
    assert drawn["roc_auc"] == pytest.approx(0.9375)
    report.write_markdown(FAKE_CARD, drawn, tmp_path / "README.md", "2026-01-02T00:00:00+00:00", card_only=False)
    assert markdown_links(tmp_path / "README.md") == ALL_PLOTS
    text = (tmp_path / "README.md").read_text()
    assert "fake-1" in text and "2026-01-02" in text and "| Held-out macro-F1 | 0.7500 |" in text


def test_draw_without_predictions_skips_only_the_curves(tmp_path):
    drawn = report.draw(FAKE_CARD, tmp_path)
    assert {file for file, _ in drawn["figures"].values()} == CARD_ONLY_PLOTS


def test_draw_skips_what_the_card_lacks(tmp_path):
    card = {**FAKE_CARD, "kind": None, "segmentation": None}
    drawn = report.draw(card, tmp_path)
    assert "kind" not in drawn["figures"] and "segmentation" not in drawn["figures"]


def test_kind_rows_set_each_baseline_against_the_matching_figure():
    rows = {row["what"]: row for row in report.kind_rows(FAKE_CARD["kind"]["metrics"])}
    assert rows["twitter_isarcasm (official test)"]["ours"] == 0.3
    assert rows["forum:GEN"] == {"what": "forum:GEN", "ours": 0.65, "published": 0.7, "approx": True}
    assert rows["tweets (held out)"]["published"] is None


@pytest.fixture(autouse=True)
def no_model_store(tmp_path, monkeypatch):
    """Run where there is no var/models and no model setting: the default is then the shipped seed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMMENT_CLASSIFIER_MODEL_DIR", raising=False)


def test_card_only_draws_from_the_shipped_card(tmp_path, capsys):
    out = tmp_path / "reports"
    assert report.main(["--card-only", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    card = json.loads((REPO / "model" / "card.json").read_text())
    assert f"model {card['version']} (from the shipped seed model" in err and "var/models has no current version" in err
    # Every plot the card holds the figures of (the shipped card may lack a segmentation section).
    expected = CARD_ONLY_PLOTS - ({"segmentation.png"} if not card.get("segmentation") else set())
    assert {p.name for p in out.glob("*.png")} == expected
    for path in out.glob("*.png"):
        assert_png(path)
    assert card["version"] in (out / "README.md").read_text()
    assert markdown_links(out / "README.md") == expected
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]  # no staging folder left behind


def test_the_default_is_the_model_stores_current_version_and_it_is_named(tmp_path, tiny_model_dir, capsys):
    from model.store import ModelStore

    ModelStore(tmp_path / "var" / "models").seed(tiny_model_dir)  # var/models in the working folder
    out = tmp_path / "reports"
    assert report.main(["--card-only", "--out", str(out)]) == 0
    assert "model tiny-1 (from the model store var/models)" in capsys.readouterr().err
    assert "tiny-1" in (out / "README.md").read_text()
    assert report.main(["--card-only", "--model", str(REPO / "model"), "--out", str(out)]) == 0
    shipped = json.loads((REPO / "model" / "card.json").read_text())["version"]
    assert f"model {shipped} (from {REPO / 'model'})" in capsys.readouterr().err


def test_a_new_report_replaces_the_old_one(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "stale.png").write_bytes(b"old")
    assert report.main(["--card-only", "--out", str(out)]) == 0
    assert not (out / "stale.png").exists() and (out / "README.md").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]


def test_a_failed_run_leaves_the_old_report_alone(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "README.md").write_text("old")

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(report, "draw", broken)
    with pytest.raises(RuntimeError):
        report.main(["--card-only", "--out", str(out)])
    assert (out / "README.md").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]


def test_without_the_data_folder_it_names_data_dir_and_exits_2(tmp_path, capsys):
    code = report.main(["--data-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "reports")])
    assert code == 2
    assert "DATA_DIR" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_a_missing_card_is_an_error_that_says_what_to_run(tmp_path, capsys):
    code = report.main(["--card-only", "--model-dir", str(tmp_path), "--out", str(tmp_path / "reports")])
    assert code == 1
    assert "make train" in capsys.readouterr().err


def test_scores_that_differ_from_the_card_stop_the_report(tiny_model_dir, tmp_path, monkeypatch):
    from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES
    from training.records import Record

    held = [Record(t, "editorial", "news", str(i)) for i, t in enumerate(EDITORIAL_EXAMPLES)]
    held += [Record(t, "comment", "forum", str(i)) for i, t in enumerate(COMMENT_EXAMPLES)]
    monkeypatch.setattr(report, "held_out_split", lambda data_dir, card: held)
    with pytest.raises(report.ReportError, match="differs from the card's None"):
        report.score_held_out(tmp_path, tiny_model_dir)


@pytest.mark.realdata
@pytest.mark.artifact
def test_full_report_recomputes_the_cards_held_out_macro_f1(data_dir, tmp_path, capsys):
    out = tmp_path / "reports"
    assert report.main(["--data-dir", str(data_dir), "--model", str(REPO / "model"), "--out", str(out)]) == 0
    card = json.loads((REPO / "model" / "card.json").read_text())
    said = re.search(r"recomputed held-out macro-F1 ([0-9.]+) on (\d+) texts", capsys.readouterr().err)
    assert float(said.group(1)) == card["metrics"]["held_out"]["macro_f1"]
    assert int(said.group(2)) == card["metrics"]["held_out"]["n"]
    # The card's plots, the recomputed curves and the newsroom's two (the band trade-off, the
    # operating points); segmentation only when the card holds its figures.
    expected = ALL_PLOTS | {"review_tradeoff.png", "operating_points.png"}
    expected -= {"segmentation.png"} if not card.get("segmentation") else set()
    assert {p.name for p in out.glob("*.png")} == expected
    for path in out.glob("*.png"):
        assert_png(path)
    assert markdown_links(out / "README.md") == expected


# --- what a newsroom tunes --------------------------------------------------------------------

def fake_records():
    from training.records import Record

    sources = ["news"] * 4 + ["forum"] * 4
    return [Record(f"text {i} | with a pipe\nand a line", label, source, str(i))
            for i, (label, source) in enumerate(zip(FAKE_LABELS, sources))]


def test_the_coral_threshold_is_the_services_default():
    from service.integrations.coral import SETTINGS

    assert report.CORAL_FLAG_THRESHOLD == SETTINGS["CORAL_FLAG_THRESHOLD"]


def test_band_tradeoff_buys_precision_with_review():
    curve = report.band_tradeoff(FAKE_LABELS, FAKE_P, targets=(0.7, 0.8, 1.0))
    assert [row["target"] for row in curve] == [0.7, 0.8, 1.0]
    shares = [row["review_share"] for row in curve]
    assert shares == sorted(shares) and shares[0] < shares[-1]
    # perfect decisions: 0.9, 0.8, 0.6 editorial, 0.3, 0.2, 0.1 comment; 0.4 and 0.55 to review
    assert curve[-1]["band"] == [0.35, 0.575]
    assert (curve[-1]["review_share"], curve[-1]["decided_accuracy"]) == (0.25, 1.0)
    today = report.today_band(FAKE_LABELS, FAKE_P, (0.3, 0.7))
    assert (today["review_share"], today["decided_accuracy"]) == (0.5, 1.0)


def test_per_source_review_coral_flags_mistakes_and_operating_points():
    records = fake_records()
    assert report.source_review(records, FAKE_P, (0.3, 0.7)) == [
        {"source": "forum", "label": "comment", "n": 4, "review_share": 0.5, "decided_accuracy": 1.0},
        {"source": "news", "label": "editorial", "n": 4, "review_share": 0.5, "decided_accuracy": 1.0},
    ]
    # only comment sources count; at 0.5 one forum comment (0.55) would be flagged
    assert report.coral_false_flags(records, FAKE_P, 0.5) == [
        {"source": "forum", "n": 4, "flagged": 1, "false_flag_rate": 0.25}]
    assert report.coral_false_flags(records, FAKE_P, 0.95)[0]["flagged"] == 0
    mistakes = report.misclassified(records, FAKE_P)
    assert [(m["source"], m["p_editorial"]) for m in mistakes["editorial called comment"]] == [("news", 0.4)]
    assert [(m["source"], m["p_editorial"]) for m in mistakes["comment called editorial"]] == [("forum", 0.55)]
    assert report.operating_points(FAKE_LABELS, FAKE_P, {"label": 0.5}) == {
        "label": {"threshold": 0.5, "tpr": 0.75, "fpr": 0.25, "precision": 0.75}}


def test_the_newsroom_figures_are_drawn_and_the_report_is_reproducible(tmp_path):
    records = fake_records()
    texts = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        drawn = report.draw(FAKE_CARD, out, FAKE_LABELS, FAKE_P)
        newsroom = report.draw_newsroom(FAKE_CARD, out, records, FAKE_P, coral_threshold=0.5)
        drawn["figures"].update(newsroom["figures"])
        drawn["newsroom"] = newsroom["newsroom"]
        report.write_markdown(FAKE_CARD, drawn, out / "README.md", None, card_only=False)
        texts.append({path.name: path.read_bytes() for path in sorted(out.iterdir())})
    assert texts[0] == texts[1]  # the same model and data: byte for byte the same files
    for name in ("review_tradeoff.png", "operating_points.png"):
        assert_png(tmp_path / "a" / name)
    readme = (tmp_path / "a" / "README.md").read_text()
    assert markdown_links(tmp_path / "a" / "README.md") == ALL_PLOTS | {"review_tradeoff.png", "operating_points.png"}
    assert not re.search(r"20\d\d-\d\d-\d\dT", readme.replace(FAKE_CARD["created"], ""))  # no timestamp
    assert "| **today** ★ | [0.300, 0.700) | 50.0% | 100.0% |" in readme
    assert "| forum | comment | 4 | 50.0% | 100.0% |" in readme
    assert "| forum | 4 | 1 | 25.0% |" in readme
    # a mistake's text is one table cell: no line break, its pipe escaped
    assert "| 0.550 | forum | text 4 \\| with a pipe and a line |" in readme


def test_redrawing_keeps_the_page_evaluations_written_beside_it(tmp_path):
    from training.report import keep_page_evaluations

    out, staging = tmp_path / "reports", tmp_path / "new"
    out.mkdir()
    staging.mkdir()
    (out / "segment-oov.json").write_text('{"mean": 1}')
    (out / "old-plot.png").write_bytes(b"x")
    keep_page_evaluations(out, staging)
    assert (staging / "segment-oov.json").read_text() == '{"mean": 1}'
    assert not (staging / "old-plot.png").exists()  # the report's own files are drawn anew


def test_the_replication_on_new_page_sets_is_a_key_figure(tmp_path):
    from training.report import REPLICATION_FILE, replication_rows

    assert replication_rows(tmp_path / "missing.json") == []
    report = tmp_path / "replication.json"
    report.write_text(json.dumps({"page_seeds": [6, 7], "summary": {"segment": {
        "block_accuracy": 0.97171, "boundary_exact": 0.9077}}}))
    [(name, value)] = replication_rows(report)
    assert "new page sets (6, 7)" in name
    assert value == "0.9717 / 0.9077"
    # The shipped file is the evaluation's own output, and docs/model.md gives its figure.
    [(_, shipped)] = replication_rows(REPLICATION_FILE)
    accuracy = shipped.split(" / ")[0]
    docs = (REPLICATION_FILE.parents[1] / "docs" / "model.md").read_text(encoding="utf-8")
    assert f"**{accuracy}**" in docs


def test_the_html_evaluation_is_a_key_figure_by_fold(tmp_path):
    from training.report import HTML_FILE, html_rows

    assert html_rows(tmp_path / "missing.json") == []
    figures = {"block_accuracy": 0.99, "boundary_exact": 0.9}
    report = tmp_path / "html.json"
    report.write_text(json.dumps({"folds": [
        {"fold": "A->B", "html": figures, "text": {"block_accuracy": 0.95, "boundary_exact": 0.85},
         "trafilatura": {"block_accuracy": 0.8, "boundary_exact": 0.7}},
        {"fold": "B->A", "html": figures},  # a fold without every way is left out
    ]}))
    [(name, value)] = html_rows(report)
    assert "fold A->B" in name and "trafilatura" in name
    assert value == "0.9900 / 0.9000; 0.9500 / 0.8500; 0.8000 / 0.7000"
    # The shipped evaluation gives a row per fold, the HTML path ahead of the other two.
    shipped = html_rows(HTML_FILE)
    assert len(shipped) == 2
    for _name, value in shipped:
        html, text, trafilatura = (float(part.split(" / ")[0]) for part in value.split("; "))
        assert html >= text and html > trafilatura


def test_the_page_band_s_decisions_are_a_key_figure(tmp_path):
    from model.segment import PARAMS_FILE
    from training.report import out_of_vocabulary_rows

    assert out_of_vocabulary_rows(tmp_path / "missing.json") == []
    params = tmp_path / "params.json"
    segment = {"block_accuracy": 0.97, "boundary_exact": 0.91}
    figures = {"segment": segment, "argmax": {"block_accuracy": 0.86, "boundary_exact": 0.24},
               "page_band": {"review_share": 0.0196, "decided_right": 0.9698,
                             "own_scores": {"review_share": 0.4435, "decided_right": 0.9724}}}
    params.write_text(json.dumps({"figures": figures}))
    rows = out_of_vocabulary_rows(params)
    assert len(rows) == 3 and "page band" in rows[2][0]
    assert rows[2][1] == "2.0%, 0.9698 (44.4%, 0.9724)"
    # With the page scores' calibration error, a row of its own.
    figures["page_band"]["calibration_error"] = 0.0209
    params.write_text(json.dumps({"figures": figures}))
    rows = out_of_vocabulary_rows(params)
    assert len(rows) == 4 and "calibration error" in rows[3][0] and rows[3][1] == "0.0209"
    # Without the page band's figures (a params file from before), the two segmentation rows alone.
    del figures["page_band"]
    params.write_text(json.dumps({"figures": figures}))
    assert len(out_of_vocabulary_rows(params)) == 2
    # The shipped file has them all.
    assert len(out_of_vocabulary_rows(PARAMS_FILE)) == 4
