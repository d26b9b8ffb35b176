"""``python -m bench.production``: production's topology under load, nginx in front of gunicorn.

For each worker setting, production's (``WORKER_CLASS=sync``) and gunicorn's threaded workers
(``make run``'s), it starts the service and the hello-world floor under gunicorn, each behind an
nginx rendered from ``deploy/nginx`` as the README's production commands do, and loads them
through nginx with wrk: single texts at 8 connections on both, then batches of 100 texts at 4
connections. The settings alternate in rounds, so that a busy moment of a shared machine hits
both. Figures are printed and written to ``bench/results/production.json``, never asserted.
Needs nginx (``apt-get install nginx-light``) and wrk (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import load, servers
from bench.__main__ import HELLO_APP, MODEL_APP, choose_model, combine, say

REPO = Path(__file__).resolve().parent.parent
RENDER = REPO / "deploy" / "nginx" / "render.py"
DEFAULT_OUTPUT = REPO / "bench" / "results" / "production.json"
# What each worker kind is in this project; any other gunicorn worker class is measured as given
# (e.g. gevent, once installed).
ROLES = {"sync": "sync (production)", "gthread": "gthread (make run)"}


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise SystemExit("nginx is not installed: install it with 'apt-get install nginx-light', then rerun")
    return found


class Nginx:
    """nginx in front of one gunicorn, rendered from the production template; stopped on exit."""

    def __init__(self, upstream: servers.Server, folder: Path):
        self.folder = folder
        self.port = servers.free_port()
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "nginx.conf"
        subprocess.run([sys.executable, str(RENDER), "--listen", f"{servers.HOST}:{self.port}",
                        "--upstream", f"{servers.HOST}:{upstream.port}", "--run-dir", str(folder),
                        "--access-log", "off", "--error-log", str(folder / "error.log"), "--out", str(conf)],
                       check=True, capture_output=True)
        self.process = subprocess.Popen([nginx_binary(), "-c", str(conf), "-e", str(folder / "error.log"),
                                         "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not answer /readyz: {(folder / 'error.log').read_text(errors='replace')}")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://{servers.HOST}:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def measure(name: str, env: dict[str, str], args: argparse.Namespace, work: Path, bodies: dict[str, Path]) -> dict:
    """One round of one setting: single texts (model, floor, model again), then batches of 100."""
    folder = work / name.split()[0]
    folder.mkdir(exist_ok=True)
    model = servers.start("model", MODEL_APP, folder, {"COMMENT_CLASSIFIER_MODEL_DIR": str(args.model), **env})
    hello = servers.start("hello", HELLO_APP, folder, env)
    proxies: list[Nginx] = []
    try:
        for server in (model, hello):
            servers.wait_ready(server)
        proxies = [Nginx(model, folder / "nginx-model"), Nginx(hello, folder / "nginx-hello")]
        via_model, via_hello = proxies
        load.run_wrk(via_model.url, bodies["single"], args.warmup, 8)
        load.run_wrk(via_hello.url, bodies["single"], args.warmup, 8)
        single = {"model": [], "hello": []}
        for _ in range(2):  # model, floor, model, floor: noise hits both alike
            single["model"].append(load.run_wrk(via_model.url, bodies["single"], args.seconds / 2, 8))
            single["hello"].append(load.run_wrk(via_hello.url, bodies["single"], args.seconds / 2, 8))
        model_row, hello_row = combine(single["model"]), combine(single["hello"])
        batch = load.run_wrk(via_model.url, bodies["batch"], args.seconds, 4)
        direct = load.run_wrk(model.url, bodies["single"], args.seconds / 2, 8)
        return {"setting": name, "single_model": model_row, "single_hello": hello_row,
                "ratio": model_row["rps"] / hello_row["rps"] if hello_row["rps"] else None,
                "batch_100": {**batch, "docs_per_s": batch["rps"] * 100}, "single_model_direct": direct}
    finally:
        for proxy in proxies:
            proxy.stop()
        servers.stop(model)
        servers.stop(hello)


def show(rows: list[dict]) -> None:
    print("through nginx; single texts at 8 connections, batches of 100 at 4; ms are wrk's percentiles")
    print(f"{'setting':22s} {'model req/s':>11s} {'p50':>5s} {'p99':>6s} {'floor req/s':>11s} {'p99':>6s} "
          f"{'share':>5s} {'batch docs/s':>12s} {'p99':>6s}   {'direct req/s':>12s} {'p99':>6s}")
    for row in rows:
        m, h, b, d = row["single_model"], row["single_hello"], row["batch_100"], row["single_model_direct"]
        errors = {**m["errors"], **b["errors"]}
        print(f"{row['setting']:22s} {m['rps']:11.0f} {m['p50_ms']:5.1f} {m['p99_ms']:6.1f} {h['rps']:11.0f} "
              f"{h['p99_ms']:6.1f} {row['ratio']:5.2f} {b['docs_per_s']:12.0f} {b['p99_ms']:6.1f}   "
              f"{d['rps']:12.0f} {d['p99_ms']:6.1f}" + (f"  non-2xx/errors {errors}" if errors else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.production", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per measurement (default: 8)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, each every setting once (default: 2)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring (default: 2)")
    parser.add_argument("--model", "--model-dir", dest="model", type=Path, metavar="PATH",
                        help="model store or version folder (default: var/models, else the shipped model)")
    parser.add_argument("--worker-classes", default="sync,gthread",
                        help="gunicorn worker classes to compare, separated by commas (default: sync,gthread)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    settings = {ROLES.get(kind, kind): {"WORKER_CLASS": kind}
                for kind in (part.strip() for part in args.worker_classes.split(",")) if kind}
    nginx_binary()
    load.wrk_binary()
    args.model, origin = choose_model(args.model)
    say(f"model {args.model.name} ({origin})")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-production-") as tmp:
        work = Path(tmp)
        bodies = {"single": load.write_bodies(work / "single.txt", None),
                  "batch": load.write_bodies(work / "batch.txt", 100)}
        for round_number in range(args.rounds):
            for name, env in settings.items():
                say(f"round {round_number + 1}: {name}")
                rows.append({"round": round_number + 1, **measure(name, env, args, work, bodies)})
    show(rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                       "seconds": args.seconds, "rows": rows}, indent=2) + "\n")
    say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
