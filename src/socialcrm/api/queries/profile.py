"""The agent's 360° social profile of one person (issue 7; seed 003).

"Very soon it will seem ridiculous that any contact center rep would talk to you without
some knowledge of the social context of the interaction" (seed 003). One call gathers
what an agent needs before answering: who the person is on every channel, what they
said and were told recently on all channels, how they feel over time, whom they are
close to, how influential they are, what is still open and which alerts stand.

Every section comes from the read model (no database round trip), and each says which
stage table it needs when that table is not there yet.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from socialcrm.api.auth import Caller
from socialcrm.api.queries.entities import (
    identities_of,
    interaction_rows,
    resolve_entity,
    visible_timeline,
)
from socialcrm.api.queries.routing import CLOSED_STATUSES
from socialcrm.api.readmodel import ReadModel, Rows
from socialcrm.api.service import Service, clean
from socialcrm.api.stages import missing_note


def profile(
    svc: Service, caller: Caller, entity_or_handle: str, recent: int = 20
) -> dict[str, Any]:
    """The 360° view: identities, recent interactions, activity, sentiment, ties, influence,
    open conversations, alerts."""
    m = svc.model
    eid = resolve_entity(svc, entity_or_handle)
    visible = visible_timeline(m, caller, eid)
    out: dict[str, Any] = {
        "entity": m.entities.first(eid) or {"entity_id": eid},
        "identities": identities_of(m, eid),
        "summary": _summary(m, eid, caller),
        "recent_interactions": interaction_rows(visible.slice(0, recent), caller),
        "stages": {},
    }
    out["channels"] = sorted({i["channel"] for i in out["identities"] if i["channel"]})
    out["activity"] = _activity(m, eid, visible)
    if m.activity is None:
        out["stages"]["entity_activity"] = missing_note("entity_activity", m.columns)
    out["sentiment"] = _sentiment(m, visible)
    if m.sentiment_column is None:
        out["stages"]["message_labels"] = missing_note("message_labels", m.columns)
    out["ties"] = _ties(m, caller, eid)
    if m.ties is None:
        out["stages"]["ties"] = missing_note("ties", m.columns)
    out["influence"] = _clean_row(m.metrics.first(eid)) if m.metrics is not None else None
    if m.metrics is None:
        out["stages"]["entity_metrics"] = missing_note("entity_metrics", m.columns)
    out["open_conversations"] = _open_conversations(svc, caller, eid, visible)
    if not m.usable("routing_queue"):
        out["stages"]["routing_queue"] = missing_note("routing_queue", m.columns)
    out["alerts"] = (
        [_clean_row(r) for r in m.alerts.get(eid).to_pylist()] if m.alerts is not None else []
    )
    if m.alerts is None:
        out["stages"]["next_actions"] = missing_note("next_actions", m.columns)
    return out


def _clean_row(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {k: clean(v) for k, v in row.items()}


def _summary(m: ReadModel, eid: str, caller: Caller) -> dict[str, Any]:
    """Counts and first/last time of what the caller may see (precomputed per entity)."""
    row = m.summaries.first(eid)
    if row is None:
        return {"interactions": 0, "first_ts": None, "last_ts": None, "sent": 0, "received": 0}
    prefix = "" if caller.sees_private else "public_"
    n = row[prefix + "interactions"]
    return {
        "interactions": n,
        "first_ts": row[prefix + "first_ts"],
        "last_ts": row[prefix + "last_ts"],
        "sent": row[prefix + "sent"],
        "received": n - row[prefix + "sent"],
    }


def _activity(m: ReadModel, eid: str, visible: Rows) -> dict[str, Any]:
    """Per channel: from the activity stage if it ran, else counted from the timeline."""
    if m.activity is not None:
        rows = m.activity.rows(eid)
        return {"source": "entity_activity", "by_channel": [_clean_row(r) for r in rows]}
    if visible.num_rows == 0:
        return {"source": "timeline", "by_channel": []}
    g = pa.Table.from_batches([visible]) if isinstance(visible, pa.RecordBatch) else visible
    g = g.group_by(["channel", "direction"]).aggregate([("interaction_id", "count")])
    by: dict[str, dict[str, Any]] = {}
    for r in g.to_pylist():
        d = by.setdefault(r["channel"], {"channel": r["channel"], "sent": 0, "received": 0})
        d[r["direction"]] = r["interaction_id_count"]
    return {"source": "timeline", "by_channel": sorted(by.values(), key=lambda d: d["channel"])}


def _sentiment(m: ReadModel, visible: Rows, points: int = 100) -> dict[str, Any] | None:
    """What the person said, scored by the message-label stage, oldest first."""
    col = m.sentiment_column
    if col is None or visible.num_rows == 0:
        return None if col is None else {"points": [], "mean": None, "column": col}
    said = visible.filter(
        pc.and_(
            pc.equal(visible.column("direction"), "sent"),
            pc.is_valid(visible.column(col)),
        )
    ).slice(0, points)
    pts = [
        {
            "ts": r["ts"],
            "sentiment": clean(r[col]),
            "channel": r["channel"],
            "interaction_id": r["interaction_id"],
        }
        for r in reversed(said.select(["ts", col, "channel", "interaction_id"]).to_pylist())
    ]
    values = [p["sentiment"] for p in pts if p["sentiment"] is not None]
    return {
        "column": col,
        "points": pts,
        "mean": sum(values) / len(values) if values else None,
        "last": values[-1] if values else None,
    }


def _ties(m: ReadModel, caller: Caller, eid: str, top: int = 10) -> list[dict[str, Any]]:
    from socialcrm.api.queries.network import visible_tie

    if m.ties is None:
        return []
    rows = m.ties.get(eid).slice(0, top).to_pylist()
    for r in rows:
        other = m.entities.first(r["target_entity"]) or {}
        r["target_name"] = other.get("display_name")
        r["target_role"] = other.get("role")
    return [visible_tie(_clean_row(r) or {}, caller) for r in rows]


def _open_conversations(
    svc: Service, caller: Caller, eid: str, visible: Rows, scan: int = 500, top: int = 10
) -> list[dict[str, Any]]:
    """Open conversations the person is in: the routing queue's open ones once it exists,
    before that the ones where the person spoke last (awaiting a reply)."""
    m = svc.model
    queue = svc.queue_view()
    recent = visible.slice(0, scan).column("conversation_id").to_pylist()
    out = []
    for cid in dict.fromkeys(c for c in recent if c is not None):
        if queue is not None and cid not in queue.by_conversation:
            continue  # most of a person's conversations are answered: skip them unread
        conv = m.conversations.first(cid)
        if conv is None or (conv["private"] and not caller.sees_private):
            continue
        if queue is not None:
            q = queue.row(cid)
            if q is None or str(q.get("status", "open")).lower() in CLOSED_STATUSES:
                continue
            q.pop("_private", None)
            conv = {**conv, "queue": q, "open_because": "in the routing queue"}
        elif conv["last_by"] == eid:
            conv = {**conv, "open_because": "the person spoke last (awaiting a reply)"}
        else:
            continue
        out.append(conv)
        if len(out) >= top:
            break
    return out
