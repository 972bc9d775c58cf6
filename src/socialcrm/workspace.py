"""The Workspace: the store plus its settings, and every operation as a method.

This is the Python API; the CLI, the REST API and the dashboard call these methods
and nothing deeper, so all four interfaces behave the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from socialcrm.ingest import identities as idn
from socialcrm.ingest.loader import ImportReport
from socialcrm.ingest.registry import ingest_path
from socialcrm.settings import Settings
from socialcrm.store.engine import DuckDBEngine, Engine, SparkEngine
from socialcrm.store.schema import migrate


class Workspace:
    """A socialcrm store (one DuckDB file) and its settings.

    Example
    -------
    >>> ws = Workspace("crm.duckdb")                       # doctest: +SKIP
    >>> ws.ingest("twcs", ["twcs.csv"])                     # doctest: +SKIP
    >>> ws.status()["interactions"]                         # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        read_only: bool = False,
    ) -> None:
        self.settings = settings or Settings.load(path)
        self.path = Path(self.settings.db_path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config = {"memory_limit": self.settings.memory_limit}
        if self.settings.threads:
            config["threads"] = str(self.settings.threads)
        self.con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        self.con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            self.schema_version = migrate(self.con)
        else:  # a read-only file cannot be migrated; report the version it is at
            row = self.con.execute("SELECT max(version) FROM schema_migrations").fetchall()
            self.schema_version = int(row[0][0] or 0)
        self._engine: DuckDBEngine | None = None
        self._engine: DuckDBEngine | None = None

    # -- lifecycle -----------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- engines -------------------------------------------------------------------
    @property
    def engine(self) -> DuckDBEngine:
        if self._engine is None:
            self._engine = DuckDBEngine(self.con)
        return self._engine

    def spark(self, directory: Path | None = None, master: str | None = None) -> SparkEngine:
        """A Spark engine over a Parquet snapshot of this workspace's canonical tables."""
        return SparkEngine.from_duckdb(self.con, directory=directory, master=master)

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        # DuckDB 2: fetch_arrow_table is gone, and con.sql refuses to run while an earlier
        # execute() result is unfinished (a fetchone() leaves one), so finish it first.
        self.con.complete()
        return self.con.sql(sql, params=params or None).to_arrow_table()

    # -- ingest --------------------------------------------------------------------
    def ingest(self, fmt: str, paths: list[str | Path], **options: object) -> list[ImportReport]:
        """Import files of one format; each file is its own atomic, idempotent import."""
        return [ingest_path(self.con, fmt, Path(p), **options) for p in paths]

    def quarantine(self, limit: int = 100) -> pa.Table:
        return self.query(
            "SELECT q.import_id, q.file, q.line, q.reason, q.raw FROM quarantine q"
            " ORDER BY q.import_id DESC, q.line LIMIT ?",
            [limit],
        )

    # -- identities ------------------------------------------------------------------
    def merge(self, keep: str, other: str, reason: str = "") -> int:
        return idn.merge(self.con, keep, other, reason)

    def unmerge(self, merge_id: int) -> list[str]:
        return idn.unmerge(self.con, merge_id)

    def declare_identities(self, mapping_csv: str | Path) -> int:
        """Link handles to entities from a ``handle,entity`` CSV file."""
        table = pacsv.read_csv(str(mapping_csv))
        missing = {"handle", "entity"} - set(table.column_names)
        if missing:
            raise idn.IdentityError(
                f"{mapping_csv}: needs columns handle,entity (missing {', '.join(sorted(missing))})"
            )
        return idn.declare(self.con, table.select(["handle", "entity"]))

    def identities_of(self, entity_or_handle: str) -> pa.Table:
        entity = idn.entity_of(self.con, entity_or_handle)
        return self.query(
            "SELECT handle, entity_id, source, link_rule, evidence FROM identities"
            " WHERE entity_id = ? ORDER BY handle",
            [entity],
        )

    def set_role(self, entity_or_handle: str, role: str) -> None:
        if role not in idn.ROLES:
            raise idn.IdentityError(f"unknown role {role!r}; choose one of {', '.join(idn.ROLES)}")
        entity = idn.entity_of(self.con, entity_or_handle)
        self.con.execute("UPDATE entities SET role = ? WHERE entity_id = ?", [role, entity])

    # -- status ----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Counts by source, channel and kind, entities by role, and quarantined rows."""

        def rows(sql: str) -> list[tuple]:
            return self.con.execute(sql).fetchall()

        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "interactions": rows("SELECT count(*) FROM interactions")[0][0],
            "conversations": rows(
                "SELECT count(DISTINCT coalesce(conversation_id, interaction_id)) FROM interactions"
            )[0][0],
            "entities": rows("SELECT count(*) FROM entities")[0][0],
            "identities": rows("SELECT count(*) FROM identities")[0][0],
            "quarantined": rows("SELECT count(*) FROM quarantine")[0][0],
            "by_source": rows(
                "SELECT source, count(*) FROM interactions GROUP BY 1 ORDER BY 2 DESC"
            ),
            "by_channel": rows(
                "SELECT channel, count(*) FROM interactions GROUP BY 1 ORDER BY 2 DESC"
            ),
            "by_kind": rows("SELECT kind, count(*) FROM interactions GROUP BY 1 ORDER BY 2 DESC"),
            "by_role": rows("SELECT role, count(*) FROM entities GROUP BY 1 ORDER BY 2 DESC"),
            "imports": rows(
                "SELECT import_id, format, path, rows_read, rows_inserted, rows_duplicate,"
                " rows_rejected FROM imports ORDER BY import_id"
            ),
        }

    # -- stages ----------------------------------------------------------------------
    def activity(self, engine: Engine | None = None) -> pa.Table:
        """Per-entity activity counts by channel (see :mod:`socialcrm.influence.activity`)."""
        from socialcrm.influence.activity import activity_stage

        engine = engine or self.engine
        return engine.to_arrow(activity_stage(engine))

    def analyze(self) -> dict[str, int]:
        """Run every stage that exists on the default engine and store their tables."""
        from socialcrm.influence.activity import activity_stage

        return {
            "entity_activity": self.engine.materialize(
                "entity_activity", activity_stage(self.engine)
            )
        }
