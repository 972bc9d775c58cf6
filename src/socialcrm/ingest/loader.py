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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from socialcrm.conversations.threading import assign_conversations
from socialcrm.ingest.base import InputError, Reject
from socialcrm.ingest.identities import link_new_handles
from socialcrm.store.locks import begin_identity_write
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


@dataclass(frozen=True)
class Restage:
    """For a ``staged`` view read straight from a text file: rows carry no number there, so
    only a clean import commits from it. When the check pass finds a row to reject or skip,
    or the parser dropped lines, the commit calls ``stage`` to rebuild ``staged`` as a
    numbered temp table (returning rows read and the parser's rejects) and checks again.
    A clean file is then parsed twice (check, insert) instead of copied into memory once
    and read back, which costs more."""

    parser_rejected: Callable[[duckdb.DuckDBPyConnection], bool]
    stage: Callable[[duckdb.DuckDBPyConnection], tuple[int, list[Reject]]]
    # The view's raw file columns: the check pass reads them all, as the insert will, so
    # a line the parser drops (a field that is not UTF-8 in a column no rule looks at)
    # is found by the check and not first by the insert.
    raw_columns: tuple[str, ...] = ()


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _blank(col: str) -> str:
    # trim() allocates for every row; only a value starting with a space can be all spaces.
    return f"{col} IS NULL OR {col} = '' OR ({col} LIKE ' %' AND trim({col}) = '')"


def _longer(col: str, limit: int) -> str:
    # strlen (bytes) >= length (characters), and is free to compute.
    return f"strlen({col}) > {limit} AND length({col}) > {limit}"


# One reason per row, the first rule it breaks; NULL for a valid row.
REASON_SQL = f"""
CASE
  WHEN {_blank("interaction_id")} THEN 'missing interaction_id'
  WHEN {_longer("interaction_id", MAX_HANDLE_CHARS)} THEN 'interaction_id longer than {MAX_HANDLE_CHARS} characters'
  WHEN {_blank("actor")} THEN 'missing actor'
  WHEN {_longer("actor", MAX_HANDLE_CHARS)} THEN 'actor longer than {MAX_HANDLE_CHARS} characters'
  WHEN ts IS NULL THEN coalesce(_ts_error, 'missing ts')
  WHEN channel IS NULL OR channel NOT IN ({_sql_list(CHANNELS)})
    THEN 'unknown channel ' || coalesce('''' || channel || '''', 'NULL')
         || ' (expected one of {", ".join(CHANNELS)})'
  WHEN visibility IS NULL OR visibility NOT IN ({_sql_list(VISIBILITIES)})
    THEN 'unknown visibility ' || coalesce('''' || visibility || '''', 'NULL')
         || ' (expected public or private)'
  WHEN source IS NULL OR source = '' THEN 'missing source'
  WHEN kind IS NULL OR kind = '' THEN 'missing kind'
  WHEN {_longer("text", MAX_TEXT_CHARS)} THEN 'text longer than {MAX_TEXT_CHARS:,} characters'
  ELSE _value_error
END
"""


def _checked_sql(row_key: str, file_sql: str, also: tuple[str, ...] = ()) -> str:
    """Each staged row's key, reject reason (NULL if valid), file, line, id (and ``also``)."""
    more = "".join(f", {c}" for c in also)
    return (
        f"SELECT {row_key} AS _row, {REASON_SQL} AS _reason, {file_sql} AS _file, _line,"
        f" interaction_id{more} FROM staged"
    )


