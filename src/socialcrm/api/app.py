"""The application factory: REST API and dashboard on one workspace, one process.

>>> from socialcrm.api import create_app
>>> app = create_app("crm.duckdb")                          # doctest: +SKIP
>>> # uvicorn.run(app) — or `socialcrm serve --db crm.duckdb`

Like Starlette's and Datasette's, the app is built by a function so tests and the CLI each
make their own, with no module-level state.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialcrm import __version__
from socialcrm.api.common import ApiError, ApiJSONResponse
from socialcrm.api.routes import ROUTERS
from socialcrm.api.service import Service
from socialcrm.settings import Settings
from socialcrm.workspace import Workspace

log = logging.getLogger("socialcrm.api")

DESCRIPTION = """The socialcrm REST API: entities and their 360° view, interactions on every
channel, conversations, ties, influence, the routing queue and alerts.

Authenticate with `Authorization: Bearer <token>` (create tokens with
`socialcrm tokens create --role ROLE --name NAME`). Roles: admin, analyst, agent; each
route names the action it needs (`x-permission`), see docs/api.md. Private interactions
are returned only to the roles in the workspace setting `private_roles`.

Lists take `limit` (at most 500) and `offset` and answer
`{items, limit, offset, has_more, next_offset}`; a list whose stage has not run yet is
empty and carries a `stage` note with the command that fills it. Errors are
`{"error": {"status", "code", "message"}}`."""


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def create_app(
    workspace: Workspace | str | Path,
    settings: Settings | None = None,
    *,
    refresh_interval: float = 1.0,
    web: bool = True,
) -> FastAPI:
    """Build the REST API (``/api/v1``, OpenAPI at ``/api/v1/openapi.json``) and, unless
    ``web=False``, the dashboard (``/``) over one workspace.

    Parameters
    ----------
    workspace
        An open :class:`Workspace` (left open on shutdown) or the path of a workspace file
        (opened here, closed on shutdown).
    settings
        Settings for a workspace opened from a path (default: ``socialcrm.toml`` beside it).
    refresh_interval
        Seconds between checks that the workspace changed under the service (imports or
        stage runs by the same process); the service's own writes refresh at once.
    """
    owned = not isinstance(workspace, Workspace)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace, settings=settings)
    service = Service(ws, refresh_interval=refresh_interval)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        service.start_watching()
        yield
        service.close()
        if owned:
            ws.close()

    app = FastAPI(
        title="socialcrm",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN; the dashboard lists routes at /api
        redoc_url=None,
        default_response_class=ApiJSONResponse,
        lifespan=lifespan,
    )
    app.state.service = service

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Any:
        if web and not request.url.path.startswith("/api/"):
            from socialcrm.web.pages import html_error

            return html_error(request, exc.status, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return ApiJSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> ApiJSONResponse:
        err = ApiError(422, _validation_message(exc))
        return ApiJSONResponse(err.body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if web and not request.url.path.startswith("/api/"):
            from socialcrm.web.pages import html_error

            return html_error(request, exc.status_code, str(exc.detail))
        message = (
            f"no route {request.method} {request.url.path}; see /api/v1/openapi.json"
            if exc.status_code in (404, 405)
            else str(exc.detail)
        )
        return ApiJSONResponse(
            ApiError(exc.status_code, message).body(), status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> ApiJSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = ApiError(500, f"internal error ({type(exc).__name__}); see the server log").body()
        return ApiJSONResponse(body, status_code=500)

    for router in ROUTERS:
        app.include_router(router)
    if web:
        from socialcrm.web import mount_web

        mount_web(app)
    return app
