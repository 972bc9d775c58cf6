"""/api/v1/influencers, communities, advocates, tiers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from socialcrm.api.auth import Caller
from socialcrm.api.queries import influence as q
from socialcrm.api.routes.deps import Limit, Offset, Svc, Text, need, perm

router = APIRouter(prefix="/api/v1", tags=["influence"])


@router.get("/influencers", openapi_extra=perm("influence:read"))
def influencers(
    svc: Svc,
    caller: Annotated[Caller, need("influence:read")],
    tier: Text = None,
    community: Text = None,
    role: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """People by tie-weighted influence, with reach, tier and community."""
    return q.influencers(svc, tier=tier, community=community, role=role, limit=limit, offset=offset)


@router.get("/communities", openapi_extra=perm("influence:read"))
def communities(
    svc: Svc,
    caller: Annotated[Caller, need("influence:read")],
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Communities with size and natural leaders."""
    return q.communities(svc, limit, offset)


@router.get("/communities/{community_id:path}", openapi_extra=perm("influence:read"))
def community(
    community_id: str,
    svc: Svc,
    caller: Annotated[Caller, need("influence:read")],
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Members of one community, most influential first."""
    return q.community(svc, community_id, limit, offset)


@router.get("/advocates", openapi_extra=perm("influence:read"))
def advocates(
    svc: Svc,
    caller: Annotated[Caller, need("influence:read")],
    k: Annotated[int, Query(ge=1, le=10_000)] = 10,
) -> dict:
    """Advocates that maximise distinct reach (seed 004)."""
    return q.advocates(svc, k)


@router.get("/tiers", openapi_extra=perm("influence:read"))
def tiers(svc: Svc, caller: Annotated[Caller, need("influence:read")]) -> dict:
    """Participation tiers beside Nielsen's 90-9-1."""
    return q.tiers(svc)
