"""Moderators' corrections in a SQLite file: WAL mode, a busy timeout, a versioned schema.

Several gunicorn workers write to one file at once. WAL lets readers run beside the one writer,
the busy timeout makes a writer wait for the lock instead of failing, and every write is one
short transaction, so nothing is lost or stored twice. The schema version lives in SQLite's own
``user_version``; ``MIGRATIONS`` brings any older file up to date when a store opens it.

It also holds what the PostgreSQL store (``feedback.postgres``) shares with this one: the table as
migration 1 made it, how a verdict becomes parameters and a row becomes a verdict, the schema
version check and ``rows()``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from model.labels import LABELS

# What a moderator may answer: a label, or "other" for page chrome (menus, bylines, buttons), which
# is neither and is kept for the page segmenter; the text classifier's retraining leaves it out.
VERDICTS = (*LABELS, "other")
FIELDS = ("id", "text", "label", "kind", "comment_id", "moderator", "note", "model_version", "scores",
          "created", "updated")

# The table as migration 1 made it, with what each database spells its own way left open: the id's
# and the times' types, the JSON column's, the labels allowed. Both stores' shipped migrations are
# built from it (SQLite's 2 rebuilds the table under another name), so it is as frozen as they are.
TABLE_V1 = """
    CREATE TABLE {name} (
        id            {id},
        text          TEXT NOT NULL,
        label         TEXT NOT NULL CHECK (label IN ({labels})),
        kind          TEXT CHECK (kind IN ('sarcastic', 'opinion')),
        comment_id    TEXT,
        moderator     TEXT NOT NULL DEFAULT '',
        note          TEXT,
        model_version TEXT,
        scores        {json},
        created       {time} NOT NULL,
        updated       {time} NOT NULL
    );
"""
UNIQUE_INDEX = """CREATE UNIQUE INDEX feedback_comment_moderator ON feedback (comment_id, moderator)
        WHERE comment_id IS NOT NULL;
    """
_SQLITE_TYPES = {"id": "INTEGER PRIMARY KEY", "json": "TEXT", "time": "TEXT"}

# Migration n (1-based) takes a file at schema version n-1 to version n. Never edit one that has
# shipped: add the next.
MIGRATIONS = (
    TABLE_V1.format(name="feedback", labels="'editorial', 'comment'", **_SQLITE_TYPES)
    + "    -- One row per comment and moderator: a second verdict on the same comment updates the first.\n    "
    + UNIQUE_INDEX,
    # 2: "other" (page chrome) as a verdict. SQLite cannot change a CHECK in place: copy the rows.
    TABLE_V1.format(name="feedback_v2", labels="'editorial', 'comment', 'other'", **_SQLITE_TYPES)
    + """    INSERT INTO feedback_v2 (id, text, label, kind, comment_id, moderator, note, model_version, scores, created,
                             updated)
        SELECT id, text, label, kind, comment_id, moderator, note, model_version, scores, created, updated
        FROM feedback;
    DROP TABLE feedback;
    ALTER TABLE feedback_v2 RENAME TO feedback;
    """ + UNIQUE_INDEX,
)
SCHEMA_VERSION = len(MIGRATIONS)


class FeedbackError(Exception):
    """The store cannot be opened or written; the message says why."""


# What both stores share: how a verdict becomes a row and back, the schema check, paging.

def stamp(moment: dt.datetime) -> str:
    """A time as both stores give it: UTC, milliseconds, ``Z``."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def put_values(item: dict, now, encode) -> dict:
    """The parameters ``put`` writes for a checked verdict: no moderator as ``''``, the scores
    through ``encode`` (the database's JSON), ``now`` as the database takes a time."""
    scores = item.get("scores")
    return {
        "text": item["text"],
        "label": item["label"],
        "kind": item.get("kind"),
        "comment_id": item.get("comment_id"),
        "moderator": item.get("moderator") or "",
        "note": item.get("note"),
        "model_version": item.get("model_version"),
        "scores": None if scores is None else encode(scores),
        "now": now,
    }


def load_values(row: dict, encode) -> dict:
    """The parameters ``load`` writes for another store's row (id and times kept)."""
    return {**row, "moderator": row.get("moderator") or "",
            "scores": None if row.get("scores") is None else encode(row["scores"])}


def stored_item(row) -> dict:
    """A row read back as a verdict, before each store's own conversions: no moderator as None."""
    item = dict(zip(FIELDS, row))
    item["moderator"] = item["moderator"] or None
    return item


def check_version(where: str, version: int, latest: int) -> None:
    """FeedbackError if the store's schema ``version`` is newer than ``latest``, this code's."""
    if version > latest:
        raise FeedbackError(
            f"{where} has schema version {version}, newer than this code's {latest}: "
            "upgrade comment-classifier"
        )


class PagedRows:
    """``rows()`` over a store's ``page()``."""

    def page(self, after: int = 0, limit: int = 100) -> list[dict]:
        raise NotImplementedError

    def rows(self, batch: int = 1000) -> Iterator[dict]:
        """Every verdict, oldest first, read in batches."""
        after = 0
        while True:
            items = self.page(after, batch)
            yield from items
            if len(items) < batch:
                return
            after = items[-1]["id"]


