"""``python -m bench``: the service under gunicorn against a hello-world floor, then in-process.

Starts ``service.wsgi:app`` and ``bench.hello:create_app()`` under the project's
``service/gunicorn.conf.py`` (WORKERS, THREADS and GUNICORN_CMD_ARGS apply to both), loads each
with wrk on 127.0.0.1 (single texts in alternating slices, so that the machine's noise
hits both alike), stops both, then times the model in this process. Prints a table and
writes it as JSON to ``bench/results/latest.json``. Figures only: nothing is asserted. The
machine is shared and noisy, so compare the ratios within one run rather than across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import runpy
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import inprocess, load, report, servers, stopping

MODEL_APP = "service.wsgi:app"
HELLO_APP = "bench.hello:create_app()"
DEFAULT_OUTPUT = servers.REPO / "bench" / "results" / "latest.json"


def _int_list(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with BENCH_SECONDS and COMMENT_CLASSIFIER_MODEL_DIR as defaults."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 20)),
                        help="length of each wrk run (default: $BENCH_SECONDS or 20)")
    parser.add_argument("--concurrency", type=_int_list, default=[1, 8, 32],
                        help="connections for the single-text runs, comma-separated (default: 1,8,32)")
    parser.add_argument("--batch-sizes", type=_int_list, default=[100, 1000],
                        help="texts per request for the batch runs (default: 100,1000)")
    parser.add_argument("--batch-concurrency", type=int, default=4,
                        help="connections for the batch runs (default: 4)")
    parser.add_argument("--slices", type=int, default=4,
                        help="alternate hello and model this many times within each single-text run; "
                             "figures are medians over the slices (default: 4)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring (default: 2)")
    parser.add_argument("--wrk-threads", type=int, default=1,
                        help="wrk threads; it shares the cores with the servers (default: 1)")
    parser.add_argument("--inprocess-seconds", type=float, default=2.0,
                        help="time budget of each in-process measurement (default: 2)")
    parser.add_argument("--model", "--model-dir", dest="model", type=Path, metavar="PATH",
                        help="a model store (its current version) or a plain model folder (default: "
                             "$COMMENT_CLASSIFIER_MODEL_DIR, else the store var/models, else the shipped model/)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--no-http", action="store_true", help="skip gunicorn and wrk; in-process only")
    parser.add_argument("--no-inprocess", action="store_true", help="skip the in-process figures")
    return parser.parse_args(argv)


def say(message: str) -> None:
    """A progress line on stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def choose_model(model: Path | None) -> tuple[Path, str]:
    """The version folder to benchmark (a store stands for its current version, fixed for the whole
    run) and where it came from; SystemExit saying how to get a model."""
    from model.artifact import ModelError
    from model.store import locate, resolve

    try:
        path, origin = locate(model, store=servers.REPO / "var" / "models", seed=servers.REPO / "model")
        return resolve(path).resolve(), origin
    except ModelError as error:
        raise SystemExit(f"bench: {error}") from None


