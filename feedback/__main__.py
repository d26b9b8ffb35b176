"""Export stored feedback as JSON lines.

    python -m feedback export --db var/feedback.sqlite3 --out feedback.jsonl
    python -m feedback count --db var/feedback.sqlite3
    python -m feedback backup --db var/feedback.sqlite3 --out backups/feedback.sqlite3
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from feedback.store import FeedbackError, FeedbackStore
from model.atomic import atomic_open


def export(store: FeedbackStore, out: str) -> int:
    """Write every verdict as one JSON object per line to ``out`` ("-": stdout); return the count.

    A file is written beside its final name and renamed into place, so a reader never sees half
    an export.
    """
    if out == "-":
        return _write(store, sys.stdout)
    with atomic_open(out, "w", encoding="utf-8") as handle:
        return _write(store, handle)


def _write(store: FeedbackStore, handle) -> int:
    count = 0
    for item in store.rows():
        handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feedback", description="Moderators' feedback store.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("export", "write every verdict as JSON lines"), ("count", "print how many are stored"),
                       ("backup", "copy the database consistently, even while the service writes")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--db", required=True, help="the SQLite file (FEEDBACK_DB in make)")
        if name == "export":
            command.add_argument("--out", default="-", help="file to write (default: stdout)")
        if name == "backup":
            command.add_argument("--out", required=True, help="the copy to write")
    args = parser.parse_args(argv)
    if not Path(args.db).is_file():
        print(f"error: no feedback store at {args.db}: the service creates it when the first feedback "
              "arrives (set COMMENT_CLASSIFIER_FEEDBACK_DB to its path)", file=sys.stderr)
        return 2
    try:
        store = FeedbackStore(args.db)
        if args.command == "count":
            print(store.count())
            return 0
        if args.command == "backup":
            store.backup(args.out)
            print(f"backed up {store.count()} verdicts to {args.out}", file=sys.stderr)
            return 0
        count = export(store, args.out)
    except (FeedbackError, OSError, sqlite3.Error) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.out != "-":
        print(f"wrote {count} verdicts to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
