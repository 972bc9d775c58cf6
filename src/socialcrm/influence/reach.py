"""Reach: how many distinct people an entity can influence within one and two steps.

Seed 004 measures a natural leader by the people around her (Vocalpoint: each of
600,000 moms has a network of at least 25 others). Only strong enough ties carry
influence (seed 000), so a person is *within reach* of b when their tie to b has a
strength of at least ``threshold`` (``Settings.reach_strength_threshold``). Following
the tie convention of :mod:`socialcrm.influence.tiegraph` (a tie a -> b means a listens
to b), b's reach is made of its in-neighbours over strong ties:

* ``reach_1hop(b)`` = |{a != b : s(a->b) >= t}|;
* ``reach_2hop(b)`` = |{a != b : a is within one or two strong steps of b}| — every
  person once, however many paths lead to them (1-hop people are not counted again).

Totals over a set of entities (:func:`total_reach`) are the size of the union of their
networks, never the sum, so overlaps are not double counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from socialcrm.influence.tiegraph import TieGraph


def reach(graph: TieGraph, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(reach_1hop, reach_2hop) of every vertex over ties with strength >= ``threshold``.

    Parameters
    ----------
    graph : TieGraph
    threshold : float
        Minimum strength of a tie that carries influence.

    Returns
    -------
    Two int64 arrays indexed by vertex id.

    Examples
    --------
    >>> import pyarrow as pa
    >>> chain = pa.table({"source_entity": ["a", "b"], "target_entity": ["b", "c"],
    ...     "strength": [0.9, 0.9]})
    >>> g = TieGraph.from_arrow(chain)
    >>> r1, r2 = reach(g, 0.5)
    >>> dict(zip(g.names, r2.tolist()))["c"]
    2

    References
    ----------
    .. [1] P. Greenberg, "CRM and social networks — they're related how, again?" (seed 004).
    .. [2] M. Granovetter, "The strength of weak ties", AJS 78(6), 1973.
    """
    if graph.n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    g = graph.strong(threshold)
    one = np.asarray(g.degree(mode="in"), dtype=np.int64)
    two = np.asarray(g.neighborhood_size(order=2, mode="in", mindist=1), dtype=np.int64)
    return one, two


def reach_sets(graph: TieGraph, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """1-hop reach sets in CSR form: ``indices[indptr[v]:indptr[v+1]]`` are reached by v."""
    keep = graph.strength >= threshold
    dst, src = graph.dst[keep], graph.src[keep]
    order = np.argsort(dst, kind="stable")
    indptr = np.zeros(graph.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=graph.n), out=indptr[1:])
    return indptr, src[order]


def total_reach(graph: TieGraph, vertices: Iterable[int], threshold: float, hops: int = 1) -> int:
    """Distinct people reached by a set of vertices (union of their networks)."""
    vs = [int(v) for v in vertices]
    if not vs:
        return 0
    hoods = graph.strong(threshold).neighborhood(vertices=vs, order=hops, mode="in", mindist=1)
    return len(np.unique(np.concatenate([np.asarray(h, dtype=np.int64) for h in hoods])))
