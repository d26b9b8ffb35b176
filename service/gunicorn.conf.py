"""gunicorn settings for production; BIND, HOST, PORT, WORKERS, THREADS, WORKER_CLASS, TIMEOUT,
GRACEFUL_TIMEOUT, KEEPALIVE, WORKER_CONNECTIONS, BACKLOG and REUSE_PORT override the defaults."""

import atexit
import datetime
import gc
import glob
import json
import logging
import os
import re
import shutil
import sys
import tempfile

import flask


def _metrics_folder() -> str:
    """The folder where the workers' Prometheus figures meet; prepared once per master.

    prometheus-client picks its multiprocess mode when it is first imported, and with
    preload_app that happens in this process right after this file is read, so the variable is
    set here. Without one from the operator, a fresh temporary folder is made (removed on exit);
    an operator's folder is created if missing and emptied of a previous run's files. gunicorn
    reads this file again on SIGHUP: that must not empty the folder the live workers write to.
    """
    if os.environ.get("COMMENT_CLASSIFIER_METRICS_MASTER") != str(os.getpid()):
        os.environ["COMMENT_CLASSIFIER_METRICS_MASTER"] = str(os.getpid())
        given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if given:
            os.makedirs(given, exist_ok=True)
            for stale in glob.glob(os.path.join(given, "*.db")):
                os.remove(stale)
        else:
            made = tempfile.mkdtemp(prefix="comment-classifier-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
            # Removed when the master exits, also when start-up fails (a missing model).
            atexit.register(_remove_folder, made, os.getpid())
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _remove_folder(path: str, master: int) -> None:
    """Remove the master's temporary metrics folder; workers inherit the hook and skip it."""
    if os.getpid() == master:
        shutil.rmtree(path, ignore_errors=True)


# Only when gunicorn reads this file (it runs it as the module "__config__"): a tool that reads
# the settings with runpy (bench does) must not get a folder and the variable.
metrics_folder = _metrics_folder() if __name__ == "__config__" else None

# BIND (e.g. 127.0.0.1:8001 behind nginx, or unix:/path/gunicorn.sock) wins over HOST and PORT.
bind = os.environ.get("BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", os.cpu_count() or 2))
# REUSE_PORT=1: on TCP addresses each worker listens on a socket of its own (SO_REUSEPORT) and
# the kernel spreads new connections over them. With one shared socket (the default) the first
# worker to wake takes the connections a client opens together (a pool, wrk, nginx's kept-alive
# upstream ones) and keeps them: one core serves while the other idles (docs/benchmarks.md). Off
# by default because a worker that stops (SIGHUP, TIMEOUT, a kill) resets the connections queued
# on its own socket unless the kernel moves them (sysctl net.ipv4.tcp_migrate_req=1); on_starting
# turns it off for a unix socket or a single worker, and warns without that sysctl.
reuse_port = os.environ.get("REUSE_PORT", "0") == "1"
# Without a proxy (make run): gunicorn's threaded workers, so that a busy worker can still
# answer: the app runs at most COMMENT_CLASSIFIER_MAX_IN_FLIGHT requests at once per worker
# (service/overload.py) and the spare threads answer the rest 503 overloaded within 50 ms, and
# the GETs, and idle or slow clients each hold a thread rather than a worker.
# Production sets WORKER_CLASS=sync behind nginx, which holds the clients (slow, idle or
# malformed), refuses past its max_conns and is stopped first: a sync worker takes one request at
# a time from the shared queue, so both workers stay busy and no request waits behind another
# in the same process (p99 at 8 connections 8.1-9.3 ms against 20.4-23.7 ms for gthread behind
# the same nginx: docs/benchmarks.md). gunicorn runs gthread whenever threads > 1, so sync means
# 1 (set WORKER_CLASS: `-k sync` on the command line would leave THREADS at 8).
worker_class = os.environ.get("WORKER_CLASS", "gthread")
threads = int(os.environ.get("THREADS", "1" if worker_class == "sync" else "8"))
# Connections a worker holds (kept-alive ones included); beyond them the kernel queues at most
# BACKLOG more per listening socket (a worker's own with reuse_port, else the shared one). Both
# bounded: under gthread the queue a saturated server builds is answered 503 by the spare threads
# rather than waited on; behind nginx, nginx's max_conns (64 + 32) keeps below BACKLOG.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "100"))
backlog = int(os.environ.get("BACKLOG", "128"))
# Load the model once in the master before forking, so a missing or broken model stops
# start-up with its message instead of every worker failing in a loop.
preload_app = True
# Requests take milliseconds, and the largest the limits allow (1,000 texts, or a 200,000-character
# page, with explanations) stay well within TIMEOUT (docs/benchmarks.md). A threaded worker's
# heartbeat runs on its main thread, not in the request, so TIMEOUT is not a request deadline: it
# restarts a worker stuck for 10 s. A sync worker's heartbeat is between requests, so there
# TIMEOUT is also the longest one request may run (the largest take about 2 s).
timeout = int(os.environ.get("TIMEOUT", "10"))
# What SIGTERM waits for: at most MAX_IN_FLIGHT requests per threaded worker (one per sync
# worker), each a few seconds at worst.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "15"))
# Idle kept-alive connections close after this; a proxy in front should keep its own idle
# timeout below it, or its reused connection may meet one just closed.
keepalive = int(os.environ.get("KEEPALIVE", "5"))
accesslog = os.environ.get("ACCESS_LOG") or None
# The path without its query string: Perspective clients send their API key as ?key=.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (set by ``service.logs``) to lines written while a request is handled.

    Defined here rather than imported from the service, so that the log set-up does not load the
    model's packages into the master of an app that does not need them (bench's hello floor).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # The per-request line brings its own id; only other lines need looking up.
        if "request_id" not in record.__dict__ and flask.has_request_context():
            request_id = flask.g.get("request_id")
            if request_id is not None:
                record.request_id = request_id
        return True


