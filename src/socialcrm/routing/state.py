"""Routing state in the workspace: queue, invitations, assignments, SLA clocks, event log.

Everything lives in the workspace's DuckDB file (tables of store migration 3), written
in transactions, so restarting the process loses nothing and every change is in
``routing_events``.

**Claiming is atomic.** :func:`claim` runs one transaction: a conditional update of the
agent's load row (``open_assignments < cap``: the per-agent cap holds even when one agent
claims twice at once, because both claims update that same row) and a conditional update
of the conversation (``WHERE assignee IS NULL``). DuckDB's optimistic concurrency control
lets exactly one of two concurrent writers of a row commit; the other gets a
``TransactionException`` ("Conflict on ...") and is told it lost. Two threads on two
cursors of one connection, or two processes (DuckDB allows one writer process at a time:
the second waits for the file lock, then finds the conversation taken), give exactly one
winner; ``tests/routing/test_state.py`` runs both.

Each function takes a connection or cursor; concurrent callers pass their own cursor
(``Workspace.con.cursor()``), as :mod:`socialcrm.routing.api` does.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from socialcrm.store.locks import begin_identity_write

QUEUE_COLUMNS: tuple[str, ...] = (
    "conversation_id",
    "source",
    "channel",
    "visibility",
    "author",
    "author_handle",
    "brands",
    "arrived_at",
    "waiting_since",
    "last_author_id",
    "urgency",
    "intent",
    "topics",
    "sentiment",
    "priority",
    "reasons",
    "route",
    "route_reason",
    "window_ends_at",
    "status",
    "assignee",
    "assigned_at",
    "first_response_at",
    "first_response_by",
    "first_response_due",
    "resolution_due",
    "resolved_at",
    "resolved_by",
    "resolution",
    "reassignments",
    "updated_at",
)
# Columns a refresh recomputes for a conversation already in the queue; the rest
# (route, window, assignment, resolution) is decided once or by agents.
REFRESHED: tuple[str, ...] = (
    "waiting_since",
    "last_author_id",
    "urgency",
    "intent",
    "topics",
    "sentiment",
    "priority",
    "reasons",
    "first_response_at",
    "first_response_by",
    "updated_at",
)
OPEN_STATUSES: tuple[str, ...] = ("open", "escalated", "assigned", "answered")


class RoutingError(Exception):
    """An operation that cannot be done (unknown conversation, not staff, ...)."""


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of a claim: who holds the conversation now, and why."""

    won: bool
    conversation_id: str
    agent: str
    assignee: str | None
    reason: str


