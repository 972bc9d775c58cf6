"""The store's two promises: stages give the same answer on DuckDB and on Spark, and the
schema moves forward by versioned migrations that never leave a half-applied step.

The engine data is a real slice: the first 2,000 private messages of SNAP CollegeMsg
(Panzarasa et al. 2009) as canonical chat rows, plus a few calls, e-mails and forum posts
from hand-made exports so every channel and the identity rules take part.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from socialcrm import Workspace
from socialcrm.store.schema import MIGRATIONS, Migration, current_version, migrate

OTHER_CHANNELS = """\
interaction_id,ts,channel,actor,targets,kind,value,in_reply_to,text
call-1,2004-05-01T09:00:00+02:00,phone,phone:+4512345678,college:1,call,300,,
call-2,2004-05-01T10:00:00+02:00,phone,college:1,phone:+4512345678,call,120,,
mail-1,2004-05-02T08:00:00Z,email,crm:Ann@Example.com,email:support@acme.com,email,,,refund?
mail-2,2004-05-02T09:00:00Z,email,email:support@acme.com,email:ann@example.com,email,,mail-1,yes
mail-3,2004-05-02T09:30:00Z,email,email:ann@example.com,,email,,mail-2,thanks
post-1,2004-05-03T12:00:00Z,forum,forum:college-2,,post,,,anyone?
post-2,2004-05-03T12:30:00Z,forum,forum:college-9,,comment,,post-1,me
post-3,2004-05-03T12:40:00Z,forum,forum:college-2,,comment,,post-2,great
post-4,2004-05-03T12:45:00Z,forum,forum:college-2,,comment,,post-3,self-reply
"""


@pytest.fixture(scope="module")
def college(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    tmp = tmp_path_factory.mktemp("engine")
    rows = []
    with (shared_data / "snap_collegemsg" / "CollegeMsg.txt").open() as fh:
        for n, line in enumerate(fh, start=1):
            if n > 2000:
                break
            src, dst, t = line.split()
            rows.append([n, t, "chat", f"college:{src}", f"college:{dst}", "message"])
    college_csv = tmp / "collegemsg.csv"
    with college_csv.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["interaction_id", "ts", "channel", "actor", "targets", "kind"])
        w.writerows(rows)
    other = tmp / "crm.csv"
    other.write_text(OTHER_CHANNELS)
    ws = Workspace(tmp / "crm.duckdb")
    reports = ws.ingest("canonical", [college_csv, other])
    assert [r.rows_inserted for r in reports] == [2000, 9]
    yield ws
    ws.close()


def sorted_rows(table) -> list[tuple]:
    cols = ["entity_id", "channel", "sent", "received", "counterparts_in", "first_ts", "last_ts"]
    return sorted(tuple(r[c] for c in cols) for r in table.select(cols).to_pylist())


def test_activity_on_duckdb_matches_plain_sql(college: Workspace) -> None:
    rows = {(r[0], r[1]): r for r in sorted_rows(college.activity())}
    # sent = interactions whose actor resolves to the entity, per channel
    expected_sent = dict(
        ((e, c), n)
        for e, c, n in college.con.execute(
            """SELECT coalesce(i.entity_id, x.actor), x.channel, count(*)
            FROM interactions x LEFT JOIN identities i ON i.handle = x.actor GROUP BY 1, 2"""
        ).fetchall()
    )
    assert {k: v[2] for k, v in rows.items() if v[2]} == expected_sent
    assert sum(v[2] for v in rows.values()) == 2009
    # Ann's two handles (a CRM handle with her address, and the address itself) are one
    # entity: she sent two e-mails and received the agent's reply.
    ann = rows[("email:ann@example.com", "email")]
    assert (ann[2], ann[3], ann[4]) == (2, 1, 1)
    # a reply is addressed to its parent's author; a reply to oneself is not a tie
    assert rows[("forum:college-2", "forum")][2:5] == (3, 1, 1)
    assert rows[("forum:college-9", "forum")][2:5] == (1, 1, 1)
    # college:1 on two channels
    assert rows[("college:1", "phone")][2:4] == (1, 1)
    assert ("college:1", "chat") in rows


@pytest.mark.spark
def test_activity_is_the_same_on_spark(college: Workspace, spark_session, tmp_path: Path) -> None:
    on_duckdb = sorted_rows(college.activity())
    spark = college.spark(directory=tmp_path / "snapshot")
    assert spark.session is spark_session  # the shared local session, not a new one
    on_spark = sorted_rows(college.activity(spark))
    assert len(on_duckdb) > 300  # every (entity, channel) of the slice
    assert on_spark == on_duckdb


def test_migrations_are_versioned_and_atomic(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    v1 = MIGRATIONS[:1]
    assert migrate(con, v1) == 1
    con.execute(
        "INSERT INTO interactions (interaction_id, source, channel, ts, actor, kind, visibility)"
        " VALUES ('crm:1', 'crm', 'phone', TIMESTAMP '2024-01-01', 'phone:+45', 'call', 'private')"
    )
    con.close()

    # opened again with the same migrations: nothing to do, still version 1
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    assert migrate(con, v1) == 1
    assert con.execute("SELECT count(*) FROM schema_migrations").fetchall() == [(1,)]

    # a release appends a migration: the workspace upgrades, its data intact
    added = Migration(
        2, "entity notes", "CREATE TABLE entity_notes (entity_id VARCHAR, note VARCHAR);"
    )
    assert migrate(con, (*v1, added)) == 2
    assert con.execute("SELECT count(*) FROM entity_notes").fetchall() == [(0,)]
    assert con.execute("SELECT interaction_id FROM interactions").fetchall() == [("crm:1",)]
    assert migrate(con, (*v1, added)) == 2  # and is not applied twice

    # a failing migration rolls back entirely: no half-created table, version unchanged
    broken = Migration(
        3,
        "half done",
        "CREATE TABLE half_done (x INTEGER); ALTER TABLE no_such_table ADD COLUMN y INTEGER;",
    )
    with pytest.raises(duckdb.CatalogException):
        migrate(con, (*v1, added, broken))
    assert current_version(con) == 2
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "half_done" not in tables and "entity_notes" in tables
    con.close()


def test_migration_4_keeps_entities_and_identities_and_their_defaults(tmp_path: Path) -> None:
    """A workspace made before migration 4 keeps every entity and identity row through it."""
    con = duckdb.connect(str(tmp_path / "v3.duckdb"))
    assert migrate(con, MIGRATIONS[:3]) == 3
    con.execute(
        "INSERT INTO entities (entity_id, kind, role, display_name, attrs) VALUES"
        " ('b', 'brand', 'brand', 'Acme', '{\"x\": 1}'), ('a', 'person', 'customer', NULL, NULL)"
    )
    con.execute(
        "INSERT INTO identities (handle, entity_id, source, link_rule, evidence) VALUES"
        " ('twitter:@acme', 'b', 'twcs', 'self', NULL), ('email:a@x.org', 'a', 'crm', 'self', 'e')"
    )
    before = [
        con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("entities", "identities")
    ]
    assert migrate(con) == max(m.version for m in MIGRATIONS)
    after = [
        con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("entities", "identities")
    ]
    assert after == before
    con.execute("INSERT INTO entities (entity_id) VALUES ('c')")  # defaults kept
    assert con.execute("SELECT kind, role FROM entities WHERE entity_id = 'c'").fetchall() == [
        ("person", "customer")
    ]
    with pytest.raises(duckdb.ConstraintException):  # NOT NULL kept
        con.execute("INSERT INTO identities (handle, entity_id, link_rule) VALUES (NULL, 'a', 'x')")
    con.close()


def test_workspace_opens_at_the_latest_version_and_reopens_unchanged(tmp_path: Path) -> None:
    latest = max(m.version for m in MIGRATIONS)
    with Workspace(tmp_path / "crm.duckdb") as ws:
        assert ws.schema_version == latest
    with Workspace(tmp_path / "crm.duckdb") as ws:
        assert ws.schema_version == latest
        applied = ws.con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert [v for (v,) in applied] == sorted(m.version for m in MIGRATIONS)
    with Workspace(tmp_path / "crm.duckdb", read_only=True) as ws:
        assert ws.status()["schema_version"] == latest
