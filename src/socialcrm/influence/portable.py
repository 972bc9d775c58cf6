"""Influence and reach as iterative joins in Ibis: one definition for DuckDB and Spark.

DESIGN.md asks the influence stage to run on Apache Spark from the same pipeline
definition and agree with the single-machine result within a stated tolerance. igraph
(:mod:`socialcrm.influence.influence`, :mod:`socialcrm.influence.reach`) is the
single-machine path; this module expresses the same measures as relational algebra,
which Ibis compiles to DuckDB SQL or Spark SQL:

* **PageRank** by power iteration (Page et al., 1999): each step is a join of the
  transition table with the current ranks and a group-by on the target, plus the mass
  of dangling vertices spread uniformly (as igraph's PRPACK does). After k steps from
  the uniform vector, the L1 distance to the fixed point is at most ``2 * damping**k``
  (the PageRank map is a ``damping``-contraction in L1; Langville and Meyer, 2006,
  ch. 4), so ``iterations`` sets the tolerance: 60 steps give <= 1.2e-4, 100 give
  <= 1.7e-7. Each step's ranks are materialised (a temp table on DuckDB, a local
  checkpoint on Spark) so plans do not grow with the iteration count.
* **strength in-degree** and the **blend** exactly as in
  :func:`socialcrm.influence.influence.tie_influence`.
* **reach**: 1-hop = distinct in-neighbours over strong ties; 2-hop = distinct people
  on strong paths of length one or two (a self-join), without double counting.

Vertices are the entities of the valid ties (non-null strength, source != target),
as in :class:`socialcrm.influence.tiegraph.TieGraph`.
"""

from __future__ import annotations

import itertools
from typing import Any

import ibis
import ibis.expr.types as ir

from socialcrm.influence.influence import BLEND, DAMPING, HALF_LIFE_DAYS

ITERATIONS = 60
_names = itertools.count()


def materialize(engine: Any, expr: ir.Table, prefix: str = "_infl") -> ir.Table:
    """Store an intermediate result and return a table reading it (DuckDB or Spark).

    Ibis's own ``Table.cache()`` is not used: with sqlglot >= 30 its DuckDB clean-up emits
    a ``DROP TABLE`` without a name (the same bug ``DuckDBEngine.materialize`` avoids).
    """
    name = f"{prefix}_{next(_names)}"
    backend = engine.backend
    sql = str(backend.compile(expr))
    if backend.name == "duckdb":
        backend.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')
    elif backend.name == "pyspark":
        df = backend._session.sql(sql).localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
    else:  # the project's engines are DuckDB and Spark (socialcrm.store.engine)
        raise TypeError(f"influence runs on the DuckDB or Spark engine, not {backend.name!r}")
    return backend.table(name)


