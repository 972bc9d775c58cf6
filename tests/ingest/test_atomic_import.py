"""An import is one transaction: ``kill -9`` in the middle leaves the store as it was.

A subprocess imports a large canonical Parquet file into a workspace that already holds a
first import, and is killed with SIGKILL once the import is writing rows to the database
file. Reopened, the workspace shows exactly the first import; rerunning the import
finishes it, and running it once more adds nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from socialcrm import Workspace

ROWS = 500_000

CALLS_CSV = "interaction_id,ts,channel,actor,targets,kind,value\n" + "".join(
    f"c{i},2024-03-01T{8 + i // 60 % 10:02d}:{i % 60:02d}:00+01:00,phone,"
    f"phone:+45{20000000 + i % 37},agent:{i % 5},call,{30 + i % 300}\n"
    for i in range(2000)
)

CHILD = """
import sys
from socialcrm import Workspace
ws = Workspace(sys.argv[1])
print("importing", flush=True)
(report,) = ws.ingest("canonical", [sys.argv[2]])
print("done", report.rows_inserted, flush=True)
"""


def make_big_parquet(path: Path, rows: int) -> None:
    """Canonical rows, power-law activity over ~100k handles (DuckDB SQL, a second or two)."""
    con = duckdb.connect()
    con.execute(
        f"""COPY (
            SELECT 'big-' || i AS interaction_id,
                   TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS ts,
                   ['phone', 'email', 'chat', 'ivr'][1 + i % 4] AS channel,
                   'u:' || CAST(floor(exp(random() * ln(1e5))) AS BIGINT) AS actor,
                   ['u:' || CAST(floor(exp(random() * ln(1e5))) AS BIGINT)] AS targets,
                   'message ' || i AS text
            FROM range({rows}) t(i)
        ) TO '{path}' (FORMAT parquet)"""
    )
    con.close()


def counts(db: Path) -> dict[str, int]:
    with Workspace(db) as ws:
        one = lambda sql: ws.con.execute(sql).fetchall()[0][0]  # noqa: E731
        return {
            "interactions": one("SELECT count(*) FROM interactions"),
            "identities": one("SELECT count(*) FROM identities"),
            "entities": one("SELECT count(*) FROM entities"),
            "imports": one("SELECT count(*) FROM imports"),
            "quarantine": one("SELECT count(*) FROM quarantine"),
            "orphans": one(
                "SELECT count(*) FROM interactions"
                " WHERE import_id NOT IN (SELECT import_id FROM imports)"
            ),
            "big": one("SELECT count(*) FROM interactions WHERE source = 'big'"),
        }


def sizes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists())


def test_kill_9_mid_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "crm.duckdb"
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS_CSV)
    with Workspace(db) as ws:
        (first,) = ws.ingest("canonical", [calls])
        ws.con.execute("CHECKPOINT")
    assert first.rows_inserted == 2000
    before = counts(db)
    assert before["interactions"] == 2000 and before["imports"] == 1 and before["big"] == 0

    big = tmp_path / "big.parquet"
    make_big_parquet(big, ROWS)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "importing"
        start_size = sizes(db)
        # Kill once the import is writing: its rows reach the file before the commit.
        deadline = time.monotonic() + 60
        while sizes(db) < start_size + 4 * 2**20 and child.poll() is None:
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.02)
        assert child.poll() is None, f"the import finished before the kill: {child.stdout.read()}"
        written = sizes(db) - start_size
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert written >= 4 * 2**20  # rows were on disk when it died

    after_kill = counts(db)
    assert after_kill == before  # no partial rows, no import record, no new handles

    with Workspace(db) as ws:
        (rerun,) = ws.ingest("canonical", [big])
        assert (rerun.rows_inserted, rerun.rows_rejected) == (ROWS, 0)
    finished = counts(db)
    assert finished["interactions"] == 2000 + ROWS
    assert finished["big"] == ROWS
    assert finished["imports"] == 2 and finished["orphans"] == 0

    with Workspace(db) as ws:
        (again,) = ws.ingest("canonical", [big])
        assert (again.rows_inserted, again.rows_duplicate) == (0, ROWS)
        distinct = ws.con.execute("SELECT count(DISTINCT interaction_id) FROM interactions")
        assert distinct.fetchall()[0][0] == 2000 + ROWS
    final = counts(db)
    assert {k: v for k, v in final.items() if k != "imports"} == {
        k: v for k, v in finished.items() if k != "imports"
    }


def test_an_import_that_fails_inside_the_commit_rolls_back(tmp_path: Path) -> None:
    """An error raised half-way through the commit (here: the first statement that touches
    the target table fails on a constraint) leaves nothing behind either."""
    db = tmp_path / "crm.duckdb"
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS_CSV)
    with Workspace(db) as ws:
        ws.ingest("canonical", [calls])
        before = ws.status()
        # A NOT NULL column the loader does not fill: every INSERT into interactions fails.
        ws.con.execute("ALTER TABLE interactions ADD COLUMN must_have VARCHAR DEFAULT 'x'")
        ws.con.execute("ALTER TABLE interactions ALTER COLUMN must_have DROP DEFAULT")
        ws.con.execute("ALTER TABLE interactions ALTER COLUMN must_have SET NOT NULL")
        more = tmp_path / "more.csv"
        more.write_text(
            "interaction_id,ts,channel,actor\n"
            + "".join(f"m{i},2024-03-02T10:00:00Z,chat,chat:u{i}\n" for i in range(3))
        )
        with pytest.raises(duckdb.ConstraintException):
            ws.ingest("canonical", [more])
        after = ws.status()
    for key in ("interactions", "identities", "entities", "quarantined", "imports"):
        assert after[key] == before[key], key


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_that_changes_between_the_check_and_the_insert_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Parquet and clean CSV files are read twice (check pass, insert). A file rewritten in
    between (an export still being written) would insert rows nobody checked: refused."""
    from socialcrm.ingest import loader
    from socialcrm.ingest.base import InputError

    def write(path: Path, n: int) -> None:
        rows = [f"m{i},2024-03-02T10:00:00Z,chat,chat:u{i}" for i in range(n)]
        csv = path.with_suffix(".csv")
        csv.write_text("interaction_id,ts,channel,actor\n" + "\n".join(rows) + "\n")
        if fmt == "parquet":
            duckdb.sql(f"COPY (FROM read_csv('{csv}')) TO '{path}' (FORMAT parquet)")

    path = tmp_path / f"export.{fmt}"
    write(path, 3)
    checked = loader._check_counts

    def check_then_grow(*args, **kwargs):  # type: ignore[no-untyped-def]
        counts = checked(*args, **kwargs)
        write(path, 5)  # the exporter appends two rows after the check pass
        return counts

    monkeypatch.setattr(loader, "_check_counts", check_then_grow)
    with Workspace(tmp_path / "crm.duckdb") as ws:
        before = ws.status()
        with pytest.raises(InputError, match="changed while it was being imported"):
            ws.ingest("canonical", [path])
        after = ws.status()
    for key in ("interactions", "identities", "entities", "quarantined", "imports"):
        assert after[key] == before[key], key
