"""The influence stage: ``ties`` (and interactions) in, ``entity_metrics`` and ``communities`` out.

It reads the relationships stage's ``ties`` table (``source_entity``, ``target_entity``,
``strength``; DESIGN.md "Derived tables") and the canonical tables, and writes:

``entity_metrics`` — one row per entity: ``influence`` (:mod:`.influence`), its terms
``pagerank`` and ``strength_degree``, ``strength_in``, ``degree_in``/``degree_out``, ``kcore``,
``reach_1hop``/``reach_2hop`` (:mod:`.reach`), ``velocity_*`` (:mod:`.velocity`),
``tier`` and ``contribution_score`` (:mod:`.tiers`), ``community``,
``community_influence`` and ``is_leader`` (:mod:`.communities`). Entities without ties
get 0 for the graph measures and no community.

``communities`` — one row per community: size, internal ties and strength, ties leaving
it, its leader and top members.

Graph measures run on igraph in one process (:class:`TieGraph`); the same influence and
reach definitions run as Ibis joins on Spark (:mod:`.portable`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from socialcrm.influence import velocity as vel
from socialcrm.influence._views import arrow
from socialcrm.influence.communities import SEED, communities_table, detect_communities
from socialcrm.influence.influence import BLEND, DAMPING, HALF_LIFE_DAYS, influence_table
from socialcrm.influence.portable import current_ties
from socialcrm.influence.reach import reach
from socialcrm.influence.tiegraph import TieGraph
from socialcrm.influence.tiers import SUPERUSER_SHARE, tiers


class MissingTiesError(RuntimeError):
    """The ``ties`` table does not exist yet: the relationships stage has not run."""


@dataclass(frozen=True)
class InfluenceParams:
    """Tunables of the influence stage; set them in ``socialcrm.toml`` under ``[influence]``
    (``reach_strength_threshold`` is a top-level setting shared with other stages)."""

    reach_threshold: float = 0.2
    half_life_days: float | None = HALF_LIFE_DAYS
    damping: float = DAMPING
    blend: float = BLEND
    resolution: float = 1.0
    seed: int = SEED
    leaders_per_community: int = 1
    superuser_share: float = SUPERUSER_SHARE
    velocity_k: int = vel.K

    @classmethod
    def from_settings(cls, settings: Any) -> InfluenceParams:
        extra = dict(getattr(settings, "extra", {}).get("influence", {}))
        known = {f.name for f in fields(cls)}
        unknown = set(extra) - known
        if unknown:
            raise ValueError(
                f"socialcrm.toml [influence]: unknown setting(s) {', '.join(sorted(unknown))};"
                f" known: {', '.join(sorted(known - {'reach_threshold'}))}"
            )
        params = cls(**extra)
        return replace(params, reach_threshold=float(settings.reach_strength_threshold))


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def read_ties(
    con: duckdb.DuckDBPyConnection, half_life_days: float | None = HALF_LIFE_DAYS
) -> pa.Table:
    """Current tie strengths (:func:`socialcrm.influence.portable.current_ties`) from the
    ``ties`` table, without system entities, or a clear error if the relationships stage
    has not run."""
    if "ties" not in table_names(con):
        raise MissingTiesError(
            "no `ties` table in this workspace: run the relationships stage first"
            " (`socialcrm analyze`)"
        )
    backend = ibis.duckdb.from_connection(con)
    entities = backend.table("entities") if "entities" in table_names(con) else None
    expr = current_ties(backend.table("ties"), half_life_days, entities)
    return arrow(con, str(backend.compile(expr)))


def graph_metrics(graph: TieGraph, params: InfluenceParams) -> tuple[pa.Table, pa.Table]:
    """Per-vertex graph measures and the communities table, from the tie graph alone."""
    table = influence_table(graph, damping=params.damping, blend=params.blend)
    r1, r2 = reach(graph, params.reach_threshold)
    comm = detect_communities(
        graph,
        resolution=params.resolution,
        seed=params.seed,
        damping=params.damping,
        blend=params.blend,
        leaders_per_community=params.leaders_per_community,
    )
    table = (
        table.append_column("reach_1hop", pa.array(r1))
        .append_column("reach_2hop", pa.array(r2))
        .append_column("community", pa.array(comm.membership, type=pa.int64()))
        .append_column("community_influence", pa.array(comm.local_influence))
        .append_column("is_leader", pa.array(comm.is_leader))
    )
    return table, communities_table(graph, comm)


def run_influence_stage(
    con: duckdb.DuckDBPyConnection, params: InfluenceParams | None = None
) -> dict[str, int]:
    """Compute every influence measure and (re)write ``entity_metrics`` and ``communities``.

    Returns the row counts of the two tables.
    """
    params = params or InfluenceParams()
    graph = TieGraph.from_arrow(read_ties(con, params.half_life_days))
    metrics, comm = graph_metrics(graph, params)
    velocity = vel.velocity(con, k=params.velocity_k)
    tier = tiers(con, superuser_share=params.superuser_share)
    con.register("_graph_metrics", metrics)
    con.register("_velocity", velocity)
    con.register("_tiers", tier)
    con.register("_communities", comm)
    try:
        con.execute(
            """CREATE OR REPLACE TABLE entity_metrics AS
            WITH ids AS (
                SELECT entity_id FROM entities
                UNION SELECT entity_id FROM _graph_metrics
            )
            SELECT ids.entity_id,
                   coalesce(g.influence, 0.0) AS influence,
                   coalesce(g.pagerank, 0.0) AS pagerank,
                   coalesce(g.strength_degree, 0.0) AS strength_degree,
                   coalesce(g.strength_in, 0.0) AS strength_in,
                   coalesce(g.degree_in, 0) AS degree_in,
                   coalesce(g.degree_out, 0) AS degree_out,
                   coalesce(g.kcore, 0) AS kcore,
                   coalesce(g.reach_1hop, 0) AS reach_1hop,
                   coalesce(g.reach_2hop, 0) AS reach_2hop,
                   v.said,
                   v.velocity_response_rate, v.velocity_first_h, v.velocity_k_h,
                   v.velocity_responders_24h,
                   t.tier, t.contribution_score,
                   g.community, g.community_influence,
                   coalesce(g.is_leader, false) AS is_leader
            FROM ids
            LEFT JOIN _graph_metrics g USING (entity_id)
            LEFT JOIN _velocity v USING (entity_id)
            LEFT JOIN _tiers t USING (entity_id)
            ORDER BY influence DESC, entity_id"""
        )
        con.execute("CREATE OR REPLACE TABLE communities AS SELECT * FROM _communities")
    finally:
        for name in ("_graph_metrics", "_velocity", "_tiers", "_communities"):
            con.unregister(name)
    return {
        name: int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
        for name in ("entity_metrics", "communities")
    }
