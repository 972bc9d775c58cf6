"""/api/v1/queue: the routing queue; claim, reply, resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiJSONResponse
from socialcrm.api.queries import routing as q
from socialcrm.api.routes.deps import (
    LIMIT,
    OFFSET,
    Param,
    Svc,
    authorize,
    lean,
    need,
    perm,
    read_params,
)

router = APIRouter(prefix="/api/v1", tags=["routing"])


class ReplyRequest(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)


class ResolveRequest(BaseModel):
    note: str = Field("", max_length=10_000)


QUEUE_PARAMS = (
    Param("status", str, max_length=1000),
    Param("assignee", str, max_length=1000),
    Param("include_resolved", bool, False),
    Param("unassigned", bool, False),
    LIMIT,
    OFFSET,
)


@router.get("/queue", openapi_extra=lean("queue:read", QUEUE_PARAMS))
async def list_queue(request: Request) -> ApiJSONResponse:
    """Conversations waiting, by priority, with reasons, SLA and assignee.

    A lean route (see ``deps.Param``): agents poll it."""
    svc, caller = authorize(request, "queue:read")
    return ApiJSONResponse(q.queue_json(svc, caller, **read_params(request, QUEUE_PARAMS)))


@router.post("/queue/{conversation_id:path}/claim", openapi_extra=perm("queue:act"))
def claim(conversation_id: str, svc: Svc, caller: Annotated[Caller, need("queue:act")]) -> dict:
    """Claim a conversation (atomic: of two agents claiming at once, one wins; the other
    gets 409)."""
    return q.act(svc, caller, "claim", conversation_id)


@router.post("/queue/{conversation_id:path}/reply", openapi_extra=perm("queue:act"))
def reply(
    conversation_id: str, body: ReplyRequest, svc: Svc, caller: Annotated[Caller, need("queue:act")]
) -> dict:
    """Log the agent's reply to a conversation."""
    return q.act(svc, caller, "reply", conversation_id, text=body.text)


@router.post("/queue/{conversation_id:path}/resolve", openapi_extra=perm("queue:act"))
def resolve(
    conversation_id: str,
    body: ResolveRequest,
    svc: Svc,
    caller: Annotated[Caller, need("queue:act")],
) -> dict:
    """Resolve a conversation."""
    return q.act(svc, caller, "resolve", conversation_id, note=body.note)
