"""Real workspaces for the routing tests, built once per session from real data.

* ``se_db``: the Stack Exchange quantum computing dump (2018), ingested with the real
  adapter, tags stored as topics;
* ``twcs_db``: the first 1,500 rows of Kaggle's "Customer Support on Twitter" sample,
  ingested with the real twcs adapter (brands have role ``brand``: the staff).

Tests that write copy the file first (the ``copy_db`` fixture).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from socialcrm.routing.topics import tags_from_imports
from socialcrm.workspace import Workspace

TWCS_ROWS = 1500


@pytest.fixture(scope="session")
def se_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("routing-se") / "se.duckdb"
    with Workspace(path) as ws:
        ws.ingest("stackexchange", [shared_data / "stackexchange_quantumcomputing_2018"])
        tags_from_imports(ws.con)
    return path


@pytest.fixture(scope="session")
def twcs_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("routing-twcs")
    src = shared_data / "twcs_head5000" / "twcs_first5000.csv"
    part = d / "twcs_first1500.csv"
    with (
        src.open(newline="", encoding="utf-8") as fh,
        part.open("w", newline="", encoding="utf-8") as fo,
    ):
        reader = csv.reader(fh)
        writer = csv.writer(fo)
        for i, row in enumerate(reader):
            if i > TWCS_ROWS:
                break
            writer.writerow(row)
    path = d / "twcs.duckdb"
    with Workspace(path) as ws:
        ws.ingest("twcs", [part])
    return path


@pytest.fixture
def copy_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A private copy of a session workspace, for a test that writes."""

    def copy(src: Path) -> Path:
        dest = tmp_path / src.name
        shutil.copy(src, dest)
        wal = src.with_name(src.name + ".wal")
        if wal.exists():
            shutil.copy(wal, dest.with_name(dest.name + ".wal"))
        return dest

    return copy
