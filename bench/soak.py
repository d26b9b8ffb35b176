"""``python -m bench.soak``: a bounded mixed load on the service under gunicorn, errors and memory.

Starts ``service.wsgi:app`` under ``service/gunicorn.conf.py`` on a free 127.0.0.1 port, as
production runs it, and sends for SOAK_SECONDS (180) a mix from a few client threads, each on a
kept-alive connection at a steady pace: single texts, batches, the seed page to /v1/segment,
and bad inputs (invalid JSON, a wrong content type, too many texts, an empty text, a body over
the size limit), each with the answer it must get. Prints the answers by kind (the expected
4xx apart from anything unexpected), p50/p99 per 15-second window, and each worker's resident
memory after the warm-up and at the end. Exits 1 if any answer was unexpected (a 5xx, a 503,
a wrong status or a connection error), a worker was replaced, or a worker's memory grew by more
than --max-rss-growth per cent.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench import servers, stopping, texts

SEED_PAGE = servers.REPO.parent / "shared" / "examples" / "scraped-page-article-and-comment.txt"
JSON = "application/json"


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix and the answer it must get."""

    name: str
    path: str
    body: bytes
    content_type: str
    status: int
    code: str | None = None  # the error code a 4xx must carry
    weight: int = 1


def request_kinds(page: str, max_texts: int = 1000, max_body: int = 1_000_000) -> list[Kind]:
    """The mix: mostly single texts, some batches and pages, a steady trickle of bad input."""
    def body(value) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode()

    return [
        Kind("single", "/v1/classify", body({"text": texts.cycle(1, start=5)[0]}), JSON, 200, weight=50),
        Kind("batch 50", "/v1/classify", body({"texts": texts.cycle(50, start=9)}), JSON, 200, weight=10),
        Kind("batch 20 explain", "/v1/classify", body({"texts": texts.cycle(20), "explain": True}), JSON, 200,
             weight=4),
        Kind("segment", "/v1/segment", body({"text": page}), JSON, 200, weight=8),
        Kind("segment explain", "/v1/segment", body({"text": page, "explain": True}), JSON, 200, weight=3),
        Kind("invalid json", "/v1/classify", b'{"text": "unterminated', JSON, 400, "invalid_json", weight=5),
        Kind("wrong content type", "/v1/classify", body({"text": "plain"}), "text/plain", 415,
             "unsupported_media_type", weight=5),
        Kind("too many texts", "/v1/classify", body({"texts": ["x"] * (max_texts + 1)}), JSON, 400,
             "too_many_texts", weight=3),
        Kind("empty text", "/v1/classify", body({"text": "   "}), JSON, 400, "empty_text", weight=5),
        Kind("oversize body", "/v1/classify", body({"text": "x" * (max_body + 10)}), JSON, 413, "body_too_large",
             weight=1),
    ]


@dataclass
class Record:
    """One answer (or failure): when it ended, its kind, latency and outcome."""

    ended: float
    kind: str
    seconds: float
    outcome: str  # "ok", "expected <status> <code>", or "unexpected: ..."


@dataclass
class Load:
    """Client threads sending the mix until ``stop_at``; records pile up in ``records``."""

    port: int
    kinds: list[Kind]
    clients: int
    rate: float  # requests per second per client; 0 sends as fast as answers come
    timeout: float = 30.0
    records: list[Record] = field(default_factory=list)
    stop_at: float = 0.0

    def run(self, seconds: float) -> None:
        """Send the mix from ``clients`` threads for ``seconds``, then wait for them."""
        self.stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _client(self, index: int) -> None:
        chooser = random.Random(index)
        weights = [kind.weight for kind in self.kinds]
        interval = 1.0 / self.rate if self.rate > 0 else 0.0
        next_at = time.monotonic() + chooser.random() * interval
        connection = None
        while True:
            now = time.monotonic()
            if now >= self.stop_at:
                break
            if next_at > now:
                time.sleep(next_at - now)
            next_at = max(next_at + interval, time.monotonic() - interval)
            kind = chooser.choices(self.kinds, weights)[0]
            if connection is None:
                connection = http.client.HTTPConnection(servers.HOST, self.port, timeout=self.timeout)
            began = time.monotonic()
            outcome, close = self._send(connection, kind)
            ended = time.monotonic()
            self.records.append(Record(ended, kind.name, ended - began, outcome))
            if close:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    @staticmethod
    def _send(connection: http.client.HTTPConnection, kind: Kind) -> tuple[str, bool]:
        """The outcome of one request and whether the connection must be closed after it."""
        try:
            connection.request("POST", kind.path, kind.body, {"Content-Type": kind.content_type})
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            return f"unexpected: connection {type(error).__name__}", True
        code = None
        if response.status >= 400:
            try:
                code = json.loads(raw)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "(no JSON error body)"
        if response.status == kind.status and code == kind.code:
            outcome = "ok" if response.status < 400 else f"expected {response.status} {code}"
        else:
            outcome = f"unexpected: {response.status} {code or ''}".rstrip() + f" for {kind.name}"
        return outcome, response.will_close


