"""Progress on stderr: a summary line every so often when stderr is not a terminal, never a bar."""

import io

from model.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_summary_lines_come_every_interval_and_at_the_end(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("model.progress.time.monotonic", clock)
    stream = io.StringIO()  # not a terminal
    with Progress("importing", total=4, unit="sources", every=10, stream=stream) as progress:
        progress.update(1, note="bbc")
        clock.now = 11
        progress.update(1, note="reuters")  # 11 s since the start: one summary
        clock.now = 15
        progress.update(1)  # 4 s since the last: none
        clock.now = 20
        progress.update(1)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "importing: 2 sources of 4 sources (50%) in 11 s, 0.2 sources/s; reuters",
        "importing: done, 4 sources of 4 sources (100%) in 20 s, 0.2 sources/s; reuters",
    ]


def test_disabled_progress_prints_nothing():
    stream = io.StringIO()
    with Progress("classify", unit="rows", every=0, disable=True, stream=stream) as progress:
        progress.update(100)
    assert stream.getvalue() == ""


def test_bytes_are_shown_in_megabytes():
    stream = io.StringIO()
    with Progress("classify", total=4_000_000, unit="B", every=1e9, stream=stream) as progress:
        progress.update(2_000_000, note="1,000 rows")
    assert stream.getvalue().startswith("classify: done, 2.0 MB of 4.0 MB (50%) in ")
    assert stream.getvalue().rstrip().endswith("; 1,000 rows")
