"""A PostgreSQL server of its own in a folder, from Debian's packages: for trying the replicated
topology (``make topology``) and for the tests.

    server = PostgresServer(folder, port).start()   # initdb on first use, then pg_ctl start
    url = server.create_database("feedback")        # postgresql://postgres@127.0.0.1:PORT/feedback
    server.stop()

It listens on 127.0.0.1 only, with ``trust`` authentication for the local ``postgres`` role: a
sandbox, not a production server. PostgreSQL refuses to run as root, so under root the server
runs as the ``postgres`` user the Debian package creates (``runuser``), and owns its folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

SERVER_USER = "postgres"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them under /usr/lib/postgresql/<major>/bin), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def missing_reason() -> str | None:
    """Why no server can be started here, or None when one can."""
    if binaries() is None:
        return "PostgreSQL is not installed (apt-get install postgresql; tests/install-servers.sh does it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no '{SERVER_USER}' user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start PostgreSQL as another user"
    return None


class PostgresServer:
    """One server whose data, socket and log live in ``folder``."""

    def __init__(self, folder, port: int, durable: bool = True):
        self.folder = Path(folder)
        self.port = port
        self.durable = durable
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        """The URL of ``database`` on this server."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.is_file() else ""
            raise RuntimeError(f"{' '.join(command[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")
        return done

    def start(self) -> "PostgresServer":
        """Create the cluster if the folder has none, then start the server and wait for it."""
        bindir = binaries()
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        os.chmod(self.folder, 0o700)
        if not (self.data / "PG_VERSION").is_file():
            self._run(str(bindir / "initdb"), "-D", str(self.data), "-U", SERVER_USER, "--auth=trust",
                      "-E", "UTF8", "--no-locale", *([] if self.durable else ["--no-sync"]))
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        if not self.durable:  # tests: nothing to keep after a crash, so skip the disk flushes
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended, committed data is kept)."""
        self._run(str(binaries() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop",
                  check=False)

    def create_database(self, name: str) -> str:
        """Create database ``name`` (if missing) and return its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)
