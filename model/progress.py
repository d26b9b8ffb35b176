"""Messages and progress on stderr for the long-running commands (batch CLI, training).

On a terminal a ``Progress`` draws a tqdm bar; anywhere else (a log file, a pipe, CI) a bar's
carriage-return updates are noise, so it prints one plain line every ``SUMMARY_SECONDS`` and one
when it closes: what is done, how fast, and for how long.
"""

from __future__ import annotations

import sys
import time

SUMMARY_SECONDS = 10.0


def say(message: str) -> None:
    """Print a progress or status message on stderr (stdout stays for results)."""
    print(message, file=sys.stderr, flush=True)


def _amount(n: float, unit: str) -> str:
    if unit == "B":
        return f"{n / 1e6:,.1f} MB"
    return f"{n:,.1f} {unit}" if 0 < n < 10 and n != int(n) else f"{n:,.0f} {unit}"


class Progress:
    """Counts work done: a tqdm bar on a terminal, else a summary line every ``every`` seconds.

    ``unit`` "B" counts bytes (shown in MB); ``note`` is extra text for the summary (e.g. rows so far).
    """

    def __init__(self, what: str, *, total: float | None = None, unit: str = "items", disable: bool = False,
                 every: float | None = None, stream=None):
        self.what, self.total, self.unit, self.disable = what, total, unit, disable
        self.stream = stream or sys.stderr
        self.every = SUMMARY_SECONDS if every is None else every
        self.n = 0
        self.note = ""
        self.started = self.last = time.monotonic()
        self.bar = None
        isatty = getattr(self.stream, "isatty", None)
        if not disable and isatty is not None and isatty():
            from tqdm import tqdm

            bar_unit = "B" if unit == "B" else f" {unit}"
            self.bar = tqdm(total=total, desc=what, unit=bar_unit, unit_scale=unit == "B",
                            unit_divisor=1024 if unit == "B" else 1000, file=self.stream)

    def update(self, n: float = 1, note: str | None = None) -> None:
        """Count ``n`` more units done; ``note`` replaces the extra text."""
        self.n += n
        if note is not None:
            self.note = note
        if self.bar is not None:
            if note is not None:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(n)
        elif not self.disable and time.monotonic() - self.last >= self.every:
            self._summary()

    def _summary(self, final: bool = False) -> None:
        now = time.monotonic()
        self.last = now
        elapsed = now - self.started
        done = _amount(self.n, self.unit)
        if self.total:
            done += f" of {_amount(self.total, self.unit)} ({self.n / self.total:.0%})"
        rate = f", {_amount(self.n / elapsed, self.unit)}/s" if elapsed > 0 and self.n else ""
        note = f"; {self.note}" if self.note else ""
        print(f"{self.what}: {'done, ' if final else ''}{done} in {elapsed:,.0f} s{rate}{note}",
              file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar, or print the final summary line."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif not self.disable:
            self._summary(final=True)
            self.disable = True

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
