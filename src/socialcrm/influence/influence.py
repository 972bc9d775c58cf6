"""Tie-weighted influence: who others listen to, in proportion to how strong their ties are.

Seed 000 (Wu, "The R in Social CRM"): the single most predictive factor of who
influences whom is the strength of their relationship. So influence is computed on the
tie graph, never on raw message counts, from two terms over *current* ties (each tie's
strength discounted by the time since the pair last interacted, half-life 7 days; see
:func:`socialcrm.influence.portable.current_ties`):

* **tie PageRank** — a random walk over ties (Brin and Page, 1998): from a, the walker
  follows a's tie to b with probability s(a->b) / sum of a's strengths, so attention
  flows *from the one influenced to the influencer* (a listens to b, b gets the credit)
  and an influencer's credit passes on to whom *they* listen to. It captures standing
  beyond direct contacts, but each person's attention is a fixed budget: the walk
  normalises it away, so an active person's many ties count no more than one.
* **strength-weighted degree** — the sum over the ties pointing at b of a tie weight
  (Barrat et al., PNAS 101(11), 2004, vertex "strength"; Opsahl, Agneessens and
  Skvoretz, Social Networks 32(3), 2010). The weight is DESIGN.md's measure built from
  the relationships stage's tie components: ``log(1 + volume both ways) * (1 +
  reciprocity) / 2 * 0.5 ** (recency_days / 7)`` with reciprocity = min/max of the two
  directions' volumes (a one-way tie counts half a balanced one); a tie table without
  those components uses the current strength itself.

``influence = blend * pagerank * n + (1 - blend) * strength_degree / mean(strength_degree)``:
both terms have mean 1 over the graph, so ``blend`` is the share of each. Parameters
are not fitted to the evaluation targets: damping 0.85 and blend 0.5 are fixed a priori,
the 7-day half-life is DESIGN.md's, and the reciprocity form was chosen on CollegeMsg
alone, with Stack Exchange held out (docs/evaluation-influence.md).

For comparison the module also gives ``strength_in`` (sum of current strengths pointing
at b), plain degree (distinct counterparts each way, whatever the strength) and the
k-core number on the simple undirected graph (Seidman, Social Networks 5(3), 1983;
Kitsak et al., Nature Physics 6, 2010, "identification of influential spreaders").
DESIGN.md: k-core is computed on the simple undirected graph because libraries
disagree on directed multigraphs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialcrm.influence.tiegraph import TieGraph

DAMPING = 0.85
BLEND = 0.5
HALF_LIFE_DAYS = 7.0  # staleness discount of tie strength, see portable.current_ties


def tie_pagerank(graph: TieGraph, damping: float = DAMPING) -> np.ndarray:
    """PageRank on the strength-weighted directed tie graph (sums to 1 over vertices).

    Parameters
    ----------
    graph : TieGraph
        Ties ``a -> b`` weighted by ``s(a->b)``; ties of strength 0 carry no walk.
    damping : float
        Probability of following a tie rather than jumping to a uniformly random person.
        Vertices whose ties all have strength 0 (dangling) jump uniformly.

    Returns
    -------
    numpy array of float, indexed by vertex id.

    Examples
    --------
    >>> import pyarrow as pa
    >>> g = TieGraph.from_arrow(pa.table({"source_entity": ["a", "c"],
    ...     "target_entity": ["b", "b"], "strength": [1.0, 1.0]}))
    >>> pr = tie_pagerank(g); g.names[int(pr.argmax())]
    'b'

    References
    ----------
    .. [1] S. Brin and L. Page, "The anatomy of a large-scale hypertextual Web search
       engine", Computer Networks 30(1-7), 1998.
    .. [2] M. Wu, "The R in Social CRM" (seed 000): tie strength predicts who influences whom.
    """
    if graph.n == 0:
        return np.zeros(0)
    if not (graph.strength > 0).any():
        return np.full(graph.n, 1.0 / graph.n)
    return np.asarray(graph.directed.pagerank(weights="weight", damping=damping, directed=True))


def strength_in(graph: TieGraph) -> np.ndarray:
    """Sum of the strengths of the ties pointing at each vertex (Barrat et al., 2004)."""
    return np.bincount(graph.dst, weights=graph.strength, minlength=graph.n)


def strength_degree(graph: TieGraph) -> np.ndarray:
    """Strength-weighted degree: sum of the tie weights (``engagement``) pointing at each
    vertex; the strengths when the graph has no engagement weights."""
    return np.bincount(graph.dst, weights=graph.degree_weight, minlength=graph.n)


def blend_influence(pagerank: np.ndarray, degree: np.ndarray, blend: float = BLEND) -> np.ndarray:
    """``blend * pagerank * n + (1 - blend) * degree / mean(degree)``."""
    n = len(pagerank)
    if n == 0:
        return np.zeros(0)
    mean_d = float(degree.mean())
    d_term = degree / mean_d if mean_d > 0 else np.zeros(n)
    return blend * pagerank * n + (1.0 - blend) * d_term


def tie_influence(graph: TieGraph, damping: float = DAMPING, blend: float = BLEND) -> np.ndarray:
    """Tie-weighted influence of every vertex (mean 1 over the graph).

    Parameters
    ----------
    graph : TieGraph
    damping : float
        PageRank damping (0.85, Brin and Page).
    blend : float
        Weight of the PageRank term; ``1 - blend`` goes to the strength-weighted degree.

    Examples
    --------
    >>> import pyarrow as pa
    >>> star = pa.table({"source_entity": ["a", "b", "c"], "target_entity": ["hub"] * 3,
    ...     "strength": [0.9, 0.8, 0.7]})
    >>> g = TieGraph.from_arrow(star)
    >>> g.names[int(tie_influence(g).argmax())]
    'hub'

    References
    ----------
    .. [1] S. Brin and L. Page, Computer Networks 30, 1998 (PageRank).
    .. [2] A. Barrat, M. Barthélemy, R. Pastor-Satorras, A. Vespignani, "The architecture
       of complex weighted networks", PNAS 101(11), 2004 (vertex strength).
    .. [3] T. Opsahl, F. Agneessens, J. Skvoretz, "Node centrality in weighted networks:
       generalizing degree and shortest paths", Social Networks 32(3), 2010.
    .. [4] M. Wu, seed 000: relationship strength is the best predictor of influence.
    """
    return blend_influence(tie_pagerank(graph, damping), strength_degree(graph), blend)


def degrees(graph: TieGraph) -> tuple[np.ndarray, np.ndarray]:
    """(in-degree, out-degree): distinct counterparts with a tie, whatever its strength."""
    return (
        np.bincount(graph.dst, minlength=graph.n).astype(np.int64),
        np.bincount(graph.src, minlength=graph.n).astype(np.int64),
    )


def kcore(graph: TieGraph) -> np.ndarray:
    """k-core number of every vertex on the simple undirected tie graph.

    References
    ----------
    .. [1] S. B. Seidman, "Network structure and minimum degree", Social Networks 5(3), 1983.
    .. [2] M. Kitsak et al., "Identification of influential spreaders in complex
       networks", Nature Physics 6, 2010.
    """
    if graph.n == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(graph.undirected.coreness(), dtype=np.int64)


def influence_table(graph: TieGraph, damping: float = DAMPING, blend: float = BLEND) -> pa.Table:
    """Per entity: influence, its two terms, strength in-degree, plain degrees and k-core."""
    pr = tie_pagerank(graph, damping)
    sd = strength_degree(graph)
    d_in, d_out = degrees(graph)
    return pa.table(
        {
            "entity_id": pa.array(graph.names, type=pa.string()),
            "influence": blend_influence(pr, sd, blend),
            "pagerank": pr,
            "strength_degree": sd,
            "strength_in": strength_in(graph),
            "degree_in": d_in,
            "degree_out": d_out,
            "kcore": kcore(graph),
        }
    )
