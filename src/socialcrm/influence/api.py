"""What the Workspace, the CLI and the REST API ask of the influence stage.

Each function reads the stage's tables (``entity_metrics``, ``communities``) or the
``ties`` table, so the four interfaces give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from socialcrm.influence._views import arrow
from socialcrm.influence.advocates import (
    AdvocateSelection,
    advocate_feedback,
    greedy_advocates,
    selection_table,
    top_degree_advocates,
)
from socialcrm.influence.influence import HALF_LIFE_DAYS
from socialcrm.influence.stage import read_ties, table_names
from socialcrm.influence.tiegraph import TieGraph
from socialcrm.influence.tiers import tier_summary


class StageNotRunError(RuntimeError):
    """The influence tables do not exist yet; the message says what to run."""


def _require(con: duckdb.DuckDBPyConnection, table: str) -> None:
    if table not in table_names(con):
        raise StageNotRunError(
            f"no `{table}` table yet: run `socialcrm analyze` (or Workspace.analyze())"
            " after the relationships stage has built `ties`"
        )


def influencers(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pa.Table:
    """The most influential entities, with reach, k-core, tier and community."""
    _require(con, "entity_metrics")
    return arrow(
        con,
        f"""SELECT m.entity_id, e.display_name, m.influence, m.reach_1hop, m.reach_2hop,
               m.degree_in, m.degree_out, m.kcore, m.tier, m.community, m.is_leader,
               m.velocity_first_h, m.velocity_response_rate
        FROM entity_metrics m LEFT JOIN entities e USING (entity_id)
        WHERE m.influence > 0
        ORDER BY m.influence DESC, m.entity_id LIMIT {int(limit)}""",
    )


def communities(con: duckdb.DuckDBPyConnection, min_size: int = 3) -> pa.Table:
    """Communities of at least ``min_size`` members, largest first, with their leaders."""
    _require(con, "communities")
    return arrow(
        con,
        f"""SELECT c.community, c.size, c.internal_ties, round(c.internal_strength, 3)
               AS internal_strength, c.ties_out, c.leader, e.display_name AS leader_name,
               c.top_members
        FROM communities c LEFT JOIN entities e ON e.entity_id = c.leader
        WHERE c.size >= {int(min_size)} ORDER BY c.size DESC, c.community""",
    )


def tiers(con: duckdb.DuckDBPyConnection) -> dict:
    """The population split (lurker / contributor / superuser) beside Nielsen's 90/9/1."""
    _require(con, "entity_metrics")
    table = arrow(
        con,
        """SELECT entity_id, tier, contribution_score FROM entity_metrics
        WHERE tier IS NOT NULL""",
    )
    summary = tier_summary(con, table)
    summary["top_superusers"] = arrow(
        con,
        """SELECT m.entity_id, e.display_name, m.contribution_score FROM entity_metrics m
        LEFT JOIN entities e USING (entity_id) WHERE m.tier = 'superuser'
        ORDER BY m.contribution_score DESC, m.entity_id LIMIT 10""",
    ).to_pylist()
    return summary


@dataclass(frozen=True)
class AdvocateReport:
    """Greedy advocates against the top-k-by-degree baseline, and their feedback."""

    greedy: AdvocateSelection
    by_degree: AdvocateSelection
    threshold: float
    hops: int
    feedback: pa.Table | None  # None: the conversation stage has not labelled intents

    names: dict[str, str | None]  # display names of the advocates

    def table(self) -> pa.Table:
        t = selection_table(self.greedy)
        names = [self.names.get(e) for e in t["entity_id"].to_pylist()]
        return t.append_column("display_name", pa.array(names, type=pa.string()))

    def as_dict(self) -> dict:
        return {
            "k": self.greedy.k,
            "threshold": self.threshold,
            "hops": self.hops,
            "summary": self.greedy.summary(),
            "baseline_summary": self.by_degree.summary(),
            "total_reach": self.greedy.total_reach,
            "total_reach_by_degree": self.by_degree.total_reach,
            "median_network": self.greedy.median_network,
            "advocates": self.table().to_pylist(),
            "feedback": None if self.feedback is None else self.feedback.to_pylist(),
        }


def advocates(
    con: duckdb.DuckDBPyConnection,
    k: int,
    threshold: float,
    hops: int = 1,
    half_life_days: float | None = HALF_LIFE_DAYS,
) -> AdvocateReport:
    """Choose ``k`` advocates for distinct reach, compare with top-k by degree, list feedback."""
    graph = TieGraph.from_arrow(read_ties(con, half_life_days))
    greedy = greedy_advocates(graph, k, threshold, hops)
    baseline = top_degree_advocates(graph, k, threshold, hops)
    con.register("_chosen", pa.table({"entity_id": pa.array(greedy.names, pa.string())}))
    try:
        names = dict(
            con.execute(
                "SELECT c.entity_id, e.display_name FROM _chosen c"
                " LEFT JOIN entities e USING (entity_id)"
            ).fetchall()
        )
    finally:
        con.unregister("_chosen")
    return AdvocateReport(
        greedy, baseline, threshold, hops, advocate_feedback(con, greedy.names), names
    )
