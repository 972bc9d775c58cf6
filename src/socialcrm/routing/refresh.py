"""Keep the routing queue in step with the store: one :func:`refresh` at a moment ``now``.

A refresh reads what happened since the last one and applies the policy (seed 001):

1. **arrivals** — every customer conversation without a satisfactory answer enters the
   queue with its priority and reasons, and its route: straight to staff (private
   channel, urgent complaint, explicit request) or to the community for a window that
   depends on urgency and topic, measured from its arrival;
2. **invitations** — while its window runs, the best community candidates
   (:mod:`.responders`) are invited; invitations expire with the window;
3. **answers** — a response moves it to *answered*; a satisfactory one (accepted,
   acknowledged, or no new question for ``quiet_hours``) *resolves* it and frees its
   assignee; a new question from the author after resolution reopens it;
4. **escalation** — when the window ends without an answer, or the author still asks
   after it, the conversation is escalated to staff and assigned to the best-ranked staff
   member under the per-agent cap (load-balanced: a full agent is skipped), or waits
   in the staff queue until someone has room;
5. **reassignment** — an assignee who has not answered within
   ``reassign_after_minutes`` loses the conversation to the next staff member, never
   back to one who let it lapse (at most ``max_reassignments`` times; then it stays and
   the event log says so). With nobody else able to take it, it waits, escalated, in the
   staff queue.

Every change is a transaction on the stored state (:mod:`.state`) and an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from socialcrm.routing import priority as prio
from socialcrm.routing import state
from socialcrm.routing.derive import derive
from socialcrm.routing.index import RoutingContext
from socialcrm.routing.policy import Policy, community_window, straight_to_staff
from socialcrm.routing.signals import conversation_facts, enrich, tables

OPEN_FACTS = """
WHERE (NOT satisfied AND NOT EXISTS (
          SELECT 1 FROM routing_queue q WHERE q.conversation_id = facts.conversation_id
            AND q.status = 'resolved'
            AND coalesce(facts.last_question_at, facts.arrived_at) <= q.resolved_at))
   OR conversation_id IN (SELECT conversation_id FROM routing_queue WHERE status <> 'resolved')
