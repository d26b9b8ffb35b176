"""How a benchmark run ends when it is stopped or fails: SIGTERM unwinds like Ctrl-C, through the
``finally`` blocks that stop the servers, and either ending becomes an exit code and one line."""

from __future__ import annotations

import contextlib
import signal
import sys
from dataclasses import dataclass


@dataclass
class Outcome:
    """``code`` is the exit code when the guarded block was interrupted or failed, else None."""

    code: int | None = None


@contextlib.contextmanager
def exit_codes(prog: str, stopped: str):
    """Run the block with SIGTERM raised as ``KeyboardInterrupt`` (`make` or a supervisor ends us
    with SIGTERM: unwind instead of dying with the servers still running). An interrupt ends it
    with ``prog: interrupted; <stopped>`` on stderr and code 130, a ``RuntimeError`` with its
    message and code 1; both are recorded in the ``Outcome`` it yields, not raised."""
    outcome = Outcome()

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield outcome
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; {stopped}", file=sys.stderr)
        outcome.code = 130
    except RuntimeError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        outcome.code = 1
    finally:
        signal.signal(signal.SIGTERM, previous)
