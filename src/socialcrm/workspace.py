"""The Workspace: the store plus its settings, and every operation as a method.

This is the Python API; the CLI, the REST API and the dashboard call these methods
and nothing deeper, so all four interfaces behave the same.
"""

from __future__ import annotations

from datetime import datetime
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
        """Run every stage in the order of DESIGN.md's flow and store their tables.

        Each stage reads only the tables of the stages before it; the result maps every
        table written to its row count.
        """
        from socialcrm.influence.activity import activity_stage

        counts = {
            "entity_activity": self.engine.materialize(
                "entity_activity", activity_stage(self.engine)
            )
        }
        counts.update(self.analyze_conversations())  # conversations
        counts.update(self.analyze_ties())  # relationships (socialcrm.relationships.api)
        from socialcrm.influence.stage import MissingTiesError

        try:  # influence reads `ties`; without it, skip with a note instead of failing
            counts.update(self.analyze_influence())
        except MissingTiesError as exc:
            import warnings

            warnings.warn(f"influence stage skipped: {exc}", stacklevel=2)
        self.refresh_routing()  # routing: the queue as of the ``clock`` setting
        counts["routing_queue"] = self.con.execute("SELECT count(*) FROM routing_queue").fetchall()[
            0
        ][0]
        counts.update(self.analyze_predictions())  # prediction: skips missing parts with a note
        return counts

    # -- conversations (socialcrm.conversations.api) ------------------------------------
    def analyze_conversations(self, **options: Any) -> dict[str, int]:
        """Turns, message labels, conversation features, sociability and urgency tables."""
        from socialcrm.conversations import api

        return api.analyze_conversations(self, **options)

    def conversation(self, conv_id: str) -> dict[str, Any]:
        """One thread with every turn's scores and every label with its reason."""
        from socialcrm.conversations import api

        return api.conversation(self, conv_id)

    def conversation_summary(self) -> dict[str, pa.Table]:
        """Sentiment, intent, pattern and degree distributions by channel and brand."""
        from socialcrm.conversations import api

        return api.conversation_summary(self)

    # -- relationships (socialcrm.relationships.api) ------------------------------------
    def analyze_ties(self, **options: Any) -> dict[str, int]:
        """``tie_features``, ``ties``, ``tie_tradeoff`` and monthly ``tie_history``."""
        from socialcrm.relationships import api

        return api.analyze_ties(self, **options)

    def ties_of(self, entity: str, limit: int = 20) -> pa.Table:
        """An entity's ties (id or handle), strongest first, with components and layer."""
        from socialcrm.relationships import api

        return api.ties_of(self, entity, limit)

    def tie(self, a: str, b: str) -> dict[str, Any]:
        """One tie a→b explained: features, contributions, relative strengths, layer, why."""
        from socialcrm.relationships import api

        return api.tie(self, a, b)

    def export_ties(self, path: str | Path) -> int:
        """Write the whole ``ties`` table to CSV or Parquet (by extension)."""
        from socialcrm.relationships import api

        return api.export_ties(self, path)

    # -- influence (socialcrm.influence.api) --------------------------------------------
    def analyze_influence(self) -> dict[str, int]:
        """Influence, reach, velocity, tiers, communities: ``entity_metrics``, ``communities``.

        Needs the relationships stage's ``ties`` table.
        """
        from socialcrm.influence.stage import InfluenceParams, run_influence_stage

        return run_influence_stage(self.con, InfluenceParams.from_settings(self.settings))

    def influencers(self, limit: int = 20) -> pa.Table:
        """The most influential entities (tie-weighted), with reach, tier and community."""
        from socialcrm.influence import api

        return api.influencers(self.con, limit)

    def communities(self, min_size: int = 3) -> pa.Table:
        """Communities on the tie graph (Leiden) with their natural leaders."""
        from socialcrm.influence import api

        return api.communities(self.con, min_size)

    def advocates(self, k: int = 10, hops: int = 1) -> Any:
        """k advocates maximising distinct reach vs top-k by degree, with their feedback."""
        from socialcrm.influence import api
        from socialcrm.influence.stage import InfluenceParams

        p = InfluenceParams.from_settings(self.settings)
        return api.advocates(self.con, k, p.reach_threshold, hops, p.half_life_days)

    def tiers(self) -> dict[str, Any]:
        """Lurker / contributor / superuser split beside Nielsen's 90-9-1."""
        from socialcrm.influence import api

        return api.tiers(self.con)

    # -- routing (socialcrm.routing.api) ------------------------------------------------
    def refresh_routing(self, now: datetime | None = None) -> dict[str, int]:
        """Bring the routing queue up to ``now`` (default: the ``clock`` setting)."""
        from socialcrm.routing import api

        return api.refresh(self, now)

    def queue(self, limit: int | None = 50, now: datetime | None = None) -> list[dict[str, Any]]:
        """Open conversations, highest priority first, each with its reasons and SLA status."""
        from socialcrm.routing import api

        return api.queue(self, now, limit=limit)

    def route(self, conv_id: str, now: datetime | None = None) -> dict[str, Any]:
        """One conversation's priority, route and ranked responder candidates with scores."""
        from socialcrm.routing import api

        return api.route(self, conv_id, now)

    # -- prediction and action (socialcrm.prediction.api) --------------------------------
    def analyze_predictions(self) -> dict[str, int]:
        """Store ``predictions`` (churn), ``tie_alerts`` and ``next_actions``; notes for gaps."""
        from socialcrm.prediction import api

        return api.analyze_predictions(self)

    def predict_loyalty(
        self,
        outcome_col: str,
        data: str | Path | Any,
        confounders: list[str] | tuple[str, ...] = (),
        **kw: Any,
    ) -> Any:
        """PLS of a per-entity outcome on relationship features against confounders."""
        from socialcrm.prediction import api

        return api.predict_loyalty(self, outcome_col, data, list(confounders), **kw)

    def churn(self, **kw: Any) -> Any:
        """Calibrated churn risk per current member with the drivers behind it."""
        from socialcrm.prediction import api

        return api.churn(self, **kw)

    def alerts(self, **kw: Any) -> Any:
        """Weakening ties and brand relationships from ``tie_history``, most at stake first."""
        from socialcrm.prediction import api

        return api.alerts(self, **kw)

    def actions(self, **kw: Any) -> Any:
        """Next best action, with its reason, for each alert and each person at risk."""
        from socialcrm.prediction import api

        return api.actions(self, **kw)
