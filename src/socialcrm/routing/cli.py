"""``socialcrm queue | route | replay | claim | reply | resolve``: thin calls into :mod:`.api`.

Registered on the main app by :func:`register` (one line in ``socialcrm/cli.py``).
``--at`` works a historical workspace "as of" a moment: an ISO time, or ``latest`` for
the time of the newest interaction; without it the clock is now (UTC).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from socialcrm.settings import DEFAULT_DB

console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path, typer.Option("--db", envvar="SOCIALCRM_DB", help="Workspace file (DuckDB).")
]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at", help="Routing clock: ISO time (2017-10-31T22:00) or 'latest'; default now (UTC)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _open(db: Path, wait_s: float = 15.0) -> Any:
    """The workspace; if another process holds it (DuckDB has one writer process at a
    time), wait for it up to ``wait_s`` seconds rather than fail at once."""
    import time

    import duckdb

    from socialcrm.workspace import Workspace

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return Workspace(db)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _clock(ws: Any, at: str | None) -> datetime | None:
    if at is None:
        return None
    if at == "latest":
        latest = ws.con.execute("SELECT max(ts) FROM interactions").fetchall()[0][0]
        if latest is None:
            _fail("the workspace has no interactions yet, so there is no latest time")
        return latest
    try:
        ts = datetime.fromisoformat(at)
    except ValueError:
        _fail(f"--at {at!r} is not an ISO time (like 2017-10-31T22:00) nor 'latest'")
    return ts.replace(tzinfo=None) if ts.tzinfo is None else ts.astimezone().replace(tzinfo=None)


def _json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str))


def queue_command(
    db: DbOption = Path(DEFAULT_DB),
    at: AtOption = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The routing queue: open conversations by priority, each with its reasons, route,
    window, assignee and SLA status.

    Example: `socialcrm queue --at latest --limit 10`
    """
    from socialcrm.routing import api

    with _open(db) as ws:
        rows = api.queue(ws, _clock(ws, at), limit=limit)
    if as_json:
        _json(rows)
        return
    if not rows:
        console.print("nothing waiting: every customer conversation has a satisfactory answer")
        return
    for i, r in enumerate(rows, 1):
        holder = r["assignee"] or (f"invited {', '.join(r['invited'])}" if r["invited"] else "")
        console.print(
            f"[bold]{i:>3}. {r['priority']:5.1f}[/]  [bold]{r['conversation_id']}[/]"
            f"  {r['urgency']} {r['intent']} · {r['channel']}"
            f"  [cyan]{r['status']}[/]{' ' + holder if holder else ''}"
            f"  [dim]route {r['route']} ({r['route_reason']}) · SLA first"
            f" {r['first_response_sla']}, resolution {r['resolution_sla']}[/]"
        )
        console.print(f"        [dim]why:[/] {r['reason_text']}")


