"""``python -m training.retrain``: the training command with the moderators' feedback added.

The same command, gate and model store as ``python -m training`` (see ``training.train``), with
``--feedback`` defaulting to the feedback database (var/feedback.sqlite3). Kept so that scripts
written for the old command keep working; ``make retrain`` runs it.
"""

from __future__ import annotations

import sys

from training.corrections import DEFAULT_FEEDBACK_DB
from training.train import main as train_main


def main(argv: list[str] | None = None) -> int:
    """``python -m training --feedback var/feedback.sqlite3 ...`` unless ``--feedback`` is given."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(arg == "--feedback" or arg.startswith("--feedback=") for arg in argv):
        argv = ["--feedback", str(DEFAULT_FEEDBACK_DB), *argv]
    return train_main(argv, prog="python -m training.retrain")


if __name__ == "__main__":
    sys.exit(main())