def rss_mib(pid: int) -> float | None:
    """Resident memory (VmRSS) of ``pid`` in MiB, or None if it is gone."""
    kib = servers.status_kib(pid, "VmRSS")
    return kib / 1024 if kib else None


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def windows(records: list[Record], began: float, width: float, seconds: float) -> list[dict]:
    """Requests, unexpected answers, p50 and p99 (ms) per ``width``-second window."""
    rows: dict[int, list[Record]] = {}
    last = max(0, math.ceil(seconds / width) - 1)
    for record in records:
        # Answers to requests still in flight at the end count in the last window.
        rows.setdefault(min(last, int((record.ended - began) // width)), []).append(record)
    table = []
    for index in sorted(rows):
        latencies = sorted(r.seconds * 1000 for r in rows[index])
        single = sorted(r.seconds * 1000 for r in rows[index] if r.kind == "single")
        table.append({
            "from_s": index * width, "to_s": min((index + 1) * width, seconds), "requests": len(latencies),
            "unexpected": sum(r.outcome.startswith("unexpected") for r in rows[index]),
            "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
            "single_p99_ms": percentile(single, 0.99),
        })
    return table


def report(settings: dict, records: list[Record], began: float, window: float,
           rss_start: dict[int, float], rss_end: dict[int, float], max_growth: float) -> tuple[str, bool]:
    """The printed figures and whether the run passed."""
    lines = [f"soak: {settings['seconds']:.0f} s, {settings['clients']} clients at "
             f"{settings['rate']:g} req/s each, {settings['workers']} workers x {settings['threads']} threads "
             f"({settings['worker_class']}), MAX_IN_FLIGHT {settings['max_in_flight']}, "
             f"{settings['cpus']} CPUs{', behind nginx' if settings.get('nginx') else ''}, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"]
    outcomes = Counter(record.outcome for record in records)
    by_kind = Counter(record.kind for record in records)
    seconds = max(settings["seconds"], 1e-9)
    lines.append(f"requests: {len(records)} ({len(records) / seconds:.0f}/s); by kind: "
                 + ", ".join(f"{name} {count}" for name, count in by_kind.most_common()))
    lines[-1] += f"; the load generator used {settings['client_cpu']:.0%} of one core"
    lines.append(f"  2xx as expected        {outcomes.get('ok', 0)}")
    expected = sorted((k, v) for k, v in outcomes.items() if k.startswith("expected"))
    for outcome, count in expected:
        lines.append(f"  {outcome[len('expected '):]:<22} {count}  (expected)")
    unexpected = sorted((k, v) for k, v in outcomes.items() if k.startswith("unexpected"))
    lines.append(f"  unexpected             {sum(v for _, v in unexpected)}")
    for outcome, count in unexpected:
        lines.append(f"    {outcome[len('unexpected: '):]}: {count}")
    lines.append("window      requests  unexpected   p50 ms   p99 ms   single p99 ms")
    for row in windows(records, began, window, settings["seconds"]):
        lines.append(f"  {row['from_s']:>4.0f}-{row['to_s']:<4.0f}  {row['requests']:>8} {row['unexpected']:>11} "
                     f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['single_p99_ms']:>15.1f}")
    everything = sorted(r.seconds * 1000 for r in records)
    lines.append(f"  overall    {len(records):>8} {sum(v for _, v in unexpected):>11} "
                 f"{percentile(everything, 0.5):>8.1f} {percentile(everything, 0.99):>8.1f}")
    passed = not unexpected
    lines.append("worker RSS MiB   start      end   change")
    for pid in sorted(set(rss_start) | set(rss_end)):
        start, end = rss_start.get(pid), rss_end.get(pid)
        if start is None or end is None:
            passed = False
            lines.append(f"  pid {pid:<8} {'gone' if end is None else 'new':>8} (a worker was replaced)")
            continue
        change = (end - start) / start * 100
        flag = "" if change <= max_growth else f"  over {max_growth:g}%"
        passed = passed and change <= max_growth
        lines.append(f"  pid {pid:<8} {start:>7.1f} {end:>8.1f} {change:>+7.1f}%{flag}")
    lines.append("soak: PASS" if passed else "soak: FAIL")
    return "\n".join(lines), passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with SOAK_SECONDS, SOAK_CLIENTS and SOAK_RATE as defaults."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 180)),
                        help="length of the measured load (default: $SOAK_SECONDS or 180)")
    parser.add_argument("--clients", type=int, default=int(os.environ.get("SOAK_CLIENTS", 4)),
                        help="client threads, one kept-alive connection each (default: $SOAK_CLIENTS or 4)")
    parser.add_argument("--rate", type=float, default=float(os.environ.get("SOAK_RATE", 50)),
                        help="requests per second per client, 0 for as fast as answers come "
                             "(default: $SOAK_RATE or 50)")
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds of the same load before the start figures (default: 10)")
    parser.add_argument("--window", type=float, default=15.0, help="seconds per latency window (default: 15)")
    parser.add_argument("--max-rss-growth", type=float, default=10.0,
                        help="largest acceptable growth of a worker's RSS, per cent (default: 10)")
    parser.add_argument("--page", type=Path, default=SEED_PAGE,
                        help="the page sent to /v1/segment (default: ../shared/examples/"
                             "scraped-page-article-and-comment.txt)")
    parser.add_argument("--production", action="store_true",
                        help="as production runs: sync workers behind nginx (deploy/nginx), the clients talking to nginx")
    parser.add_argument("--model", "--model-dir", dest="model", type=Path, metavar="PATH",
                        help="a model store or a plain model folder (default: $COMMENT_CLASSIFIER_MODEL_DIR, "
                             "else the store var/models, else the shipped model/)")
    return parser.parse_args(argv)


def _model(model: Path | None) -> Path:
    """The store or folder to serve, said on stderr."""
    from model.store import locate

    path, origin = locate(model, store=servers.REPO / "var" / "models", seed=servers.REPO / "model")
    say(f"serving {origin}")
    return path


def say(message: str) -> None:
    """A progress line on stderr."""
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def server_settings(server: servers.Server, env: dict[str, str] | None = None) -> dict:
    """Worker class, threads and in-flight limit the server runs with (from its log and config)."""
    import runpy

    log = server.log.read_text(errors="replace")
    # gunicorn's lines are JSON: the class name ends where the message string does
    found = re.findall(r"Using worker: ([\w.:]+)", log)
    saved = dict(os.environ)
    try:
        os.environ.update({"HOST": servers.HOST, "PORT": str(server.port), **(env or {})})
        config = runpy.run_path(str(servers.CONFIG))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    from service import DEFAULTS

    return {"worker_class": found[0] if found else "?", "threads": config.get("threads", 1),
            "max_in_flight": os.environ.get("COMMENT_CLASSIFIER_MAX_IN_FLIGHT", DEFAULTS["MAX_IN_FLIGHT"])}


def main(argv: list[str] | None = None) -> int:
    """Start the server, warm up, run the load, print the figures; 0 if nothing unexpected."""
    args = parse_args(argv)
    try:
        page = args.page.read_text(encoding="utf-8")
    except OSError as error:
        print(f"soak: cannot read the page for /v1/segment ({error}); pass --page FILE", file=sys.stderr)
        return 2
    kinds = request_kinds(page)

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, stopping.exit_codes("soak", "server stopped") as stopped:
        worker_env = {"WORKER_CLASS": "sync"} if args.production else {}
        server = servers.start("soak", "service.wsgi:app", Path(tmp),
                               {"COMMENT_CLASSIFIER_MODEL_DIR": str(_model(args.model).resolve()), **worker_env})
        proxy = None
        try:
            say(f"server ready on port {server.port} in {servers.wait_ready(server):.1f} s")
            port = server.port
            if args.production:
                from bench.production import Nginx

                proxy = Nginx(server, Path(tmp) / "nginx")
                port = proxy.port
                say(f"nginx in front on port {port}")
            settings = {"seconds": args.seconds, "clients": args.clients, "rate": args.rate,
                        "cpus": os.cpu_count(), **server_settings(server, worker_env), "nginx": proxy is not None}
            if args.warmup > 0:
                say(f"warm-up: {args.warmup:.0f} s")
                warm = Load(port, kinds, args.clients, args.rate)
                warm.run(args.warmup)
                failed = [r.outcome for r in warm.records if r.outcome.startswith("unexpected")]
                if failed:
                    say(f"warm-up had {len(failed)} unexpected answers, e.g. {failed[0]}")
            rss_start = {pid: rss_mib(pid) for pid in servers.worker_pids(server.process.pid)}
            settings["workers"] = len(rss_start)
            say(f"load: {args.seconds:.0f} s, {args.clients} clients")
            load = Load(port, kinds, args.clients, args.rate)
            began, cpu_began = time.monotonic(), time.process_time()
            load.run(args.seconds)
            settings["client_cpu"] = (time.process_time() - cpu_began) / (time.monotonic() - began)
            rss_end = {pid: rss_mib(pid) for pid in servers.worker_pids(server.process.pid)}
        finally:
            if proxy is not None:
                proxy.stop()
            servers.stop(server)
    if stopped.code is not None:
        return stopped.code
    text, passed = report(settings, load.records, began, args.window,
                          {p: v for p, v in rss_start.items() if v}, {p: v for p, v in rss_end.items() if v},
                          args.max_rss_growth)
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
