"""/api/v1/ties and /api/v1/network: ego networks, one tie explained, layers, drawable graphs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from socialcrm.api.auth import Caller
from socialcrm.api.queries import network as q
from socialcrm.api.routes.deps import Limit, Offset, Svc, Text, need, perm

router = APIRouter(prefix="/api/v1", tags=["ties"])
Strength = Annotated[float | None, Query(ge=0.0, le=1.0)]
Name = Annotated[str, Query(min_length=1, max_length=1000)]


@router.get("/ties", openapi_extra=perm("ties:read"))
def list_ties(
    svc: Svc,
    caller: Annotated[Caller, need("ties:read")],
    entity: Text = None,
    min_strength: Strength = None,
    layer: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """An entity's ego network (strongest first, with components and layer), or all ties."""
    if entity:
        return q.ego_ties(
            svc, caller, entity, min_strength=min_strength, layer=layer, limit=limit, offset=offset
        )
    return q.all_ties(svc, caller, min_strength=min_strength, limit=limit, offset=offset)


@router.get("/ties/pair", openapi_extra=perm("ties:read"))
def tie_pair(a: Name, b: Name, svc: Svc, caller: Annotated[Caller, need("ties:read")]) -> dict:
    """One tie explained both ways (a→b and b→a differ), with components and rank in each
    ego's network."""
    return q.pair(svc, caller, a, b)


@router.get("/ties/layers", openapi_extra=perm("ties:read"))
def tie_layers(svc: Svc, caller: Annotated[Caller, need("ties:read")]) -> dict:
    """Dunbar layers across the population and the number-of-ties vs mean-strength trade-off."""
    return q.layers(svc)


@router.get("/network", openapi_extra=perm("ties:read"))
def network(
    svc: Svc,
    caller: Annotated[Caller, need("ties:read")],
    entity: Text = None,
    community: Text = None,
    max_nodes: Annotated[int, Query(ge=2, le=200)] = 40,
    layout: bool = True,
) -> dict:
    """Nodes and weighted edges of an ego network or a community, with layout positions
    (igraph, computed on the server) unless `layout=false`."""
    g = q.graph(svc, entity=entity, community=community, max_nodes=max_nodes)
    if layout:
        from socialcrm.web.network import layout_positions

        positions = layout_positions(g["nodes"], g["edges"])
        for node in g["nodes"]:
            node["x"], node["y"] = positions[node["id"]]
    return g
