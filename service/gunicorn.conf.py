"""gunicorn settings for production; HOST, PORT, WORKERS, THREADS, WORKER_CLASS, TIMEOUT,
GRACEFUL_TIMEOUT, KEEPALIVE, WORKER_CONNECTIONS and BACKLOG override the defaults."""

import gc
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", os.cpu_count() or 2))
# Threaded workers, so that a busy worker can still answer: the app runs at most
# COMMENT_CLASSIFIER_MAX_IN_FLIGHT requests at once per worker (service/overload.py) and the
# spare threads answer the rest 503 overloaded within 50 ms, and the GETs. On SIGTERM the worker
# serves what is queued, then refuses new connections. WORKER_CLASS=sync restores the old server.
worker_class = os.environ.get("WORKER_CLASS", "service.overload.DrainingThreadWorker")
threads = int(os.environ.get("THREADS", "8"))
# Connections a worker holds (kept-alive ones included); beyond them the kernel queues at most
# BACKLOG more for all workers. Both bounded: the queue a saturated server builds is answered
# 503 by the spare threads rather than waited on.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "100"))
backlog = int(os.environ.get("BACKLOG", "128"))
# Load the model once in the master before forking, so a missing or broken model stops
# start-up with its message instead of every worker failing in a loop.
preload_app = True
# Requests take milliseconds; the largest the limits allow (1,000 texts, or a 200,000-character
# page, with explanations) about 2 s. A threaded worker's heartbeat runs on its main thread, not
# in the request, so TIMEOUT is not a request deadline: it restarts a worker stuck for 10 s.
timeout = int(os.environ.get("TIMEOUT", "10"))
# What SIGTERM waits for: at most MAX_IN_FLIGHT requests per worker, each a few seconds at worst.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "15"))
# Idle kept-alive connections close after this; a proxy in front should keep its own idle
# timeout below it, or its reused connection may meet one just closed.
keepalive = int(os.environ.get("KEEPALIVE", "5"))
accesslog = os.environ.get("ACCESS_LOG") or None
# The path without its query string: Perspective clients send their API key as ?key=.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# The service's own loggers (model loading, Coral verdicts, unexpected errors) go to stderr
# beside gunicorn's; gunicorn's loggers stop propagating so nothing is printed twice.
logconfig_dict = {
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


def post_fork(server, worker):
    """Start each worker's model watcher (threads do not survive fork): hot reload."""
    from service import reload

    reload.start_all()
