"""/api/v1/tokens: admins create, list and revoke tokens while the server holds the workspace."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from socialcrm.api.auth import Caller, TokenError, create_token, list_tokens, revoke_token
from socialcrm.api.common import ApiError, page
from socialcrm.api.routes.deps import Limit, Offset, Svc, need, perm

router = APIRouter(prefix="/api/v1", tags=["tokens"])
TokenId = Annotated[int, Path(ge=1, le=2**62)]


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "analyst", "agent"]
    entity_id: str | None = Field(None, max_length=1000, description="staff entity of an agent")


@router.get("/tokens", openapi_extra=perm("tokens:admin"))
def tokens(
    svc: Svc,
    caller: Annotated[Caller, need("tokens:admin")],
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict:
    """Every token (never its secret or hash)."""
    rows = list_tokens(svc.cursor())
    return page(rows[offset : offset + limit + 1], limit, offset)


@router.post("/tokens", status_code=201, openapi_extra=perm("tokens:admin"))
def new_token(
    body: TokenRequest, svc: Svc, caller: Annotated[Caller, need("tokens:admin")]
) -> dict:
    """Create a token; the answer is the only time it is shown."""
    try:
        token_id, token = svc.write(
            lambda ws: create_token(ws.con, body.name, body.role, body.entity_id)
        )
    except TokenError as exc:
        raise ApiError(400, str(exc)) from None
    return {"token_id": token_id, "name": body.name, "role": body.role, "token": token}


@router.delete("/tokens/{token_id}", openapi_extra=perm("tokens:admin"))
def delete_token(
    token_id: TokenId, svc: Svc, caller: Annotated[Caller, need("tokens:admin")]
) -> dict:
    """Revoke a token: it stops working at once."""
    try:
        svc.write(lambda ws: revoke_token(ws.con, token_id))
    except TokenError as exc:
        raise ApiError(404 if "no token" in str(exc) else 409, str(exc)) from None
    svc.verifier.forget(token_id)
    return {"token_id": token_id, "revoked": True}
