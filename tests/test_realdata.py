"""Training on the real corpora with a small fixed configuration reaches a known floor."""

import json

import pytest

from model import Classifier

pytestmark = pytest.mark.realdata

# Measured with this configuration (600 texts per source, words+style): held-out macro-F1
# 0.923 at seed 0, and 0.919, 0.931, 0.926 at seeds 1-3 (the split and the sample move);
# ROC-AUC 0.974-0.979. The full configuration (4,000 per source) reaches 0.935. The floor sits
# two seed-spreads below the worst seed: a broken importer, a label mix-up or a normaliser
# bug costs far more than that, version drift in scikit-learn or numpy does not.
FLOOR = 0.90


def test_small_real_training_run(data_dir, tmp_path):
    from training.train import main

    out = tmp_path / "model"
    report = tmp_path / "report.json"
    assert main(["--data-dir", str(data_dir), "--store", str(out), "--cap", "600", "--no-loso", "--no-kind", "--pages", "0",
                 "--report", str(report)]) == 0
    metrics = json.loads(report.read_text())["held_out"]
    assert metrics["macro_f1"] >= FLOOR, metrics
    assert metrics["roc_auc"] >= 0.95
    # Every source took part, and every held-out source was also trained on.
    card = Classifier.load(out).card
    train_sources = set(card["data"]["counts"]["train"]["by_source"])
    assert len(train_sources) == 24  # 18 + the six sources of the fourth batch
    assert set(card["data"]["counts"]["test"]["by_source"]) <= train_sources
