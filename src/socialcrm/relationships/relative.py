"""Relative strength, Dunbar layers and the number-vs-strength trade-off (Ibis window functions).

Seed 000 ("The Relativity and Economics of Relationship", "Where is the New Dunbar Limit?"):
the perception of tie strength is relative — the same tie can be a's strongest and b's weakest —
and attention is limited, so an ego with more ties has weaker ties on average. Ties fall into
layers of about 5, 15, 50 and 150 (Dunbar; Zhou, Sornette, Hill & Dunbar 2005).

Input: a ``ties`` table with ``source_entity`` (ego), ``target_entity`` (alter) and a strength
column, one row per ordered pair; both orientations of a pair should be present (``tie_features``
produces them), since the tie's place in the alter's network is read from the reverse row.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

DUNBAR_LAYERS: tuple[int, ...] = (5, 15, 50, 150)


def relative_strength(
    ties: ir.Table, *, strength: str = "strength", layers: Sequence[int] = DUNBAR_LAYERS
) -> ir.Table:
    """Add each tie's rank and percentile in the ego's and in the alter's network, and its layer.

    Added columns:
        ``rank_in_source``: 1 = the ego's strongest tie (ties broken by alter id);
        ``pct_in_source``: share of the ego's ties at most this strong (1.0 = strongest);
        ``rank_in_target``, ``pct_in_target``: the same for the reverse tie in the alter's network
        (NULL when the alter has no tie back);
        ``source_ties``: the ego's number of ties;
        ``layer``: 1..len(layers)+1 by ``rank_in_source`` (≤5, ≤15, ≤50, ≤150, beyond);
        ``layer_name``: "5", "15", "50", "150" or "beyond".
    """
    s = ties[strength].cast("float64")
    t = ties.mutate(_s=s)
    w_rank = ibis.window(group_by=t.source_entity, order_by=[ibis.desc(t._s), t.target_entity])
    t = t.mutate(
        rank_in_source=ibis.row_number().over(w_rank) + 1,
        pct_in_source=ibis.cume_dist().over(ibis.window(group_by=t.source_entity, order_by=t._s)),
        source_ties=t.target_entity.count().over(ibis.window(group_by=t.source_entity)),
    )
    rev = t.select(
        r_src=t.target_entity,
        r_tgt=t.source_entity,
        rank_in_target=t.rank_in_source,
        pct_in_target=t.pct_in_source,
    )
    j = t.join(rev, [t.source_entity == rev.r_src, t.target_entity == rev.r_tgt], how="left")
    j = j.select(*t.columns, "rank_in_target", "pct_in_target")
    bounds = list(layers)
    layer = ibis.cases(
        *[(j.rank_in_source <= b, i + 1) for i, b in enumerate(bounds)], else_=len(bounds) + 1
    )
    name = ibis.cases(*[(j.rank_in_source <= b, str(b)) for b in bounds], else_="beyond")
    return j.mutate(layer=layer.cast("int64"), layer_name=name).drop("_s")


def ego_tradeoff(ties: ir.Table, *, strength: str = "strength") -> ir.Table:
    """Per ego: number of ties, mean and total strength, mean strength of its 5 strongest ties.

    ``ties`` must carry ``layer`` (from :func:`relative_strength`). The trade-off is visible as
    ``mean_strength`` falling while ``n_ties`` grows (seed 000, "Where is the New Dunbar Limit?").
    """
    s = ties[strength].cast("float64")
    t = ties.mutate(_s=s)
    return t.group_by(t.source_entity).aggregate(
        n_ties=t.count(),
        mean_strength=t._s.mean(),
        total_strength=t._s.sum(),
        inner_mean_strength=t._s.mean(where=t.layer == 1),
        layer1_ties=(t.layer == 1).cast("int64").sum(),
        layer2_ties=(t.layer == 2).cast("int64").sum(),
        layer3_ties=(t.layer == 3).cast("int64").sum(),
        layer4_ties=(t.layer == 4).cast("int64").sum(),
        beyond_ties=(t.layer == 5).cast("int64").sum(),
    )


def population_tradeoff(ego: ir.Table) -> ir.Table:
    """The population's trade-off: egos binned by number of ties (powers of two), mean strength.

    ``ego`` is the output of :func:`ego_tradeoff`. Columns: ``size_bin`` (lower bound, 1, 2, 4,
    ...), ``egos``, ``mean_ties``, ``mean_strength`` (mean over egos of their mean strength),
    ``mean_total_strength`` and ``corr_log_ties_strength`` (the Pearson correlation of
    log(n_ties) with mean strength over all egos, repeated on every row; negative = trade-off).
    """
    e = ego.mutate(
        _lg=ego.n_ties.cast("float64").log2().floor().cast("int64"),
        _ln=ego.n_ties.cast("float64").ln(),
    )
    corr = e.aggregate(corr_log_ties_strength=e._ln.corr(e.mean_strength, how="pop"))
    bins = e.group_by("_lg").aggregate(
        egos=e.count(),
        mean_ties=e.n_ties.mean(),
        mean_strength=e.mean_strength.mean(),
        mean_total_strength=e.total_strength.mean(),
    )
    bins = bins.mutate(size_bin=(ibis.literal(2) ** bins._lg).cast("int64")).drop("_lg")
    out = bins.cross_join(corr)
    return out.select(
        "size_bin",
        "egos",
        "mean_ties",
        "mean_strength",
        "mean_total_strength",
        "corr_log_ties_strength",
    ).order_by("size_bin")