def log_event(
    con: duckdb.DuckDBPyConnection,
    ts: datetime,
    conversation_id: str,
    kind: str,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    con.execute(
        "INSERT INTO routing_events (event_id, ts, conversation_id, kind, actor, detail)"
        " VALUES (nextval('routing_event_seq'), ?, ?, ?, ?, ?)",
        [ts, conversation_id, kind, actor, json.dumps(detail or {}, default=str)],
    )


def log_events(
    con: duckdb.DuckDBPyConnection,
    events: list[tuple[datetime, str, str, str | None, dict[str, Any] | None]],
) -> None:
    """Many events in one statement: ``(ts, conversation_id, kind, actor, detail)``."""
    if not events:
        return
    frame = pd.DataFrame(
        {
            "ts": [e[0] for e in events],
            "conversation_id": [e[1] for e in events],
            "kind": [e[2] for e in events],
            "actor": pd.Series([e[3] for e in events], dtype=object),
            "detail": [json.dumps(e[4] or {}, default=str) for e in events],
        }
    )
    con.register("_rt_events", frame)
    try:
        con.execute(
            """INSERT INTO routing_events (event_id, ts, conversation_id, kind, actor, detail)
               SELECT nextval('routing_event_seq'), CAST(ts AS TIMESTAMP), conversation_id, kind,
                      CAST(actor AS VARCHAR), CAST(detail AS JSON) FROM _rt_events"""
        )
    finally:
        con.unregister("_rt_events")


def upsert_queue(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> int:
    """Insert new conversations and refresh the recomputed columns of known ones."""
    if rows.empty:
        return 0
    frame = rows.reindex(columns=list(QUEUE_COLUMNS)).copy()
    frame["reasons"] = [
        json.dumps(r, default=str) if r is not None else None for r in frame.reasons
    ]
    frame["reassignments"] = frame.reassignments.fillna(0).astype(int)
    con.register("_rt_upsert", frame)
    try:
        cols = ", ".join(QUEUE_COLUMNS)
        sets = ", ".join(f"{c} = excluded.{c}" for c in REFRESHED)
        con.execute(
            f"""INSERT INTO routing_queue ({cols})
            SELECT {", ".join(_cast(c) for c in QUEUE_COLUMNS)} FROM _rt_upsert
            ON CONFLICT (conversation_id) DO UPDATE SET {sets}"""
        )
    finally:
        con.unregister("_rt_upsert")
    return len(frame)


def _cast(col: str) -> str:
    casts = {
        "brands": "CAST(brands AS VARCHAR[])",
        "topics": "CAST(topics AS VARCHAR[])",
        "reasons": "CAST(reasons AS JSON)",
        "assignee": "CAST(assignee AS VARCHAR)",
        "resolved_by": "CAST(resolved_by AS VARCHAR)",
        "resolution": "CAST(resolution AS VARCHAR)",
        "first_response_by": "CAST(first_response_by AS VARCHAR)",
        "last_author_id": "CAST(last_author_id AS VARCHAR)",
        "route_reason": "CAST(route_reason AS VARCHAR)",
        "sentiment": "CAST(sentiment AS DOUBLE)",
        "priority": "CAST(priority AS DOUBLE)",
    }
    for ts in (
        "arrived_at",
        "waiting_since",
        "window_ends_at",
        "assigned_at",
        "first_response_at",
        "first_response_due",
        "resolution_due",
        "resolved_at",
        "updated_at",
    ):
        casts[ts] = f"CAST({ts} AS TIMESTAMP)"
    return casts.get(col, col)


def queue_row(con: duckdb.DuckDBPyConnection, conversation_id: str) -> dict[str, Any] | None:
    cur = con.execute("SELECT * FROM routing_queue WHERE conversation_id = ?", [conversation_id])
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def set_status(
    con: duckdb.DuckDBPyConnection,
    conversation_ids: list[str],
    status: str,
    now: datetime,
) -> None:
    if conversation_ids:
        con.execute(
            "UPDATE routing_queue SET status = ?, updated_at = ? WHERE list_contains(?, conversation_id)",
            [status, now, conversation_ids],
        )


def ensure_agent(con: duckdb.DuckDBPyConnection, agent: str) -> None:
    """The agent's load row (created once; a lost race to create it is harmless)."""
    if con.execute("SELECT 1 FROM routing_agents WHERE agent = ?", [agent]).fetchall():
        return
    for _ in range(3):
        try:
            con.execute(
                "INSERT INTO routing_agents (agent) VALUES (?) ON CONFLICT DO NOTHING", [agent]
            )
            return
        except (duckdb.TransactionException, duckdb.ConstraintException):
            continue  # another caller created it at the same moment


def claim(
    con: duckdb.DuckDBPyConnection,
    conversation_id: str,
    agent: str,
    now: datetime,
    cap: int,
    *,
    kind: str = "claimed",
    exclude_resolved: bool = True,
) -> ClaimResult:
    """Give the conversation to ``agent`` if nobody holds it and the agent is under ``cap``.

    Exactly one of several concurrent claims wins (see the module docs). ``kind`` names
    the event logged (``claimed`` by an agent, ``assigned`` by the router).
    """
    ensure_agent(con, agent)
    con.execute("BEGIN TRANSACTION")
    try:
        room = con.execute(
            "UPDATE routing_agents SET open_assignments = open_assignments + 1,"
            " last_assigned_at = ? WHERE agent = ? AND open_assignments < ? RETURNING agent",
            [now, agent, cap],
        ).fetchall()
        if not room:
            con.execute("ROLLBACK")
            return ClaimResult(
                False,
                conversation_id,
                agent,
                _assignee(con, conversation_id),
                f"{agent} already holds {cap} open conversations (the per-agent cap)",
            )
        got = con.execute(
            f"""UPDATE routing_queue SET assignee = ?, assigned_at = ?, status = 'assigned',
                   updated_at = ?
               WHERE conversation_id = ? AND assignee IS NULL
                 {"AND status <> 'resolved'" if exclude_resolved else ""}
               RETURNING conversation_id""",
            [agent, now, now, conversation_id],
        ).fetchall()
        if not got:
            con.execute("ROLLBACK")
            holder = _assignee(con, conversation_id)
            why = (
                f"already assigned to {holder}"
                if holder
                else "not in the queue, or already resolved"
            )
            return ClaimResult(False, conversation_id, agent, holder, why)
        log_event(con, now, conversation_id, kind, agent)
        con.execute("COMMIT")
    except duckdb.TransactionException as exc:
        _rollback(con)
        return ClaimResult(
            False,
            conversation_id,
            agent,
            None,
            f"another agent claimed it at the same moment ({str(exc).splitlines()[0]})",
        )
    except BaseException:
        _rollback(con)
        raise
    return ClaimResult(True, conversation_id, agent, agent, kind)


def assign_many(
    con: duckdb.DuckDBPyConnection,
    pairs: list[tuple[str, str]],
    now: datetime,
    cap: int,
) -> list[tuple[str, str]]:
    """The router's assignments ``(conversation, agent)`` in one transaction, each with
    the same conditional updates as :func:`claim` (an agent at the cap or a conversation
    someone took meanwhile is skipped). A write conflict with a concurrent claim rolls
    the batch back and assigns one by one instead. Returns the pairs assigned."""
    for agent in {a for _, a in pairs}:
        ensure_agent(con, agent)
    con.execute("BEGIN TRANSACTION")
    done: list[tuple[str, str]] = []
    try:
        for conv, agent in pairs:
            room = con.execute(
                "UPDATE routing_agents SET open_assignments = open_assignments + 1,"
                " last_assigned_at = ? WHERE agent = ? AND open_assignments < ? RETURNING agent",
                [now, agent, cap],
            ).fetchall()
            if not room:
                continue
            got = con.execute(
                """UPDATE routing_queue SET assignee = ?, assigned_at = ?, status = 'assigned',
                       updated_at = ?
                   WHERE conversation_id = ? AND assignee IS NULL AND status <> 'resolved'
                   RETURNING conversation_id""",
                [agent, now, now, conv],
            ).fetchall()
            if not got:
                con.execute(
                    "UPDATE routing_agents SET open_assignments = open_assignments - 1"
                    " WHERE agent = ?",
                    [agent],
                )
                continue
            done.append((conv, agent))
        log_events(con, [(now, c, "assigned", a, None) for c, a in done])
        con.execute("COMMIT")
    except duckdb.TransactionException:
        _rollback(con)
        return [(c, a) for c, a in pairs if claim(con, c, a, now, cap, kind="assigned").won]
    except BaseException:
        _rollback(con)
        raise
    return done


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # nothing to roll back
        con.execute("ROLLBACK")


def _assignee(con: duckdb.DuckDBPyConnection, conversation_id: str) -> str | None:
    row = con.execute(
        "SELECT assignee FROM routing_queue WHERE conversation_id = ?", [conversation_id]
    ).fetchone()
    return row[0] if row else None


def release(
    con: duckdb.DuckDBPyConnection,
    conversation_id: str,
    now: datetime,
    *,
    status: str,
    kind: str,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
    resolution: str | None = None,
) -> str | None:
    """End the current assignment (resolve, reassign): the agent's load goes down.

    Runs inside the caller's transaction. Returns the agent released, if any.
    """
    row = con.execute(
        "SELECT assignee FROM routing_queue WHERE conversation_id = ?", [conversation_id]
    ).fetchone()
    agent = row[0] if row else None
    if agent is not None:
        con.execute(
            "UPDATE routing_agents SET open_assignments = greatest(open_assignments - 1, 0)"
            " WHERE agent = ?",
            [agent],
        )
    if status == "resolved":
        con.execute(
            """UPDATE routing_queue SET status = 'resolved', resolved_at = ?, resolved_by = ?,
                   resolution = ?, updated_at = ? WHERE conversation_id = ?""",
            [now, actor, resolution, now, conversation_id],
        )
    else:
        con.execute(
            """UPDATE routing_queue SET status = ?, assignee = NULL, assigned_at = NULL,
                   updated_at = ? WHERE conversation_id = ?""",
            [status, now, conversation_id],
        )
    log_event(con, now, conversation_id, kind, actor, detail)
    return agent


def record_reply(
    con: duckdb.DuckDBPyConnection,
    row: dict[str, Any],
    agent: str,
    agent_handle: str,
    text: str,
    now: datetime,
) -> str:
    """Store an agent's reply as an interaction of the conversation and mark it answered.

    One transaction: the interaction (``<source>:reply:<uuid>``, in the conversation's
    source, channel and visibility, addressed to the author, replying to the author's
    latest turn — so a later export of the same source that answers it joins the thread),
    the agent's identity if new, the queue row and the event. The loader is not used
    because a reply carries its own thread and needs no re-threading of the store.
    """
    source = row.get("source") or "socialcrm"
    interaction_id = f"{source}:reply:{uuid.uuid4().hex}"
    begin_identity_write(con)  # it may add the agent's handle (store.locks)
    try:
        con.execute(
            """INSERT INTO identities (handle, entity_id, source, link_rule, evidence)
               SELECT ?, ?, 'socialcrm', 'self', 'agent reply' WHERE NOT EXISTS (
                   SELECT 1 FROM identities WHERE handle = ?)""",
            [agent_handle, agent, agent_handle],
        )
        con.execute(
            """INSERT INTO interactions (interaction_id, source, channel, ts, actor, targets,
                   conversation_id, in_reply_to, kind, visibility, text)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'message', ?, ?)""",
            [
                interaction_id,
                source,
                row["channel"],
                now,
                agent_handle,
                [row["author_handle"]] if row.get("author_handle") else [],
                row["conversation_id"],
                row.get("last_author_id"),
                row["visibility"],
                text,
            ],
        )
        con.execute(
            """UPDATE routing_queue SET status = 'answered', waiting_since = NULL,
                   first_response_at = coalesce(first_response_at, ?),
                   first_response_by = coalesce(first_response_by, ?), updated_at = ?
               WHERE conversation_id = ?""",
            [now, agent, now, row["conversation_id"]],
        )
        log_event(
            con, now, row["conversation_id"], "replied", agent, {"interaction_id": interaction_id}
        )
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return interaction_id


def resolve(
    con: duckdb.DuckDBPyConnection,
    conversation_id: str,
    now: datetime,
    *,
    by: str | None,
    resolution: str,
) -> str | None:
    """Mark a conversation resolved (by an agent, or satisfied) and free its assignee."""
    con.execute("BEGIN TRANSACTION")
    try:
        agent = release(
            con,
            conversation_id,
            now,
            status="resolved",
            kind="resolved",
            actor=by,
            detail={"resolution": resolution},
            resolution=resolution,
        )
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return agent


def invite(
    con: duckdb.DuckDBPyConnection,
    conversation_id: str,
    candidates: pd.DataFrame,
    now: datetime,
    expires_at: datetime,
) -> int:
    """Invite community candidates (``candidate``, ``score``, ``reasons``) to answer."""
    if candidates.empty:
        return 0
    frame = pd.DataFrame(
        {
            "conversation_id": conversation_id,
            "candidate": candidates.candidate.to_numpy(),
            "score": candidates.score.astype(float).to_numpy(),
            "reasons": [json.dumps({"why": r}) for r in candidates.reasons],
            "invited_at": now,
            "expires_at": expires_at,
            "status": "pending",
        }
    )
    con.register("_rt_inv", frame)
    try:
        n = con.execute(
            """INSERT INTO routing_invitations
               SELECT conversation_id, candidate, score, CAST(reasons AS JSON),
                      CAST(invited_at AS TIMESTAMP), CAST(expires_at AS TIMESTAMP), status
               FROM _rt_inv ON CONFLICT DO NOTHING"""
        ).fetchall()
    finally:
        con.unregister("_rt_inv")
    log_event(
        con,
        now,
        conversation_id,
        "invited",
        None,
        {"candidates": candidates.candidate.tolist(), "until": expires_at},
    )
    return int(n[0][0]) if n else len(frame)
