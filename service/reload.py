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
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from flask import Flask, g

from model import Classifier, ModelError

log = logging.getLogger(__name__)
POINTER_FILES = ("current.json", "card.json")
_watchers: list["ModelWatcher"] = []


def _stamp(directory: Path):
    """What changes when a model is promoted or rolled back: the pointer's (or card's) identity."""
    for name in POINTER_FILES:
        try:
            stat = (directory / name).stat()
        except FileNotFoundError:
            continue
        except OSError:
            return None
        return name, stat.st_ino, stat.st_mtime_ns, stat.st_size
    return None


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

    def ensure_running(self) -> None:
        """Start the thread in this process unless it already runs here."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
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
        stamp = _stamp(self.directory)
        if stamp is None or stamp == self.stamp:
            return None
        self.stamp = stamp
        current = self.app.extensions.get("classifier")
        try:
            candidate = Classifier.load(self.directory)
        except (ModelError, OSError, ValueError) as error:
            candidate = self._last_good(current)
            log.error("refused the model now in %s, still serving %s: %s", self.directory,
                      getattr(candidate or current, "version", None), error)
            _record("refused")
            if candidate is not None:  # a worker (re)started from an older model: join the others
                self._switch(current, candidate)
            return "refused"
        if current is not None and candidate.version == current.version:
            return None
        self._switch(current, candidate)
        return "switched"

    def _switch(self, current, candidate) -> None:
        self.app.extensions["classifier"] = candidate
        log.info("switched model from %s to %s", getattr(current, "version", None), candidate.version)
        _record("switched", candidate.version)

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


def start_all() -> None:
    """Start every app's watcher in this process (gunicorn's ``post_fork`` calls this)."""
    for watcher in _watchers:
        watcher.ensure_running()


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
