"""The tie graph every influence measure reads: the ``ties`` table as arrays and igraph graphs.

A row of ``ties`` is a directed tie ``source_entity -> target_entity`` with a ``strength``
in [0, 1]: how strong the relationship is *from the source's side* (the relationships
stage scores the ordered pair (a, b) from a's point of view, DESIGN.md "Tie strength").
Seed 000 says the strength of a relationship is the best predictor of who influences
whom, so a strong tie a -> b means **b can influence a**: a listens to b. Every measure
in this package follows that one convention:

* influence walks *along* ties (a -> b credits b, in proportion to a's strength toward b),
  see :mod:`socialcrm.influence.influence`;
* b *reaches* a when a's tie to b is at least the reach threshold, so reach counts
  in-neighbours, see :mod:`socialcrm.influence.reach`;
* communities and k-cores ignore direction.

Entity ids are factorised once into dense vertex ids ``0..n-1`` in sorted order
(``names[i]`` is vertex i's entity id) so every measure is a vectorised array operation
or one igraph call, and ties between equal scores break the same way on every run.
Self-ties and ties with a missing strength are dropped; repeated rows for one ordered
pair keep their strongest strength; strengths are clipped to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import duckdb
import igraph as ig
import numpy as np
import pyarrow as pa

TIE_COLUMNS = ("source_entity", "target_entity", "strength")
ENGAGEMENT = "engagement"  # optional column: the tie's weight in the strength-weighted degree


class TieTableError(ValueError):
    """A tie table that cannot be read as a graph; the message says which column is wrong."""


@dataclass(frozen=True, eq=False)
class TieGraph:
    """Directed, strength-weighted tie graph over dense vertex ids.

    Parameters
    ----------
    names : numpy array of str
        Entity id of each vertex.
    src, dst : numpy int64 arrays
        Vertex ids of each tie's source and target (``src[i] -> dst[i]``).
    strength : numpy float64 array
        Each tie's strength in [0, 1].
    engagement : numpy float64 array, optional
        Each tie's weight in the strength-weighted degree (see
        :func:`socialcrm.influence.portable.current_ties`); the strength when absent.

    Example
    -------
    >>> import pyarrow as pa
    >>> g = TieGraph.from_arrow(pa.table({"source_entity": ["a", "b"],
    ...     "target_entity": ["b", "a"], "strength": [0.9, 0.4]}))
    >>> g.n, g.m
    (2, 2)
    """

    names: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    strength: np.ndarray
    engagement: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def m(self) -> int:
        return len(self.src)

    @classmethod
    def from_arrow(cls, ties: pa.Table) -> TieGraph:
        """Build from a table with ``source_entity``, ``target_entity``, ``strength``.

        Cleaning, de-duplication and factorisation run as one DuckDB query on an
        in-memory connection (parallel hash joins: about a second for 5 million ties),
        and vertex ids follow the sorted entity ids, so they do not depend on row order.
        """
        missing = [c for c in TIE_COLUMNS if c not in ties.column_names]
        if missing:
            raise TieTableError(
                f"tie table lacks column(s) {', '.join(missing)}; it needs"
                f" {', '.join(TIE_COLUMNS)} (the relationships stage's `ties` table)"
            )
        has_e = ENGAGEMENT in ties.column_names
        con = duckdb.connect()
        try:
            con.register("ties_in", ties.select([*TIE_COLUMNS, *([ENGAGEMENT] if has_e else [])]))
            engagement = (
                f"max(greatest(coalesce(CAST({ENGAGEMENT} AS DOUBLE), 0.0), 0.0))"
                if has_e
                else "NULL"
            )
            con.execute(
                f"""CREATE TEMP TABLE valid AS
                SELECT CAST(source_entity AS VARCHAR) AS s, CAST(target_entity AS VARCHAR) AS t,
                       max(least(greatest(CAST(strength AS DOUBLE), 0.0), 1.0)) AS w,
                       {engagement} AS e
                FROM ties_in
                WHERE source_entity IS NOT NULL AND target_entity IS NOT NULL
                  AND strength IS NOT NULL AND NOT isnan(CAST(strength AS DOUBLE))
                  AND CAST(source_entity AS VARCHAR) <> CAST(target_entity AS VARCHAR)
                GROUP BY 1, 2"""
            )
            con.execute(
                """CREATE TEMP TABLE names AS
                SELECT name, CAST(row_number() OVER (ORDER BY name) - 1 AS BIGINT) AS id
                FROM (SELECT s AS name FROM valid UNION SELECT t FROM valid)"""
            )
            names = con.sql("SELECT name FROM names ORDER BY id").to_arrow_table()
            edges = con.sql(
                """SELECT a.id AS src, b.id AS dst, v.w AS strength, v.e AS engagement
                FROM valid v JOIN names a ON a.name = v.s JOIN names b ON b.name = v.t
                ORDER BY src, dst"""
            ).to_arrow_table()
        finally:
            con.close()
        return cls(
            names["name"].to_numpy().astype(object),
            edges["src"].to_numpy(),
            edges["dst"].to_numpy(),
            edges["strength"].to_numpy(),
            edges["engagement"].to_numpy().astype(np.float64) if has_e else None,
        )

    @classmethod
    def from_arrays(
        cls,
        src: np.ndarray,
        dst: np.ndarray,
        strength: np.ndarray,
        n: int | None = None,
        engagement: np.ndarray | None = None,
    ) -> TieGraph:
        """Build from integer vertex ids (names are the ids as strings); for benchmarks."""
        src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
        n = int(max(src.max(initial=-1), dst.max(initial=-1)) + 1) if n is None else n
        keep = np.flatnonzero(src != dst)
        s = np.asarray(strength, dtype=np.float64)[keep]
        rows = keep[_first_of_pairs(src[keep], dst[keep], s, n)]
        names = np.arange(n).astype(str).astype(object)
        e = None if engagement is None else np.asarray(engagement, dtype=np.float64)[rows]
        s = np.clip(np.asarray(strength, dtype=np.float64)[rows], 0.0, 1.0)
        return cls(names, src[rows], dst[rows], s, e)

    # -- graphs, built once and cached -------------------------------------------------
    @cached_property
    def directed(self) -> ig.Graph:
        """Directed graph of every tie, edge ``i`` = tie ``i``, attribute ``weight``.

        Ties of strength 0 stay (degree counts them) but carry no PageRank walk: igraph
        ignores zero-weight edges there, as if absent.
        """
        g = ig.Graph(n=self.n, edges=np.column_stack([self.src, self.dst]), directed=True)
        g.es["weight"] = self.strength.tolist()
        return g

    def directed_subgraph(self, keep: np.ndarray) -> ig.Graph:
        """The directed graph restricted to the ties where ``keep`` is true (all vertices).

        Copying the built graph and deleting edges in C is several times faster than
        building another graph from arrays (python-igraph converts edge lists element by
        element).
        """
        g = self.directed.copy()
        g.delete_edges(np.flatnonzero(~keep).tolist())
        return g

    @cached_property
    def undirected(self) -> ig.Graph:
        """Simple undirected graph, edge ``weight`` = s(a->b) + s(b->a).

        Both directions are evidence of one relationship, so their strengths add; every
        tie (even of strength 0) makes an edge, so degree and k-core see all contacts.
        Collapsing the directed graph in C is faster than building a second graph;
        igraph lists the collapsed edges ordered by (larger, smaller) endpoint, which is
        checked on a sample before the weights, summed in that order, are attached.
        """
        u, v, w = self.undirected_edges
        g = self.directed.as_undirected(mode="collapse", combine_edges="ignore")
        ok = g.ecount() == len(u)
        if ok and len(u):
            sample = np.unique(np.linspace(0, len(u) - 1, 64).astype(np.int64))
            got = np.array([g.es[int(i)].tuple for i in sample])
            ok = bool((got[:, 0] == u[sample]).all() and (got[:, 1] == v[sample]).all())
        if not ok:  # a future igraph orders differently: build from the arrays instead
            g = ig.Graph(n=self.n, edges=np.column_stack([u, v]), directed=False)
        g.es["weight"] = w.tolist()
        return g

    @cached_property
    def undirected_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, weight) of the simple undirected graph, u < v, ordered by (v, u)."""
        lo, hi = np.minimum(self.src, self.dst), np.maximum(self.src, self.dst)
        key = hi * self.n + lo
        uniq, inverse = np.unique(key, return_inverse=True)
        w = np.bincount(inverse, weights=self.strength, minlength=len(uniq))
        return uniq % self.n, uniq // self.n, w

    def strong(self, threshold: float) -> ig.Graph:
        """Directed graph of the ties with strength >= ``threshold``."""
        key = ("strong", float(threshold))
        if key not in self._cache:
            self._cache[key] = self.directed_subgraph(self.strength >= threshold)
        return self._cache[key]

    @property
    def degree_weight(self) -> np.ndarray:
        """Per-tie weight of the strength-weighted degree: ``engagement``, else ``strength``."""
        return self.strength if self.engagement is None else self.engagement

    def index(self, entity_ids: list[str] | np.ndarray) -> np.ndarray:
        """Vertex ids of entity ids (-1 for an entity without ties)."""
        lookup = {name: i for i, name in enumerate(self.names)}
        return np.array([lookup.get(e, -1) for e in entity_ids], dtype=np.int64)


def _first_of_pairs(src: np.ndarray, dst: np.ndarray, strength: np.ndarray, n: int) -> np.ndarray:
    """Row indices keeping one row per ordered pair, the strongest (usually all rows)."""
    key = src * n + dst
    sorted_key = np.sort(key)
    if not (sorted_key[1:] == sorted_key[:-1]).any():
        return np.arange(len(key))
    order = np.lexsort((-strength, key))
    key_sorted = key[order]
    first = np.ones(len(key_sorted), dtype=bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    return np.sort(order[first])