def model_card(model_dir: Path) -> dict:
    """The card in ``model_dir``, or SystemExit saying how to get a model."""
    try:
        return json.loads((model_dir / "card.json").read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(
            f"bench: no usable model card in {model_dir} ({error}): run 'make train', or point "
            "--model / COMMENT_CLASSIFIER_MODEL_DIR at a model store or a folder with card.json and its artifact"
        ) from None


def gunicorn_settings(server: servers.Server) -> dict:
    """Worker class (from the log), worker count (from /proc) and threads (from the config)."""
    found = re.search(r"Using worker: ([\w.:]+)", server.log.read_text(errors="replace"))
    env = {"HOST": servers.HOST, "PORT": str(server.port)}
    with _patched_environ(env):
        config = runpy.run_path(str(servers.CONFIG))
    return {
        "worker_class": found.group(1) if found else "?",
        "workers": len(servers.worker_pids(server.process.pid)),
        "threads": config.get("threads", 1),
        "gunicorn_cmd_args": os.environ.get("GUNICORN_CMD_ARGS", ""),
    }


@contextlib.contextmanager
def _patched_environ(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_servers(model_dir: Path, work: Path) -> dict[str, servers.Server]:
    """Start the model service and the hello app; return them once both answer /readyz."""
    started = {
        "model": servers.start("model", MODEL_APP, work, {"COMMENT_CLASSIFIER_MODEL_DIR": str(model_dir)}),
        "hello": servers.start("hello", HELLO_APP, work),
    }
    try:
        for name, server in started.items():
            say(f"{name} server ready on port {server.port} in {servers.wait_ready(server):.1f} s")
    except BaseException:
        stop_servers(started)
        raise
    return started


def stop_servers(started: dict[str, servers.Server]) -> None:
    """Stop every server, whatever happens to the others."""
    for server in started.values():
        try:
            servers.stop(server)
        except Exception as error:  # keep stopping the rest
            say(f"could not stop {server.name} (pid {server.process.pid}): {error}")


def combine(slices: list[dict]) -> dict:
    """One figure from several wrk runs: medians of rates and percentiles, sums of counts."""
    combined = {key: statistics.median(run[key] for run in slices)
                for key in ("rps", "p50_ms", "p90_ms", "p99_ms")}
    errors: dict[str, int] = {}
    for run in slices:
        for kind, count in run["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    return {"connections": slices[0]["connections"], "requests": sum(run["requests"] for run in slices),
            **combined, "max_ms": max(run["max_ms"] for run in slices), "errors": errors,
            "slices_rps": [round(run["rps"], 1) for run in slices]}


def paired_runs(hello: servers.Server, model: servers.Server, bodies: Path, connections: int,
                args: argparse.Namespace) -> tuple[dict, dict]:
    """Hello and model in alternating slices of the run time, so noise hits both alike."""
    slice_seconds = max(1.0, args.seconds / args.slices)
    runs: dict[str, list[dict]] = {"hello": [], "model": []}
    for _ in range(args.slices):
        for name, server in (("hello", hello), ("model", model)):
            runs[name].append(load.run_wrk(server.url, bodies, slice_seconds, connections, args.wrk_threads))
    return combine(runs["hello"]), combine(runs["model"])


def run_http(args: argparse.Namespace, started: dict[str, servers.Server], work: Path) -> dict:
    """The wrk runs: single texts on both servers at each concurrency, then batches on the model."""
    model, hello = started["model"], started["hello"]
    single = load.write_bodies(work / "single.jsonl", batch=None)
    if args.warmup > 0:
        for server in (hello, model):
            load.run_wrk(server.url, single, args.warmup, 8, args.wrk_threads)
    rows = []
    for connections in args.concurrency:
        say(f"single text, {connections} connections: hello and model in {args.slices} alternating "
            f"slices ({2 * args.seconds:.0f} s)")
        floor, served = paired_runs(hello, model, single, connections, args)
        ratio = served["rps"] / floor["rps"] if floor["rps"] else 0.0
        pairs = [m / h for m, h in zip(served["slices_rps"], floor["slices_rps"]) if h]
        rows.append({"connections": connections, "model": served, "hello": floor, "ratio": ratio,
                     "ratio_range": [min(pairs), max(pairs)] if pairs else None})
    batches = []
    for size in args.batch_sizes:
        say(f"batches of {size}, {args.batch_concurrency} connections, in {args.slices} slices ({args.seconds:.0f} s)")
        bodies = load.write_bodies(work / f"batch-{size}.jsonl", batch=size, count=8)
        slices, busiest = [], []
        for _ in range(args.slices):
            # wrk's kept-alive connections stay with the worker that accepted them, so one slice can
            # load one worker only: each slice opens its own, and says how the workers shared the CPU.
            before = servers.workers_cpu_seconds(model)
            slices.append(load.run_wrk(model.url, bodies, max(1.0, args.seconds / args.slices),
                                       args.batch_concurrency, args.wrk_threads))
            after = servers.workers_cpu_seconds(model)
            used = [after[pid] - before[pid] for pid in after if pid in before]
            busiest.append(round(max(used) / sum(used), 2) if used and sum(used) > 0 else None)
        run = combine(slices)
        batches.append({"batch": size, "docs_per_s": run["rps"] * size, **run,
                        "slices_docs_per_s": [round(rps * size) for rps in run["slices_rps"]],
                        "busiest_worker_cpu_share": busiest})
    return {"single": rows, "batches": batches}


def measure_http(args: argparse.Namespace, model_dir: Path) -> dict:
    """Start both servers, run the load, read peak memory, and always stop the servers."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        started = start_servers(model_dir, work)
        try:
            results = run_http(args, started, work)
            # After the load, when every worker has long been booted.
            results["peak_rss_mib"] = {name: servers.peak_rss_mib(s) for name, s in started.items()}
            results["gunicorn"] = gunicorn_settings(started["model"])
        finally:
            stop_servers(started)
    return results


def measure_inprocess(args: argparse.Namespace, model_dir: Path) -> dict:
    """Documents/s of classify and predict_proba in this process, and the model's load time."""
    say(f"in-process: single texts and batches of {args.batch_sizes}")
    figures = {"inprocess": inprocess.throughput(model_dir, args.batch_sizes, args.inprocess_seconds)}
    say("model load time: 3 fresh interpreters")
    figures["load_time"] = inprocess.load_time(model_dir)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON results."""
    args = parse_args(argv)
    model_dir, origin = choose_model(args.model)
    card = model_card(model_dir)
    say(f"model {card.get('version', '?')} (from {origin})")
    if not args.no_http:
        try:
            load.wrk_binary()
        except load.WrkMissing as error:
            print(f"bench: {error}", file=sys.stderr)
            return 2
    results: dict = {"setup": {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_version": card.get("version", "?"), "model_dir": str(model_dir),
        "seconds": args.seconds, "cpus": os.cpu_count(), "worker_class": "-", "workers": "-",
        "threads": "-", "wrk_threads": args.wrk_threads, "batch_concurrency": args.batch_concurrency,
    }}
    with stopping.exit_codes("bench", "servers stopped") as stopped:
        if not args.no_http:
            results.update(measure_http(args, model_dir))
            results["setup"].update(results.pop("gunicorn"))
        if not args.no_inprocess:
            results.update(measure_inprocess(args, model_dir))
    if stopped.code is not None:
        return stopped.code
    print(report.table(results))
    report.write_json(results, args.output)
    say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
