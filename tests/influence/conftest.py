"""Small tie graphs whose answers are known by hand, and a workspace builder for real slices."""

from __future__ import annotations

import itertools
from pathlib import Path

import pyarrow as pa
import pytest

from socialcrm.influence.tiegraph import TieGraph
from socialcrm.workspace import Workspace


def tie_table(rows: list[tuple[str, str, float]]) -> pa.Table:
    """``[(source, target, strength)]`` -> a ``ties``-shaped Arrow table."""
    return pa.table(
        {
            "source_entity": pa.array([r[0] for r in rows], pa.string()),
            "target_entity": pa.array([r[1] for r in rows], pa.string()),
            "strength": pa.array([float(r[2]) for r in rows], pa.float64()),
        }
    )


def graph(rows: list[tuple[str, str, float]]) -> TieGraph:
    return TieGraph.from_arrow(tie_table(rows))


def values(g: TieGraph, array) -> dict[str, float]:
    """Vertex-indexed array -> {entity: value}."""
    return dict(zip(g.names.tolist(), array.tolist(), strict=True))


@pytest.fixture
def star() -> TieGraph:
    """Five leaves who all listen to ``hub`` (strong ties leaf -> hub), no tie back."""
    return graph([(f"leaf{i}", "hub", 0.8) for i in range(5)])


@pytest.fixture
def chain() -> TieGraph:
    """a listens to b, b listens to c, c listens to d: a -> b -> c -> d."""
    return graph([("a", "b", 0.9), ("b", "c", 0.9), ("c", "d", 0.9)])


def two_cliques_rows(size: int = 5, bridge: float = 0.3) -> list[tuple[str, str, float]]:
    """Two cliques ``a0..`` and ``b0..`` (all ties both ways, strength 0.9) joined by a
    weaker bridge a0 <-> b0."""
    a = [f"a{i}" for i in range(size)]
    b = [f"b{i}" for i in range(size)]
    rows = [(u, v, 0.9) for u, v in itertools.permutations(a, 2)]
    rows += [(u, v, 0.9) for u, v in itertools.permutations(b, 2)]
    rows += [("a0", "b0", bridge), ("b0", "a0", bridge)]
    return rows


@pytest.fixture
def two_cliques() -> TieGraph:
    return graph(two_cliques_rows())


def workspace_with_ties(path: Path, ties: pa.Table) -> Workspace:
    """A fresh workspace whose ``ties`` table is ``ties`` (entities created to match)."""
    ws = Workspace(path)
    ws.con.register("_t", ties)
    ws.con.execute("CREATE OR REPLACE TABLE ties AS SELECT * FROM _t")
    ws.con.execute(
        """INSERT INTO entities (entity_id, kind, role)
        SELECT DISTINCT e, 'person', 'customer' FROM (
            SELECT source_entity AS e FROM _t UNION SELECT target_entity FROM _t)
        WHERE e NOT IN (SELECT entity_id FROM entities)"""
    )
    ws.con.unregister("_t")
    return ws


def count_ties(ws: Workspace) -> pa.Table:
    """A ``ties`` table from a workspace's real interactions, for tests that must not
    depend on the relationships stage: strength ``1 - exp(-n/3)`` of the n messages a -> b,
    with the components the influence stage reads (``n_ab``, ``n_ba``, ``recency_days``)."""
    from socialcrm.influence._views import arrow, view_sql

    v = view_sql(ws.con)
    return arrow(
        ws.con,
        f"""WITH e AS ({v["edges"]}),
        d AS (
            SELECT actor_entity AS a, target_entity AS b, count(*) AS n, max(ts) AS last
            FROM e WHERE kind NOT IN ('view', 'endorse') GROUP BY 1, 2
        ),
        now AS (SELECT max(last) AS t FROM d)
        SELECT d.a AS source_entity, d.b AS target_entity, 1 - exp(-d.n / 3.0) AS strength,
               d.n AS n_ab, coalesce(r.n, 0) AS n_ba,
               (epoch((SELECT t FROM now)) - epoch(greatest(d.last, coalesce(r.last, d.last))))
                   / 86400.0 AS recency_days
        FROM d LEFT JOIN d AS r ON r.a = d.b AND r.b = d.a
        ORDER BY 1, 2""",
    )
