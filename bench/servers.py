"""Start an app under gunicorn with the project's config, wait until it answers, stop it.

Each server runs in a session (process group) of its own, so stopping it never touches the
benchmark, and a master that will not stop is killed together with its workers. The benchmarks
and the live tests (tests/conftest.py's fixtures) start and stop their servers with this module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "service" / "gunicorn.conf.py"
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn master we started: its process, port and log file."""

    name: str
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f"http://{HOST}:{self.port}"


def _control_socket_args() -> list[str]:
    # gunicorn >= 25.1 opens one control socket per user by default; two masters at once
    # would fight over it, and the benchmark has no use for it.
    import gunicorn.config

    return ["--no-control-socket"] if hasattr(gunicorn.config, "ControlSocketDisable") else []


def start(name: str, app: str, log_dir: Path, env: dict[str, str] | None = None) -> Server:
    """Run ``gunicorn -c service/gunicorn.conf.py APP`` on a free port; do not wait for it.

    Its output goes to ``log_dir/NAME.log``, not to a pipe: a pipe nobody reads fills up with the
    server's log lines, and then the server blocks on writing them.
    """
    port = free_port()
    log = log_dir / f"{name}.log"
    child_env = {**os.environ, **(env or {}), "HOST": HOST, "PORT": str(port)}
    command = [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), *_control_socket_args(), app]
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            command, cwd=REPO, env=child_env, stdin=subprocess.DEVNULL, stdout=handle,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    return Server(name, process, port, log)


def start_service(model_dir: Path, log_dir: Path, env: dict[str, str] | None = None,
                  name: str = "service") -> Server:
    """The service (``service.wsgi:app``) on the model in ``model_dir``, as production runs it; not waited for.

    ``env`` adds to (or overrides) the environment: ``COMMENT_CLASSIFIER_*`` settings, ``WORKERS``,
    ``BIND`` (a unix socket, behind nginx) and the like.
    """
    return start(name, "service.wsgi:app", log_dir, {"COMMENT_CLASSIFIER_MODEL_DIR": str(model_dir), **(env or {})})


def serve(model_dir: Path, log_dir: Path, env: dict[str, str] | None = None, name: str = "service",
          timeout: float = 90.0) -> Server:
    """:func:`start_service`, then wait until it is ready; stopped again (and raises) if it is not."""
    server = start_service(model_dir, log_dir, env, name)
    try:
        wait_ready(server, timeout=timeout)
    except BaseException:
        stop(server)
        raise
    return server


def output(server: Server) -> str:
    """Everything the server has written to its log so far."""
    try:
        return server.log.read_text(errors="replace")
    except OSError:
        return ""


def log_tail(server: Server, lines: int = 15) -> str:
    """The last lines of the server's log, for error messages."""
    try:
        return "\n".join(server.log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(server: Server, path: str = "/readyz", timeout: float = 90.0) -> float:
    """Poll ``path`` until it answers 200; the seconds it took. Raises if the master exits."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} server exited with status {server.process.returncode} before it "
                f"was ready; its log ends:\n{log_tail(server)}"
            )
        try:
            with urllib.request.urlopen(server.url + path, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - began
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} server not ready after {timeout:.0f} s; its log ends:\n{log_tail(server)}")


def worker_pids(master: int) -> list[int]:
    """The pids of the master's children (gunicorn's workers)."""
    children = []
    for task in Path(f"/proc/{master}/task").glob("*/children"):
        try:
            children.extend(int(pid) for pid in task.read_text().split())
        except OSError:
            continue
    return sorted(children)


def status_kib(pid: int, key: str) -> int | None:
    """A ``/proc/<pid>/status`` value in KiB (e.g. ``VmHWM``), or None if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of ``pid`` so far (``/proc/<pid>/stat``), or None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def workers_cpu_seconds(server: Server) -> dict[int, float]:
    """CPU seconds of each current worker, by pid."""
    seconds = {pid: cpu_seconds(pid) for pid in worker_pids(server.process.pid)}
    return {pid: value for pid, value in seconds.items() if value is not None}


def peak_rss_mib(server: Server) -> dict[str, float | list[float]]:
    """Peak resident memory (VmHWM) of the master and of each current worker, in MiB."""
    workers = worker_pids(server.process.pid)
    peaks = [status_kib(pid, "VmHWM") for pid in workers]
    master = status_kib(server.process.pid, "VmHWM")
    return {
        "master": round(master / 1024, 1) if master else None,
        "workers": [round(kib / 1024, 1) for kib in peaks if kib],
    }


def stop(server: Server, grace: float = 25.0) -> None:
    """SIGTERM the master, wait up to ``grace`` seconds, then SIGKILL its whole process group."""
    process = server.process
    if process.poll() is None:
        try:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    try:
        # The group is the session we created for this master: its workers and nothing else.
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
