"""The experiments are runnable commands of their own, apart from the production stages."""

import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.parametrize("name", ["feedback_weight", "kind_policies"])
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
