"""Ties: an ego network, one pair explained, Dunbar layers, and the graph for the network view.

Tie strength, relative strength and layers come from the relationships stage (issue 3;
seed 000: the tie is directed and relative, and each ego's ties fall into Dunbar layers
of about 5, 15, 50, 150). Before that stage has run, the network view can still draw
who talks to whom, weighted by interaction counts, and says so.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiError, page
from socialcrm.api.queries.entities import resolve_entity
from socialcrm.api.readmodel import ReadModel
from socialcrm.api.service import Service
from socialcrm.api.stages import missing_note, present_note
from socialcrm.relationships.stage import TIES_FIRST

LAYER_COLUMNS = ("layer", "dunbar_layer")
# What a tie says without its evidence: the relationships stage's leading columns.
TIE_CONTRACT = TIES_FIRST


def visible_tie(row: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """A tie as ``caller`` may see it.

    A tie's evidence columns (first and last contact, durations, latencies, message
    lengths, channels, private share...) describe its interactions; when any of them was
    private (``private_share > 0``) and the caller's role may not see private
    interactions, only the strength, its components, the relative ranks and the layer are
    returned, with ``evidence_withheld``. Ties without that column are treated as private.
    """
    if caller.sees_private:
        return row
    share = row.get("private_share")
    if share is not None and share == 0:
        return row
    out = {k: row[k] for k in TIE_CONTRACT if k in row}
    out.update(
        {k: row[k] for k in ("target_name", "target_role", "rank_in_source_ties") if k in row}
    )
    out["evidence_withheld"] = "private interactions: not visible to this role"
    return out


def _layer_column(m: ReadModel) -> str | None:
    cols = m.columns.get("ties", [])
    return next((c for c in LAYER_COLUMNS if c in cols), None)


def ego_ties(
    svc: Service,
    caller: Caller,
    entity: str,
    *,
    min_strength: float | None,
    layer: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The entity's ties, strongest first, each with its components (as the stage wrote them)."""
    m = svc.model
    eid = resolve_entity(svc, entity)
    if m.ties is None:
        return page([], limit, offset, entity_id=eid, stage=missing_note("ties", m.columns))
    t = m.ties.get(eid)
    if min_strength is not None:
        t = t.filter(pc.fill_null(pc.greater_equal(t.column("strength"), min_strength), False))
    lc = _layer_column(m)
    if layer is not None and lc is not None:
        t = t.filter(pc.fill_null(pc.equal(pc.cast(t.column(lc), pa.string()), layer), False))
    rows = t.slice(offset, limit + 1).to_pylist()
    for r in rows:
        other = m.entities.first(r["target_entity"]) or {}
        r["target_name"] = other.get("display_name")
        r["target_role"] = other.get("role")
    rows = [visible_tie(r, caller) for r in rows]
    return page(
        rows, limit, offset, entity_id=eid, ties_total=t.num_rows, stage=present_note("ties")
    )


def all_ties(
    svc: Service, caller: Caller, *, min_strength: float | None, limit: int, offset: int
) -> dict[str, Any]:
    m = svc.model
    if m.ties is None:
        return page([], limit, offset, stage=missing_note("ties", m.columns))
    where, params = "TRUE", []
    if min_strength is not None:
        where, params = "strength >= ?", [min_strength]
    rows = svc.rows(
        f"SELECT {svc.select_list('ties')} FROM ties WHERE {where}"
        " ORDER BY strength DESC, source_entity, target_entity LIMIT ? OFFSET ?",
        [*params, limit + 1, offset],
    )
    rows = [visible_tie(r, caller) for r in rows]
    return page(rows, limit, offset, stage=present_note("ties"))


