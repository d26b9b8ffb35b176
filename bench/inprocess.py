"""In-process figures: documents/s of ``Classifier.classify`` and of the raw pipeline, load time."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import texts
from bench.servers import REPO

# Timed in a fresh interpreter: imports first, then the load alone.
_LOAD_SNIPPET = """
import json, sys, time
began = time.perf_counter()
from model import Classifier
imported = time.perf_counter()
Classifier.load(sys.argv[1])
loaded = time.perf_counter()
print(json.dumps({"import_s": imported - began, "load_s": loaded - imported}))
"""


def docs_per_second(rounds: list[Callable[[], object]], docs_per_round: int, budget: float) -> float:
    """Documents/s from the median round's CPU time, calling ``rounds`` in turn for ``budget`` s (3 at least).

    CPU time (``time.process_time``) rather than the clock: on a shared machine the clock also
    counts the time this process waited for a core, which says nothing about the code.
    """
    times = []
    began = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - began < budget:
        call = rounds[len(times) % len(rounds)]
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return docs_per_round / statistics.median(times)


def _each(function: Callable[[str], object], items: list[str]) -> Callable[[], None]:
    def round_() -> None:
        for item in items:
            function(item)

    return round_


def throughput(model_dir: Path, batch_sizes: list[int], budget: float) -> dict[str, dict[str, float]]:
    """Documents/s for single texts and each batch size, through ``classify`` and ``predict_proba``."""
    from model import Classifier

    classifier = Classifier.load(model_dir)
    pipeline = classifier.pipeline
    corpus = texts.all_texts()
    classifier.classify(corpus)  # warm caches before timing
    results = {
        "classify": {"single": docs_per_second(
            [_each(lambda t: classifier.classify([t]), corpus)], len(corpus), budget)},
        "predict_proba": {"single": docs_per_second(
            [_each(lambda t: pipeline.predict_proba([t]), corpus)], len(corpus), budget)},
    }
    for size in batch_sizes:
        batches = [texts.cycle(size, start=i * 7) for i in range(5)]
        results["classify"][f"batch {size}"] = docs_per_second(
            [lambda b=b: classifier.classify(b) for b in batches], size, budget)
        results["predict_proba"][f"batch {size}"] = docs_per_second(
            [lambda b=b: pipeline.predict_proba(b) for b in batches], size, budget)
    return results


def load_time(model_dir: Path, repeats: int = 3) -> dict[str, float]:
    """Median seconds to import ``model`` and to run ``Classifier.load``, each in a fresh interpreter."""
    runs = []
    for _ in range(repeats):
        finished = subprocess.run(
            [sys.executable, "-c", _LOAD_SNIPPET, str(model_dir)],
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )
        if finished.returncode != 0:
            raise RuntimeError(f"loading the model failed:\n{finished.stderr.strip()[-2000:]}")
        runs.append(json.loads(finished.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(run[key] for run in runs) for key in ("import_s", "load_s")}
