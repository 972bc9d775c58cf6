"""Benchmark the influence stage's graph work on a synthetic power-law tie graph.

Usage::

    .venv/bin/python bench/influence.py                       # 1M people, 5M ties
    .venv/bin/python bench/influence.py --people 100000 --ties 500000 --json
    .venv/bin/python bench/influence.py --nx-ties 200000      # size of the NetworkX subset

What runs, as ``Workspace.analyze_influence`` runs it (:func:`graph_metrics`): the ``ties``
table is read from a DuckDB workspace file, factorised into a :class:`TieGraph`, then
tie-weighted influence (PageRank on strengths + strength in-degree), degrees, k-core,
1- and 2-hop reach over strong ties, Leiden communities and within-community leaders.
The stage runs in a fresh child process so its peak memory (``ru_maxrss``) is its own,
not the generator's.

The graph: people get power-law activity weights (Pareto, shape 1.5, so degrees are
heavy-tailed: a few hubs with thousands of ties) and belong to communities of power-law
sizes (20 to 5,000); a tie stays inside its source's community with probability 0.8
(LFR-like mixing 0.2; Lancichinetti, Fortunato and Radicchi, PRE 78, 2008); strengths
are Beta(2, 3) inside communities and Beta(1.2, 4) across. Synthetic data: for speed
only, never for quality claims.

Baseline measured in the same run: NetworkX on a random subset of ``--nx-ties`` ties
(PageRank, in-strength, core number, Louvain, 2-hop reach) against the same measures of
this package on the same subset; the ratio is NetworkX time / ours.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DOC = ROOT / "docs" / "benchmarks-influence.md"


def synthetic_ties(people: int, ties: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Power-law degrees, power-law community sizes, mixing 0.2 (see module docs)."""
    rng = np.random.default_rng(seed)
    weight = rng.pareto(1.5, people) + 1.0
    sizes = []
    total = 0
    while total < people:
        s = int(min(5000, 20 * (rng.pareto(1.5) + 1)))
        sizes.append(s)
        total += s
    sizes[-1] -= total - people
    membership = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(membership)
    # people ordered by community, cumulative weight per community for in-community draws
    order = np.argsort(membership, kind="stable")
    cw = np.cumsum(weight[order])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ends = np.cumsum(sizes)
    lo = np.where(starts > 0, cw[np.maximum(starts - 1, 0)], 0.0)
    hi = cw[ends - 1]
    global_cdf = np.cumsum(weight) / weight.sum()
    src_parts, dst_parts, inside_parts = [], [], []
    have = 0
    while have < ties:
        n = int((ties - have) * 1.08) + 1000
        src = np.searchsorted(global_cdf, rng.random(n))
        inside = rng.random(n) < 0.8
        c = membership[src]
        u = lo[c] + rng.random(n) * (hi[c] - lo[c])
        dst_in = order[np.minimum(np.searchsorted(cw, u), people - 1)]
        dst_out = np.searchsorted(global_cdf, rng.random(n))
        dst = np.where(inside, dst_in, dst_out)
        ok = src != dst
        src_parts.append(src[ok])
        dst_parts.append(dst[ok])
        inside_parts.append(membership[src[ok]] == membership[dst[ok]])
        key = np.concatenate(src_parts).astype(np.int64) * people + np.concatenate(dst_parts)
        _, first = np.unique(key, return_index=True)
        have = len(first)
    src = np.concatenate(src_parts)
    dst = np.concatenate(dst_parts)
    inside = np.concatenate(inside_parts)
    key = src.astype(np.int64) * people + dst
    _, first = np.unique(key, return_index=True)
    keep = np.sort(rng.permutation(first)[:ties])
    src, dst, inside = src[keep], dst[keep], inside[keep]
    strength = np.where(inside, rng.beta(2.0, 3.0, len(src)), rng.beta(1.2, 4.0, len(src)))
    return {"src": src, "dst": dst, "strength": strength, "membership": membership}