def pair(svc: Service, caller: Caller, a: str, b: str) -> dict[str, Any]:
    """One tie explained, both ways: a→b and b→a are different ties (seed 000)."""
    m = svc.model
    ea, eb = resolve_entity(svc, a), resolve_entity(svc, b)
    if m.ties is None:
        raise ApiError(
            404,
            "tie strength has not been computed in this workspace yet",
            stage=missing_note("ties", m.columns),
        )

    def one(src: str, dst: str) -> dict[str, Any] | None:
        t = m.ties.get(src)
        hit = t.filter(pc.equal(t.column("target_entity"), dst))
        if hit.num_rows == 0:
            return None
        row = hit.to_pylist()[0]
        row["rank_in_source_ties"] = _rank(t, dst)
        row["source_ties"] = t.num_rows
        return visible_tie(row, caller)

    ab, ba = one(ea, eb), one(eb, ea)
    if ab is None and ba is None:
        raise ApiError(404, f"no tie between {ea!r} and {eb!r} (they have not interacted)")
    contacts = m.contacts.get(ea)
    c = contacts.filter(pc.equal(contacts.column("other"), eb)).to_pylist()
    return {
        "a": ea,
        "b": eb,
        "a_to_b": ab,
        "b_to_a": ba,
        "interactions": c[0] if c else None,
        "reading": _reading(ea, eb, ab, ba),
    }


def _rank(t: pa.Table, target: str) -> int | None:
    targets = t.column("target_entity").to_pylist()
    return targets.index(target) + 1 if target in targets else None


def _reading(a: str, b: str, ab: dict | None, ba: dict | None) -> str:
    """One sentence a person can read: the tie is directed and relative."""
    parts = []
    for src, dst, tie in ((a, b, ab), (b, a, ba)):
        if tie is None:
            parts.append(f"{src} has no tie to {dst}")
            continue
        parts.append(
            f"{dst} is number {tie['rank_in_source_ties']} of {tie['source_ties']} in {src}'s"
            f" ties (strength {tie['strength']:.2f})"
        )
    return "; ".join(parts)


def layers(svc: Service) -> dict[str, Any]:
    """Dunbar layers across the population, and the number-vs-strength trade-off per ego.

    Uses the stage's layer column when it wrote one; otherwise an ego's ties are put in
    layers by rank of strength (1–5, 6–15, 16–50, 51–150, beyond), as DESIGN.md defines them.
    """
    m = svc.model
    if m.ties is None:
        return {"layers": [], "tradeoff": [], "stage": missing_note("ties", m.columns)}

    def compute() -> dict[str, Any]:
        lc = _layer_column(m)
        layer_expr = (
            f'CAST("{lc}" AS VARCHAR)'
            if lc
            else "CASE WHEN rk <= 5 THEN '5' WHEN rk <= 15 THEN '15' WHEN rk <= 50 THEN '50'"
            " WHEN rk <= 150 THEN '150' ELSE '150+' END"
        )
        base = f"""SELECT *, {layer_expr} AS _layer FROM (
                SELECT *, row_number() OVER (PARTITION BY source_entity
                                             ORDER BY strength DESC, target_entity) AS rk
                FROM ties WHERE strength IS NOT NULL)"""
        layer_rows = svc.rows(
            f"""SELECT _layer AS layer, count(*) AS ties, avg(strength) AS mean_strength,
                       count(DISTINCT source_entity) AS egos
                FROM ({base}) GROUP BY 1 ORDER BY min(rk)"""
        )
        tradeoff = svc.rows(
            """WITH ego AS (SELECT source_entity, count(*) AS n, avg(strength) AS mean_strength
                            FROM ties WHERE strength IS NOT NULL GROUP BY 1)
               SELECT CASE WHEN n <= 5 THEN '1-5' WHEN n <= 15 THEN '6-15'
                           WHEN n <= 50 THEN '16-50' WHEN n <= 150 THEN '51-150'
                           ELSE '150+' END AS ties_per_ego,
                      min(n) AS min_ties, count(*) AS egos, avg(mean_strength) AS mean_strength
               FROM ego GROUP BY 1 ORDER BY min(n)"""
        )
        corr = svc.scalar(
            """SELECT corr(ln(n), mean_strength) FROM (
                   SELECT count(*) AS n, avg(strength) AS mean_strength FROM ties
                   WHERE strength IS NOT NULL GROUP BY source_entity)"""
        )
        return {
            "layers": layer_rows,
            "layer_source": lc or "rank of strength",
            "tradeoff": tradeoff,
            "corr_log_ties_vs_mean_strength": corr
            if corr is not None and math.isfinite(corr)
            else None,
            "stage": present_note("ties"),
        }

    return m.remember(("layers",), compute)


