"""The web dashboard: server-rendered pages over the same queries as the REST API."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles


def mount_web(app: FastAPI) -> None:
    """Add the dashboard's pages, its static files and its sign-in redirect to ``app``."""
    from socialcrm.web.pages import LoginRequired, router

    app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("socialcrm.web", "static")]), name="static")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