def _json(scores) -> str:
    return json.dumps(scores, sort_keys=True)


def _row(row: sqlite3.Row) -> dict:
    item = stored_item(row)
    item["scores"] = json.loads(item["scores"]) if item["scores"] is not None else None
    return item


class FeedbackStore(PagedRows):
    """One SQLite file of feedback. Safe to share between threads; open one per process.

    ``busy_timeout`` (seconds) is how long a write waits for another process's write to finish.
    """

    def __init__(self, path: str | Path, busy_timeout: float = 10.0):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.migrate()
            # A store opened before gunicorn forks its workers must not hand them this connection.
            self.close()
        except (OSError, sqlite3.Error) as error:
            raise FeedbackError(f"cannot open the feedback store {self.path}: {error}") from None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid != os.getpid():
            connection = None  # inherited through fork: never use a parent's SQLite connection
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                         check_same_thread=True)
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection = connection
            self._local.pid = os.getpid()
        return connection

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    @contextlib.contextmanager
    def _write(self, failing: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction on this thread's connection: BEGIN IMMEDIATE takes the write lock
        first, the block's end commits, an exception in it rolls back. With ``failing``, a SQLite
        error becomes a FeedbackError "could not <failing> <path>: <error>"."""
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            if failing is None:
                raise
            raise FeedbackError(f"could not {failing} {self.path}: {error}") from None

    def migrate(self) -> int:
        """Bring the file to ``SCHEMA_VERSION``; return the version it had. One process at a time."""
        with self._write() as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            check_version(str(self.path), version, SCHEMA_VERSION)
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number}")
        return version

    def schema_version(self) -> int:
        """The file's schema version."""
        return self._connection().execute("PRAGMA user_version").fetchone()[0]

    def put(self, item: dict) -> tuple[int, bool]:
        """Store one verdict; ``(id, True)`` when new, ``(id, False)`` when it updated the same
        comment's verdict from the same moderator. ``item`` is checked by the caller."""
        values = put_values(item, stamp(dt.datetime.now(dt.timezone.utc)), _json)
        # One short write transaction: look for this comment's verdict by this moderator, then
        # update it or insert a new row. BEGIN IMMEDIATE takes the write lock first, so two
        # workers cannot both decide to insert.
        with self._write("store feedback in") as connection:
            existing = None
            if values["comment_id"] is not None:
                existing = connection.execute(
                    "SELECT id FROM feedback WHERE comment_id = :comment_id AND moderator = :moderator", values
                ).fetchone()
            if existing is None:
                row_id = connection.execute(
                    """INSERT INTO feedback (text, label, kind, comment_id, moderator, note, model_version,
                                             scores, created, updated)
                       VALUES (:text, :label, :kind, :comment_id, :moderator, :note, :model_version, :scores,
                               :now, :now)""",
                    values,
                ).lastrowid
            else:
                row_id = existing[0]
                connection.execute(
                    """UPDATE feedback SET text = :text, label = :label, kind = :kind, note = :note,
                              model_version = :model_version, scores = :scores, updated = :now
                       WHERE id = :id""",
                    {**values, "id": row_id},
                )
        return row_id, existing is None

    def get(self, row_id: int) -> dict | None:
        """One stored verdict by id."""
        row = self._connection().execute(f"SELECT {', '.join(FIELDS)} FROM feedback WHERE id = ?",
                                         (row_id,)).fetchone()
        return None if row is None else _row(row)

    def page(self, after: int = 0, limit: int = 100) -> list[dict]:
        """Up to ``limit`` verdicts with an id above ``after``, oldest first (keyset paging)."""
        try:
            rows = self._connection().execute(
                f"SELECT {', '.join(FIELDS)} FROM feedback WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()
        except sqlite3.Error as error:
            raise FeedbackError(f"could not read the feedback store {self.path}: {error}") from None
        return [_row(row) for row in rows]

    def backup(self, target: str | Path) -> None:
        """A consistent copy of the whole database at ``target`` (SQLite's online backup: safe
        while workers write; written beside ``target`` and renamed into place)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        try:
            copy = sqlite3.connect(partial)
            with copy:
                self._connection().backup(copy)
            copy.close()
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def count(self) -> int:
        """How many verdicts are stored."""
        return self._connection().execute("SELECT count(*) FROM feedback").fetchone()[0]

    def load(self, rows) -> int:
        """Copy ``rows`` (another store's, ids and times kept) into this empty store in one
        transaction; return how many. FeedbackError if this store already has feedback."""
        with self._write("copy feedback into") as connection:
            if connection.execute("SELECT count(*) FROM feedback").fetchone()[0]:
                raise FeedbackError(f"{self.path} already holds feedback: copy into an empty store")
            count = 0
            for row in rows:
                connection.execute(f"INSERT INTO feedback ({', '.join(FIELDS)}) "
                                   f"VALUES ({', '.join(':' + field for field in FIELDS)})",
                                   load_values(row, _json))
                count += 1
        return count
