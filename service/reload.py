"""Hot reload: each worker notices a newly promoted (or rolled-back) model and switches to it.

A background thread in every worker process looks at the model folder once per
``MODEL_POLL_SECONDS``: at the store's pointer (``current.json``) or, for a plain model folder, at
``card.json``. When either changes it loads and verifies the model off the request path; a model
that verifies replaces the one in ``app.extensions["classifier"]`` with one assignment, and one
that does not is refused, logged, and the old one keeps serving. A request takes the model once,
when it starts, so requests in flight finish on the model they started with; every response
names the version that answered it in ``X-Model-Version``.

Threads do not survive ``fork``: gunicorn's ``post_fork`` hook starts the watcher in each worker,
and the first request a process serves starts it too (for servers without that hook).

The gunicorn master watches too (``when_ready``), so that a worker it starts later (after a crash
or a kill) is forked holding the version the others serve, already verified, rather than the
master's start-up model; even when that version's files were damaged since and can no longer be
verified. A fork waits for a check in progress to finish (``os.register_at_fork``), so a worker
never inherits a half-switched state.

Several replicas (hosts) share one store folder: each watches the pointer's content (not its
file times, which shared file systems may cache), verifies the new version itself, and one that
cannot keeps serving its last good version and says so (``status()``: /readyz and /metrics).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask, g

from model import Classifier, ModelError

log = logging.getLogger(__name__)
POINTER_FILES = ("current.json", "card.json")
# How often a refused version is verified again while the pointer still names it (seconds).
RETRY_SECONDS = 5.0
_watchers: list["ModelWatcher"] = []


def _stamp(directory: Path):
    """What changes when a model is promoted or rolled back: the pointer's (or card's) content.

    The content, not the file's inode and times: on a folder shared between hosts (NFS and the
    like) attributes may be cached, while opening and reading a file revalidates it, and an
    object store would give the same small object back. The pointer is a few hundred bytes.
    """
    for name in POINTER_FILES:
        try:
            return name, (directory / name).read_bytes()
        except FileNotFoundError:
            continue
        except OSError:
            return None
    return None


def _pointer_version(stamp) -> str | None:
    """The version a store pointer's content names (None for a plain folder's card, or unreadable)."""
    if stamp is None or stamp[0] != "current.json":
        return None
    try:
        version = json.loads(stamp[1]).get("version")
    except (ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


class ModelWatcher:
    """Watches one app's ``MODEL_DIR`` from a daemon thread of the current process."""

    def __init__(self, app: Flask, directory: Path, interval: float):
        self.app = app
        self.directory = Path(directory)
        self.interval = interval
        self.stamp = _stamp(self.directory)
        self._pid = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # Held for the whole of a check; a fork waits for it (see _hold_for_fork).
        self.checking = threading.Lock()
        self.in_master = False
        # The version the store made current that this process could not verify, and why.
        self.refused: dict | None = None

    def ensure_running(self, in_master: bool = False) -> None:
        """Start the thread in this process unless it already runs here."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.in_master = in_master
            self._stop = threading.Event()
            thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        # Check at once: a worker forked (or restarted) after a promotion catches up before waiting.
        while True:
            try:
                self.check()
            except Exception:  # the watcher must outlive anything one check can raise
                log.exception("model watcher check failed")
            if self._stop.wait(self.interval):
                return

    def check(self) -> str | None:
        """Load the model if its pointer changed since the last look: 'switched', 'refused' or None."""
        with self.checking:
            return self._check()

    def _check(self) -> str | None:
        stamp = _stamp(self.directory)
        # A refused version is tried again now and then: on a shared folder the pointer can
        # arrive before the version's files are whole (a sync still copying them).
        retry = self.refused is not None and time.monotonic() >= self.refused["retry_at"]
        if stamp is None or (stamp == self.stamp and not retry):
            return None
        again = retry and stamp == self.stamp
        self.stamp = stamp
        current = self.app.extensions.get("classifier")
        wanted = _pointer_version(stamp)
        try:
            # The version the pointer read here names, from its own folder (not the pointer read
            # again: it may have moved on), and the card must agree on the name.
            candidate = Classifier.load(self.directory if wanted is None else self.directory / "versions" / wanted)
            if wanted is not None and candidate.version != wanted:
                raise ModelError(f"the card of version {wanted} names version {candidate.version}")
        except (ModelError, OSError, ValueError) as error:
            candidate = self._last_good(current)
            if not again and self.in_master:
                log.warning("master still holds model %s for the workers it starts: the model now in %s "
                            "does not verify: %s", getattr(candidate or current, "version", None), self.directory, error)
            elif not again:
                log.error("refused the model now in %s, still serving %s: %s", self.directory,
                          getattr(candidate or current, "version", None), error)
                self._record("refused")
                self.refused = {"version": wanted, "since": _now()}
            self.refused["retry_at"] = time.monotonic() + RETRY_SECONDS
            if candidate is not None:  # a worker (re)started from an older model: join the others
                self._switch(current, candidate)
            self._record_sync()
            return "refused"
        self.refused = None
        if current is not None and candidate.version == current.version:
            self._record_sync()
            return None
        self._switch(current, candidate)
        return "switched"

    def status(self) -> dict:
        """What /readyz says of the model: the store's current version, and whether this process
        serves it (``in_sync``) or refused it and why."""
        serving = getattr(self.app.extensions.get("classifier"), "version", None)
        wanted = _pointer_version(self.stamp)
        if wanted is None:
            return {}
        status = {"store_version": wanted, "in_sync": wanted == serving}
        if self.refused is not None and self.refused["version"] == wanted:
            status["refused"] = {
                "version": wanted, "since": self.refused["since"],
                "reason": "it could not be verified against its card; this replica keeps its last good "
                          "version (details in the server log)",
            }
        return status

    def _switch(self, current, candidate) -> None:
        self.app.extensions["classifier"] = candidate
        if self.in_master:
            log.info("master now holds model %s for the workers it starts", candidate.version)
            return
        log.info("switched model from %s to %s", getattr(current, "version", None), candidate.version)
        self._record("switched", candidate.version)
        self._record_sync()

    def _record(self, outcome: str, version: str | None = None) -> None:
        if not self.in_master:  # the master answers no request: its figures would be no worker's
            _record(outcome, version)

    def _record_sync(self) -> None:
        if not self.in_master:
            status = self.status()
            if status:
                _record_in_sync(status["in_sync"])

    def _last_good(self, current):
        """When the store's current version is refused: the newest earlier version that loads, if
        this process does not already serve it, else None.

        Workers that were running keep the model they had, the last good one. A worker gunicorn
        starts later is forked from the master, which holds the model of its own start-up; without
        this it would serve that older model beside the others.
        """
        from model.store import StoreError, ModelStore

        try:
            previous = (ModelStore(self.directory).pointer() or {}).get("previous", [])
        except (StoreError, OSError):
            return None
        for version in previous:
            if current is not None and version == current.version:
                return None  # already serving the last good version
            try:
                return Classifier.load(self.directory / "versions" / version)
            except (ModelError, OSError, ValueError):
                continue
        return None


def _record(outcome: str, version: str | None = None) -> None:
    """Count the reload in the metrics, when the metrics module is there."""
    try:
        from service import metrics
    except ImportError:
        return
    metrics.record_reload(outcome)
    if version is not None:
        metrics.record_model(version)


def _record_in_sync(in_sync: bool) -> None:
    try:
        from service import metrics
    except ImportError:
        return
    metrics.record_in_sync(in_sync)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def start_all(in_master: bool = False) -> None:
    """Start every app's watcher in this process: gunicorn's ``post_fork`` calls this in each
    worker, ``when_ready`` in the master (``in_master``: it switches silently and records no
    metrics)."""
    if in_master:
        _hold_for_fork()
    for watcher in _watchers:
        watcher.ensure_running(in_master=in_master)


def _hold_for_fork() -> None:
    """Make every fork in this process wait until no watcher is in the middle of a check, so a
    forked worker gets a whole model and lock states it can use (registered once per process)."""
    if getattr(_hold_for_fork, "registered", False):
        return
    _hold_for_fork.registered = True

    def before():
        for watcher in _watchers:
            watcher.checking.acquire()

    def after_in_parent():
        for watcher in _watchers:
            watcher.checking.release()

    def after_in_child():
        for watcher in _watchers:
            watcher.checking = threading.Lock()  # held by a thread that does not exist here

    os.register_at_fork(before=before, after_in_parent=after_in_parent, after_in_child=after_in_child)


def init_app(app: Flask) -> None:
    """Watch ``MODEL_DIR`` when the app loaded its model from there and polling is on, and name
    the answering model in every response."""

    @app.after_request
    def _model_version(response):
        loaded = g.get("classifier")
        if loaded is not None:
            response.headers["X-Model-Version"] = loaded.version
        return response

    interval = float(app.config.get("MODEL_POLL_SECONDS") or 0)
    if interval <= 0 or app.config.get("CLASSIFIER") is not None or not app.config["LOAD_MODEL"]:
        return
    watcher = ModelWatcher(app, Path(app.config["MODEL_DIR"]), interval)
    app.extensions["model_watcher"] = watcher
    _watchers.append(watcher)

    @app.before_request
    def _watch():
        watcher.ensure_running()
