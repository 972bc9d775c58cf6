"""Leiden communities and natural leaders on graphs with a known answer, and a real school."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from socialcrm.influence.communities import (
    communities_table,
    detect_communities,
    leaders,
    leiden,
    local_influence,
)
from socialcrm.influence.influence import tie_influence
from socialcrm.influence.tiegraph import TieGraph

from .conftest import count_ties, graph


def test_leiden_finds_the_two_cliques(two_cliques: TieGraph) -> None:
    membership, q = leiden(two_cliques)
    by_name = dict(zip(two_cliques.names, membership.tolist(), strict=True))
    a = {by_name[f"a{i}"] for i in range(5)}
    b = {by_name[f"b{i}"] for i in range(5)}
    assert len(a) == 1 and len(b) == 1 and a != b
    assert q > 0.4
    again, _ = leiden(two_cliques)  # fixed seed: the same answer every run
    assert np.array_equal(membership, again)


def test_natural_leader_is_local_not_global() -> None:
    # Group A: five people, everyone listens most to a1 (0.9), others 0.5.
    # Ten outsiders b0..b9 all listen to a0: a0 is the global star, but inside A,
    # a1 is who the group turns to (seed 004's natural leader).
    a = [f"a{i}" for i in range(5)]
    rows = [(u, v, 0.9 if v == "a1" else 0.5) for u in a for v in a if u != v]
    bs = [f"b{i}" for i in range(10)]
    rows += [(b, "a0", 0.9) for b in bs]
    rows += [(bs[i], bs[(i + 1) % 10], 0.5) for i in range(10)]
    g = graph(rows)
    membership = np.array([0 if n.startswith("a") else 1 for n in g.names])
    assert g.names[int(np.argmax(tie_influence(g)))] == "a0"
    local = local_influence(g, membership)
    mask = leaders(membership, local, per_community=1, min_size=3)
    # in the ring of b's everyone is equal: the tie goes to the first vertex, b0
    assert set(g.names[mask]) == {"a1", "b0"}
    # local influence has mean 1 in every community
    for c in (0, 1):
        assert np.isclose(local[membership == c].mean(), 1.0)


def test_communities_table(two_cliques: TieGraph) -> None:
    c = detect_communities(two_cliques)
    t = communities_table(two_cliques, c).to_pylist()
    assert [r["size"] for r in t] == [5, 5]
    assert [r["internal_ties"] for r in t] == [20, 20] and [r["ties_out"] for r in t] == [1, 1]
    assert all(r["leader"] == r["top_members"][0] for r in t)
    assert c.is_leader.sum() == 2
    # the bridge ends have the most ties inside as well, so they lead each clique
    assert {r["leader"] for r in t} == {"a0", "b0"}


def test_real_school_classes(shared_data: Path, tmp_path: Path) -> None:
    """SocioPatterns 2013, three classes: communities on contact ties recover the classes."""
    from socialcrm.workspace import Workspace

    folder = shared_data / "sociopatterns_highschool2013"
    keep = {"2BIO1", "MP", "PSI*"}
    cls = {}
    for line in (folder / "metadata_2013.txt").read_text().split("\n"):
        parts = line.split()
        if len(parts) == 3 and parts[1] in keep:
            cls[parts[0]] = parts[1]
    lines = [
        ln
        for ln in (folder / "tij_thiers13.dat").read_text().split("\n")[:60_000]
        if len(ln.split()) == 3 and ln.split()[1] in cls and ln.split()[2] in cls
    ]
    (tmp_path / "tij.dat").write_text("\n".join(lines) + "\n")
    ws = Workspace(tmp_path / "sp.duckdb")
    ws.ingest("sociopatterns", [tmp_path / "tij.dat"])
    g = TieGraph.from_arrow(count_ties(ws))
    c = detect_communities(g)
    truth = [cls[n.split(":")[-1]] for n in g.names]
    assert adjusted_rand_score(truth, c.membership) > 0.8
    json.dumps(communities_table(g, c).to_pylist())  # serialisable for the API
    ws.close()
