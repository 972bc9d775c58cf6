"""Validate, deduplicate and commit adapter output to the store in one transaction.

Every adapter's rows pass through here, so every format gets the same guarantees
(the brief's "bad input gets a clear error and loses nothing"):

* a row that breaks the canonical contract goes to ``quarantine`` with its file,
  line and reason, and the valid rows of the same file are stored;
* the whole import is one DuckDB transaction: an interrupted import (even
  ``kill -9``) leaves the store as it was, and re-running it finishes the job;
* ``interaction_id`` is stable, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from socialcrm.conversations.threading import assign_conversations
from socialcrm.ingest.base import Reject
from socialcrm.ingest.identities import link_new_handles
from socialcrm.store.schema import CHANNELS, INTERACTION_COLUMNS, VISIBILITIES

MAX_TEXT_CHARS = 1_000_000
MAX_HANDLE_CHARS = 1_000


@dataclass
class ImportReport:
    """What one import did, for the CLI, the API and tests."""

    import_id: int
    format: str
    path: str
    rows_read: int = 0
    rows_inserted: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    rejects: list[Reject] = field(default_factory=list)  # the first few, for display


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# One reason per row, the first rule it breaks; NULL for a valid row.
REASON_SQL = f"""
CASE
  WHEN interaction_id IS NULL OR trim(interaction_id) = '' THEN 'missing interaction_id'
  WHEN length(interaction_id) > {MAX_HANDLE_CHARS} THEN 'interaction_id longer than {MAX_HANDLE_CHARS} characters'
  WHEN actor IS NULL OR trim(actor) = '' THEN 'missing actor'
  WHEN length(actor) > {MAX_HANDLE_CHARS} THEN 'actor longer than {MAX_HANDLE_CHARS} characters'
  WHEN ts IS NULL THEN coalesce(_ts_error, 'missing ts')
  WHEN channel IS NULL OR channel NOT IN ({_sql_list(CHANNELS)})
    THEN 'unknown channel ' || coalesce('''' || channel || '''', 'NULL')
         || ' (expected one of {", ".join(CHANNELS)})'
  WHEN visibility NOT IN ({_sql_list(VISIBILITIES)})
    THEN 'unknown visibility ''' || visibility || ''' (expected public or private)'
  WHEN length(text) > {MAX_TEXT_CHARS} THEN 'text longer than {MAX_TEXT_CHARS:,} characters'
  ELSE _value_error
END
"""


def stage_arrow(con: duckdb.DuckDBPyConnection, table: pa.Table, file: str) -> None:
    """Expose an adapter's Arrow table as the ``staged`` relation the commit reads.

    Adapter rows carry no physical line, so their position in the output stands in.
    """
    con.complete()  # DuckDB 2 refuses register() while a result is unfetched
    con.register("_arrow_in", table)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE staged AS
        SELECT *, CAST(NULL AS VARCHAR) AS _ts_error, CAST(NULL AS VARCHAR) AS _value_error,
               CAST(NULL AS BIGINT) AS _line, ? AS _file
        FROM _arrow_in""",
        [file],
    )
    con.unregister("_arrow_in")


def commit_staged(
    con: duckdb.DuckDBPyConnection,
    *,
    fmt: str,
    path: str,
    rows_read: int,
    adapter_rejects: list[Reject] = (),  # type: ignore[assignment]
    entity_hints: pa.Table | None = None,
) -> ImportReport:
    """Commit the temp table ``staged`` (canonical columns plus ``_line``, ``_file``,
    ``_ts_error``, ``_value_error``) as one import, atomically."""
    start = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        import_id = con.execute("SELECT nextval('import_seq')").fetchall()[0][0]
        con.execute(
            "INSERT INTO imports (import_id, format, path, started_at, rows_read)"
            " VALUES (?, ?, ?, now(), ?)",
            [import_id, fmt, path, rows_read],
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE checked AS SELECT *, {REASON_SQL} AS _reason FROM staged"
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _rejects AS
               SELECT _file AS file, _line AS line, _reason AS reason,
                      left(CAST(interaction_id AS VARCHAR), 200) AS raw
               FROM checked WHERE _reason IS NOT NULL"""
        )
        if adapter_rejects:
            con.executemany(
                "INSERT INTO _rejects VALUES (?, ?, ?, ?)",
                [[r.file, r.line, r.reason, r.raw[:200]] for r in adapter_rejects],
            )
        # A re-run reports its rejects again but stores each (file, line, reason) once.
        con.execute(
            """INSERT INTO quarantine SELECT ?, r.* FROM _rejects r
               WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file = r.file
                   AND q.line IS NOT DISTINCT FROM r.line AND q.reason = r.reason
                   AND q.raw IS NOT DISTINCT FROM r.raw)""",
            [import_id],
        )
        cols = ", ".join(INTERACTION_COLUMNS)
        inserted = con.execute(
            f"""INSERT INTO interactions ({cols}, import_id)
            SELECT {cols}, ? FROM (
                SELECT * FROM checked c
                WHERE _reason IS NULL
                  AND NOT EXISTS (SELECT 1 FROM interactions i
                                  WHERE i.interaction_id = c.interaction_id)
                QUALIFY row_number() OVER (PARTITION BY interaction_id ORDER BY _line) = 1
            )""",
            [import_id],
        ).fetchall()[0][0]
        n_bad = con.execute("SELECT count(*) FROM checked WHERE _reason IS NOT NULL").fetchall()[0][0]
        n_rejected = int(n_bad) + len(adapter_rejects)
        n_valid = con.execute("SELECT count(*) FROM checked WHERE _reason IS NULL").fetchall()[0][0]
        link_new_handles(con, import_id, entity_hints)
        assign_conversations(con)
        con.execute(
            """UPDATE imports SET finished_at = now(), rows_inserted = ?, rows_duplicate = ?,
               rows_rejected = ? WHERE import_id = ?""",
            [inserted, int(n_valid) - int(inserted), n_rejected, import_id],
        )
        shown = con.execute(
            "SELECT file, line, reason, raw FROM _rejects ORDER BY line NULLS LAST LIMIT 20"
        ).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS checked")
        con.execute("DROP TABLE IF EXISTS _rejects")
        con.execute("DROP TABLE IF EXISTS staged")
    return ImportReport(
        import_id=int(import_id),
        format=fmt,
        path=path,
        rows_read=rows_read,
        rows_inserted=int(inserted),
        rows_duplicate=int(n_valid) - int(inserted),
        rows_rejected=n_rejected,
        seconds=time.perf_counter() - start,
        rejects=[Reject(f, ln, reason, raw or "") for f, ln, reason, raw in shown],
    )


def path_label(path: Path) -> str:
    return str(Path(path))
