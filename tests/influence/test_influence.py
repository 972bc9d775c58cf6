"""Tie-weighted influence, degree and k-core on graphs solved by hand, and on a real slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialcrm.influence.influence import (
    degrees,
    influence_table,
    kcore,
    strength_in,
    tie_influence,
    tie_pagerank,
)
from socialcrm.influence.tiegraph import TieGraph, TieTableError

from .conftest import count_ties, graph, tie_table, two_cliques_rows, values


def test_star_pagerank_solved_by_hand(star: TieGraph) -> None:
    # Leaves x, hub h (dangling: its mass is spread evenly), d = 0.85, n = 6:
    #   x = 0.15/6 + 0.85 h/6 ;  h = 0.15/6 + 0.85 * 5x + 0.85 h/6 ;  5x + h = 1
    #   => h = 0.875 / (1 + 0.85 * 5/6) = 0.512195..., x = (1 - h) / 5 = 0.097561...
    pr = values(star, tie_pagerank(star))
    assert pr["hub"] == pytest.approx(0.875 / (1 + 0.85 * 5 / 6), abs=1e-9)
    assert pr["leaf0"] == pytest.approx((1 - pr["hub"]) / 5, abs=1e-9)
    s = values(star, strength_in(star))
    assert s["hub"] == pytest.approx(4.0) and s["leaf3"] == 0.0
    # influence = 0.5 * pr * n + 0.5 * s / mean(s); mean(s) = 4/6
    inf = values(star, tie_influence(star))
    assert inf["hub"] == pytest.approx(0.5 * pr["hub"] * 6 + 0.5 * 4.0 / (4 / 6))
    assert inf["leaf1"] == pytest.approx(0.5 * pr["leaf1"] * 6)
    assert np.mean(list(inf.values())) == pytest.approx(1.0)


def test_direction_influence_goes_to_whom_people_listen_to(chain: TieGraph) -> None:
    # a -> b -> c -> d: a listens to b, ... d is listened to by the most, indirectly.
    pr = values(chain, tie_pagerank(chain))
    assert pr["d"] > pr["c"] > pr["b"] > pr["a"]
    inf = values(chain, tie_influence(chain))
    assert inf["d"] > inf["c"] > inf["b"] > inf["a"]


def test_stronger_ties_carry_more_influence() -> None:
    # x splits its attention: strong tie to s, weak tie to w.
    g = graph([("x", "s", 0.9), ("x", "w", 0.1)])
    pr = values(g, tie_pagerank(g))
    assert pr["s"] > pr["w"]
    # zero-strength ties carry nothing, but the vertex still exists (dangling)
    g0 = graph([("x", "s", 0.9), ("x", "w", 0.0)])
    pr0 = values(g0, tie_pagerank(g0))
    assert set(pr0) == {"x", "s", "w"} and pr0["w"] < pr0["s"]


def test_degree_and_kcore_by_hand(star: TieGraph, chain: TieGraph) -> None:
    d_in, d_out = degrees(star)
    assert values(star, d_in)["hub"] == 5 and values(star, d_out)["leaf0"] == 1
    assert set(kcore(star).tolist()) == {1} and set(kcore(chain).tolist()) == {1}
    cliques = graph(two_cliques_rows(size=5))
    assert set(kcore(cliques).tolist()) == {4}  # K5 each side; the bridge adds nothing
    # triangle with a pendant: 2, 2, 2 and 1; direction and both-way ties do not matter
    tri = graph([("a", "b", 1), ("b", "a", 1), ("b", "c", 1), ("c", "a", 1), ("d", "a", 0.1)])
    assert values(tri, kcore(tri)) == {"a": 2, "b": 2, "c": 2, "d": 1}


def test_tie_table_cleaning() -> None:
    t = tie_table([("a", "b", 0.5), ("a", "b", 0.7), ("a", "a", 1.0), ("b", "c", 1.4)])
    g = TieGraph.from_arrow(t)
    assert g.m == 2  # self-tie dropped, repeated pair keeps its strongest
    pairs = {(g.names[s], g.names[d]): w for s, d, w in zip(g.src, g.dst, g.strength, strict=True)}
    assert pairs == {("a", "b"): 0.7, ("b", "c"): 1.0}  # clipped to [0, 1]
    with pytest.raises(TieTableError, match="strength"):
        TieGraph.from_arrow(t.drop(["strength"]))


def test_real_slice_superusers_are_most_influential(shared_data: Path, tmp_path: Path) -> None:
    """Stack Exchange conlang dump: the tie-weighted top 5 all answer others, and the most
    prolific answerer is in the top 3."""
    from socialcrm.workspace import Workspace

    ws = Workspace(tmp_path / "se.duckdb")
    ws.ingest("stackexchange", [shared_data / "stackexchange_conlang_dump"])
    g = TieGraph.from_arrow(count_ties(ws))
    t = influence_table(g).sort_by([("influence", "descending")]).to_pylist()
    top = [r["entity_id"] for r in t[:5]]
    answers = dict(
        ws.con.execute(
            "SELECT actor, count(*) FROM interactions WHERE kind = 'answer' GROUP BY actor"
        ).fetchall()
    )
    assert all(answers.get(e, 0) >= 1 for e in top)
    assert max(answers, key=answers.get) in top[:3]
    # influence ranks differ from raw degree: relationships, not counts
    by_degree = sorted(t, key=lambda r: -(r["degree_in"] + r["degree_out"]))
    assert [r["entity_id"] for r in by_degree[:20]] != [r["entity_id"] for r in t[:20]]
    ws.close()
