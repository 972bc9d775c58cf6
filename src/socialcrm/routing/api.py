"""Routing as functions of a :class:`~socialcrm.workspace.Workspace` (the Python API).

The CLI, the REST API and the web inbox call these and nothing deeper:

* :func:`refresh` — bring the queue up to now (arrivals, invitations, answers,
  escalations, assignments, reassignments; :mod:`.refresh`);
* :func:`queue` — the open conversations by priority, each with its reasons, route,
  window, assignee and SLA statuses;
* :func:`route` — one conversation's priority, route and ranked candidates with scores;
* :func:`claim`, :func:`reply`, :func:`resolve` — an agent's actions; a claim that loses
  a race raises :class:`ClaimConflict` (a ``ValueError``) naming the holder;
* :func:`replay` — the policy run over a stored history (:mod:`.replay`).

Every function takes ``now`` (default: the current UTC time) so a historical workspace can
be worked "as of" a moment. The policy is the workspace's (``[routing]`` in
``socialcrm.toml``, :func:`socialcrm.routing.policy.policy_for`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialcrm.routing import refresh as rq
from socialcrm.routing import state
from socialcrm.routing.derive import derive
from socialcrm.routing.index import RoutingContext, build_context, decide
from socialcrm.routing.policy import Policy, policy_for
from socialcrm.routing.replay import ReplayResult
from socialcrm.routing.replay import replay as run_replay
from socialcrm.routing.signals import conversation_facts, enrich, tables
from socialcrm.routing.topics import tags_from_imports

if TYPE_CHECKING:
    from socialcrm.workspace import Workspace


class ClaimConflict(ValueError):
    """A claim that lost: someone else holds the conversation, or the agent is full."""


_CONTEXTS: dict[str, tuple[tuple, RoutingContext]] = {}
_LOCK = threading.Lock()


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def clock(ws: Workspace) -> datetime:
    """The routing "now": the ``clock`` setting — ``now`` (UTC, the default), ``latest``
    (the newest stored interaction, so a historical workspace is worked as if live at its
    end) or an ISO time."""
    setting = ws.settings.clock
    if setting == "now":
        return utcnow()
    if setting == "latest":
        cur = ws.con.cursor()  # callable from any server thread
        try:
            latest = cur.execute("SELECT max(ts) FROM interactions").fetchall()[0][0]
        finally:
            cur.close()
        return latest or utcnow()
    ts = datetime.fromisoformat(setting)
    return ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def policy(ws: Workspace) -> Policy:
    """The workspace's routing policy (defaults merged with ``[routing]``)."""
    return policy_for(ws.settings)


def _version(ws: Workspace) -> tuple:
    cur = ws.con.cursor()
    try:
        have = tables(cur)
        key = [
            cur.execute("SELECT count(*), max(ts) FROM interactions").fetchall()[0],
            cur.execute(
                "SELECT count(*), string_agg(DISTINCT role, ',' ORDER BY role) FROM entities"
            ).fetchall()[0],
            cur.execute("SELECT count(*) FROM conversation_topics").fetchall()[0],
            tuple(sorted(have & {"ties", "entity_metrics", "conversations"})),
        ]
    finally:
        cur.close()
    return tuple(key)


def context(ws: Workspace, now: datetime | None = None) -> RoutingContext:
    """The serving index of the workspace, rebuilt when its data changed (cached)."""
    now = now or clock(ws)
    version = _version(ws)
    latest = version[0][1]
    # An index built at ``now`` serves any later moment until the data changes; a moment
    # before the latest interaction ("as of" a past date) needs its own.
    key = (version, now if latest is not None and now < latest else "latest")
    with _LOCK:
        hit = _CONTEXTS.get(str(ws.path))
        if hit is not None and hit[0] == key:
            return hit[1]
        cur = ws.con.cursor()
        try:
            tags_from_imports(cur)
            ctx = build_context(cur, policy(ws), now)
        finally:
            cur.close()
        _CONTEXTS[str(ws.path)] = (key, ctx)
        return ctx


def refresh(ws: Workspace, now: datetime | None = None) -> dict[str, int]:
    """Bring the routing queue up to ``now``; returns what changed (counts)."""
    now = now or clock(ws)
    ctx = context(ws, now)
    cur = ws.con.cursor()
    try:
        report = rq.refresh(cur, ctx.policy, now, ctx)
    finally:
        cur.close()
    return {
        k: v for k, v in report.__dict__.items() if isinstance(v, int) and not isinstance(v, bool)
    }