def current_ties(
    ties: ir.Table,
    half_life_days: float | None = HALF_LIFE_DAYS,
    entities: ir.Table | None = None,
) -> ir.Table:
    """(source_entity, target_entity, strength[, engagement]): the ties as they stand now.

    Influence, reach and communities are about relationships *now*:

    * ``strength`` — the tie's strength (how close two people are) times
      ``0.5 ** (recency_days / half_life_days)`` (how long since they last interacted, as
      the relationships stage measured it; DESIGN.md "time: older contact decays"). The
      shipped strength model is fitted on five days of school contacts, where staleness
      cannot show, so the stage applies the decay here.
    * ``engagement`` — the tie's weight in the strength-weighted degree, DESIGN.md's
      ``log(1 + n_ab + n_ba) * (1 + reciprocity) / 2 * decay`` with reciprocity
      ``min(n_ab, n_ba) / max(n_ab, n_ba)``; only when the table has ``n_ab``, ``n_ba``.

    A table without ``recency_days`` (or ``half_life_days=None``) is not decayed. Given
    ``entities``, ties of entities of kind ``system`` (a dump's anonymous voters and
    readers, bots) are dropped: they are not relationships anyone can be influenced along.
    """
    if entities is not None:
        # two distinct table objects: Ibis 12 calls a second join on the same one ambiguous
        system = entities.filter(entities.kind == "system").select(sys_id=entities.entity_id)
        system_dst = system.view()
        ties = ties.anti_join(system, ties.source_entity == system.sys_id)
        ties = ties.anti_join(system_dst, ties.target_entity == system_dst.sys_id)
    cols = set(ties.columns)
    decay: ir.FloatingValue = ibis.literal(1.0)
    if half_life_days is not None and "recency_days" in cols:
        age = ibis.greatest(ties.recency_days.cast("float64").fill_null(0.0), 0.0)
        decay = ibis.literal(0.5) ** (age / float(half_life_days))
    out = {"strength": ties.strength.cast("float64") * decay}
    if {"n_ab", "n_ba"} <= cols:
        n_ab = ties.n_ab.cast("float64").fill_null(0.0)
        n_ba = ties.n_ba.cast("float64").fill_null(0.0)
        recip = ibis.ifelse(
            ibis.greatest(n_ab, n_ba) > 0, ibis.least(n_ab, n_ba) / ibis.greatest(n_ab, n_ba), 0.0
        )
        out["engagement"] = (n_ab + n_ba + 1.0).ln() * (1.0 + recip) / 2.0 * decay
    return ties.select("source_entity", "target_entity", **out)


def _valid_ties(ties: ir.Table) -> ir.Table:
    """Cleaned ties as (src, dst, w, e): e is the degree weight (engagement, else w)."""
    e = ties.engagement.cast("float64") if "engagement" in ties.columns else None
    t = ties.select(
        src=ties.source_entity.cast("string"),
        dst=ties.target_entity.cast("string"),
        w=ties.strength.cast("float64"),
        e=e if e is not None else ties.strength.cast("float64"),
    )
    t = t.filter(t.src.notnull() & t.dst.notnull() & t.w.notnull() & (t.src != t.dst))
    t = t.mutate(w=ibis.greatest(ibis.least(t.w, 1.0), 0.0))
    t = t.mutate(e=ibis.greatest(t.e.fill_null(0.0), 0.0) if e is not None else t.w)
    return t.group_by(["src", "dst"]).agg(w=t.w.max(), e=t.e.max())


def _nodes(ties: ir.Table) -> ir.Table:
    return ties.select(node=ties.src).union(ties.select(node=ties.dst)).distinct()


def pagerank(
    engine: Any,
    ties: ir.Table,
    damping: float = DAMPING,
    iterations: int = ITERATIONS,
) -> ir.Table:
    """PageRank of every vertex on the strength-weighted ties, by ``iterations`` steps.

    Parameters
    ----------
    engine : DuckDBEngine or SparkEngine (anything with an Ibis ``backend``)
    ties : Ibis table with source_entity, target_entity, strength
    damping : float
    iterations : int
        Power-iteration steps; the L1 error is at most ``2 * damping**iterations``.

    Returns
    -------
    Ibis table (entity_id, pagerank), summing to 1.

    References
    ----------
    .. [1] L. Page, S. Brin, R. Motwani, T. Winograd, "The PageRank citation ranking:
       bringing order to the Web", Stanford InfoLab, 1999.
    .. [2] A. N. Langville, C. D. Meyer, "Google's PageRank and Beyond", Princeton, 2006.
    """
    t = materialize(engine, _valid_ties(ties))
    nodes = materialize(engine, _nodes(t))
    n = int(engine.backend.execute(nodes.count()))
    if n == 0:
        return nodes.select(entity_id=nodes.node, pagerank=ibis.literal(0.0))
    walk = t.filter(t.w > 0)
    out = walk.group_by(walk.src).agg(out_w=walk.w.sum())
    trans = materialize(
        engine,
        walk.join(out, "src").select(walk.src, walk.dst, p=walk.w / out.out_w),
    )
    dangling = materialize(engine, nodes.anti_join(out, nodes.node == out.src))
    rank = materialize(engine, nodes.mutate(rank=ibis.literal(1.0 / n, type="float64")))
    base = (1.0 - damping) / n
    previous: list[str] = []
    for _ in range(iterations):
        contrib = (
            trans.join(rank, trans.src == rank.node)
            .group_by(dst=trans.dst)
            .agg(c=(trans.p * rank.rank).sum())
        )
        dmass = rank.semi_join(dangling, rank.node == dangling.node).rank.sum().fill_null(0.0)
        step = nodes.left_join(contrib, nodes.node == contrib.dst).select(
            node=nodes.node,
            rank=base + damping * (ibis._.c.fill_null(0.0) + dmass.as_scalar() / n),
        )
        previous.append(rank.get_name())
        rank = materialize(engine, step)
        _drop(engine, previous[:-1])
        previous = previous[-1:]
    return rank.select(entity_id=rank.node, pagerank=rank.rank)


