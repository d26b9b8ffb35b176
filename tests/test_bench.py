"""bench: the figures it reads from /proc and the rows it prints for batch runs."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from bench import servers
from bench.report import http_lines


def test_cpu_seconds_of_a_process_grow_with_its_work():
    before = servers.cpu_seconds(os.getpid())
    started = time.process_time()
    while time.process_time() - started < 0.3:
        pass
    after = servers.cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert after - before >= 0.2


def test_cpu_seconds_of_a_process_that_is_gone_are_none():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert servers.cpu_seconds(process.pid) is None


def test_a_batch_row_shows_its_slices_and_how_the_workers_shared_the_cpu():
    run = {"batch": 100, "docs_per_s": 8000.0, "connections": 4, "requests": 800, "rps": 80.0, "p50_ms": 40.0,
           "p90_ms": 60.0, "p99_ms": 90.0, "max_ms": 120.0, "errors": {}, "slices_rps": [100.0, 60.0],
           "slices_docs_per_s": [10000, 6000], "busiest_worker_cpu_share": [0.51, 0.98]}
    lines = http_lines({"batches": [run]})
    assert any("8000" in line and "100 texts, c=4" in line for line in lines)
    assert any("slices 10000, 6000 docs/s" in line and "0.51/0.98" in line for line in lines)


def test_the_random_search_finds_the_slow_shape_and_reports_it():
    # A virtual clock that the function advances: a text with "Mr." costs a second, others a
    # millisecond; the search must return a shape holding it, at that cost, and count its tries.
    from bench import adversarial

    now = [0.0]

    def function(text):
        now[0] += 1.0 if "Mr." in text else 0.001

    worst, shape, tried = adversarial.search(function, seconds=1.0, seed=3, clock=lambda: now[0], length=200)
    assert worst == 1.0
    assert "Mr." in adversarial.fill(*shape, length=200)
    assert all(piece == "" or any(atom in piece for atom in adversarial.ATOMS) for piece in shape)
    assert tried > 1


def test_random_shapes_are_made_of_atoms_and_repeat_a_piece():
    import random

    from bench import adversarial

    rng = random.Random(0)
    for _ in range(200):
        prefix, piece, suffix = adversarial.random_shape(rng)
        assert piece and len(prefix) <= 2 * max(map(len, adversarial.ATOMS))
        text = adversarial.fill(prefix, piece, suffix, length=1000)
        assert len(text) == 1000 and text.startswith(prefix) and text.endswith(suffix)


@pytest.mark.live
def test_the_production_bench_puts_the_production_nginx_in_front(tmp_path):
    """bench.production loads gunicorn through an nginx rendered from deploy/nginx: it starts, answers
    through the proxy with what gunicorn answers, refuses nothing, and stops."""
    import json
    import urllib.request

    from bench import production

    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        pytest.skip("nginx is not installed (tests/install-servers.sh installs Debian's)")
    hello = servers.start("hello", production.HELLO_APP, tmp_path, {"WORKER_CLASS": "sync"})
    try:
        servers.wait_ready(hello)
        proxy = production.Nginx(hello, tmp_path / "nginx")
        try:
            assert "max_conns=64;" in (tmp_path / "nginx" / "nginx.conf").read_text()
            request = urllib.request.Request(f"{proxy.url}/v1/classify", data=b'{"text": "x"}',
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})
        finally:
            proxy.stop()
        assert proxy.process.returncode == 0
    finally:
        servers.stop(hello)
