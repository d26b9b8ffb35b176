"""gunicorn settings for production; HOST, PORT, WORKERS, THREADS override the defaults."""

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
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
