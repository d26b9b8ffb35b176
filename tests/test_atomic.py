"""The one atomic-write helper: the old file or the new one, never half, nothing left behind."""

import os
import stat

import pytest

from model.atomic import atomic_open, atomic_path, replace_dir, write_atomically


def test_a_write_replaces_the_file_whole_with_the_usual_mode(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    write_atomically(path, "new")
    assert path.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(path, "w") as handle:
            handle.write("half of the new")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_gives_writers_a_file_name(tmp_path):
    path = tmp_path / "sub" / "data.bin"
    with atomic_path(path, 0o640) as tmp:
        assert tmp.parent == path.parent and not path.exists()
        tmp.write_bytes(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_atomic_open_refuses_modes_that_would_not_replace(tmp_path):
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_replace_dir_swaps_a_folder_in(tmp_path):
    out, staging = tmp_path / "reports", tmp_path / ".reports.new"
    out.mkdir()
    (out / "old.png").write_bytes(b"old")
    staging.mkdir()
    (staging / "new.png").write_bytes(b"new")
    replace_dir(staging, out)
    assert [p.name for p in out.iterdir()] == ["new.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]
