"""Reach over strong ties: counted by hand on a star, a chain and a diamond."""

from __future__ import annotations

from socialcrm.influence.reach import reach, reach_sets, total_reach
from socialcrm.influence.tiegraph import TieGraph

from .conftest import graph, two_cliques_rows, values


def test_star(star: TieGraph) -> None:
    r1, r2 = reach(star, threshold=0.5)
    assert values(star, r1) == {"hub": 5, **{f"leaf{i}": 0 for i in range(5)}}
    assert values(star, r2)["hub"] == 5  # nobody beyond the leaves
    # ties of 0.8 do not reach when the threshold is 0.9
    r1, r2 = reach(star, threshold=0.9)
    assert r1.sum() == 0 and r2.sum() == 0


def test_chain(chain: TieGraph) -> None:
    r1, r2 = reach(chain, threshold=0.5)
    assert values(chain, r1) == {"a": 0, "b": 1, "c": 1, "d": 1}
    assert values(chain, r2) == {"a": 0, "b": 1, "c": 2, "d": 2}


def test_diamond_counts_each_person_once() -> None:
    # a listens to b and c, both listen to d: d reaches b, c and (twice over) a.
    g = graph([("a", "b", 1), ("a", "c", 1), ("b", "d", 1), ("c", "d", 1)])
    r1, r2 = reach(g, 0.5)
    assert values(g, r1)["d"] == 2 and values(g, r2)["d"] == 3
    # a weak link drops out of both counts
    g = graph([("a", "b", 1), ("a", "c", 0.1), ("b", "d", 1), ("c", "d", 1)])
    assert values(g, reach(g, 0.5)[1])["d"] == 3  # a still reaches d through b
    g = graph([("a", "b", 0.1), ("a", "c", 0.1), ("b", "d", 1), ("c", "d", 1)])
    assert values(g, reach(g, 0.5)[1])["d"] == 2


def test_reach_sets_and_totals_do_not_double_count() -> None:
    g = graph(two_cliques_rows(size=4, bridge=0.3))
    idx = {n: i for i, n in enumerate(g.names)}
    indptr, indices = reach_sets(g, 0.5)
    a0 = idx["a0"]
    assert sorted(g.names[indices[indptr[a0] : indptr[a0 + 1]]]) == ["a1", "a2", "a3"]
    # a0 and a1 reach the same clique: union, not sum (4 people: a0..a3)
    assert total_reach(g, [idx["a0"], idx["a1"]], 0.5) == 4
    assert total_reach(g, [idx["a0"], idx["b0"]], 0.5) == 6  # a1..a3 and b1..b3
    # with the weak bridge allowed, a0 reaches b0 and, in two steps, all of clique b
    assert total_reach(g, [idx["a0"]], 0.2, hops=2) == 7
    assert total_reach(g, [], 0.5) == 0
