"""CLI commands of the service: ``socialcrm tokens ...`` and ``socialcrm serve``.

They live here (and are registered in :mod:`socialcrm.cli`) so the CLI module stays small
and importing it does not import FastAPI.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from socialcrm.settings import DEFAULT_DB
from socialcrm.workspace import Workspace

tokens_app = typer.Typer(
    help="API tokens for the REST API and the dashboard (roles: admin, analyst, agent).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path, typer.Option("--db", envvar="SOCIALCRM_DB", help="Workspace file (DuckDB).")
]


def _open(db: Path) -> Workspace:
    try:
        return Workspace(db)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            err.print(
                f"[bold red]error:[/] {db} is in use by another process (probably"
                " `socialcrm serve`). Stop it, or manage tokens as an admin through the API:"
                " POST/GET/DELETE /api/v1/tokens."
            )
            raise typer.Exit(2) from None
        raise


@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option(help="admin, analyst or agent.")],
    name: Annotated[str, typer.Option(help="Who or what uses the token.")],
    entity: Annotated[
        str | None, typer.Option(help="The staff entity an agent acts as (routing).")
    ] = None,
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Create a token and print it once (only its salted hash is stored).

    Example: `socialcrm tokens create --role analyst --name bob`
    """
    from socialcrm.api.auth import TokenError, create_token

    with _open(db) as ws:
        try:
            token_id, token = create_token(ws.con, name, role, entity)
        except TokenError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
    err.print(f"token {token_id} for {name} ({role}); it is shown once, keep it safe:")
    print(token)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int, db: DbOption = Path(DEFAULT_DB)) -> None:
    """Revoke a token: it stops working at once.

    Example: `socialcrm tokens revoke 3`
    """
    from socialcrm.api.auth import TokenError, revoke_token

    with _open(db) as ws:
        try:
            revoke_token(ws.con, token_id)
        except TokenError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
    console.print(f"token {token_id} revoked")


@tokens_app.command("list")
def tokens_list(db: DbOption = Path(DEFAULT_DB)) -> None:
    """Every token: id, name, role, entity, created, revoked (never the token itself).

    Example: `socialcrm tokens list`
    """
    from socialcrm.api.auth import list_tokens

    with _open(db) as ws:
        rows = list_tokens(ws.con)
    t = Table(show_edge=False)
    for col in ("id", "name", "role", "entity", "created", "revoked"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["token_id"]),
            str(r["name"]),
            str(r["role"]),
            str(r["entity_id"] or ""),
            str(r["created_at"]),
            str(r["revoked_at"] or ""),
        )
    console.print(t if rows else "no tokens yet: `socialcrm tokens create --role admin --name me`")


def free_port(host: str, preferred: int) -> int:
    """``preferred`` if it is free on ``host``, else a free port the system picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError(f"no free port on {host}")


def serve_workspace(
    ws: Workspace, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning"
) -> None:
    """Serve the REST API and dashboard over an open workspace until interrupted."""
    import uvicorn

    from socialcrm.api.app import create_app

    app = create_app(ws)
    app.state.service.refresh()  # build the read model and the queue before the first request
    app.state.service.queue_view()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def serve(
    db: DbOption = Path(DEFAULT_DB),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (a free one if taken).")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /api/v1/openapi.json) and the dashboard.

    Example: `socialcrm serve --port 8000` then open http://127.0.0.1:8000 and sign in with a
    token from `socialcrm tokens create`.
    """
    with _open(db) as ws:
        chosen = free_port(host, port)
        err.print(f"serving {ws.path} at http://{host}:{chosen}/ (API: /api/v1, stop with Ctrl-C)")
        serve_workspace(ws, host, chosen, log_level)


def serve_demo(ws: Workspace, console: Console, host: str = "127.0.0.1", port: int = 8000) -> None:
    """End of ``socialcrm demo``: an admin token, the address, then the dashboard."""
    from socialcrm.api.auth import create_token

    token_id, token = create_token(ws.con, "demo", "admin")
    chosen = free_port(host, port)
    console.print(
        f"\n[bold]dashboard[/]: http://{host}:{chosen}/  (REST API: /api/v1, stop with Ctrl-C)"
        f"\n[bold]token[/] (admin, id {token_id}): {token}"
        f"\nsign in with the token, or: curl -H 'Authorization: Bearer {token}'"
        f" http://{host}:{chosen}/api/v1/stats",
        soft_wrap=True,
    )
    serve_workspace(ws, host, chosen)
