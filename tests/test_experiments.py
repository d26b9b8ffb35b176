"""The experiments are runnable commands of their own, apart from the production stages."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("name", ["feedback_weight", "kind_policies", "generalisation"])
def test_each_experiment_runs_as_a_module_and_names_its_data(name, tmp_path):
    module = f"training.experiments.{name}"
    shown = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True)
    assert shown.returncode == 0 and f"python -m {module}" in shown.stdout
    missing = subprocess.run([sys.executable, "-m", module, "--data-dir", str(tmp_path / "nowhere")],
                             cwd=REPO, capture_output=True, text=True)
    assert missing.returncode == 2 and "error:" in missing.stderr and "Traceback" not in missing.stderr


def test_no_production_stage_imports_an_experiment():
    for path in (REPO / "training").glob("*.py"):
        assert "training.experiments" not in "\n".join(
            line for line in path.read_text().splitlines() if line.startswith(("import", "from"))), path.name


def test_generalisation_scores_variants_out_of_source():
    from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES
    from training.experiments.generalisation import score_variant
    from training.records import Record

    records = [Record(t, "editorial", "wire" if i % 2 else "paper", f"e{i}") for i, t in enumerate(EDITORIAL_EXAMPLES)]
    records += [Record(t, "comment", "forum" if i % 2 else "tweets", f"c{i}") for i, t in enumerate(COMMENT_EXAMPLES)]
    loose = {"features__words__min_df": 1, "features__style__min_df": 1}
    rows = [score_variant({"name": name, "params": loose, **extra}, records, None, 1)
            for name, extra in (("equal", {}), ("sqrt", {"weights": "sqrt"}),
                                ("style only", {"blocks": ["style"]}))]
    for row in rows:
        assert set(row["per_source"]) == {"wire", "paper", "forum", "tweets"}
        assert 0.0 <= row["pooled_macro_f1"] <= 1.0 and 0.0 <= row["review_share_at_99"] <= 1.0
        assert 0.0 <= row["out_of_source_band"]["review_share"] <= 1.0
    # Different feature blocks give different out-of-source scores: the variants are really applied.
    assert rows[0]["per_source"] != rows[2]["per_source"] or rows[0]["roc_auc"] != rows[2]["roc_auc"]


def test_band_by_length_with_one_bucket_is_the_one_band_judged_out_of_source():
    import numpy as np

    from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES
    from training.calibration import out_of_source_report
    from training.data import source_weights
    from training.experiments.generalisation import band_by_length
    from training.records import Record

    records = [Record(t, "editorial", f"paper{i % 3}", f"e{i}") for i, t in enumerate(EDITORIAL_EXAMPLES)]
    records += [Record(t, "comment", f"forum{i % 3}", f"c{i}") for i, t in enumerate(COMMENT_EXAMPLES)]
    rng = np.random.default_rng(0)
    editorial = np.array([r.label == "editorial" for r in records])
    # Scores that mostly separate the labels, with overlap so the band has work to do.
    p = np.clip(np.where(editorial, 0.7, 0.3) + rng.normal(0, 0.2, len(records)), 0.01, 0.99)
    weights = source_weights(records)
    held = out_of_source_report(records, p, precision=0.9, weights=weights)["held_out_sources"]
    one = band_by_length(records, p, [10**9], 0.9, weights)
    assert one["review_share"] == held["review_share"]
    assert one["decided_accuracy"] == held["decided_accuracy"]
    # Buckets change which band judges a text, so the figures move (here: every text in its own
    # length class would be judged by a band fitted on few texts).
    split = band_by_length(records, p, [8, 16, 24], 0.9, weights)
    assert 0.0 <= split["review_share"] <= 1.0 and split["edges"] == [8, 16, 24]
    assert (split["review_share"], split["decided_accuracy"]) != (one["review_share"], one["decided_accuracy"])


def test_register_weights_weigh_each_label_written_in_the_others_register_more_and_keep_the_totals():
    import numpy as np

    from training.data import source_weights
    from training.experiments.generalisation import WEIGHTS, register_weights
    from training.records import Record

    long_comment = " ".join(["word"] * 60)
    records = [
        Record("In my view, we should act now.", "editorial", "columns", "e1"),  # first person
        Record("The council met on Tuesday.", "editorial", "columns", "e2"),
        Record("Officials said the plan would pass.", "editorial", "wire", "e3"),
        Record(long_comment, "comment", "forum", "c1"),  # long
        Record("lol no", "comment", "forum", "c2"),
        Record("Great, another tax.", "comment", "tweets", "c3"),
    ]
    base = np.asarray(source_weights(records))
    for factor, weights in ((2.0, register_weights(records)), (3.0, WEIGHTS["register3"](records))):
        assert weights[0] / weights[1] == pytest.approx(factor * base[0] / base[1])
        assert weights[3] / weights[4] == pytest.approx(factor * base[3] / base[4])
        assert weights[1] / weights[2] == pytest.approx(base[1] / base[2])  # neither crosses
        for label in ("editorial", "comment"):
            inside = np.array([r.label == label for r in records])
            assert weights[inside].sum() == pytest.approx(base[inside].sum())
