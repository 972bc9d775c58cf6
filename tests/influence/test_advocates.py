"""Advocate selection: greedy maximum coverage picks known by hand, its guarantee, the baseline."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from socialcrm.influence.advocates import (
    greedy_advocates,
    selection_table,
    top_degree_advocates,
)
from socialcrm.influence.reach import reach_sets, total_reach
from socialcrm.influence.tiegraph import TieGraph

from .conftest import graph, tie_table, workspace_with_ties


def overlapping_hubs() -> TieGraph:
    """h1 and h2 share one audience of six; h3 has four people of its own."""
    rows = [(f"x{i}", h, 0.9) for i in range(6) for h in ("h1", "h2")]
    rows += [(f"y{i}", "h3", 0.9) for i in range(4)]
    return graph(rows)


def test_greedy_beats_top_degree_when_networks_overlap() -> None:
    g = overlapping_hubs()
    greedy = greedy_advocates(g, 2, threshold=0.5)
    assert greedy.names == ["h1", "h3"] and greedy.total_reach == 10
    assert greedy.gain.tolist() == [6, 4]
    by_degree = top_degree_advocates(g, 2, threshold=0.5)
    assert sorted(by_degree.names) == ["h1", "h2"] and by_degree.total_reach == 6
    assert greedy.summary().startswith("2 advocates, median personal network 5, total")
    t = selection_table(greedy).to_pylist()
    assert [r["cumulative_reach"] for r in t] == [6, 10]


def test_stops_when_nobody_adds_reach() -> None:
    g = overlapping_hubs()
    sel = greedy_advocates(g, 10, threshold=0.5)
    assert sel.k == 2 and sel.total_reach == 10  # h2 adds nobody after h1


def _naive_greedy(sets: list[set[int]], k: int) -> list[int]:
    covered: set[int] = set()
    chosen: list[int] = []
    for _ in range(k):
        best = max(range(len(sets)), key=lambda v: (len(sets[v] - covered), -v))
        if not sets[best] - covered:
            break
        chosen.append(best)
        covered |= sets[best]
    return chosen


def test_lazy_greedy_equals_greedy_and_keeps_the_guarantee() -> None:
    rng = np.random.default_rng(7)
    for trial in range(5):
        n = 14
        src = rng.integers(0, n, 40)
        dst = rng.integers(0, n, 40)
        g = TieGraph.from_arrays(src, dst, rng.uniform(0, 1, 40), n=n)
        indptr, indices = reach_sets(g, 0.3)
        sets = [set(indices[indptr[v] : indptr[v + 1]].tolist()) for v in range(n)]
        for k in (1, 2, 3):
            sel = greedy_advocates(g, k, 0.3)
            assert sel.total_reach == len(set().union(*(sets[v] for v in _naive_greedy(sets, k))))
            assert sel.total_reach == total_reach(g, sel.vertices, 0.3)
            best = max(
                len(set().union(*(sets[v] for v in combo)))
                for combo in itertools.combinations(range(n), k)
            )
            assert sel.total_reach >= (1 - 1 / np.e) * best, (trial, k)


def test_two_hop_networks() -> None:
    g = graph([("a", "b", 0.9), ("b", "c", 0.9), ("x", "y", 0.9)])
    sel = greedy_advocates(g, 1, 0.5, hops=2)
    assert sel.names == ["c"] and sel.total_reach == 2


def test_feedback_loop_degrades_without_labels_and_lists_with(tmp_path: Path) -> None:
    from socialcrm.influence.advocates import advocate_feedback

    ws = workspace_with_ties(tmp_path / "w.duckdb", tie_table([("u", "v", 0.9)]))
    assert advocate_feedback(ws.con, ["v"]) is None  # no conversation stage yet
    csv = tmp_path / "forum.csv"
    csv.write_text(
        "interaction_id,ts,channel,actor,targets,in_reply_to,kind,text\n"
        "1,2024-01-01T10:00:00+00:00,forum,v,,,post,the new lid leaks; make it screw on\n"
        "2,2024-01-01T11:00:00+00:00,forum,u,v,1,comment,same here\n"
        "3,2024-01-02T10:00:00+00:00,forum,v,,,post,where is my order?\n"
    )
    ws.ingest("canonical", [csv])
    ws.con.execute(
        "CREATE TABLE message_labels AS SELECT * FROM (VALUES"
        " ('forum:1', 'feedback'), ('forum:2', 'praise'), ('forum:3', 'question'))"
        " t(interaction_id, intent)"
    )
    fb = advocate_feedback(ws.con, ["v", "u"]).to_pylist()
    assert [(r["entity_id"], r["conversation_id"], r["started"]) for r in fb] == [
        ("v", "forum:1", True)
    ]
    assert "lid leaks" in fb[0]["text"] and fb[0]["messages"] == 1
    # feedback given in someone else's thread is listed too, marked as not started
    ws.con.execute("UPDATE message_labels SET intent = 'feedback' WHERE interaction_id = 'forum:2'")
    fb = advocate_feedback(ws.con, ["u"]).to_pylist()
    assert [(r["entity_id"], r["conversation_id"], r["started"]) for r in fb] == [
        ("u", "forum:1", False)
    ]
    ws.close()
