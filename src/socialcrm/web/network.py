"""The network view: node positions from igraph's force-directed layout, drawn as SVG.

Positions are computed on the server with the Fruchterman–Reingold layout (Fruchterman &
Reingold 1991, "Graph drawing by force-directed placement"), edges pulling in proportion
to tie strength, started from a circle so the same network is always drawn the same way.
Edges are drawn with width and opacity by strength and a hover title; the page's small
script adds zoom and pan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any
from urllib.parse import quote

import igraph as ig

from socialcrm.web.svg import color, fmt


def layout_positions(
    nodes: Sequence[dict[str, Any]], edges: Sequence[dict[str, Any]]
) -> dict[str, tuple[float, float]]:
    """Positions in [0, 1]² for each node id (deterministic)."""
    ids = [n["id"] for n in nodes]
    if not ids:
        return {}
    if len(ids) == 1:
        return {ids[0]: (0.5, 0.5)}
    index = {node_id: i for i, node_id in enumerate(ids)}
    pairs: dict[tuple[int, int], float] = {}
    for e in edges:
        a, b = index.get(e["source"]), index.get(e["target"])
        if a is None or b is None or a == b:
            continue
        key = (min(a, b), max(a, b))
        pairs[key] = max(pairs.get(key, 0.0), float(e.get("weight") or 0.0))
    g = ig.Graph(n=len(ids), edges=list(pairs), directed=False)
    weights = [0.05 + w for w in pairs.values()]
    seed = [
        [math.cos(2 * math.pi * i / len(ids)), math.sin(2 * math.pi * i / len(ids))]
        for i in range(len(ids))
    ]
    layout = g.layout_fruchterman_reingold(
        weights=weights if weights else None, niter=500, seed=seed
    )
    xs = [p[0] for p in layout.coords]
    ys = [p[1] for p in layout.coords]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx, sy = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    return {node_id: ((xs[i] - x0) / sx, (ys[i] - y0) / sy) for i, node_id in enumerate(ids)}


def network_svg(
    graph: dict[str, Any],
    positions: dict[str, tuple[float, float]],
    *,
    width: int = 900,
    height: int = 600,
    link: str = "/network?entity=",
) -> str:
    """The graph as SVG: edges by strength (width, opacity), nodes sized by degree."""
    pad = 40

    def xy(node_id: str) -> tuple[float, float]:
        x, y = positions.get(node_id, (0.5, 0.5))
        return pad + x * (width - 2 * pad), pad + y * (height - 2 * pad)

    degree: dict[str, float] = {}
    for e in graph["edges"]:
        degree[e["source"]] = degree.get(e["source"], 0) + e["weight"]
        degree[e["target"]] = degree.get(e["target"], 0) + e["weight"]
    top_degree = max(degree.values(), default=1.0) or 1.0
    communities: dict[Any, int] = {}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%"'
        f' class="network" role="img" aria-label="network of {len(graph["nodes"])} people">',
        '<g class="viewport">',
    ]
    names = {n["id"]: n.get("name") or n["id"] for n in graph["nodes"]}
    for e in sorted(graph["edges"], key=lambda e: e["weight"]):
        (x1, y1), (x2, y2) = xy(e["source"]), xy(e["target"])
        w = max(0.0, min(1.0, float(e["weight"])))
        extra = f", {e['count']} interactions" if "count" in e else ""
        out.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="edge"'
            f' stroke-width="{0.5 + 5 * w:.2f}" stroke-opacity="{0.15 + 0.75 * w:.2f}">'
            f"<title>{escape(names.get(e['source'], e['source']))} → "
            f"{escape(names.get(e['target'], e['target']))}: {fmt(w)}{extra}</title></line>"
        )
    for n in graph["nodes"]:
        x, y = xy(n["id"])
        r = 5 + 9 * math.sqrt(degree.get(n["id"], 0) / top_degree)
        comm = n.get("community")
        fill = (
            color(communities.setdefault(comm, len(communities)))
            if comm is not None
            else ("#f59e0b" if n.get("center") else color(0))
        )
        details = [f"role {n['role']}"] if n.get("role") else []
        if n.get("influence") is not None:
            details.append(f"influence {fmt(n['influence'])}")
        if n.get("tier"):
            details.append(f"tier {n['tier']}")
        title = escape(f"{names[n['id']]} ({', '.join(details)})" if details else names[n["id"]])
        cls = "node center" if n.get("center") else "node"
        out.append(
            f'<a href="{link}{quote(n["id"], safe="")}">'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" class="{cls}"'
            f' data-id="{escape(n["id"])}"><title>{title}</title></circle></a>'
        )
        if n.get("center") or r > 9:
            out.append(
                f'<text x="{x:.1f}" y="{y - r - 3:.1f}" text-anchor="middle" class="label">'
                f"{escape(str(names[n['id']])[:28])}</text>"
            )
    out.append("</g></svg>")
    return "".join(out)
