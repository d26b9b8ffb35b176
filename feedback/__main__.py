"""Export stored feedback as JSON lines, count it, back it up.

    python -m feedback export --db var/feedback.sqlite3 --out feedback.jsonl
    python -m feedback count --db var/feedback.sqlite3
    python -m feedback backup --db var/feedback.sqlite3 --out backups/feedback.sqlite3
    python -m feedback backup --db postgresql://user@host/db --out backups/feedback.dump  # pg_dump
    python -m feedback copy --db var/feedback.sqlite3 --to postgresql://user@host/db  # into an empty store

``--db`` is a SQLite file or a PostgreSQL URL (default: ``COMMENT_CLASSIFIER_DATABASE_URL`` when
set).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path

from feedback import FeedbackError, is_database_url, open_store
from model.atomic import atomic_open


def export(store, out: str) -> int:
    """Write every verdict as one JSON object per line to ``out`` ("-": stdout); return the count.

    A file is written beside its final name and renamed into place, so a reader never sees half
    an export.
    """
    if out == "-":
        return _write(store, sys.stdout)
    with atomic_open(out, "w", encoding="utf-8") as handle:
        return _write(store, handle)


def _write(store, handle) -> int:
    count = 0
    for item in store.rows():
        handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feedback", description="Moderators' feedback store.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("export", "write every verdict as JSON lines"), ("count", "print how many are stored"),
                       ("backup", "copy the database consistently, even while the service writes"),
                       ("copy", "copy every verdict (ids and times kept) into an empty store, e.g. SQLite to PostgreSQL")):
        command = commands.add_parser(name, help=text)
        url = os.environ.get("COMMENT_CLASSIFIER_DATABASE_URL") or None
        command.add_argument("--db", required=url is None, default=url,
                             help="the SQLite file (FEEDBACK_DB in make) or a postgresql:// URL "
                                  "(default: COMMENT_CLASSIFIER_DATABASE_URL)")
        if name == "export":
            command.add_argument("--out", default="-", help="file to write (default: stdout)")
        if name == "backup":
            command.add_argument("--out", required=True, help="the copy to write")
        if name == "copy":
            command.add_argument("--to", required=True, help="the store to fill: a SQLite file or a postgresql:// URL")
    args = parser.parse_args(argv)
    if not is_database_url(args.db) and not Path(args.db).is_file():
        print(f"error: no feedback store at {args.db}: the service creates it when the first feedback "
              "arrives (set COMMENT_CLASSIFIER_FEEDBACK_DB to its path)", file=sys.stderr)
        return 2
    store = None
    try:
        store = open_store(args.db)
        if args.command == "count":
            print(store.count())
            return 0
        if args.command == "backup":
            store.backup(args.out)
            print(f"backed up {store.count()} verdicts to {args.out}", file=sys.stderr)
            return 0
        if args.command == "copy":
            target = open_store(args.to)
            try:
                copied = target.load(store.rows())
            finally:
                target.close()
            print(f"copied {copied} verdicts to {args.to if not is_database_url(args.to) else 'the database'}",
                  file=sys.stderr)
            return 0
        count = export(store, args.out)
    except (FeedbackError, OSError, sqlite3.Error) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if store is not None:
            store.close()
    if args.out != "-":
        print(f"wrote {count} verdicts to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