def route_command(
    conversation: Annotated[str, typer.Argument(metavar="ID", help="Conversation id.")],
    db: DbOption = Path(DEFAULT_DB),
    at: AtOption = None,
    top: Annotated[int, typer.Option(help="Candidates to show.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """One conversation's priority with reasons, its route (community window or staff)
    and the candidate responders with their scores.

    Example: `socialcrm route stackexchange_quantumcomputing_2018:q:1327 --at latest`
    """
    from socialcrm.routing import api

    with _open(db) as ws:
        try:
            d = api.route(ws, conversation, _clock(ws, at), top=top)
        except LookupError as exc:
            _fail(str(exc))
    if as_json:
        _json(d)
        return
    console.print(
        f"[bold]{d['conversation_id']}[/] priority [bold]{d['priority']:.1f}[/]"
        f" (queue position {d['queue_position']}) · {d['urgency']} {d['intent']}"
        f" · topics {', '.join(d['topics']) or '—'} · {d['status']}"
    )
    for r in d["reasons"]:
        if r["contribution"] > 0:
            console.print(f"  +{r['contribution']:>5.1f}  {r['text']}")
    if d["route"] == "staff":
        console.print(f"route: [bold]straight to staff[/] ({d['route_reason']})")
    else:
        console.print(
            f"route: [bold]community first[/] for {d['window_minutes']:g} min"
            f" ({d['route_reason']}), until {d['window_ends_at']:%Y-%m-%d %H:%M}"
        )
    if d["invited"]:
        console.print(f"invite: {', '.join(d['invited'])}")
    t = Table(show_edge=False)
    for col in ("candidate", "kind", "score", "why"):
        t.add_column(col, overflow="fold")
    for c in d["candidates"]:
        t.add_row(c["candidate"], c["kind"], f"{c['score']:.3f}", c["reasons"])
    console.print(t)


def replay_command(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="A source in the workspace.")],
    db: DbOption = Path(DEFAULT_DB),
    until: Annotated[str | None, typer.Option(help="Stop at this ISO time.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the routing policy over a stored history as if live (only what was known at
    each moment): routes, community answers within the window, escalations, SLAs.
    Decisions are stored in the table `routing_replay`.

    Example: `socialcrm replay stackexchange_quantumcomputing_2018`
    """
    from socialcrm.routing import api

    with _open(db) as ws:
        try:
            result = api.replay(ws, source, _clock(ws, until))
        except LookupError as exc:
            _fail(str(exc))
    s = result.summary
    if as_json:
        _json(s)
        return
    n = max(1, s["conversations"])
    console.print(f"[bold]{source}[/]: {s['conversations']:,} customer conversations replayed")
    console.print(
        f"  to the community first {s.get('routed_to_community', 0):,};"
        f" straight to staff {s.get('straight_to_staff', 0):,}"
    )
    console.print(
        f"  answered {s.get('answered', 0):,} ({s.get('answered', 0) / n:.0%});"
        f" by the community within its window {s.get('answered_in_window', 0):,};"
        f" first answer by an invited member {s.get('answered_by_invited', 0):,}"
    )
    console.print(
        f"  escalated to staff {s.get('escalated', 0):,};"
        f" satisfied {s.get('satisfied', 0):,} {s.get('satisfaction', {})}"
    )
    console.print(
        f"  first-response SLA hit {s.get('first_response_sla_hit', 0):.0%};"
        f" resolution SLA hit {s.get('resolution_sla_hit', 0):.0%};"
        f" median first answer {s.get('median_first_answer_min', float('nan')):.0f} min"
    )
    console.print("  decisions: table routing_replay")


def _act(operation: str, db: Path, at: str | None, **kwargs: Any) -> None:
    from socialcrm.routing import api

    with _open(db) as ws:
        try:
            out = getattr(api, operation)(ws, now=_clock(ws, at), **kwargs)
        except (LookupError, ValueError, PermissionError) as exc:
            _fail(str(exc), 1)
    console.print(", ".join(f"{k} {v}" for k, v in out.items()))


def claim_command(
    conversation: Annotated[str, typer.Argument(metavar="ID")],
    agent: Annotated[str, typer.Option(help="The staff entity or handle taking it.")],
    db: DbOption = Path(DEFAULT_DB),
    at: AtOption = None,
) -> None:
    """Take a conversation from the queue (atomic: of two agents, one wins).

    Example: `socialcrm claim twcs:2298 --agent twitter:AppleSupport`
    """
    _act("claim", db, at, conv_id=conversation, agent=agent)


def reply_command(
    conversation: Annotated[str, typer.Argument(metavar="ID")],
    agent: Annotated[str, typer.Option(help="The staff entity or handle answering.")],
    text: Annotated[str, typer.Option(help="The reply.")],
    db: DbOption = Path(DEFAULT_DB),
    at: AtOption = None,
) -> None:
    """Answer a conversation (claims it first if nobody holds it).

    Example: `socialcrm reply twcs:2298 --agent twitter:AppleSupport --text "Try ..."`
    """
    _act("reply", db, at, conv_id=conversation, agent=agent, text=text)


def resolve_command(
    conversation: Annotated[str, typer.Argument(metavar="ID")],
    agent: Annotated[str, typer.Option(help="The staff entity or handle resolving it.")],
    note: Annotated[str, typer.Option(help="A note for the event log.")] = "",
    db: DbOption = Path(DEFAULT_DB),
    at: AtOption = None,
) -> None:
    """Close a conversation as resolved (frees the agent's slot).

    Example: `socialcrm resolve twcs:2298 --agent twitter:AppleSupport`
    """
    _act("resolve", db, at, conv_id=conversation, agent=agent, note=note)


def register(app: typer.Typer) -> None:
    """Add the routing commands to the ``socialcrm`` app."""
    app.command("queue")(queue_command)
    app.command("route")(route_command)
    app.command("replay")(replay_command)
    app.command("claim")(claim_command)
    app.command("reply")(reply_command)
    app.command("resolve")(resolve_command)