"""


@dataclass
class RefreshReport:
    """What one refresh changed."""

    now: datetime
    queued: int = 0
    arrived: int = 0
    resolved: int = 0
    reopened: int = 0
    invited: int = 0
    escalated: int = 0
    assigned: int = 0
    reassigned: int = 0
    waiting_for_staff: int = 0
    details: dict[str, list[str]] = field(default_factory=dict)


def refresh(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    now: datetime,
    ctx: RoutingContext | None = None,
    *,
    only: list[str] | None = None,
) -> RefreshReport:
    """Bring ``routing_queue`` up to ``now`` (see the module docs).

    ``ctx`` (:func:`socialcrm.routing.index.build_context`) ranks candidates for
    invitations and assignments; without it the queue is kept but nobody is invited or
    assigned. ``only`` limits the refresh to some conversations.
    """
    report = RefreshReport(now=now)
    where = OPEN_FACTS
    params: dict = {}
    if only is not None:
        where = f"WHERE conversation_id IN (SELECT unnest($only)) AND ({OPEN_FACTS.strip()[6:]})"
        params["only"] = list(only)
    facts = conversation_facts(con, now, policy, where=where, params=params)
    known = _known(con)

    # 1. satisfied conversations still in the queue: resolved
    done = facts[facts.satisfied & facts.conversation_id.isin(known.index)]
    for row in done.itertuples(index=False):
        if known.status.get(row.conversation_id) != "resolved":
            state.resolve(con, row.conversation_id, now, by=None, resolution=row.satisfaction)
            report.resolved += 1
    open_ = facts[~facts.satisfied].copy()

    # 2-3. priority, route and window of everything open; answers; windows ending
    events: list[tuple] = []
    con.execute("BEGIN TRANSACTION")
    try:
        if not open_.empty:
            rows = _prioritise(con, open_, policy, now, known)
            new = ~rows.conversation_id.isin(known.index)
            report.arrived = int(new.sum())
            reopened = rows.conversation_id.isin(known.index[known.status == "resolved"])
            state.upsert_queue(con, rows)
            for r in rows[new].itertuples(index=False):
                events.append(
                    (
                        now,
                        r.conversation_id,
                        "queued",
                        None,
                        {
                            "route": r.route,
                            "why": r.route_reason,
                            "priority": r.priority,
                            "window_ends_at": r.window_ends_at,
                        },
                    )
                )
            again = rows.conversation_id[reopened].tolist()
            if again:
                con.execute(
                    "UPDATE routing_queue SET status = 'open', resolved_at = NULL,"
                    " resolved_by = NULL, resolution = NULL, updated_at = ?"
                    " WHERE list_contains(?, conversation_id)",
                    [now, again],
                )
                events += [
                    (now, c, "reopened", None, {"why": "the author asks again"}) for c in again
                ]
                report.reopened = len(again)
        con.execute(
            """UPDATE routing_queue SET status = 'answered', updated_at = $now
               WHERE status = 'open' AND first_response_at IS NOT NULL AND waiting_since IS NULL""",
            {"now": now},
        )
        # the author asks again after the assignee's answer: back on the assignee's desk
        con.execute(
            """UPDATE routing_queue SET status = 'assigned', updated_at = $now
               WHERE status = 'answered' AND assignee IS NOT NULL AND waiting_since IS NOT NULL""",
            {"now": now},
        )
        escalate = con.execute(
            """SELECT conversation_id,
                      CASE WHEN route = 'staff' THEN 'straight to staff: ' || route_reason
                           WHEN first_response_at IS NULL THEN 'window ended without an answer'
                           ELSE 'window ended; the author still asks' END AS why
               FROM routing_queue
               WHERE status IN ('open', 'answered') AND assignee IS NULL
                 AND (route = 'staff' OR (window_ends_at <= $now
                      AND (first_response_at IS NULL OR waiting_since IS NOT NULL)))""",
            {"now": now},
        ).fetchall()
        state.set_status(con, [c for c, _ in escalate], "escalated", now)
        events += [(now, c, "escalated", None, {"why": why}) for c, why in escalate]
        report.escalated = len(escalate)
        con.execute(
            """UPDATE routing_invitations SET status = 'expired'
               WHERE status = 'pending' AND expires_at <= $now""",
            {"now": now},
        )
        con.execute(
            """UPDATE routing_invitations i SET status = 'answered' FROM routing_queue q
               WHERE i.conversation_id = q.conversation_id AND i.status = 'pending'
                 AND q.first_response_by = i.candidate""",
        )
        state.log_events(con, events)
        con.execute("COMMIT")
    except BaseException:
        state._rollback(con)
        raise

    if ctx is not None:
        report.invited = _invite(con, ctx, now)
        report.reassigned = _reassign(con, ctx, now)
        report.assigned, report.waiting_for_staff = _assign(con, ctx, now)
    report.queued = int(
        con.execute("SELECT count(*) FROM routing_queue WHERE status <> 'resolved'").fetchall()[0][
            0
        ]
    )
    return report


def _known(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return (
        con.execute(
            "SELECT conversation_id, status, route, route_reason, window_ends_at, first_response_due,"
            " resolution_due, assignee, reassignments FROM routing_queue"
        )
        .df()
        .set_index("conversation_id")
    )


def _prioritise(
    con: duckdb.DuckDBPyConnection,
    open_: pd.DataFrame,
    policy: Policy,
    now: datetime,
    known: pd.DataFrame,
) -> pd.DataFrame:
    """Queue rows for open conversations: derived inputs, priority, route, clocks."""
    d = derive(enrich(con, open_), policy)
    pr = prio.score(d, policy, now)
    minutes, rules = community_window(d, policy)
    staff = straight_to_staff(d, policy)
    route = np.where(pd.notna(staff), "staff", "community")
    arrived = pd.to_datetime(d.arrived_at)
    window = np.where(route == "staff", 0.0, minutes)
    first_due = arrived + pd.to_timedelta(
        [policy.first_response_target(u) for u in d.urgency], unit="m"
    )
    res_due = arrived + pd.to_timedelta([policy.resolution_target(u) for u in d.urgency], unit="m")
    rows = pd.DataFrame(
        {
            "conversation_id": d.conversation_id.to_numpy(),
            "source": d.source.to_numpy(),
            "channel": d.channel.to_numpy(),
            "visibility": d.visibility.to_numpy(),
            "author": d.author.to_numpy(),
            "author_handle": d.author_handle.to_numpy(),
            "brands": brands_addressed(con, d),
            "arrived_at": arrived.to_numpy(),
            "waiting_since": pd.to_datetime(d.waiting_since).to_numpy(),
            "last_author_id": d.last_author_id.to_numpy(),
            "urgency": d.urgency.to_numpy(),
            "intent": d.intent.to_numpy(),
            "topics": list(d.topics),
            "sentiment": d.sentiment.to_numpy(dtype=float),
            "priority": pr.priority.to_numpy(),
            "reasons": list(pr.reasons),
            "route": route,
            "route_reason": np.where(route == "staff", staff, rules),
            "window_ends_at": (arrived + pd.to_timedelta(window, unit="m")).to_numpy(),
            "status": np.where(route == "staff", "escalated", "open"),
            "first_response_at": pd.to_datetime(d.first_response_at).to_numpy(),
            "first_response_by": d.first_response_by.to_numpy(),
            "first_response_due": first_due.to_numpy(),
            "resolution_due": res_due.to_numpy(),
            "reassignments": 0,
            "updated_at": now,
        }
    )
    return rows


def brands_addressed(con: duckdb.DuckDBPyConnection, d: pd.DataFrame) -> list[list[str]]:
    """Brand entities the author addressed (a staff member of another brand cannot answer)."""
    addressed = [list(a) if isinstance(a, list | np.ndarray) else [] for a in d.addressed]
    handles = sorted({h for a in addressed for h in a})
    if not handles:
        return [[] for _ in addressed]
    brand_of = dict(
        con.execute(
            """SELECT i.handle, i.entity_id FROM identities i JOIN entities e USING (entity_id)
               WHERE e.role = 'brand' AND list_contains(?, i.handle)""",
            [handles],
        ).fetchall()
    )
    return [sorted({brand_of[h] for h in a if h in brand_of}) for a in addressed]


def _request(row: dict) -> dict:
    return {
        "author": row["author"],
        "text": row.get("text") or "",
        "topics": list(row["topics"]) if row.get("topics") is not None else [],
        "brands": list(row["brands"]) if row.get("brands") is not None else [],
    }


def _open_rows(con: duckdb.DuckDBPyConnection, where: str, params: dict) -> list[dict]:
    cur = con.execute(
        f"""SELECT q.*, i.text FROM routing_queue q
            LEFT JOIN interactions i ON i.interaction_id = q.last_author_id
            {where} ORDER BY q.priority DESC, q.arrived_at""",
        params,
    )
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _invite(con: duckdb.DuckDBPyConnection, ctx: RoutingContext, now: datetime) -> int:
    """Invite community candidates to conversations whose window is running."""
    rows = _open_rows(
        con,
        """WHERE q.route = 'community' AND q.status = 'open' AND q.window_ends_at > $now
             AND NOT EXISTS (SELECT 1 FROM routing_invitations v
                             WHERE v.conversation_id = q.conversation_id)""",
        {"now": now},
    )
    k = ctx.policy.invite_top_k
    n = 0
    con.execute("BEGIN TRANSACTION")
    try:
        for row in rows:
            chosen = ctx.index.rank(_request(row), now, limit=k, explain=k, kinds=("community",))
            n += state.invite(con, row["conversation_id"], chosen, now, row["window_ends_at"])
        con.execute("COMMIT")
    except BaseException:
        state._rollback(con)
        raise
    return n


def _assign(con: duckdb.DuckDBPyConnection, ctx: RoutingContext, now: datetime) -> tuple[int, int]:
    """Assign escalated conversations, highest priority first, to the best-ranked staff
    member with room under the per-agent cap (load-balanced: a full agent is skipped)."""
    rows = _open_rows(con, "WHERE q.status = 'escalated' AND q.assignee IS NULL", {})
    cap = ctx.policy.per_agent_cap
    staff = {e for i, e in enumerate(ctx.index.ids) if ctx.index.kind(i) == "staff"}
    loads = dict(con.execute("SELECT agent, open_assignments FROM routing_agents").fetchall())
    silent: dict[str, set[str]] = {}
    for conv, agent in con.execute(
        "SELECT conversation_id, actor FROM routing_events WHERE kind = 'reassigned'"
    ).fetchall():
        silent.setdefault(conv, set()).add(agent)
    plan: list[tuple[str, str]] = []
    for row in rows:
        if all(loads.get(a, 0) >= cap for a in staff):
            break
        for agent in _staff_ranked(ctx, row, now):
            if loads.get(agent, 0) < cap and agent not in silent.get(row["conversation_id"], ()):
                plan.append((row["conversation_id"], agent))
                loads[agent] = loads.get(agent, 0) + 1
                break
    done = state.assign_many(con, plan, now, cap)
    for _, agent in done:
        ctx.index.set_load(agent, ctx.index.load[ctx.index.candidate(agent)] + 1)
    return len(done), len(rows) - len(done)


def _staff_ranked(ctx: RoutingContext, row: dict, now: datetime) -> list[str]:
    return ctx.index.best(_request(row), now, len(ctx.index), kinds=("staff",))


def _assign_one(
    con: duckdb.DuckDBPyConnection,
    ctx: RoutingContext,
    row: dict,
    now: datetime,
    exclude: set[str],
    kind: str = "assigned",
) -> str | None:
    cap = ctx.policy.per_agent_cap
    loads = dict(con.execute("SELECT agent, open_assignments FROM routing_agents").fetchall())
    for agent in _staff_ranked(ctx, row, now):
        if agent in exclude or loads.get(agent, 0) >= cap:
            continue
        got = state.claim(con, row["conversation_id"], agent, now, cap, kind=kind)
        if got.won:
            ctx.index.set_load(agent, loads.get(agent, 0) + 1)
            return agent
    return None


def _reassign(con: duckdb.DuckDBPyConnection, ctx: RoutingContext, now: datetime) -> int:
    """Take conversations from assignees silent for longer than the reassignment timeout."""
    p = ctx.policy
    stale = _open_rows(
        con,
        """WHERE q.status = 'assigned'
             AND q.assigned_at + to_microseconds(CAST($timeout * 60e6 AS BIGINT)) <= $now
             AND NOT EXISTS (
                 SELECT 1 FROM interactions i LEFT JOIN identities d ON d.handle = i.actor
                 WHERE coalesce(i.conversation_id, i.interaction_id) = q.conversation_id
                   AND coalesce(d.entity_id, i.actor) = q.assignee AND i.ts >= q.assigned_at)""",
        {"timeout": p.reassign_after_minutes, "now": now},
    )
    moved = 0
    for row in stale:
        cid, silent = row["conversation_id"], row["assignee"]
        if row["reassignments"] >= p.max_reassignments:
            flagged = con.execute(
                "SELECT count(*) FROM routing_events WHERE conversation_id = ?"
                " AND kind = 'reassign_limit'",
                [cid],
            ).fetchall()[0][0]
            if not flagged:
                state.log_event(
                    con,
                    now,
                    cid,
                    "reassign_limit",
                    silent,
                    {"reassignments": row["reassignments"]},
                )
            continue
        before = {
            r[0]
            for r in con.execute(
                "SELECT actor FROM routing_events WHERE conversation_id = ?"
                " AND kind IN ('assigned', 'claimed') AND actor IS NOT NULL",
                [cid],
            ).fetchall()
        }
        con.execute("BEGIN TRANSACTION")
        try:
            state.release(
                con,
                cid,
                now,
                status="escalated",
                kind="reassigned",
                actor=silent,
                detail={"why": f"no answer within {p.reassign_after_minutes:g} min"},
            )
            con.execute(
                "UPDATE routing_queue SET reassignments = reassignments + 1 WHERE conversation_id = ?",
                [cid],
            )
            con.execute("COMMIT")
        except BaseException:
            state._rollback(con)
            raise
        if silent in ctx.index.pos:
            ctx.index.set_load(silent, max(0.0, ctx.index.load[ctx.index.pos[silent]] - 1))
        row = {**row, "assignee": None}
        if _assign_one(con, ctx, row, now, exclude=before | {silent}, kind="assigned"):
            moved += 1
    return moved


def queue_table(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    policy: Policy,
    *,
    include_resolved: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """The queue ordered by priority (highest first), with SLA statuses."""
    from socialcrm.routing.sla import add_status

    where = "" if include_resolved else "WHERE status <> 'resolved'"
    lim = f"LIMIT {int(limit)}" if limit else ""
    q = con.execute(
        f"SELECT * FROM routing_queue {where} ORDER BY priority DESC, arrived_at, conversation_id {lim}"
    ).df()
    return add_status(q, now, policy.at_risk_share)


def have_state(con: duckdb.DuckDBPyConnection) -> bool:
    return "routing_queue" in tables(con)
