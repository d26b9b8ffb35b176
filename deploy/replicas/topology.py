"""The replicated topology on one machine: PostgreSQL, replicas of the service under gunicorn on
different ports (sharing one model store folder and the database), and nginx in front.

    python -m deploy.replicas.topology start [--run var/topology] [--port 8100] [--replica-ports 8101,8102]
    python -m deploy.replicas.topology stop [--run var/topology]

``start`` starts what is not running yet and writes ``<run>/state.json``; ``stop`` stops all of it
(nginx first, then the replicas with SIGTERM so they drain, then PostgreSQL) and keeps the data:
the database in ``<run>/postgres``, the model store in ``<run>/models`` (seeded from the shipped
model), the moderators' API key in ``<run>/api-keys.txt``, every process's log in ``<run>``.
The live test (tests/test_topology_live.py) drives the same class.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from deploy.replicas.postgres import PostgresServer, missing_reason

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).with_name("nginx.conf")
GUNICORN = Path(sys.executable).with_name("gunicorn")
DATABASE = "feedback"


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which may not be on a user's PATH), or None."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by us) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def ready(port: int, timeout: float = 2.0) -> dict | None:
    """The replica's /readyz body when it answers 200, else None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=timeout) as response:
            return json.loads(response.read()) if response.status == 200 else None
    except (OSError, ValueError):
        return None


