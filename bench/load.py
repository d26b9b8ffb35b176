"""Drive a server with wrk and read back throughput and latency percentiles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from bench import texts

SCRIPT = Path(__file__).resolve().parent / "post.lua"
MARK = "BENCH_RESULT "


class WrkMissing(RuntimeError):
    """wrk is not installed."""


def wrk_binary() -> str:
    """The path of wrk, or WrkMissing with the command that installs it."""
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing("wrk is not installed: install it with 'apt-get install wrk' (Debian/Ubuntu), then rerun")
    return found


def write_bodies(path: Path, batch: int | None, count: int = 46) -> Path:
    """Write ``count`` JSON bodies, one a line: ``{"text"}`` or ``{"texts": [batch texts]}``."""
    lines = []
    for i in range(count):
        if batch is None:
            body = {"text": texts.cycle(1, start=i)[0]}
        else:
            body = {"texts": texts.cycle(batch, start=i * 7)}
        lines.append(json.dumps(body, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_wrk(url: str, bodies: Path, seconds: float, connections: int, threads: int = 1,
            timeout: float = 30.0) -> dict:
    """One wrk run: requests/s, latency percentiles in ms and error counts."""
    command = [
        wrk_binary(), "-t", str(max(1, min(threads, connections))), "-c", str(connections),
        "-d", f"{max(1, round(seconds))}s", "--timeout", f"{timeout:g}s", "-s", str(SCRIPT), url,
    ]
    env = {**os.environ, "BENCH_BODIES": str(bodies), "BENCH_PATH": "/v1/classify"}
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + timeout + 30)
    line = next((l for l in finished.stdout.splitlines() if l.startswith(MARK)), None)
    if finished.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout.strip()}")
    raw = json.loads(line[len(MARK):])
    seconds_run = raw["duration_us"] / 1e6
    return {
        "connections": connections,
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds_run if seconds_run else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": {k: v for k, v in raw["errors"].items() if v},
    }
