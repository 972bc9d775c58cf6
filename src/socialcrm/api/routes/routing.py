"""/api/v1/queue: the routing queue; claim, reply, resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiJSONResponse
from socialcrm.api.queries import routing as q
from socialcrm.api.routes.deps import Limit, Offset, Svc, Text, need, perm

router = APIRouter(prefix="/api/v1", tags=["routing"])


class ReplyRequest(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)


class ResolveRequest(BaseModel):
    note: str = Field("", max_length=10_000)


@router.get("/queue", openapi_extra=perm("queue:read"))
async def list_queue(
    svc: Svc,
    caller: Annotated[Caller, need("queue:read")],
    status: Text = None,
    assignee: Text = None,
    include_resolved: bool = False,
    unassigned: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ApiJSONResponse:
    """Conversations waiting, by priority, with reasons, SLA and assignee."""
    return ApiJSONResponse(
        q.queue(
            svc,
            caller,
            status=status,
            assignee=assignee,
            limit=limit,
            offset=offset,
            include_resolved=include_resolved,
            unassigned=unassigned,
        )
    )


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
