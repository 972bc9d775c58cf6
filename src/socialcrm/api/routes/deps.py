"""What every route shares: the service, the caller (token + role check), paging parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiError
from socialcrm.api.permissions import MATRIX, allowed
from socialcrm.api.service import MAX_LIMIT, Service

bearer = HTTPBearer(auto_error=False, description="An API token: `socialcrm tokens create`")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size (at most {MAX_LIMIT})")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="rows to skip")]
Text = Annotated[str | None, Query(max_length=1000)]


def service_of(request: Request) -> Service:
    return request.app.state.service


async def service(request: Request) -> Service:
    # async: a sync dependency costs every request a hop through the thread pool.
    return service_of(request)


def authenticate(svc: Service, token: str | None) -> Caller:
    """The caller a token belongs to, or ``401`` with what to do."""
    if not token:
        raise ApiError(
            401,
            "no API token: send `Authorization: Bearer <token>`; an admin creates one with"
            " `socialcrm tokens create --role agent --name NAME`",
        )
    caller = svc.verifier.verify(svc.cursor(), token)
    if caller is None:
        raise ApiError(401, "API token not recognised or revoked; ask an admin for a new one")
    return caller


def check(caller: Caller, action: str) -> Caller:
    if not allowed(caller.role, action):
        roles, covers = MATRIX[action]
        raise ApiError(
            403,
            f"role {caller.role!r} may not {covers} (allowed: {', '.join(sorted(roles))})",
        )
    return caller


def need(action: str) -> Any:
    """A dependency: the authenticated caller, allowed to perform ``action``."""
    if action not in MATRIX:
        raise ValueError(f"unknown action {action!r}; add it to api/permissions.py")

    # async: a token check is a dictionary hit, so it runs on the event loop instead of
    # costing every request a hop through the thread pool.
    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        svc = service_of(request)
        return check(authenticate(svc, credentials.credentials if credentials else None), action)

    return Depends(dependency)


def perm(action: str) -> dict[str, Any]:
    """OpenAPI extension naming the route's action (read by tests and docs)."""
    if action not in MATRIX:
        raise ValueError(f"unknown action {action!r}")
    return {"x-permission": action}


Svc = Annotated[Service, Depends(service)]
CallerOf = Callable[[str], Any]
