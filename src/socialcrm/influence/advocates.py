"""Advocate selection: the k people whose networks together reach the most distinct people.

Seed 004 (Greenberg) tells how P&G's Vocalpoint works: 600,000 natural leaders, each
with a network of at least 25 others, reach "a minimum of fifteen million" — and give
product feedback back to P&G. Two things make that figure a lower bound in the seed
and a problem in practice: networks overlap (25 × 600,000 counts a shared friend twice)
and the leaders with the largest networks are often in the same circles. So advocates
are chosen for **distinct** reach: maximum coverage over their personal networks
(:mod:`socialcrm.influence.reach`, ties at least the reach threshold).

Maximum coverage is NP-hard; the greedy choice (each time the person adding the most
people not yet reached) gets at least 1 − 1/e ≈ 63% of the optimum (Nemhauser, Wolsey
and Fisher, 1978), and no polynomial algorithm does better unless P = NP (Feige, 1998).
Coverage is submodular, so a candidate's gain can only shrink as others are chosen:
the lazy greedy (Minoux, 1978; CELF, Leskovec et al., 2007) keeps stale gains in a heap
and re-evaluates only the top one, giving the same choice with far fewer evaluations.

:func:`advocate_feedback` closes the seed's loop: the product feedback each advocate
gave (labelled by the conversation stage), conversations they started first.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from socialcrm.influence.reach import reach_sets
from socialcrm.influence.tiegraph import TieGraph


@dataclass(frozen=True)
class AdvocateSelection:
    """Chosen vertices (in pick order), each one's personal network and marginal gain."""

    vertices: np.ndarray
    names: list[str]
    network: np.ndarray  # size of each advocate's own network
    gain: np.ndarray  # people each advocate added to the total, in pick order
    total_reach: int

    @property
    def k(self) -> int:
        return len(self.vertices)

    @property
    def median_network(self) -> float:
        return float(np.median(self.network)) if len(self.network) else 0.0

    def summary(self) -> str:
        """The seed's sentence: "k advocates, median personal network N, total reach R"."""
        naive = int(self.network.sum())
        return (
            f"{self.k:,} advocates, median personal network {self.median_network:g},"
            f" total distinct reach {self.total_reach:,}"
            f" (sum of networks {naive:,}; overlap {naive - self.total_reach:,})"
        )


def _neighbours_fn(
    graph: TieGraph, threshold: float, hops: int
) -> tuple[Callable[[int], np.ndarray], np.ndarray]:
    """A function giving v's reach set, and every vertex's reach-set size."""
    if hops == 1:
        indptr, indices = reach_sets(graph, threshold)
        return (lambda v: indices[indptr[v] : indptr[v + 1]]), np.diff(indptr)
    if hops == 2:
        g = graph.strong(threshold)
        sizes = np.asarray(g.neighborhood_size(order=2, mode="in", mindist=1), dtype=np.int64)
        return (
            lambda v: np.asarray(g.neighborhood(v, order=2, mode="in", mindist=1), dtype=np.int64)
        ), sizes
    raise ValueError(f"hops must be 1 or 2, not {hops}")


