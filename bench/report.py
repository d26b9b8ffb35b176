"""The results as a compact text table and as a JSON file written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from model.atomic import atomic_open


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _errors(run: dict) -> str:
    return " errors " + ",".join(f"{k}={v}" for k, v in run["errors"].items()) if run.get("errors") else ""


def http_lines(results: dict) -> list[str]:
    """Rows for single-text requests (model, hello, ratio) and for batches."""
    lines = []
    single = results.get("single", [])
    if single:
        lines.append("single text over HTTP         req/s   p50 ms   p99 ms")
        for row in single:
            model, hello = row["model"], row["hello"]
            lines.append(f"  c={row['connections']:<3} model           {model['rps']:7.0f} {_ms(model['p50_ms']):>8} "
                         f"{_ms(model['p99_ms']):>8}{_errors(model)}")
            lines.append(f"        hello floor     {hello['rps']:7.0f} {_ms(hello['p50_ms']):>8} "
                         f"{_ms(hello['p99_ms']):>8}{_errors(hello)}")
            spread = row.get("ratio_range")
            spread = f"   (slices {spread[0]:.2f}-{spread[1]:.2f})" if spread else ""
            lines.append(f"        model/hello     {row['ratio']:7.2f}{spread}")
    batches = results.get("batches", [])
    if batches:
        lines.append("batches over HTTP             docs/s   req/s   p50 ms   p99 ms")
        for run in batches:
            lines.append(f"  {run['batch']:>5} texts, c={run['connections']:<3}     {run['docs_per_s']:7.0f} "
                         f"{run['rps']:7.1f} {_ms(run['p50_ms']):>8} {_ms(run['p99_ms']):>8}{_errors(run)}")
            if run.get("slices_docs_per_s"):
                shares = "/".join("?" if x is None else f"{x:.2f}" for x in run["busiest_worker_cpu_share"])
                lines.append(f"        slices {', '.join(str(x) for x in run['slices_docs_per_s'])} docs/s; "
                             f"busiest worker's share of the workers' CPU {shares}")
    return lines


def inprocess_lines(results: dict) -> list[str]:
    """Rows for the in-process documents/s, load time and peak memory."""
    lines = []
    docs = results.get("inprocess")
    if docs:
        sizes = list(docs["classify"])
        lines.append("in-process docs/s (1 core)    " + "".join(f"{s:>12}" for s in sizes))
        for name, row in docs.items():
            lines.append(f"  {name:<28}" + "".join(f"{row[s]:12.0f}" for s in sizes))
    load = results.get("load_time")
    if load:
        lines.append(f"model load (median of 3)      Classifier.load {load['load_s']:.3f} s; "
                     f"import model {load['import_s']:.2f} s")
    for name, rss in results.get("peak_rss_mib", {}).items():
        workers = ", ".join(f"{w:.0f}" for w in rss["workers"]) or "?"
        lines.append(f"peak RSS MiB, {name:<6}         workers {workers}; master {rss['master'] or '?'}")
    return lines


def table(results: dict) -> str:
    """The whole report as text."""
    setup = results["setup"]
    served = (f"gunicorn {setup['worker_class']} workers={setup['workers']} threads={setup['threads']}; "
              f"{setup['seconds']:g} s/run" if results.get("single") or results.get("batches") else "no HTTP runs")
    head = f"model {setup['model_version']} ({setup['model_dir']}); {served}; {setup['cpus']} CPUs"
    return "\n".join([head, *http_lines(results), *inprocess_lines(results)])


def write_json(results: dict, path: Path) -> None:
    """Write ``results`` to ``path`` through a temporary file renamed into place."""
    with atomic_open(path, "w") as handle:
        json.dump(results, handle, indent=2)
        handle.write("\n")