def _check_counts(
    con: duckdb.DuckDBPyConnection, checked: str, *, read: tuple[str, ...], in_store: bool
) -> tuple[int, int, int, int]:
    """Valid rows, rejected rows, distinct hashes of valid ids and (``in_store``) rows
    whose id is already stored, in one pass over ``checked``, which also reads the
    columns ``read`` (see :class:`Restage`)."""
    # (A CASE inside the DISTINCT, not a FILTER on it: DuckDB then plans one hash table
    # on the hashes instead of one on (hash, filter) behind a shared scan; 10% less.)
    stored = "count(*) FILTER (interaction_id IN (SELECT interaction_id FROM interactions))"
    n_valid, n_bad, n_hashes, n_stored, *_ = con.execute(
        "SELECT count(*) FILTER (_reason IS NULL), count(*) FILTER (_reason IS NOT NULL),"
        " count(DISTINCT CASE WHEN _reason IS NULL THEN hash(interaction_id) END),"
        f" {stored if in_store else '0'}{''.join(f', count({c})' for c in read)}"
        f" FROM ({checked})"
    ).fetchall()[0]
    return int(n_valid), int(n_bad), int(n_hashes), int(n_stored)


def stage_arrow(con: duckdb.DuckDBPyConnection, table: pa.Table, file: str) -> None:
    """Expose an adapter's Arrow table as the ``staged`` relation the commit reads.

    Adapter rows carry no physical line, so their position in the output stands in.
    """
    drop_staged(con)
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


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Drop ``staged``, whichever it is: a temp table or a temp view."""
    kinds = con.execute(
        "SELECT table_type FROM information_schema.tables"
        " WHERE table_name = 'staged' AND table_schema = 'main' AND table_catalog = 'temp'"
    ).fetchall()
    for (kind,) in kinds:
        con.execute(
            "DROP VIEW IF EXISTS staged" if kind == "VIEW" else "DROP TABLE IF EXISTS staged"
        )


def commit_staged(
    con: duckdb.DuckDBPyConnection,
    *,
    fmt: str,
    path: str,
    rows_read: int,
    adapter_rejects: list[Reject] = (),  # type: ignore[assignment]
    entity_hints: pa.Table | None = None,
    row_key: str = "rowid",
    file: str | None = None,
    number_rejected: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    restage: Restage | None = None,
) -> ImportReport:
    """Commit the relation ``staged`` (canonical columns plus ``_line``, ``_file``,
    ``_ts_error``, ``_value_error``) as one import, atomically.

    ``staged`` is a temp table, or a temp view straight over the input file (Parquet),
    so the rows are never copied before the INSERT. ``row_key`` names a column unique
    per staged row that grows in input order (``rowid`` of a temp table). With ``file``
    given, staged needs no ``_file`` column (a constant costs memory on every row).
    ``number_rejected`` fills in ``_line`` of the rows about to be rejected, for a stage
    whose line numbers cost a pass to compute (CSV); it runs only if there are any.
    With ``restage`` (see :class:`Restage`), ``staged`` starts as a view without row keys.
    """
    file_sql = "_file" if file is None else "'" + file.replace("'", "''") + "'"
    start = time.perf_counter()
    keep_order = bool(
        con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    )
    begin_identity_write(con)  # it adds handles and entities: one such import at a time
    try:
        import_id = con.execute("SELECT nextval('import_seq')").fetchall()[0][0]
        con.execute(
            "INSERT INTO imports (import_id, format, path, started_at, rows_read)"
            " VALUES (?, ?, ?, now(), ?)",
            [import_id, fmt, path, rows_read],
        )
        # Each row's reject reason (NULL if valid), computed where it is read: the common
        # import (nothing rejected, no repeated id) reads the file once for the counts and
        # once for the INSERT, and never materialises a per-row table.
        store_empty = not con.execute("SELECT count(*) FROM interactions").fetchall()[0][0]
        from_view = restage is not None  # no row keys: it also counts ids already stored
        read = restage.raw_columns if restage is not None else ()
        checked = _checked_sql("NULL" if from_view else row_key, file_sql, read)
        n_valid, n_bad, n_hashes, n_stored = _check_counts(
            con, checked, read=read, in_store=from_view and not store_empty
        )
        if restage is not None:
            if n_bad or n_hashes < n_valid or n_stored or restage.parser_rejected(con):
                drop_staged(con)
                rows_read, parser_rejects = restage.stage(con)
                adapter_rejects = [*adapter_rejects, *parser_rejects]
                row_key, from_view = "rowid", False
                checked = _checked_sql(row_key, file_sql)
                n_valid, n_bad, n_hashes, _ = _check_counts(con, checked, read=(), in_store=False)
            else:
                rows_read = int(n_valid)
        if n_bad and number_rejected is not None:
            number_rejected(con)
        # What a rejected row needs for the quarantine, kept only for rejected rows.
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _bad AS
            SELECT _row, _file AS file, _line AS line, _reason AS reason,
                   left(CAST(interaction_id AS VARCHAR), 200) AS raw
            FROM ({checked}) WHERE _reason IS NOT NULL {"" if n_bad else "AND false"}"""
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rejects AS SELECT file, line, reason, raw FROM _bad"
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
        n_rejected = int(n_bad) + len(adapter_rejects)
        # Valid rows not to insert: ids already stored, and every repeat of an id within
        # the file after its first occurrence. As many distinct hashes as valid rows
        # proves there is no repeat (the common case, and the cheap test); otherwise the
        # rows sharing a hash are compared exactly.
        con.execute("CREATE OR REPLACE TEMP TABLE _skip (r BIGINT)")
        if n_hashes < n_valid:
            con.execute(
                f"""INSERT INTO _skip
                SELECT r FROM (
                    SELECT _row AS r, row_number() OVER (
                        PARTITION BY interaction_id ORDER BY _row) AS k
                    FROM ({checked})
                    WHERE _reason IS NULL AND hash(interaction_id) IN (
                        SELECT hash(interaction_id) FROM ({checked}) WHERE _reason IS NULL
                        GROUP BY 1 HAVING count(*) > 1))
                WHERE k > 1"""
            )
        if not store_empty and not from_view:  # (from a view: none stored, counted above)
            con.execute(
                f"""INSERT INTO _skip
                SELECT s.{row_key} FROM staged s SEMI JOIN interactions i
                    ON i.interaction_id = s.interaction_id
                WHERE s.{row_key} NOT IN (SELECT _row FROM _bad)"""
            )
        n_skip = con.execute("SELECT count(*) FROM _skip").fetchall()[0][0]
        cols = ", ".join(INTERACTION_COLUMNS)
        # The common case (nothing rejected or skipped) inserts without any filter.
        where = ""
        if n_bad or n_skip:
            where = f"""WHERE {row_key} NOT IN (
                SELECT _row FROM _bad UNION ALL SELECT r FROM _skip)"""
        # Stored interactions have no order (every reader sorts or groups), so the insert
        # need not keep the file's: writing row groups as they come is ~5 % of an import.
        # (Only this statement: the sorted inserts of new keys below rely on order.)
        con.execute("SET preserve_insertion_order = false")
        inserted = con.execute(
            f"INSERT INTO interactions ({cols}, import_id) SELECT {cols}, ? FROM staged {where}",
            [import_id],
        ).fetchall()[0][0]
        con.execute(f"SET preserve_insertion_order = {keep_order}")
        if int(inserted) != n_valid - int(n_skip):  # a view read the file a second time
            raise InputError(
                f"{path}: the file changed while it was being imported ({n_valid - n_skip:,}"
                f" rows checked, {inserted:,} read to insert); nothing was stored, import it"
                " again once it is complete"
            )
        link_new_handles(con, import_id, entity_hints)
        assign_conversations(con)
        con.execute(
            """UPDATE imports SET finished_at = now(), rows_read = ?, rows_inserted = ?,
               rows_duplicate = ?, rows_rejected = ? WHERE import_id = ?""",
            [rows_read, inserted, int(n_valid) - int(inserted), n_rejected, import_id],
        )
        shown = con.execute(
            "SELECT file, line, reason, raw FROM _rejects ORDER BY line NULLS LAST LIMIT 20"
        ).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"SET preserve_insertion_order = {keep_order}")  # after the rollback
        for name in ("_bad", "_skip", "_rejects"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        drop_staged(con)
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