def greedy_advocates(graph: TieGraph, k: int, threshold: float, hops: int = 1) -> AdvocateSelection:
    """Choose ``k`` advocates maximising distinct reach (lazy greedy max coverage).

    Parameters
    ----------
    graph : TieGraph
    k : int
        Number of advocates.
    threshold : float
        Minimum tie strength that carries influence (``Settings.reach_strength_threshold``).
    hops : int
        1: a person's network is who listens to them directly (seed 004's "network of
        25"); 2: also who listens to those.

    Returns
    -------
    AdvocateSelection; stops early when nobody adds reach.

    Examples
    --------
    >>> import pyarrow as pa
    >>> # two hubs share their audience; a third reaches two other people
    >>> src = ["x", "y", "z", "x", "y", "z", "p", "q"]
    >>> dst = ["h1", "h1", "h1", "h2", "h2", "h2", "h3", "h3"]
    >>> g = TieGraph.from_arrow(pa.table({"source_entity": src, "target_entity": dst,
    ...     "strength": [1.0] * 8}))
    >>> sel = greedy_advocates(g, 2, 0.5)
    >>> sorted(sel.names), sel.total_reach
    (['h1', 'h3'], 5)

    References
    ----------
    .. [1] G. L. Nemhauser, L. A. Wolsey, M. L. Fisher, "An analysis of approximations
       for maximizing submodular set functions", Math. Programming 14, 1978.
    .. [2] M. Minoux, "Accelerated greedy algorithms for maximizing submodular set
       functions", Optimization Techniques, LNCS 7, 1978.
    .. [3] J. Leskovec et al., "Cost-effective outbreak detection in networks", KDD 2007.
    .. [4] P. Greenberg, seed 004 (Vocalpoint's 600,000 × 25 = 15 million).
    """
    neighbours, sizes = _neighbours_fn(graph, threshold, hops)
    covered = np.zeros(graph.n, dtype=bool)
    # heap of (-gain, vertex, round the gain was computed in); vertex id breaks ties
    heap = [(-int(s), v, 0) for v, s in enumerate(sizes) if s > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[int] = []
    while heap and len(chosen) < k:
        neg_gain, v, stamp = heapq.heappop(heap)
        if stamp == len(chosen):
            if -neg_gain <= 0:
                break
            chosen.append(v)
            gains.append(-neg_gain)
            covered[neighbours(v)] = True
            continue
        gain = int((~covered[neighbours(v)]).sum())
        if gain > 0:
            heapq.heappush(heap, (-gain, v, len(chosen)))
    vertices = np.asarray(chosen, dtype=np.int64)
    return AdvocateSelection(
        vertices,
        graph.names[vertices].tolist(),
        sizes[vertices] if len(vertices) else np.zeros(0, dtype=np.int64),
        np.asarray(gains, dtype=np.int64),
        int(covered.sum()),
    )


def top_degree_advocates(
    graph: TieGraph, k: int, threshold: float, hops: int = 1, degree: np.ndarray | None = None
) -> AdvocateSelection:
    """The baseline: the ``k`` people with the most ties (distinct counterparts, any strength).

    Their total reach is measured the same way as the greedy choice's, so the two compare.
    """
    if degree is None:
        u, v, _ = graph.undirected_edges
        degree = np.bincount(u, minlength=graph.n) + np.bincount(v, minlength=graph.n)
    order = np.lexsort((np.arange(graph.n), -degree))[:k]
    neighbours, sizes = _neighbours_fn(graph, threshold, hops)
    covered = np.zeros(graph.n, dtype=bool)
    gains = []
    for v in order:
        nb = neighbours(int(v))
        gains.append(int((~covered[nb]).sum()))
        covered[nb] = True
    return AdvocateSelection(
        order.astype(np.int64),
        graph.names[order].tolist(),
        sizes[order],
        np.asarray(gains, dtype=np.int64),
        int(covered.sum()),
    )


def selection_table(sel: AdvocateSelection) -> pa.Table:
    """One row per advocate in pick order: network size and the people it added."""
    return pa.table(
        {
            "rank": np.arange(1, sel.k + 1, dtype=np.int64),
            "entity_id": pa.array(sel.names, type=pa.string()),
            "personal_network": sel.network.astype(np.int64),
            "added_reach": sel.gain.astype(np.int64),
            "cumulative_reach": np.cumsum(sel.gain).astype(np.int64),
        }
    )


def advocate_feedback(con: duckdb.DuckDBPyConnection, advocates: list[str]) -> pa.Table | None:
    """Product feedback from each advocate: the conversations they started that carry
    their feedback (seed 004's loop), then those where they gave feedback in someone
    else's thread.

    Reads the conversation stage's ``message_labels`` (``interaction_id``, ``intent``);
    a message is feedback when its intent is ``feedback`` (or ``idea``). A conversation
    is started by whoever wrote its first message. Columns: ``entity_id``,
    ``conversation_id``, ``started`` (the advocate started it), ``first_feedback``
    (time), ``messages`` (their feedback messages in it), ``text`` (the first one, 200
    characters).

    Returns None when the conversation stage has not run (no ``message_labels``), so
    callers can say so instead of showing an empty list as if there were no feedback.
    """
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "message_labels" not in tables:
        return None
    label_cols = {r[0] for r in con.execute("DESCRIBE message_labels").fetchall()}
    if not {"interaction_id", "intent"} <= label_cols:
        return None
    con.register("_advocates", pa.table({"entity_id": pa.array(advocates, pa.string())}))
    try:
        con.complete()
        return con.sql(
            """
            WITH r AS (
                SELECT i.interaction_id, coalesce(i.conversation_id, i.interaction_id) AS conv,
                       i.ts, coalesce(d.entity_id, i.actor) AS entity_id, i.text
                FROM interactions i LEFT JOIN identities d ON d.handle = i.actor
            ),
            firsts AS (SELECT conv, arg_min(entity_id, ts) AS starter FROM r GROUP BY conv),
            fb AS (
                SELECT r.conv, r.entity_id, min(r.ts) AS first_feedback,
                       count(*) AS messages, arg_min(r.text, r.ts) AS text
                FROM r JOIN message_labels l USING (interaction_id)
                JOIN _advocates a ON a.entity_id = r.entity_id
                WHERE lower(l.intent) IN ('feedback', 'idea')
                GROUP BY r.conv, r.entity_id
            )
            SELECT fb.entity_id, fb.conv AS conversation_id,
                   coalesce(f.starter = fb.entity_id, false) AS started,
                   fb.first_feedback, fb.messages, left(fb.text, 200) AS text
            FROM fb LEFT JOIN firsts f ON f.conv = fb.conv
            ORDER BY fb.entity_id, started DESC, fb.first_feedback
            """
        ).to_arrow_table()
    finally:
        con.unregister("_advocates")
