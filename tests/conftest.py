"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets in ``../shared/data`` beside the repository (read-only)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"
