"""/api/v1/conversations: list with filters, one with messages, labels and reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from socialcrm.api.auth import Caller
from socialcrm.api.common import naive_utc
from socialcrm.api.queries import conversations as q
from socialcrm.api.routes.deps import Limit, Offset, Svc, Text, need, perm

router = APIRouter(prefix="/api/v1", tags=["conversations"])


@router.get("/conversations", openapi_extra=perm("conversations:read"))
def list_conversations(
    svc: Svc,
    caller: Annotated[Caller, need("conversations:read")],
    channel: Text = None,
    entity: Text = None,
    since: datetime | None = None,
    until: datetime | None = None,
    awaiting_reply: bool | None = None,
    pattern: Text = None,
    customer_degree: Text = None,
    business_degree: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Conversations, most recently active first, with their labels (typology, sociability
    degrees, sentiment, reasons) once the conversation stage ran. Filters on labels need
    that stage."""
    return q.list_conversations(
        svc,
        caller,
        channel=channel,
        entity=entity,
        since=naive_utc(since),
        until=naive_utc(until),
        awaiting_reply=awaiting_reply,
        labels={
            "pattern": pattern,
            "customer_degree": customer_degree,
            "business_degree": business_degree,
        },
        limit=limit,
        offset=offset,
    )


@router.get("/conversations/{conversation_id:path}", openapi_extra=perm("conversations:read"))
def get_conversation(
    conversation_id: str,
    svc: Svc,
    caller: Annotated[Caller, need("conversations:read")],
    limit: Annotated[int, Query(ge=1, le=q.MAX_MESSAGES)] = q.MAX_MESSAGES,
) -> dict:
    """A conversation: summary, labels and reasons, messages with their labels, queue state."""
    return q.get_conversation(svc, caller, conversation_id, limit)