def queue(
    ws: Workspace,
    now: datetime | None = None,
    *,
    limit: int | None = 50,
    include_resolved: bool = False,
    refresh_first: bool = True,
) -> list[dict[str, Any]]:
    """Open conversations, highest priority first, with reasons and SLA statuses."""
    now = now or clock(ws)
    if refresh_first:
        refresh(ws, now)
    cur = ws.con.cursor()
    try:
        q = rq.queue_table(cur, now, policy(ws), include_resolved=include_resolved, limit=limit)
        inv = cur.execute(
            "SELECT conversation_id, list(candidate ORDER BY score DESC) FROM routing_invitations"
            " WHERE status = 'pending' GROUP BY 1"
        ).fetchall()
    finally:
        cur.close()
    invited = dict(inv)
    rows = q.to_dict("records")
    import json

    for r in rows:
        if isinstance(r.get("reasons"), str):
            r["reasons"] = json.loads(r["reasons"])
        r["reason_text"] = "; ".join(
            f"{x['text']} +{x['contribution']:.0f}"
            for x in (r.get("reasons") or [])[:3]
            if x.get("contribution", 0) > 0
        )
        r["invited"] = list(invited.get(r["conversation_id"], []))
        for k, v in list(r.items()):
            r[k] = _plain(v)
    return rows


def _plain(v: Any) -> Any:
    """A value as plain Python (lists, datetimes, None for missing) for JSON and templates."""
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if v is pd.NaT or v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def _conversation(ws: Workspace, conv_id: str, now: datetime) -> pd.DataFrame:
    cur = ws.con.cursor()
    try:
        p = policy(ws)
        facts = conversation_facts(
            cur, now, p, where="WHERE conversation_id = $cid", params={"cid": conv_id}
        )
        if facts.empty:
            facts = conversation_facts(
                cur,
                now,
                p,
                where="WHERE conversation_id = (SELECT coalesce(conversation_id, interaction_id)"
                " FROM interactions WHERE interaction_id = $cid)",
                params={"cid": conv_id},
            )
        if facts.empty:
            raise LookupError(
                f"no customer conversation {conv_id!r} up to {now:%Y-%m-%d %H:%M}"
                " (conversations started by staff or a system account are not routed)"
            )
        return derive(enrich(cur, facts), p)
    finally:
        cur.close()


def route(
    ws: Workspace, conv_id: str, now: datetime | None = None, *, top: int = 10
) -> dict[str, Any]:
    """Priority with reasons, route (community window or staff) and ranked candidates."""
    now = now or clock(ws)
    ctx = context(ws, now)
    d = _conversation(ws, conv_id, now).iloc[0].to_dict()
    cur = ws.con.cursor()
    try:
        brands = rq.brands_addressed(cur, pd.DataFrame([d]))[0]
    finally:
        cur.close()
    conv = {
        "conversation_id": d["conversation_id"],
        "author": d["author"],
        "text": d["author_text"],
        "opening_text": d["opening_text"],
        "channel": d["channel"],
        "visibility": d["visibility"],
        "arrived_at": pd.Timestamp(d["arrived_at"]).to_pydatetime(),
        "n_tagged": d["n_tagged"],
        "other_customers": d["other_customers"],
        "views": d["views"],
        "first_response_at": d["first_response_at"],
        "brands": brands,
        "_derived": d,
    }
    out = {k: _plain(v) for k, v in decide(ctx, conv, now, top=top).as_dict(top).items()}
    out["candidates"] = [{k: _plain(v) for k, v in c.items()} for c in out["candidates"]]
    out["status"] = (
        "resolved"
        if d["satisfied"]
        else ("answered" if pd.notna(d["first_response_at"]) else "waiting")
    )
    out["urgency"], out["intent"], out["topics"] = d["urgency"], d["intent"], list(d["topics"])
    return out


def _entity(ws: Workspace, who: str) -> tuple[str, str | None]:
    row = _read(
        ws,
        """SELECT e.entity_id, e.role FROM entities e
           WHERE e.entity_id = $w OR e.entity_id = (SELECT entity_id FROM identities WHERE handle = $w)
           LIMIT 1""",
        {"w": who},
    )
    if not row:
        raise LookupError(f"no entity or handle {who!r}")
    return row[0][0], row[0][1]


def _read(ws: Workspace, sql: str, params: Any = None) -> list[tuple]:
    """A read on its own cursor, so that concurrent callers (threads) do not collide."""
    cur = ws.con.cursor()
    try:
        return cur.execute(sql, params or []).fetchall()
    finally:
        cur.close()


def _staff(ws: Workspace, agent: str) -> str:
    entity, role = _entity(ws, agent)
    staff = policy(ws).staff_roles
    if role not in staff:
        raise PermissionError(
            f"{agent!r} has role {role!r}; only {', '.join(staff)} can take conversations"
            f" (set one with `socialcrm identities role {agent} employee`)"
        )
    return entity


