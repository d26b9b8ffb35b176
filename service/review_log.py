"""The review log: the last texts the service sent to review, for the moderator's queue. Off by default.

Comment text is personal data, so nothing is kept unless the operator sets ``REVIEW_LOG_SIZE``
(how many of the latest texts decided ``review`` by ``/v1/classify`` and ``/v1/segment`` to keep;
0, the default, keeps none). They go to a SQLite file (``REVIEW_LOG_DB``) that every worker
shares; each write drops what falls out of the last ``REVIEW_LOG_SIZE``. A moderator's key reads
them (``GET /v1/review-log``) and removes one that is resolved (``DELETE /v1/review-log/<id>``).
A failed write is logged and never fails the request that classified the text.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify

from service.auth import feedback_keyring, require_key
from service.errors import APIError
from service.feedback import paging_args

bp = Blueprint("review_log", __name__)
log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS review_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created       TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    model_version TEXT,
    text          TEXT NOT NULL,
    label         TEXT NOT NULL,
    p_editorial   REAL NOT NULL,
    kind          TEXT,
    block         INTEGER,
    before        TEXT,
    after         TEXT,
    page_editorial REAL,
    page_comment  REAL,
    page_other    REAL
)
"""
# Added after the first release: a file made before gains them when opened (``_add_columns``).
_PAGE_COLUMNS = ("page_editorial", "page_comment", "page_other")
_COLUMNS = ("id", "created", "endpoint", "model_version", "text", "label", "p_editorial", "kind", "block",
            "before", "after") + _PAGE_COLUMNS


class ReviewLogOff(APIError):
    status = 404
    code = "review_log_off"


class EntryNotFound(APIError):
    status = 404
    code = "not_found"


class ReviewLogUnavailable(APIError):
    status = 503
    code = "review_log_unavailable"


