"""/api/v1/interactions: list with filters, one by id, batch upload; imports and quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, Field

from socialcrm.api.auth import Caller
from socialcrm.api.common import naive_utc
from socialcrm.api.queries import interactions as q
from socialcrm.api.routes.deps import Limit, Offset, Svc, Text, need, perm

router = APIRouter(prefix="/api/v1", tags=["interactions"])


class RowsUpload(BaseModel):
    """Canonical rows as JSON objects (the keys of the canonical format)."""

    rows: list[dict[str, Any]] = Field(
        description="canonical rows: interaction_id, ts, channel, actor required;"
        " source, targets (list), conversation_id, in_reply_to, kind, visibility, text, value"
    )
    source: str = Field("api", min_length=1, max_length=100, description="source name of the rows")


@router.get("/interactions", openapi_extra=perm("interactions:read"))
def list_interactions(
    svc: Svc,
    caller: Annotated[Caller, need("interactions:read")],
    channel: Text = None,
    kind: Text = None,
    source: Text = None,
    visibility: Literal["public", "private"] | None = None,
    actor: Text = None,
    conversation_id: Text = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q_: Annotated[str | None, Query(alias="q", max_length=1000)] = None,
    order: Literal["desc", "asc"] = "desc",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Interactions on every channel, newest first; private ones only for roles allowed them."""
    return q.list_interactions(
        svc,
        caller,
        channel=channel,
        kind=kind,
        source=source,
        visibility=visibility,
        actor=actor,
        conversation_id=conversation_id,
        since=naive_utc(since),
        until=naive_utc(until),
        q=q_,
        order=order,
        limit=limit,
        offset=offset,
    )


@router.post("/interactions", openapi_extra=perm("interactions:write"))
def upload_rows(
    body: RowsUpload, svc: Svc, caller: Annotated[Caller, need("interactions:write")]
) -> dict:
    """Import canonical rows (JSON). Same validation report as `socialcrm ingest canonical`:
    rows stored, already there, rejected with row number (`line`) and reason."""
    return q.upload_rows(svc, body.rows, body.source)


@router.post("/interactions/upload", openapi_extra=perm("interactions:write"))
def upload_file(
    svc: Svc,
    file: Annotated[UploadFile, File(description="canonical .csv, .jsonl or .parquet")],
    caller: Annotated[Caller, need("interactions:write")],
    source: Annotated[str | None, Form(max_length=100)] = None,
) -> dict:
    """Import a canonical CSV / JSON Lines / Parquet file (by extension), exactly like
    `socialcrm ingest canonical FILE`: rows stored, already there, rejected with line and
    reason."""
    return q.upload_file(svc, file.filename or "upload.csv", file.file, source)


@router.get("/interactions/{interaction_id:path}", openapi_extra=perm("interactions:read"))
def get_interaction(
    interaction_id: str, svc: Svc, caller: Annotated[Caller, need("interactions:read")]
) -> dict:
    """One interaction, with its labels once the message-label stage ran."""
    return q.get_interaction(svc, caller, interaction_id)


@router.get("/imports", openapi_extra=perm("interactions:write"))
def list_imports(
    svc: Svc,
    caller: Annotated[Caller, need("interactions:write")],
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Every import with its counts, newest first."""
    return q.imports(svc, limit, offset)


@router.get("/quarantine", openapi_extra=perm("interactions:write"))
def list_quarantine(
    svc: Svc,
    caller: Annotated[Caller, need("interactions:write")],
    import_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Rejected rows with file, line and reason."""
    return q.quarantine(svc, import_id, limit, offset)