class RedactKeysFilter(logging.Filter):
    """Blanks API keys in query strings (``?key=...``, Perspective's way of sending one) in any line:
    gunicorn quotes the whole request line when it refuses one ("Invalid request from ...")."""

    KEY = re.compile(r"([?&;](?:key|api_key|apikey|access_token)=)[^&;\s'\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "=" in message and self.KEY.search(message):
            record.msg, record.args = self.KEY.sub(r"\1[redacted]", message), None
        return True


# Every line is one JSON object on stderr: time (UTC, ISO 8601), level, logger, pid, message
# and the fields a line adds (request_id; the per-request line's method, path, status...).
# The service's own loggers (model loading, Coral verdicts, unexpected errors, one line per
# request) go beside gunicorn's; gunicorn's loggers stop propagating so nothing is printed twice.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


def _json_default(value):
    """What JSON cannot hold as it is: dates in ISO 8601, anything else as its text."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


_encode = json.JSONEncoder(default=_json_default).encode


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``level``, ``logger``, ``pid``, ``message``, ``exc_info`` and
    ``stack_info`` when there are, the fields the line adds (``extra``), ``time``.

    The same lines as python-json-logger's formatter wrote with these settings, in about half its
    time (it runs once per request): a dict made in one pass and the standard library's encoder.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = {"level": record.levelname, "logger": record.name, "pid": record.process,
                "message": record.getMessage()}
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS:
                line[key] = value
        line["time"] = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat()
        return _encode(line)


_JSON = {"()": JsonFormatter}
# No line shows the thread or the multiprocessing process name: don't collect them for every
# record (the logging module's documented switches; the pid stays).
logging.logThreads = False
logging.logMultiprocessing = False
logconfig_dict = {
    "formatters": {"json": _JSON},
    "filters": {"request_id": {"()": RequestIdFilter}, "redact_keys": {"()": RedactKeysFilter}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id", "redact_keys"],
                    "stream": "ext://sys.stdout"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id", "redact_keys"],
                          "stream": "ext://sys.stderr"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"], "propagate": False,
                           "qualname": "gunicorn.error"},
        # Access lines only when ACCESS_LOG asks for them (paths without query strings, never text).
        "gunicorn.access": {"level": "INFO" if accesslog else "WARNING", "handlers": ["console"],
                            "propagate": False, "qualname": "gunicorn.access"},
    },
}
# A single-app server needs no runtime control socket, and two instances on one machine would
# otherwise share ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True


def pre_fork(server, worker):
    """Move the preloaded model out of the garbage collector's sight before forking.

    The vocabulary tables are hundreds of thousands of objects that never die; frozen, the
    collector stops rescanning them in every worker (and copy-on-write pages stay shared).
    """
    gc.freeze()


def on_starting(server):
    """With REUSE_PORT=1: keep it only where it works (TCP addresses, two workers or more), and
    refuse an address that something already listens on. SO_REUSEPORT would let the workers bind
    beside another server of the same user (a forgotten `make run`) and share its traffic with it
    silently; a plain bind says "in use" as gunicorn would without it. The addresses are the ones
    gunicorn binds (BIND, or -b on its command line)."""
    if not server.cfg.reuse_port:
        return
    import socket

    from gunicorn.util import is_ipv6

    addresses = server.cfg.address
    if server.cfg.workers < 2 or not all(isinstance(address, tuple) for address in addresses):
        server.cfg.set("reuse_port", False)
        server.log.info("REUSE_PORT: one shared listening socket (a unix socket or a single worker)")
        return
    for host, port in addresses:
        with socket.socket(socket.AF_INET6 if is_ipv6(host) else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise SystemExit(f"error: cannot listen on {host}:{port}: {error.strerror} (another server?)") from None
    listening = ", ".join(f"http://{host}:{port}" for host, port in addresses)
    server.log.info("Listening at: %s (a socket per worker)", listening)
    try:
        with open("/proc/sys/net/ipv4/tcp_migrate_req") as setting:
            migrate = setting.read().strip() == "1"
    except OSError:
        migrate = False
    if not migrate:
        server.log.warning("REUSE_PORT: net.ipv4.tcp_migrate_req is not 1: connections queued on a worker "
                           "that stops (SIGHUP, TIMEOUT, a kill) will be reset")


def when_ready(server):
    """Drop the master's own live gauges: it loaded the model but answers no request. And watch
    the model store in the master too, so that a worker started later is forked with the version
    the others serve (service/reload.py)."""
    reload = sys.modules.get("service.reload")  # not imported for an app without it (bench's hello floor)
    if reload is not None:
        reload.start_all(in_master=True)
    if metrics_folder is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid(), metrics_folder)
    server.log.info("metrics folder %s", metrics_folder)


def post_fork(server, worker):
    """Start each worker's model watcher (threads do not survive fork): hot reload. And report
    the model the worker serves (the model-info gauge is per process)."""
    from service import metrics, reload

    reload.start_all()
    wsgi = worker.app.wsgi()
    if hasattr(wsgi, "extensions"):
        metrics.record_serving(wsgi)


def child_exit(server, worker):
    """A worker has exited: its live gauges go (its counts stay in the totals)."""
    if metrics_folder is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_folder)
