"""Care agents and an unassigned queue on a routing test workspace (shared by the tests)."""

from __future__ import annotations

from datetime import datetime

from socialcrm.routing import api
from socialcrm.routing import refresh as rq
from socialcrm.workspace import Workspace

AGENTS = ("staff:ann", "staff:bob", "staff:cy")


def with_agents(ws: Workspace) -> Workspace:
    """Three care agents (employees serving every brand), declared as an admin would."""
    mapping = ws.path.parent / "agents.csv"
    mapping.write_text(
        "handle,entity\n" + "".join(f"twitter:Care{a[6:].title()},{a}\n" for a in AGENTS)
    )
    ws.declare_identities(mapping)
    for agent in AGENTS:
        ws.set_role(agent, "employee")
    return ws


def latest(ws: Workspace) -> datetime:
    return ws.con.execute("SELECT max(ts) FROM interactions").fetchall()[0][0]


def queued_unassigned(ws: Workspace, now: datetime, n: int) -> list[str]:
    """Put the open conversations in the queue without the router assigning them."""
    rq.refresh(ws.con, api.policy(ws), now, None)
    rows = ws.con.execute(
        "SELECT conversation_id FROM routing_queue WHERE assignee IS NULL"
        " AND status <> 'resolved' ORDER BY priority DESC LIMIT ?",
        [n],
    ).fetchall()
    assert len(rows) == n, "the twcs slice has enough open conversations"
    return [r[0] for r in rows]