def _queued(ws: Workspace, conv_id: str, now: datetime) -> dict[str, Any]:
    cur = ws.con.cursor()
    try:
        row = state.queue_row(cur, conv_id)
        if row is None:
            rq.refresh(cur, policy(ws), now, None, only=[conv_id])
            row = state.queue_row(cur, conv_id)
    finally:
        cur.close()
    if row is None:
        raise LookupError(f"conversation {conv_id!r} is not waiting in the routing queue")
    return row


def claim(ws: Workspace, conv_id: str, agent: str, now: datetime | None = None) -> dict[str, Any]:
    """Take a conversation; exactly one of several concurrent claims wins.

    Raises :class:`ClaimConflict` (naming the holder) when it is taken or the agent is
    at the per-agent cap.
    """
    now = now or clock(ws)
    entity = _staff(ws, agent)
    _queued(ws, conv_id, now)
    cur = ws.con.cursor()
    try:
        got = state.claim(cur, conv_id, entity, now, policy(ws).per_agent_cap)
    finally:
        cur.close()
    if not got.won:
        raise ClaimConflict(f"{conv_id}: {got.reason}")
    return {"conversation_id": conv_id, "assignee": entity, "claimed_at": now}


def _handle_for(ws: Workspace, entity: str, source: str | None) -> str:
    rows = _read(
        ws, "SELECT handle, source FROM identities WHERE entity_id = ? ORDER BY handle", [entity]
    )
    for handle, src in rows:
        if source is not None and src == source:
            return handle
    return rows[0][0] if rows else entity


def reply(
    ws: Workspace, conv_id: str, agent: str, text: str, now: datetime | None = None
) -> dict[str, Any]:
    """Answer a conversation as ``agent`` (claiming it first if nobody holds it)."""
    now = now or clock(ws)
    if not text or not text.strip():
        raise ValueError("a reply needs some text")
    entity = _staff(ws, agent)
    row = _queued(ws, conv_id, now)
    if row["assignee"] is None:
        claim(ws, conv_id, entity, now)
        row = _queued(ws, conv_id, now)
    elif row["assignee"] != entity:
        raise PermissionError(f"{conv_id} is assigned to {row['assignee']}, not {entity}")
    cur = ws.con.cursor()
    try:
        iid = state.record_reply(
            cur, row, entity, _handle_for(ws, entity, row["source"]), text, now
        )
    finally:
        cur.close()
    return {"conversation_id": conv_id, "interaction_id": iid, "agent": entity, "at": now}


def resolve(
    ws: Workspace, conv_id: str, agent: str, note: str = "", now: datetime | None = None
) -> dict[str, Any]:
    """Close a conversation as resolved by ``agent`` (frees the agent's slot)."""
    now = now or clock(ws)
    entity = _staff(ws, agent)
    row = _queued(ws, conv_id, now)
    if row["status"] == "resolved":
        raise ValueError(f"{conv_id} is already resolved ({row['resolution']})")
    if row["assignee"] not in (None, entity):
        raise PermissionError(f"{conv_id} is assigned to {row['assignee']}, not {entity}")
    cur = ws.con.cursor()
    try:
        state.resolve(cur, conv_id, now, by=entity, resolution="agent")
        if note:
            state.log_event(cur, now, conv_id, "note", entity, {"note": note})
    finally:
        cur.close()
    return {"conversation_id": conv_id, "resolved_by": entity, "at": now}


def replay(ws: Workspace, source: str, until: datetime | None = None) -> ReplayResult:
    """Run the policy over a stored source's history; decisions go to ``routing_replay``."""
    cur = ws.con.cursor()
    try:
        if not cur.execute(
            "SELECT 1 FROM interactions WHERE source = ? LIMIT 1", [source]
        ).fetchall():
            known = [
                r[0] for r in cur.execute("SELECT DISTINCT source FROM interactions").fetchall()
            ]
            raise LookupError(
                f"no source {source!r}; the workspace has {', '.join(sorted(known)) or 'none'}"
            )
        tags_from_imports(cur)
        result = run_replay(cur, source, policy(ws), until=until)
        out = result.decisions.drop(
            columns=["top_candidates", "invited", "responders"], errors="ignore"
        )
        out = out.assign(
            top_candidates=[list(x) for x in result.decisions.top_candidates],
            invited=[list(x) for x in result.decisions.invited],
            responders=[list(x) for x in result.decisions.responders],
            source=source,
        )
        cur.register("_rt_replay", out)
        try:
            cur.execute("CREATE OR REPLACE TABLE routing_replay AS SELECT * FROM _rt_replay")
        finally:
            cur.unregister("_rt_replay")
    finally:
        cur.close()
    return result
