"""What every route shares: the service, the caller (token + role check), paging parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (what :data:`bearer` reads)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


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


# ---- lean routes -------------------------------------------------------------------------
# FastAPI spends ~30 µs per declared parameter and ~30 µs per dependency on every request,
# more than the whole answer of a route served from memory. The routes agents poll (the
# queue, the 360° view) take only the request and read their parameters with these
# helpers: the same checks, the same 422 / 401 / 403 answers, the same OpenAPI entries.


@dataclass(frozen=True)
class Param:
    """One query parameter of a lean route: an int, bool or str, with FastAPI's checks."""

    name: str
    kind: type
    default: Any = None
    ge: int | None = None
    le: int | None = None
    max_length: int | None = None
    description: str = ""

    def parse(self, raw: str) -> Any:
        if self.kind is bool:
            value = _BOOLS.get(raw.lower())
            if value is None:
                raise self._invalid("Input should be a valid boolean")
            return value
        if self.kind is int:
            try:
                number = int(raw)
            except ValueError:
                raise self._invalid("Input should be a valid integer") from None
            if self.ge is not None and number < self.ge:
                raise self._invalid(f"Input should be greater than or equal to {self.ge}")
            if self.le is not None and number > self.le:
                raise self._invalid(f"Input should be less than or equal to {self.le}")
            return number
        if self.max_length is not None and len(raw) > self.max_length:
            raise self._invalid(f"String should have at most {self.max_length} characters")
        return raw

    def _invalid(self, message: str) -> ApiError:
        return ApiError(422, f"invalid request: query.{self.name}: {message}")

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": {bool: "boolean", int: "integer", str: "string"}[self.kind]
        }
        for key, value in (
            ("minimum", self.ge),
            ("maximum", self.le),
            ("maxLength", self.max_length),
            ("default", self.default),
        ):
            if value is not None:
                schema[key] = value
        entry = {"name": self.name, "in": "query", "required": False, "schema": schema}
        return entry | ({"description": self.description} if self.description else {})


_BOOLS = {v: True for v in ("1", "true", "t", "yes", "y", "on")} | {
    v: False for v in ("0", "false", "f", "no", "n", "off")
}
LIMIT = Param("limit", int, 50, ge=1, le=MAX_LIMIT, description=f"page size (at most {MAX_LIMIT})")
OFFSET = Param("offset", int, 0, ge=0, le=1_000_000_000, description="rows to skip")


def read_params(request: Request, params: Sequence[Param]) -> dict[str, Any]:
    """The lean route's query parameters, checked (``422`` naming the first bad one)."""
    query = request.query_params
    return {p.name: p.parse(query[p.name]) if p.name in query else p.default for p in params}


def authorize(request: Request, action: str) -> tuple[Service, Caller]:
    """What :func:`need` gives a routed handler, for a lean route: service and caller."""
    svc = service_of(request)
    return svc, check(authenticate(svc, bearer_token(request)), action)


def lean(action: str, params: Sequence[Param] = (), path: Sequence[str] = ()) -> dict[str, Any]:
    """OpenAPI of a lean route: its action, its parameters and the bearer scheme that
    :func:`need` would have declared."""
    if action not in MATRIX:
        raise ValueError(f"unknown action {action!r}")
    in_path = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in path
    ]
    return {
        "x-permission": action,
        "parameters": [*in_path, *(p.openapi() for p in params)],
        "security": [{"HTTPBearer": []}],
    }


CallerOf = Callable[[str], Any]