def write_workspace(path: Path, t: dict[str, np.ndarray]) -> None:
    """A DuckDB workspace file whose ``ties`` table holds the synthetic ties."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(str(path))
    arrow = pa.table(
        {"s": t["src"].astype(np.int64), "d": t["dst"].astype(np.int64), "w": t["strength"]}
    )
    con.register("_t", arrow)
    con.execute(
        """CREATE TABLE ties AS SELECT 'bench:' || s AS source_entity,
        'bench:' || d AS target_entity, w AS strength FROM _t"""
    )
    con.close()


def run_stage(db: Path, threshold: float) -> dict[str, float]:
    """The influence stage's graph work on a workspace file (run in a child process)."""
    import duckdb

    from socialcrm.influence.communities import detect_communities
    from socialcrm.influence.influence import influence_table
    from socialcrm.influence.reach import reach
    from socialcrm.influence.stage import read_ties
    from socialcrm.influence.tiegraph import TieGraph

    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0 = time.perf_counter()
    c0 = [time.process_time()]

    def lap(name: str, start: float) -> float:
        now, c = time.perf_counter(), time.process_time()
        times[name] = round(now - start, 2)
        cpu[name] = round(c - c0[0], 2)
        c0[0] = c
        return now

    con = duckdb.connect(str(db), read_only=True)
    ties = read_ties(con)
    t = lap("read_ties", t0)
    g = TieGraph.from_arrow(ties)
    del ties
    t = lap("factorise", t)
    _ = g.directed
    t = lap("build_directed", t)
    table = influence_table(g)
    t = lap("influence_degree_kcore", t)
    _, r2 = reach(g, threshold)
    t = lap("reach_1_2hop", t)
    c = detect_communities(g)
    t = lap("communities_leaders", t)
    times["total"] = round(t - t0, 2)
    times["cpu_seconds"] = cpu
    times["cpu_total"] = round(sum(cpu.values()), 2)
    times["people"] = g.n
    times["ties"] = g.m
    times["communities"] = int(c.membership.max()) + 1
    times["modularity"] = round(c.modularity, 3)
    times["max_reach_2hop"] = int(r2.max())
    times["top_influence"] = float(table["influence"].to_numpy().max())
    times["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return times


def networkx_ratio(t: dict[str, np.ndarray], n_ties: int, threshold: float) -> dict:
    """NetworkX vs this package on the same random subset of ``n_ties`` ties."""
    import networkx as nx

    from socialcrm.influence.communities import leiden
    from socialcrm.influence.influence import kcore, strength_in, tie_pagerank
    from socialcrm.influence.reach import reach
    from socialcrm.influence.tiegraph import TieGraph

    rng = np.random.default_rng(1)
    pick = rng.choice(len(t["src"]), size=min(n_ties, len(t["src"])), replace=False)
    src, dst, w = t["src"][pick], t["dst"][pick], t["strength"][pick]
    ours: dict[str, float] = {}
    start = time.perf_counter()
    g = TieGraph.from_arrays(src, dst, w)
    tie_pagerank(g)
    strength_in(g)
    ours["pagerank_strength"] = time.perf_counter() - start
    s = time.perf_counter()
    kcore(g)
    ours["kcore"] = time.perf_counter() - s
    s = time.perf_counter()
    reach(g, threshold)
    ours["reach"] = time.perf_counter() - s
    s = time.perf_counter()
    leiden(g)
    ours["communities"] = time.perf_counter() - s

    theirs: dict[str, float] = {}
    s = time.perf_counter()
    dg = nx.DiGraph()
    dg.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist(), strict=True))
    nx.pagerank(dg, alpha=0.85, weight="weight")
    dict(dg.in_degree(weight="weight"))
    theirs["pagerank_strength"] = time.perf_counter() - s
    s = time.perf_counter()
    ug = nx.Graph()
    ug.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    nx.core_number(ug)
    theirs["kcore"] = time.perf_counter() - s
    s = time.perf_counter()
    strong = nx.DiGraph()
    keep = w >= threshold
    strong.add_edges_from(zip(dst[keep].tolist(), src[keep].tolist(), strict=True))
    for v in strong:
        len(nx.single_source_shortest_path_length(strong, v, cutoff=2))
    theirs["reach"] = time.perf_counter() - s
    s = time.perf_counter()
    wg = nx.Graph()
    for a, b, x in zip(src.tolist(), dst.tolist(), w.tolist(), strict=True):
        if wg.has_edge(a, b):
            wg[a][b]["weight"] += x
        else:
            wg.add_edge(a, b, weight=x)
    nx.community.louvain_communities(wg, weight="weight", seed=42)
    theirs["communities"] = time.perf_counter() - s
    total_ours, total_theirs = sum(ours.values()), sum(theirs.values())
    return {
        "nx_subset_ties": len(src),
        "nx_seconds": round(total_theirs, 2),
        "ours_seconds_on_subset": round(total_ours, 2),
        "ratio_vs_networkx": round(total_theirs / total_ours, 1),
        "ratio_by_measure": {k: round(theirs[k] / ours[k], 1) for k in ours},
        "nx_by_measure": {k: round(v, 2) for k, v in theirs.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--ties", type=int, default=5_000_000)
    ap.add_argument("--nx-ties", type=int, default=200_000)
    ap.add_argument("--threshold", type=float, default=0.2, help="reach strength threshold")
    ap.add_argument("--json", action="store_true", help="print JSON only (no Markdown)")
    ap.add_argument("--doc", type=Path, default=DOC, help="Markdown report to write")
    ap.add_argument("--stage-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage_only:  # child process: the stage alone, its own peak memory
        print(json.dumps(run_stage(args.stage_only, args.threshold)))
        return
    t0 = time.perf_counter()
    ties = synthetic_ties(args.people, args.ties)
    gen = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="socialcrm-bench-influence-") as d:
        db = Path(d) / "bench.duckdb"
        write_workspace(db, ties)
        child = subprocess.run(
            [sys.executable, __file__, "--stage-only", str(db), "--threshold", str(args.threshold)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        stage = json.loads(child.stdout.strip().splitlines()[-1])
    result = {
        "people": args.people,
        "ties": args.ties,
        "cores": os.cpu_count(),
        "generate_seconds": round(gen, 1),
        "stage_seconds": stage["total"],
        "stage_cpu_seconds": stage["cpu_total"],
        "peak_rss_gib": stage["peak_rss_gib"],
        "stage": stage,
        **networkx_ratio(ties, args.nx_ties, args.threshold),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        args.doc.write_text(report(result))
        print(json.dumps(result, indent=1))
        print(f"wrote {args.doc}")


def report(r: dict) -> str:
    """docs/benchmarks-influence.md from one run's result."""
    st = r["stage"]
    steps = [k for k in st["cpu_seconds"]]
    lines = [
        "# Benchmark: the influence stage's graph work",
        "",
        "Produced by `.venv/bin/python bench/influence.py` (JSON: `--json`; quick run:"
        " `--people 100000 --ties 500000`). The script's docstring describes the synthetic"
        " graph and what runs. Synthetic data measure speed only.",
        "",
        f"Graph: {st['people']:,} people, {st['ties']:,} ties; {r['cores']} cores; load average"
        f" during the run {r['load_average_1min']} (other processes shared the machine, so"
        " wall time is inflated; CPU time is the process's own).",
        "",
        "| step | wall s | CPU s |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {st[k]} | {st['cpu_seconds'][k]} |" for k in steps]
    lines += [
        f"| **whole stage** | **{st['total']}** | **{st['cpu_total']}** |",
        "",
        f"Peak memory of the stage process: **{r['peak_rss_gib']} GiB**. Target: under 60 s"
        " and at most 4 GiB on 2 cores.",
        f" Found {st['communities']:,} communities (modularity {st['modularity']}); largest"
        f" 2-hop reach {st['max_reach_2hop']:,}.",
        "",
        f"## Against NetworkX on a {r['nx_subset_ties']:,}-tie subset (same run)",
        "",
        "| measure | NetworkX s | ratio (NetworkX / ours) |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {k} | {r['nx_by_measure'][k]} | {r['ratio_by_measure'][k]}x |"
        for k in r["ratio_by_measure"]
    ]
    lines += [
        f"| **all** | **{r['nx_seconds']}** | **{r['ratio_vs_networkx']}x** |",
        "",
        "NetworkX: `pagerank` + weighted in-degree, `core_number`, a cutoff-2 BFS per vertex,"
        " `louvain_communities` (NetworkX has no Leiden). Ours: igraph PageRank (PRPACK),"
        " coreness, `neighborhood_size(order=2)`, igraph's Leiden.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
