"""gunicorn settings for production; HOST, PORT, WORKERS, THREADS override the defaults."""

import gc
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", os.cpu_count() or 2))
threads = int(os.environ.get("THREADS", "1"))
# Load the model once in the master before forking, so a missing or broken model stops
# start-up with its message instead of every worker failing in a loop.
preload_app = True
timeout = int(os.environ.get("TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
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