class ReviewLog:
    """The last ``size`` review decisions in one SQLite file; one connection per thread and process."""

    def __init__(self, path: str | Path, size: int, busy_timeout: float = 10.0):
        self.path = Path(path)
        self.size = size
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection().execute(SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        """The page's scores of a block (``page_scores``), added to a file made before they were kept."""
        connection = self._connection()
        have = {row[1] for row in connection.execute("PRAGMA table_info(review_log)")}
        for name in _PAGE_COLUMNS:
            if name not in have:
                try:
                    connection.execute(f"ALTER TABLE review_log ADD COLUMN {name} REAL")
                except sqlite3.OperationalError:  # another worker added it first
                    if name not in {row[1] for row in connection.execute("PRAGMA table_info(review_log)")}:
                        raise

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():  # never a parent's connection after fork
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def add(self, rows: list[dict]) -> None:
        """Append ``rows`` (the columns above but ``id``/``created``; the page's scores may be left out)
        and drop all but the last ``size``."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT INTO review_log (created, endpoint, model_version, text, label, p_editorial, kind, block, "
                "before, after, page_editorial, page_comment, page_other) VALUES (:created, :endpoint, "
                ":model_version, :text, :label, :p_editorial, :kind, :block, :before, :after, :page_editorial, "
                ":page_comment, :page_other)",
                [{**dict.fromkeys(_PAGE_COLUMNS), **row, "created": now} for row in rows],
            )
            connection.execute("DELETE FROM review_log WHERE id <= (SELECT max(id) FROM review_log) - ?", (self.size,))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def page(self, after: int, limit: int) -> list[dict]:
        """Up to ``limit`` entries with an id above ``after``, oldest first."""
        rows = self._connection().execute(
            f"SELECT {', '.join(_COLUMNS)} FROM review_log WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        ).fetchall()
        return [_item(dict(zip(_COLUMNS, row))) for row in rows]

    def remove(self, entry_id: int) -> bool:
        """Drop one entry; whether it was there."""
        return self._connection().execute("DELETE FROM review_log WHERE id = ?", (entry_id,)).rowcount > 0


def _item(row: dict) -> dict:
    """A stored row as the API answers it: the shape of a ``/v1/segment`` block, plus where it came from."""
    p = row["p_editorial"]
    return {
        "id": row["id"],
        "created": row["created"],
        "endpoint": row["endpoint"],
        "model": {"version": row["model_version"]},
        "text": row["text"],
        "label": row["label"],
        "scores": {"editorial": p, "comment": 1.0 - p},
        "decision": "review",
        "kind": {"label": row["kind"]} if row["kind"] else None,
        "index": row["block"],
        "context": {"before": row["before"], "after": row["after"]},
        "page_scores": None if row["page_editorial"] is None else
        {"editorial": row["page_editorial"], "comment": row["page_comment"], "other": row["page_other"]},
    }


def _size(app: Flask) -> int:
    size = app.config.get("REVIEW_LOG_SIZE") or 0
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 1_000_000:
        raise ValueError(f"REVIEW_LOG_SIZE must be a whole number from 0 (off) to 1000000 (got {size!r:.40})")
    return size


def init_app(app: Flask) -> None:
    """Check the settings and register the endpoints; the file is opened on first use."""
    _size(app)
    app.register_blueprint(bp)


def _opened(required: bool, app: Flask | None = None) -> ReviewLog | None:
    """This process's log, opened on first use; None (or 404 when ``required``) when it is off."""
    app = app or current_app
    size = _size(app)
    if not size:
        if required:
            raise ReviewLogOff("this server keeps no review log: the operator can turn it on with "
                               "COMMENT_CLASSIFIER_REVIEW_LOG_SIZE (how many texts to keep)")
        return None
    opened = app.extensions.get("review_log")
    if opened is None:
        try:
            opened = ReviewLog(app.config["REVIEW_LOG_DB"], size, app.config.get("FEEDBACK_BUSY_TIMEOUT", 10.0))
        except (OSError, sqlite3.Error) as error:
            log.error("cannot open the review log %s: %s", app.config["REVIEW_LOG_DB"], error)
            if required:
                raise ReviewLogUnavailable("the review log cannot be opened; the error is in the server log") from None
            return None
        app.extensions["review_log"] = opened
    return opened


def record(results: list[dict], texts: list[str], endpoint: str, version: str, page: bool = False,
           app: Flask | None = None) -> None:
    """Keep the texts decided ``review`` (with their neighbours when they are a page's blocks) when
    the log is on; ``app`` outside a request of its own (``service.lane``)."""
    app = app or current_app
    if not app.config.get("REVIEW_LOG_SIZE"):
        return
    rows = []
    for i, result in enumerate(results):
        if result.get("decision") != "review":
            continue
        kind = (result.get("kind") or {}).get("label")
        on_page = result.get("page_scores") or {}
        rows.append({
            "endpoint": endpoint, "model_version": version, "text": texts[i], "label": result["label"],
            "p_editorial": result["scores"]["editorial"], "kind": kind,
            "block": i if page else None,
            "before": texts[i - 1] if page and i > 0 else None,
            "after": texts[i + 1] if page and i + 1 < len(texts) else None,
            **{f"page_{label}": on_page.get(label) for label in ("editorial", "comment", "other")},
        })
    if not rows:
        return
    opened = _opened(required=False, app=app)
    if opened is None:
        return
    try:
        opened.add(rows)
    except sqlite3.Error as error:
        log.error("could not write %d texts to the review log: %s", len(rows), error)


@bp.get("/v1/review-log")
def list_entries():
    """The texts the service sent to review, oldest first: ``?after=<id>&limit=<n>``."""
    require_key(feedback_keyring())
    opened = _opened(required=True)
    after, limit = paging_args()
    try:
        items = opened.page(after, limit + 1)
    except sqlite3.Error as error:
        log.error("cannot read the review log: %s", error)
        raise ReviewLogUnavailable("the review log cannot be read; retry later") from None
    more = len(items) > limit
    items = items[:limit]
    return jsonify({"items": items, "next_after": items[-1]["id"] if more else None})


@bp.delete("/v1/review-log/<int:entry_id>")
def remove_entry(entry_id: int):
    """Take a resolved text out of the log (204), or 404 when it is not (or no longer) there."""
    require_key(feedback_keyring())
    opened = _opened(required=True)
    try:
        removed = opened.remove(entry_id)
    except sqlite3.Error as error:
        log.error("cannot write the review log: %s", error)
        raise ReviewLogUnavailable("the review log cannot be written; retry later") from None
    if not removed:
        raise EntryNotFound(f"no entry {entry_id} in the review log (resolved already, or dropped as newer ones "
                            "arrived)")
    return "", 204
