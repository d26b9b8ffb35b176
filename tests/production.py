"""The production topology for live tests: gunicorn on a loopback port behind nginx (Debian's).

``Production(model_dir)`` starts both as the README's production commands do (sync workers) (the nginx config
rendered from ``deploy/nginx/comment-classifier.conf``) and stops them on exit; the tests talk
to nginx on a free 127.0.0.1 port. nginx is installed by ``tests/install-servers.sh`` (called by
``make test-all``); without it these tests skip and say why. gunicorn is started and stopped by
``bench/servers.py``, as every live test's is.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bench import servers

REPO = Path(__file__).resolve().parent.parent
RENDER = REPO / "deploy" / "nginx" / "render.py"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found is None:
        pytest.skip("nginx is not installed (tests/install-servers.sh installs Debian's)")
    return found


def connect(port: int, timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


class Production:
    """gunicorn + nginx, started in a temporary folder; ``port`` is nginx's."""

    def __init__(self, model_dir: Path, env: dict | None = None, unix_socket: bool = False,
                 max_conns: int | None = None):
        # unix_socket: gunicorn on a unix socket (one listening socket shared by the workers), the
        # other upstream the nginx template takes. env adds to production's settings (sync
        # workers, two of them); max_conns is render.py's --max-conns (its default if None).
        self.model_dir, self.env, self.unix_socket = model_dir, env or {}, unix_socket
        self.max_conns = max_conns

    def __enter__(self) -> "Production":
        nginx = nginx_binary()
        self.folder = Path(tempfile.mkdtemp(prefix="comment-classifier-production-"))
        self.folder.chmod(0o755)  # nginx's workers (user nobody under root) reach the socket through it
        self.socket = self.folder / "gunicorn.sock"
        self.upstream = f"unix:{self.socket}" if self.unix_socket else f"127.0.0.1:{servers.free_port()}"
        self.port = servers.free_port()
        self.gunicorn_log = self.folder / "gunicorn.log"
        self.access_log = self.folder / "access.log"
        self.error_log = self.folder / "error.log"
        self.gunicorn_server = servers.start_service(self.model_dir, self.folder,
                                                     {"BIND": self.upstream, "WORKERS": "2", "WORKER_CLASS": "sync", **self.env},
                                                     name="gunicorn")
        self.gunicorn = self.gunicorn_server.process
        conf = self.folder / "nginx.conf"
        subprocess.run([sys.executable, str(RENDER), "--listen", f"127.0.0.1:{self.port}", "--upstream", self.upstream,
                        "--run-dir", str(self.folder), "--access-log", str(self.access_log),
                        "--error-log", str(self.error_log), "--out", str(conf),
                        *(["--max-conns", str(self.max_conns)] if self.max_conns else [])],
                       check=True, capture_output=True)
        with open(self.folder / "nginx.out", "w") as log:
            self.nginx = subprocess.Popen([nginx, "-c", str(conf), "-e", str(self.error_log), "-g", "daemon off;"],
                                          stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import urllib.request

        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            for process, name in ((self.gunicorn, "gunicorn"), (self.nginx, "nginx")):
                if process.poll() is not None:
                    self.__exit__(None, None, None)
                    pytest.fail(f"{name} did not start:\n{self.logs()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        pytest.fail(f"the service did not become ready behind nginx:\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for path in (self.gunicorn_log, self.access_log, self.error_log, self.folder / "nginx.out"):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def __exit__(self, *exc) -> None:
        if self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
        try:
            self.nginx.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.nginx.kill()
            self.nginx.wait()
        servers.stop(self.gunicorn_server, grace=20)
