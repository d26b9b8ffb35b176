"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of public corpora; tests that need it skip when it is absent."""
    path = Path(os.environ.get("COMMENT_CLASSIFIER_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"data folder {path} not found (set COMMENT_CLASSIFIER_DATA)")
    return path