class Topology:
    """nginx on ``port`` in front of one replica per ``replica_ports``, PostgreSQL on ``pg_port``."""

    def __init__(self, run, port: int = 8100, replica_ports=(8101, 8102), pg_port: int = 8132,
                 models=None, workers: int = 2, env: dict | None = None, durable: bool = True):
        self.run = Path(run).resolve()
        self.port = port
        self.replica_ports = list(replica_ports)
        self.models = Path(models).resolve() if models else self.run / "models"
        self.workers = workers
        self.env = dict(env or {})
        self.postgres = PostgresServer(self.run / "postgres", pg_port, durable=durable)
        self.pids: dict[str, int] = {}

    # --- state ----------------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.run / "state.json"

    def save(self) -> None:
        state = {"port": self.port, "replica_ports": self.replica_ports, "pg_port": self.postgres.port,
                 "models": str(self.models), "workers": self.workers, "pids": self.pids}
        partial = self.state_file.with_suffix(".tmp")
        partial.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(partial, self.state_file)

    @classmethod
    def load(cls, run) -> "Topology":
        """The topology recorded in ``<run>/state.json``."""
        state = json.loads((Path(run) / "state.json").read_text())
        topology = cls(run, state["port"], state["replica_ports"], state["pg_port"], state["models"], state["workers"])
        topology.pids = {name: int(pid) for name, pid in state["pids"].items()}
        return topology

    @property
    def database_url(self) -> str:
        return self.postgres.url_of(DATABASE)

    @property
    def keys_file(self) -> Path:
        return self.run / "api-keys.txt"

    # --- starting -------------------------------------------------------------------------------

    def start(self) -> "Topology":
        """Start PostgreSQL, the replicas and nginx (each unless already running)."""
        for reason in (missing_reason(), None if nginx_binary() else "nginx is not installed (apt-get install nginx)"):
            if reason:
                raise RuntimeError(reason)
        self.run.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run, 0o755)  # PostgreSQL and nginx's workers run as other users
        try:
            if not (self.postgres.data / "postmaster.pid").is_file():
                self.postgres.start()
            self.postgres.create_database(DATABASE)
            self._seed_models()
            if not self.keys_file.is_file() and "COMMENT_CLASSIFIER_API_KEYS" not in self.env:
                self.keys_file.write_text(secrets.token_urlsafe(24) + "\n")
                os.chmod(self.keys_file, 0o600)
            for index in range(len(self.replica_ports)):
                if not _alive(self.pids.get(f"replica-{index + 1}", 0) or 0):
                    self.start_replica(index)
                    self.save()
            for index in range(len(self.replica_ports)):
                self.wait_ready(index)
            self.start_nginx()
        except BaseException:
            self.stop()  # nothing left half started
            raise
        self.save()
        return self

    def _seed_models(self) -> None:
        from model.store import ModelStore

        ModelStore(self.models).seed()  # the shipped model, unless the store has a current version

    def replica_env(self, index: int) -> dict:
        """The settings of replica ``index`` (0-based)."""
        name = f"replica-{index + 1}"
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.replica_ports[index]),
            "WORKERS": str(self.workers),
            "COMMENT_CLASSIFIER_REPLICA": name,
            "COMMENT_CLASSIFIER_MODEL_DIR": str(self.models),
            "COMMENT_CLASSIFIER_DATABASE_URL": self.database_url,
            "PROMETHEUS_MULTIPROC_DIR": str(self.run / f"{name}.metrics"),
            **self.env,
        }
        if "COMMENT_CLASSIFIER_API_KEYS" not in env:
            env["COMMENT_CLASSIFIER_API_KEYS_FILE"] = str(self.keys_file)
        return env

    def start_replica(self, index: int) -> int:
        """Start replica ``index`` under gunicorn in a session of its own; its pid."""
        name = f"replica-{index + 1}"
        if _listening(self.replica_ports[index]):
            raise RuntimeError(f"port {self.replica_ports[index]} for {name} is in use by another process")
        with open(self.run / f"{name}.log", "a") as log:
            process = subprocess.Popen(
                [str(GUNICORN), "-c", "service/gunicorn.conf.py", "service.wsgi:app"], cwd=REPO,
                env=self.replica_env(index), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.pids[name] = process.pid
        self._processes = getattr(self, "_processes", {})
        self._processes[name] = process  # reaped by wait_gone/poll when this process started it
        return process.pid

    def wait_ready(self, index: int, seconds: float = 60) -> dict:
        """Wait until replica ``index`` answers /readyz; its body."""
        deadline = time.monotonic() + seconds
        name = f"replica-{index + 1}"
        while True:
            body = ready(self.replica_ports[index])
            if body is not None:
                return body
            process = getattr(self, "_processes", {}).get(name)
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                log = (self.run / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} did not become ready:\n{log}")
            time.sleep(0.1)

    def render_nginx(self) -> Path:
        """nginx.conf with this topology's addresses and folders filled in."""
        upstreams = "\n        ".join(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
                                       for port in self.replica_ports)
        text = (TEMPLATE.read_text().replace("@LISTEN@", f"127.0.0.1:{self.port}")
                .replace("@UPSTREAMS@", upstreams).replace("@RUN@", str(self.run / "nginx")))
        (self.run / "nginx").mkdir(exist_ok=True)
        os.chmod(self.run / "nginx", 0o755)
        path = self.run / "nginx.conf"
        path.write_text(text)
        return path

    def start_nginx(self) -> None:
        """Start nginx (it daemonises; its pid is in its pid file) and wait for its port."""
        pid_file = self.run / "nginx" / "nginx.pid"
        if pid_file.is_file() and _alive(int(pid_file.read_text().split()[0])):
            return
        if _listening(self.port):
            raise RuntimeError(f"port {self.port} for nginx is in use by another process")
        config = self.render_nginx()
        done = subprocess.run([nginx_binary(), "-p", str(self.run / "nginx"), "-e", str(self.run / "nginx" / "error.log"),
                               "-c", str(config)], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"nginx did not start: {done.stderr.strip()}")
        deadline = time.monotonic() + 10
        while not _listening(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx is not listening on {self.port}")
            time.sleep(0.05)
        self.pids["nginx"] = int(pid_file.read_text().split()[0])

    # --- stopping -------------------------------------------------------------------------------

    def kill_replica(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to replica ``index``'s whole process group (master and workers): with
        SIGKILL, as a machine that dies."""
        pid = self.pids.get(f"replica-{index + 1}")
        if pid and _alive(pid):
            os.killpg(pid, sig)
            self._reap(f"replica-{index + 1}")

    def _reap(self, name: str) -> None:
        process = getattr(self, "_processes", {}).get(name)
        if process is not None:
            process.wait(timeout=60)
        else:
            _wait_gone(self.pids[name], 60)

    def stop_replica(self, index: int) -> None:
        """SIGTERM: gunicorn drains the requests in flight, then exits (SIGKILL after 30 s)."""
        name = f"replica-{index + 1}"
        pid = self.pids.get(name)
        if not pid or not _alive(pid):
            return
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, 30):
            os.killpg(pid, signal.SIGKILL)
        self._reap(name)

    def stop(self) -> None:
        """Stop nginx, the replicas and PostgreSQL; the data stays in the run folder."""
        pid_file = self.run / "nginx" / "nginx.pid"
        pid = self.pids.get("nginx") or (int(pid_file.read_text().split()[0]) if pid_file.is_file() else None)
        if pid and _alive(pid):
            os.kill(pid, signal.SIGQUIT)  # graceful: finish the requests in flight
            if not _wait_gone(pid, 15):
                os.kill(pid, signal.SIGKILL)
        for index in range(len(self.replica_ports)):
            self.stop_replica(index)
        if (self.postgres.data / "postmaster.pid").is_file():
            self.postgres.stop()
        self.pids = {}
        self.save()


def main(argv: list[str] | None = None) -> int:
    """``start`` or ``stop`` the local topology; 0 on success, 2 with a message otherwise."""
    parser = argparse.ArgumentParser(prog="python -m deploy.replicas.topology", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop"))
    parser.add_argument("--run", type=Path, default=Path("var/topology"), help="folder for data, logs and pids")
    parser.add_argument("--port", type=int, default=8100, help="nginx's port (default: 8100)")
    parser.add_argument("--replica-ports", default="8101,8102", help="the replicas' ports (default: 8101,8102)")
    parser.add_argument("--pg-port", type=int, default=8132, help="PostgreSQL's port (default: 8132)")
    args = parser.parse_args(argv)
    try:
        if args.command == "stop":
            if not (args.run / "state.json").is_file():
                print(f"no topology recorded in {args.run}: nothing to stop")
                return 0
            Topology.load(args.run).stop()
            print(f"stopped the topology in {args.run} (data kept)")
            return 0
        ports = [int(port) for port in args.replica_ports.split(",") if port.strip()]
        topology = Topology.load(args.run) if (args.run / "state.json").is_file() else None
        if topology is None or not topology.pids:
            topology = Topology(args.run, args.port, ports, args.pg_port)
        topology.start()
    except (RuntimeError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    key = "(COMMENT_CLASSIFIER_API_KEYS)" if not topology.keys_file.is_file() else topology.keys_file.read_text().strip()
    print(f"nginx on http://127.0.0.1:{topology.port} in front of "
          + ", ".join(f"replica-{i + 1} on :{port}" for i, port in enumerate(topology.replica_ports)))
    print(f"feedback in {topology.database_url}; model store {topology.models}; moderators' key {key}")
    print("stop it with: make topology-stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
