"""Atomic file writes: a file is written beside its final name and renamed into place when whole.

Every command that writes a result a reader may be looking at (the model artifact and card, the
store's pointer, the batch CLI's output, reports, exports) goes through here, so a reader sees the
old file or the new one, never half of one, and a crash leaves at most a hidden ``.NAME.*.tmp``
beside it. The temporary file is flushed and fsynced before the rename, and the folder after it,
so the new name survives a power cut too. ``replace_dir`` does the same for a whole folder (a
report): the old folder goes only once the new one is in place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def fsync_dir(path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _default_mode() -> int:
    # mkstemp makes files private (0600); give the result the mode any new file of this user gets.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on success it replaces ``path``.

    For writers that want a file name (``joblib.dump``, ``savefig``). On an exception the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, _default_mode() if mode is None else mode)
        yield Path(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", *, file_mode: int | None = None, **open_kwargs) -> Iterator:
    """Open a temporary file beside ``path`` (``mode`` "w" or "wb"); on success it replaces ``path``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a new file: mode 'w' or 'wb', not {mode!r}")
    with atomic_path(path, file_mode) as tmp:
        with open(tmp, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def write_atomically(path, data: str | bytes, *, file_mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8), atomically."""
    with atomic_open(path, "wb", file_mode=file_mode) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def replace_dir(staging, out) -> None:
    """Put the finished folder ``staging`` where ``out`` is (same parent folder); the old ``out``
    is moved aside and removed only once the new one is in place."""
    staging, out = Path(staging), Path(out)
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / out.name)
    os.rename(staging, out)
    fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