def graph(
    svc: Service,
    *,
    entity: str | None = None,
    community: str | None = None,
    max_nodes: int = 40,
) -> dict[str, Any]:
    """Nodes and weighted edges of an ego network or a community, for drawing.

    Weights are tie strength when the relationships stage ran, interaction counts
    (scaled to [0, 1]) before; ``weight_source`` says which.
    """
    m = svc.model
    if (entity is None) == (community is None):
        raise ApiError(400, "give exactly one of entity or community")
    if community is not None:
        members = _community_members(svc, community, max_nodes)
        center = None
    else:
        center = resolve_entity(svc, entity or "")
        members = [center, *_alters(m, center, max_nodes - 1)]
    node_set = set(members)
    edges: list[dict[str, Any]] = []
    if m.ties is not None:
        source = "ties.strength"
        for src in members:
            t = m.ties.get(src)
            for r in t.select(["target_entity", "strength"]).to_pylist():
                if r["target_entity"] in node_set and r["strength"] is not None:
                    edges.append(
                        {"source": src, "target": r["target_entity"], "weight": r["strength"]}
                    )
    else:
        source = "interaction counts (tie strength not computed yet)"
        for src in members:
            t = m.contacts.get(src)
            for r in t.select(["other", "sent"]).to_pylist():
                if r["other"] in node_set and r["sent"] > 0:
                    edges.append({"source": src, "target": r["other"], "weight": float(r["sent"])})
        top = max((e["weight"] for e in edges), default=1.0)
        for e in edges:
            e["count"] = int(e["weight"])
            e["weight"] = math.log1p(e["weight"]) / math.log1p(top) if top > 0 else 0.0
    nodes = []
    for eid in members:
        row = m.entities.first(eid) or {}
        metrics = m.metrics.first(eid) if m.metrics is not None else None
        nodes.append(
            {
                "id": eid,
                "name": row.get("display_name") or eid,
                "role": row.get("role"),
                "center": eid == center,
                "influence": (metrics or {}).get("influence"),
                "tier": (metrics or {}).get("tier"),
                "community": (metrics or {}).get("community"),
            }
        )
    return {
        "center": center,
        "community": community,
        "nodes": nodes,
        "edges": edges,
        "weight_source": source,
        "stage": present_note("ties") if m.ties is not None else missing_note("ties", m.columns),
    }


def _alters(m: ReadModel, center: str, n: int) -> list[str]:
    if m.ties is not None:
        return m.ties.get(center).column("target_entity").to_pylist()[:n]
    return m.contacts.get(center).column("other").to_pylist()[:n]


def _community_members(svc: Service, community: str, n: int) -> list[str]:
    m = svc.model
    if not m.usable("entity_metrics") or "community" not in m.columns["entity_metrics"]:
        raise ApiError(
            404,
            "communities have not been computed in this workspace yet",
            stage=missing_note("entity_metrics", m.columns),
        )
    order = "influence DESC NULLS LAST," if "influence" in m.columns["entity_metrics"] else ""
    rows = svc.rows(
        f"SELECT entity_id FROM entity_metrics WHERE CAST(community AS VARCHAR) = ?"
        f" ORDER BY {order} entity_id LIMIT ?",
        [community, n],
    )
    if not rows:
        raise ApiError(404, f"no community {community!r}")
    return [r["entity_id"] for r in rows]