def influence(
    engine: Any,
    ties: ir.Table,
    damping: float = DAMPING,
    blend: float = BLEND,
    iterations: int = ITERATIONS,
) -> ir.Table:
    """``blend * pagerank * n + (1 - blend) * strength_degree / mean(strength_degree)``.

    The same score as :func:`socialcrm.influence.influence.tie_influence`; ``ties`` is
    usually :func:`current_ties` of the ``ties`` table. Returns an Ibis table (entity_id,
    influence, pagerank, strength_degree, strength_in).
    """
    pr = pagerank(engine, ties, damping=damping, iterations=iterations)
    t = _valid_ties(ties)
    sums = t.group_by(entity_id=t.dst).agg(strength_in=t.w.sum(), strength_degree=t.e.sum())
    j = pr.left_join(sums, "entity_id").select(
        entity_id=pr.entity_id,
        pagerank=pr.pagerank,
        strength_degree=ibis._.strength_degree.fill_null(0.0),
        strength_in=ibis._.strength_in.fill_null(0.0),
    )
    n = j.count().as_scalar()
    mean_d = j.strength_degree.mean().as_scalar()
    return j.mutate(
        influence=blend * j.pagerank * n
        + (1.0 - blend) * ibis.ifelse(mean_d > 0, j.strength_degree / mean_d, 0.0)
    ).select("entity_id", "influence", "pagerank", "strength_degree", "strength_in")


def reach(ties: ir.Table, threshold: float) -> ir.Table:
    """(entity_id, reach_1hop, reach_2hop) over ties with strength >= ``threshold``.

    Same definition as :func:`socialcrm.influence.reach.reach`: v reaches u when u's tie
    to v is strong; 2-hop counts every person within two strong steps once.
    """
    t = _valid_ties(ties)
    nodes = _nodes(t)
    strong = t.filter(t.w >= threshold).select(u=t.src, v=t.dst)
    one = strong.group_by("v").agg(reach_1hop=strong.u.count())
    s2 = strong.view()
    two_step = strong.join(s2, strong.u == s2.v).select(v=strong.v, w=s2.u)
    within = strong.select(v=strong.v, w=strong.u).union(two_step).filter(ibis._.w != ibis._.v)
    two = within.group_by("v").agg(reach_2hop=within.w.nunique())
    out = nodes.left_join(one, nodes.node == one.v).select(nodes.node, one.reach_1hop)
    out = out.left_join(two, out.node == two.v).select(
        entity_id=out.node,
        reach_1hop=out.reach_1hop.fill_null(0).cast("int64"),
        reach_2hop=two.reach_2hop.fill_null(0).cast("int64"),
    )
    return out


def _drop(engine: Any, names: list[str]) -> None:
    backend = engine.backend
    for name in names:
        if backend.name == "duckdb":
            backend.con.execute(f'DROP TABLE IF EXISTS "{name}"')
        elif backend.name == "pyspark":
            backend._session.catalog.dropTempView(name)
