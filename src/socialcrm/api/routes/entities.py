"""/api/v1/entities: search, one entity, its 360° view and timeline, merge and unmerge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiJSONResponse, iso, naive_utc
from socialcrm.api.queries import entities as q
from socialcrm.api.queries.profile import profile
from socialcrm.api.routes.deps import (
    Limit,
    Offset,
    Param,
    Svc,
    Text,
    authorize,
    lean,
    need,
    perm,
    read_params,
)

router = APIRouter(prefix="/api/v1", tags=["entities"])


class MergeRequest(BaseModel):
    keep: str = Field(min_length=1, max_length=1000, description="entity or handle to keep")
    other: str = Field(min_length=1, max_length=1000, description="entity or handle merged in")
    reason: str = Field("", max_length=2000)


class UnmergeRequest(BaseModel):
    merge_id: int = Field(ge=1, le=2**62)


@router.get("/entities", openapi_extra=perm("entities:read"))
def search_entities(
    svc: Svc,
    caller: Annotated[Caller, need("entities:read")],
    q_: Annotated[str | None, Query(alias="q", max_length=1000)] = None,
    role: Text = None,
    kind: Text = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict:
    """Entities whose id, name or any handle contains `q` (exact matches, then most active)."""
    return q.search(svc, q_, role, kind, limit, offset)


@router.post("/entities/merge", openapi_extra=perm("identities:write"))
def merge_entities(
    body: MergeRequest, svc: Svc, caller: Annotated[Caller, need("identities:write")]
) -> dict:
    """Merge entity `other` into `keep`; the answer carries the merge id that undoes it."""
    return q.merge(svc, body.keep, body.other, body.reason)


@router.post("/entities/unmerge", openapi_extra=perm("identities:write"))
def unmerge_entities(
    body: UnmergeRequest, svc: Svc, caller: Annotated[Caller, need("identities:write")]
) -> dict:
    """Undo a merge: its handles return to their entity with their original link rule."""
    return q.unmerge(svc, body.merge_id)


@router.get("/merges", openapi_extra=perm("entities:read"))
def list_merges(
    svc: Svc,
    caller: Annotated[Caller, need("entities:read")],
    entity: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Identity merges, newest first (with whether they were undone)."""
    return q.merges(svc, entity, limit, offset)


PROFILE_PARAMS = (Param("recent", int, 20, ge=1, le=200, description="recent interactions"),)


@router.get(
    "/entities/{entity_id:path}/profile",
    openapi_extra=lean("entities:read", PROFILE_PARAMS, path=("entity_id",)),
)
async def entity_profile(request: Request) -> ApiJSONResponse:
    """The agent's 360° view of a person: identities on every channel, recent interactions
    on all channels, activity, sentiment trajectory, strongest ties, influence and tier,
    open conversations, alerts.

    Served from the in-memory read model on the event loop (no database round trip); a lean
    route (see ``deps.Param``): agents open it before every answer."""
    svc, caller = authorize(request, "entities:read")
    recent = read_params(request, PROFILE_PARAMS)["recent"]
    return ApiJSONResponse(profile(svc, caller, request.path_params["entity_id"], recent))


@router.get("/entities/{entity_id:path}/interactions", openapi_extra=perm("entities:read"))
def entity_interactions(
    entity_id: str,
    svc: Svc,
    caller: Annotated[Caller, need("entities:read")],
    channel: Text = None,
    kind: Text = None,
    direction: Literal["sent", "received"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Everything the entity sent or received, on every channel, newest first."""
    return q.timeline(
        svc,
        caller,
        entity_id,
        channel=channel,
        kind=kind,
        direction=direction,
        since=iso(naive_utc(since)),
        until=iso(naive_utc(until)),
        limit=limit,
        offset=offset,
    )


@router.get("/entities/{entity_id:path}", openapi_extra=perm("entities:read"))
def get_entity(entity_id: str, svc: Svc, caller: Annotated[Caller, need("entities:read")]) -> dict:
    """One entity (by id or any of its handles) with all its identities."""
    return q.entity(svc, entity_id)
