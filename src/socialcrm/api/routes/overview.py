"""/api/v1/me, health, stages, stats, time series, alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter

from socialcrm import __version__
from socialcrm.api.auth import Caller
from socialcrm.api.queries import overview as q
from socialcrm.api.routes.deps import Limit, Offset, Svc, Text, need, perm

router = APIRouter(prefix="/api/v1", tags=["overview"])
Bucket = Literal["day", "week", "month"]


@router.get("/health")
def health(svc: Svc) -> dict:
    """Liveness (no token needed): the service answers and the workspace is open."""
    return {"status": "ok", "version": __version__, "schema_version": svc.ws.schema_version}


@router.get("/me", openapi_extra=perm("stats:read"))
def me(caller: Annotated[Caller, need("stats:read")]) -> dict:
    """Who the token belongs to, its role, and what that role may do."""
    return caller.as_dict()


@router.get("/stages", openapi_extra=perm("stats:read"))
def stages(svc: Svc, caller: Annotated[Caller, need("stats:read")]) -> dict:
    """Which stage tables exist in this workspace, and the command that fills the others."""
    return {"items": q.stages(svc)}


@router.get("/stats", openapi_extra=perm("stats:read"))
def stats(svc: Svc, caller: Annotated[Caller, need("stats:read")]) -> dict:
    """Counts by channel, source and role (aggregates only)."""
    return q.stats(svc)


@router.get("/stats/activity", openapi_extra=perm("stats:read"))
def activity(
    svc: Svc, caller: Annotated[Caller, need("stats:read")], bucket: Bucket = "week"
) -> dict:
    """Interactions per period and channel."""
    return q.activity_series(svc, bucket)


@router.get("/stats/sentiment", openapi_extra=perm("stats:read"))
def sentiment(
    svc: Svc, caller: Annotated[Caller, need("stats:read")], bucket: Bucket = "week"
) -> dict:
    """Mean message sentiment per period (needs the message-label stage)."""
    return q.sentiment_series(svc, bucket)


@router.get("/alerts", openapi_extra=perm("alerts:read"))
def alerts(
    svc: Svc,
    caller: Annotated[Caller, need("alerts:read")],
    entity: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Weakening-tie and churn alerts with their recommended next action."""
    return q.alerts(svc, entity, limit, offset)
